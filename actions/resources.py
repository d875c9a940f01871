"""What the actions share: the knowledge base, its search, and the case store.

Opened on first use inside the action server's event loop (never at import),
and replaceable in tests with `use()`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bot.cases.store import CaseStore
from bot.config import Settings
from bot.db import Database
from bot.knowledge.feedback import FeedbackStore
from bot.knowledge.loader import KnowledgeBase, load_knowledge
from bot.knowledge.search import KnowledgeSearch


@dataclass
class Resources:
    settings: Settings
    kb: KnowledgeBase
    search: KnowledgeSearch
    db: Database
    cases: CaseStore
    feedback: FeedbackStore

    @classmethod
    async def open(cls, settings: Settings, kb: KnowledgeBase | None = None) -> Resources:
        kb = kb or load_knowledge()
        db = await Database.open(settings.db_path)
        return cls(
            settings=settings,
            kb=kb,
            search=KnowledgeSearch(kb),
            db=db,
            cases=CaseStore(db),
            feedback=FeedbackStore(db),
        )

    async def close(self) -> None:
        await self.db.close()


_current: Resources | None = None
_opening = asyncio.Lock()


async def get() -> Resources:
    """The process's resources, opened the first time an action needs them."""
    global _current
    if _current is None:
        async with _opening:
            if _current is None:
                _current = await Resources.open(Settings.from_env())
    return _current


def use(resources: Resources | None) -> None:
    """Replaces the process's resources (tests)."""
    global _current
    _current = resources
