"""The first-level category of a citizen's message, and from it the responsible department.

A linear classifier over character n-grams and Jieba words, trained at load time on
the project's own examples (data/case_examples.yml); the department then comes from
the editable rules in data/departments.yml. Needs scikit-learn (Rasa environment).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline, make_union

from bot.cases.departments import Directory, load_directory
from bot.config import ROOT
from bot.nlp.keyword_mix import KeywordMixedClassifier
from bot.nlp.keywords import KeywordScorer, load_keywords
from bot.nlp.search import normalize
from bot.nlp.training_data import CATEGORY_KEYWORDS, CaseExample, case_examples
from bot.nlp.vectors import SentenceVectors

# The written examples' sentence vectors, kept so a retrain does not embed them again.
CASE_VECTORS = ROOT / "models" / "case-vectors.npz"
# Share of the keyword lists (data/category_keywords.yml) in the final mix.
KEYWORD_WEIGHT = 0.2


@dataclass(frozen=True)
class CategoryGuess:
    category: str | None
    probability: float
    department: str | None = None
    department_id: str | None = None
    # Every category, likeliest first (the card's one-tap choices are the first three).
    ranked: tuple[str, ...] = ()


def _words(text: str) -> list[str]:
    import jieba

    return [w for w in jieba.lcut(text) if w.strip()]


class CaseClassifier(KeywordMixedClassifier):
    # Which model made a suggestion (shown on the card and in /case): "seed-" and a digest
    # of the examples it was trained on.
    version = "seed"

    def __init__(self, pipeline, directory: Directory, keywords: KeywordScorer | None = None,
                 keyword_weight: float = KEYWORD_WEIGHT, version: str | None = None) -> None:
        super().__init__(pipeline, keywords, keyword_weight)
        self.directory = directory
        if version:
            self.version = version

    @classmethod
    def train(cls, examples: list[CaseExample] | None = None,
              directory: Directory | None = None, weights: list[float] | None = None,
              version: str | None = None) -> CaseClassifier:
        """Trained on `examples` (the written ones by default), each counted by `weights`."""
        examples = case_examples() if examples is None else examples
        features = make_union(
            TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True, min_df=1),
            TfidfVectorizer(analyzer=_words, sublinear_tf=True, min_df=1),
        )
        pipeline = make_pipeline(
            features, LogisticRegression(C=20, solver="saga", max_iter=300, class_weight="balanced",
                               random_state=0))
        fit: dict = {} if weights is None else {"logisticregression__sample_weight": weights}
        pipeline.fit([normalize(e.text) for e in examples], [e.category for e in examples], **fit)
        digest = hashlib.sha256("\n".join(f"{e.category}\t{e.text}" for e in examples).encode())
        return cls(pipeline, directory or load_directory(), load_keywords(CATEGORY_KEYWORDS),
                   version=version or f"seed-{digest.hexdigest()[:8]}")

    def predict(self, text: str, topic: str | None = None,
                district: str | None = None) -> CategoryGuess:
        return self._guess(text, self.probabilities(text), topic, district)

    def predict_many(self, texts: list[str]) -> list[CategoryGuess]:
        """`predict` for many texts at once, without topic or district."""
        return [self._guess(text, row, None, None)
                for text, row in zip(texts, self.probabilities_many(texts), strict=True)]

    def _guess(self, text: str, probabilities: np.ndarray, topic: str | None,
               district: str | None) -> CategoryGuess:
        order = np.argsort(-probabilities)
        best = int(order[0])
        category = str(self.pipeline.classes_[best])
        department = self.directory.route(category, text, topic=topic, district=district)
        return CategoryGuess(
            category,
            float(probabilities[best]),
            department.name if department else None,  # the one form: as a transfer stores it
            department.id if department else None,
            tuple(str(self.pipeline.classes_[i]) for i in order),
        )


class LearnedCaseClassifier(CaseClassifier):
    """The seed model's n-gram reader mixed with a sentence-vector reader (`meaning`, a
    fitted classifier over unit-length sentence vectors) trained by `bot.nlp.learning` on
    the seed and the confirmed examples. Same interface as `CaseClassifier`."""

    def __init__(self, base: CaseClassifier, meaning, share: float, version: str) -> None:
        super().__init__(base.pipeline, base.directory, base.keywords, base.keyword_weight,
                         version=version)
        self.meaning = meaning
        self.share = share

    def probabilities_many(self, texts: list[str]) -> np.ndarray:
        mixed = super().probabilities_many(texts)
        read = self.meaning.predict_proba(unit_rows(SentenceVectors(1.0, CASE_VECTORS).embed(texts)))
        aligned = np.zeros_like(mixed)
        columns = {c: i for i, c in enumerate(self.pipeline.classes_)}
        for j, category in enumerate(self.meaning.classes_):
            if category in columns:
                aligned[:, columns[category]] = read[:, j]
        return (1 - self.share) * mixed + self.share * aligned


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1."""
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
