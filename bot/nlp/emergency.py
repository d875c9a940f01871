"""The learned reader of emergencies: one logistic regression over character 1-3 grams and
sentence vectors, trained on `data/emergencies/` and the project's ordinary messages, and
saved in models/ for each scikit-learn version (the bot's and Rasa's environments differ).

`assess` and `assess_many` read with it and decide with `bot.safety.emergency`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import yaml

from bot.config import ROOT
from bot.nlp.linear import column_major
from bot.nlp.vectors import SentenceVectors
from bot.safety.emergency import (
    CALM_FRAMES,
    FRAMES,
    KIND_PREFIX,
    Assessment,
    EmergencyKind,
    Reading,
    compact,
)
from bot.safety.emergency import assess_many as decide_many

log = logging.getLogger(__name__)

EXAMPLES_DIR = ROOT / "data" / "emergencies"
MODELS = ROOT / "models"
VECTOR_CACHE = MODELS / "emergency-vectors.npz"
# The model's settings (chosen on the development set; see bot.safety.emergency).
C = 10.0
VECTOR_WEIGHT = 1.0


class EmergencyModel:
    """The classifier: one logistic regression over the twelve kinds of emergency, the six
    frames of look-alike (past, policy, hazard_complaint, figurative, hypothetical, other)
    and the project's ordinary messages, on character 1-3 grams and sentence vectors. The
    chance of an emergency is the sum over the kinds; the kind is the likeliest of them.
    """

    def __init__(self, positives: list[tuple[str, str]], negatives: list[tuple[str, str]],
                 vectors: SentenceVectors | None = None) -> None:
        from scipy.sparse import hstack
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        texts = [text for text, _ in positives] + [text for text, _ in negatives]
        labels = [f"{KIND_PREFIX}{kind}" for _, kind in positives] + [f for _, f in negatives]
        self.vectors = vectors or SentenceVectors(VECTOR_WEIGHT, VECTOR_CACHE)
        self.ngrams = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True,
                                      preprocessor=compact)
        grams = self.ngrams.fit_transform(texts)
        dense = self.vectors.features(self.vectors.embed_cached(texts))
        self.regression = LogisticRegression(C=C, class_weight="balanced", max_iter=3000)
        self.regression.fit(hstack([grams, dense]).tocsr(), labels)
        self._kinds = [(i, EmergencyKind(c[len(KIND_PREFIX):]))
                       for i, c in enumerate(self.regression.classes_) if c.startswith(KIND_PREFIX)]
        self._calm = [i for i, c in enumerate(self.regression.classes_) if c in CALM_FRAMES]

    def read(self, texts: list[str]) -> list[Reading]:
        """The chance of an emergency, its likeliest kind, and the chance of a calm frame."""
        from scipy.sparse import hstack

        features = hstack([self.ngrams.transform(texts),
                                 self.vectors.features(self.vectors.embed(texts))]).tocsr()
        column_major(self.regression)
        result = []
        for row in self.regression.predict_proba(features):
            p = sum(row[i] for i, _ in self._kinds)
            kind = max(self._kinds, key=lambda pair: row[pair[0]])[1]
            calm = sum(row[i] for i in self._calm)
            result.append(Reading(float(p), kind, float(calm)))
        return result


def load_examples(directory: Path = EXAMPLES_DIR
                  ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The written paraphrases: (text, kind) emergencies and (text, frame) look-alikes."""
    positives: list[tuple[str, str]] = []
    negatives: list[tuple[str, str]] = []
    for path in sorted(directory.glob("*.yml")):
        items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        for number, item in enumerate(items, 1):
            if not isinstance(item, dict) or not str(item.get("text") or "").strip():
                raise ValueError(f"{path.name}: item {number} has no text")
            text = str(item["text"])
            if "kind" in item:
                positives.append((text, EmergencyKind(item["kind"]).value))
            elif item.get("frame") in FRAMES:
                negatives.append((text, str(item["frame"])))
            else:
                raise ValueError(f"{path.name}: item {number} needs a kind or one of the frames"
                                 f" {', '.join(FRAMES)}")
    return positives, negatives


def ordinary_messages() -> list[str]:
    """The project's everyday texts: policy questions, cases, small talk (all negatives)."""
    from bot.knowledge.loader import load_knowledge
    from bot.nlp.training_data import _nlu_index, case_examples

    texts = [q for entry in load_knowledge().entries for q in entry.examples]
    texts += [example.text for example in case_examples()]
    texts += [text for examples in _nlu_index().values() for text in examples]
    return texts


_lock = threading.Lock()


def saved_path() -> Path:
    """Where the trained classifier for the current data, code and scikit-learn is kept."""
    import sklearn

    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update((Path(__file__).parent / "vectors.py").read_bytes())
    for path in sorted(EXAMPLES_DIR.glob("*.yml")):
        digest.update(path.read_bytes())
    return MODELS / f"emergency-{digest.hexdigest()[:12]}-sklearn{sklearn.__version__}.joblib"


@lru_cache(maxsize=1)
def _model() -> EmergencyModel:
    import joblib

    path = saved_path()
    if path.exists():
        try:
            return joblib.load(path)
        except Exception:
            log.warning("could not load %s; training the emergency classifier again", path)
    positives, negatives = load_examples()
    trained = EmergencyModel(positives, negatives + [(t, "other") for t in ordinary_messages()])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    joblib.dump(trained, tmp)
    tmp.replace(path)
    return trained


def model() -> EmergencyModel:
    """The classifier: loaded from models/ (a second), or trained and saved there (about 20 s
    with the vectors cached, a minute or two without)."""
    with _lock:
        return _model()


def assess_many(texts: Iterable[str], classifier: EmergencyModel | None = None) -> list[Assessment]:
    return decide_many(texts, classifier or model())


def assess(text: str, classifier: EmergencyModel | None = None) -> Assessment:
    """What `text` says about a danger now."""
    return assess_many([text], classifier)[0]


if __name__ == "__main__":  # make train: the classifier for this environment, saved in models/
    # Through the package, so that what is saved names bot.nlp.emergency, not __main__.
    from bot.nlp import emergency  # noqa: PLW0406

    emergency.model()
    print(emergency.saved_path())
