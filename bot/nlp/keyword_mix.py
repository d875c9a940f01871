"""A learned classifier whose probabilities are mixed with the shares of a keyword list."""

from __future__ import annotations

import numpy as np

from bot.nlp.keywords import KeywordScorer
from bot.nlp.linear import column_major
from bot.nlp.search import normalize


class KeywordMixedClassifier:
    """`pipeline` is a fitted scikit-learn pipeline over normalised text with predict_proba."""

    def __init__(self, pipeline, keywords: KeywordScorer | None, keyword_weight: float) -> None:
        self.pipeline = pipeline
        self.keywords = keywords
        self.keyword_weight = keyword_weight

    def probabilities(self, text: str) -> np.ndarray:
        """The mix of the classifier and the keyword lists, in `pipeline.classes_` order."""
        return self.probabilities_many([text])[0]

    def probabilities_many(self, texts: list[str]) -> np.ndarray:
        """`probabilities` for many texts at once (one row each): much cheaper per text."""
        column_major(self.pipeline[-1])
        mixed = self.pipeline.predict_proba([normalize(text) for text in texts])
        if self.keywords is None:
            return mixed
        classes = list(self.pipeline.classes_)
        for row, text in enumerate(texts):
            counted = self.keywords.distribution(text, classes)
            if counted is not None:
                mixed[row] = ((1 - self.keyword_weight) * mixed[row]
                              + self.keyword_weight * np.array(counted))
        return mixed
