"""A learned classifier whose probabilities are mixed with the shares of a keyword list."""

from __future__ import annotations

import numpy as np

from bot.keywords import KeywordScorer
from bot.knowledge.search import normalize


class KeywordMixedClassifier:
    """`pipeline` is a fitted scikit-learn pipeline over normalised text with predict_proba."""

    def __init__(self, pipeline, keywords: KeywordScorer | None, keyword_weight: float) -> None:
        self.pipeline = pipeline
        self.keywords = keywords
        self.keyword_weight = keyword_weight

    def probabilities(self, text: str) -> np.ndarray:
        """The mix of the classifier and the keyword lists, in `pipeline.classes_` order."""
        learned = self.pipeline.predict_proba([normalize(text)])[0]
        if self.keywords is None:
            return learned
        counted = self.keywords.distribution(text, list(self.pipeline.classes_))
        if counted is None:
            return learned
        return (1 - self.keyword_weight) * learned + self.keyword_weight * np.array(counted)
