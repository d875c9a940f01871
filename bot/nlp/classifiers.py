"""The scikit-learn models beside Rasa's: knowledge search, topic, case category, and
whether a message is a daily-life problem.

They are trained by `bot.nlp.training` together with the Rasa model and saved beside it
as models/<hash>.classifiers.joblib, so the action server and batch triage load
them in a moment instead of training for half a minute. If the file is missing
(a fresh checkout, a test with other data), they are trained on the spot.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import joblib

from bot.knowledge.loader import KnowledgeBase, load_knowledge
from bot.nlp.categories import CaseClassifier
from bot.nlp.fingerprint import MODELS, content_hash
from bot.nlp.problems import ProblemDetector
from bot.nlp.search import KnowledgeSearch
from bot.nlp.topics import TopicClassifier

log = logging.getLogger(__name__)


@dataclass
class Classifiers:
    search: KnowledgeSearch
    topics: TopicClassifier
    cases: CaseClassifier
    problems: ProblemDetector

    @classmethod
    def train(cls, kb: KnowledgeBase) -> Classifiers:
        return cls(KnowledgeSearch(kb), TopicClassifier.train(kb), CaseClassifier.train(),
                   ProblemDetector.train())


def saved_path() -> Path:

    return MODELS / f"{content_hash()}.classifiers.joblib"


def save(classifiers: Classifiers, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    joblib.dump(classifiers, tmp)
    tmp.replace(path)


def load_classifiers(kb: KnowledgeBase | None = None) -> Classifiers:
    """The saved classifiers for the current data, or freshly trained ones."""
    path = saved_path()
    if path.exists():
        try:
            return joblib.load(path)
        except Exception:
            log.warning("could not load %s; training again", path, exc_info=True)
    log.info("training classifiers (no saved copy at %s)", path)
    classifiers = Classifiers.train(kb or load_knowledge())
    save(classifiers, path)
    return classifiers
