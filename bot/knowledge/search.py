"""Finds the knowledge entries closest to what a citizen typed.

Character n-gram TF-IDF over every example of every entry (the canonical
question and its paraphrases); an entry scores the cosine similarity of its
closest example. Needs scikit-learn, so it runs in the Rasa environment
(action server and batch triage), not in the bot.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from bot.knowledge.loader import Entry, KnowledgeBase

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
    score: float


class KnowledgeSearch:
    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb
        self._owners: list[int] = []
        examples: list[str] = []
        for index, entry in enumerate(kb.entries):
            for example in entry.examples:
                examples.append(normalize(example))
                self._owners.append(index)
        self._owners_array = np.array(self._owners)
        self._vectorizer = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, min_df=1
        )
        self._matrix = self._vectorizer.fit_transform(examples)

    def search(self, text: str, k: int = 3, topic: str | None = None) -> list[Hit]:
        """The `k` best entries, best first; only entries of `topic` if given."""
        query = self._vectorizer.transform([normalize(text)])
        similarities = (self._matrix @ query.T).toarray().ravel()
        best = np.full(len(self.kb.entries), -1.0)
        np.maximum.at(best, self._owners_array, similarities)
        if topic is not None:
            for index, entry in enumerate(self.kb.entries):
                if entry.topic != topic:
                    best[index] = -1.0
        order = np.argsort(-best)[:k]
        return [Hit(self.kb.entries[i], float(best[i])) for i in order if best[i] > 0]
