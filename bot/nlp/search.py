"""Finds the knowledge entry for what a citizen typed, and how sure to be.

Two signals over character 1-2 grams (TF-IDF):

* a logistic regression with one class per entry, trained on every example of
  every entry (the canonical question and its paraphrases), ranks the entries;
* the cosine similarity of the closest example tells whether the question is
  about anything the knowledge base covers at all.

Chosen by measurement on the held-out questions of testsets/knowledge.yml
(scripts/compare_retrieval.py compares it with nearest-example search and with
Rasa's ResponseSelector). Needs scikit-learn, so it runs in the Rasa environment.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from bot.knowledge.loader import Entry, KnowledgeBase

# Decision thresholds, set on testsets/knowledge.yml (make eval prints how they fare):
# answer when the best entry is this probable and this far ahead of the second …
ANSWER_PROBABILITY = 0.30
ANSWER_MARGIN = 0.10
# … and say nothing fits when no example is even this close.
MIN_CLOSENESS = 0.25

# Politeness and filler that say nothing about which entry is meant.
_FILLER = re.compile(
    r"请问一下|请问|你好|您好|麻烦问一下|麻烦|我想问一下|想问一下|问一下|我想咨询一下|咨询一下|咨询|谢谢|"
    r"帮我看看|帮忙看看|一下子|一下"
)
_NOT_TEXT = re.compile(r"[^\w]+")


def normalize(text: str) -> str:
    """Full-width folded, lower-cased, filler and punctuation removed."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _FILLER.sub(" ", text)
    return _NOT_TEXT.sub(" ", text).strip()


@dataclass(frozen=True)
class Hit:
    entry: Entry
    probability: float
    closeness: float  # cosine similarity of this entry's closest example

    @property
    def score(self) -> float:
        return self.probability


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    closeness: float  # of the closest example of any entry

    def __bool__(self) -> bool:
        return bool(self.hits)


class KnowledgeSearch:
    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        texts: list[str] = []
        owners: list[int] = []
        for index, entry in enumerate(kb.entries):
            for example in entry.examples:
                texts.append(normalize(example))
                owners.append(index)
        self._owners = np.array(owners)
        self._vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True)
        self._matrix = self._vectorizer.fit_transform(texts)
        self._model = LogisticRegression(C=30, solver="saga", max_iter=300)
        self._model.fit(self._matrix, self._owners)
        self._topics = np.array([e.topic for e in kb.entries])

    def find(self, text: str, k: int = 3, topic: str | None = None) -> SearchResult:
        """The `k` most probable entries (of `topic` only, if given), best first."""
        return self.find_many([text], k, topic)[0]

    def find_many(self, texts: list[str], k: int = 3,
                  topic: str | None = None) -> list[SearchResult]:
        """`find` for many texts at once: much cheaper per text."""
        queries = self._vectorizer.transform([normalize(text) for text in texts])
        probabilities = np.zeros((len(texts), len(self.kb.entries)))
        probabilities[:, self._model.classes_] = self._model.predict_proba(queries)
        closest = np.zeros((len(self.kb.entries), len(texts)))
        np.maximum.at(closest, self._owners, (self._matrix @ queries.T).toarray())
        return [self._result(probabilities[row], closest[:, row], k, topic)
                for row in range(len(texts))]

    def _result(self, probabilities: np.ndarray, closest: np.ndarray, k: int,
                topic: str | None) -> SearchResult:
        if topic is not None:
            inside = self._topics == topic
            probabilities = np.where(inside, probabilities, 0.0)
            total = probabilities.sum()
            if total > 0:
                probabilities = probabilities / total
            closest = np.where(inside, closest, 0.0)
        order = np.argsort(-probabilities)[:k]
        hits = [Hit(self.kb.entries[i], float(probabilities[i]), float(closest[i]))
                for i in order if probabilities[i] > 0]
        return SearchResult(hits, float(closest.max()) if len(closest) else 0.0)


def decide(result: SearchResult) -> str:
    """'answer', 'clarify' or 'fallback' for a search result."""
    if not result.hits or result.closeness < MIN_CLOSENESS:
        return "fallback"
    top = result.hits[0].probability
    second = result.hits[1].probability if len(result.hits) > 1 else 0.0
    if top >= ANSWER_PROBABILITY and top - second >= ANSWER_MARGIN:
        return "answer"
    return "clarify"
