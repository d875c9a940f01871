"""What the actions share: the knowledge base, its search, and the case store.

Opened on first use inside the action server's event loop (never at import),
and replaceable in tests with `use()`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bot.cases.store import CaseStore
from bot.config import Settings
from bot.knowledge.feedback import FeedbackStore
from bot.knowledge.loader import KnowledgeBase
from bot.nlp.categories import CaseClassifier
from bot.nlp.classifiers import Classifiers, load_classifiers
from bot.nlp.learning import in_use, registry_stamp
from bot.nlp.problems import ProblemDetector
from bot.nlp.search import KnowledgeSearch
from bot.nlp.topics import TopicClassifier
from bot.store.db import Database, open_database


@dataclass
class Resources:
    settings: Settings
    kb: KnowledgeBase
    search: KnowledgeSearch
    db: Database
    cases: CaseStore
    feedback: FeedbackStore
    topics: TopicClassifier
    classifier: CaseClassifier
    problems: ProblemDetector
    seed_classifier: CaseClassifier | None = None
    # When the promoted model was last looked for (the registry's time stamp).
    stamp: float | None = field(default=None)

    def case_classifier(self) -> CaseClassifier:
        """The promoted case classifier, picked up again when `make retrain` or `make
        rollback` changed the registry since the last look (one stat a filing)."""
        stamp = registry_stamp(self.settings)
        if stamp != self.stamp:
            self.classifier = in_use(self.settings, self.seed_classifier or self.classifier)
            self.stamp = stamp
        return self.classifier

    @classmethod
    async def open(cls, settings: Settings, classifiers: Classifiers | None = None) -> Resources:
        classifiers = classifiers or load_classifiers()
        db = await open_database(settings.database)
        return cls(
            settings=settings,
            kb=classifiers.search.kb,
            search=classifiers.search,
            db=db,
            cases=CaseStore(db, agents_chat_id=settings.agents_chat_id,
                            supervisor_ids=settings.supervisor_ids),
            feedback=FeedbackStore(db),
            topics=classifiers.topics,
            classifier=in_use(settings, classifiers.cases),
            problems=classifiers.problems,
            seed_classifier=classifiers.cases,
            stamp=registry_stamp(settings),
        )

    async def close(self) -> None:
        await self.db.close()


_current: Resources | None = None
_opening = asyncio.Lock()


async def get() -> Resources:
    """The process's resources, opened the first time an action needs them."""
    global _current  # noqa: PLW0603 - one set of resources per action-server process
    if _current is None:
        async with _opening:
            if _current is None:
                _current = await Resources.open(Settings.from_env())
    return _current


async def close() -> None:
    """Closes the process's resources, if they were opened (the server is stopping)."""
    global _current  # one set of resources per action-server process, see get()
    if _current is not None:
        current, _current = _current, None
        await current.close()


def use(resources: Resources | None) -> None:
    """Replaces the process's resources (tests)."""
    global _current  # noqa: PLW0603 - see get()
    _current = resources
