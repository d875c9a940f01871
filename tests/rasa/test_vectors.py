"""Sentence vectors: a single text is embedded once and gets the vector a batch gives it."""

from __future__ import annotations

import numpy as np

from bot.nlp import vectors
from bot.nlp.vectors import SentenceVectors


def test_a_single_text_is_embedded_once_with_the_batch_vector(tmp_path, monkeypatch):
    reader = SentenceVectors(1.0, tmp_path / "vectors.npz")
    texts = ["公积金租房怎么提取？", "我要投诉，楼下烧烤店半夜还在营业", "谢谢"]
    batch = reader.embed(texts)
    vectors.forget_recent()
    alone = np.vstack([reader.embed([text]) for text in texts])
    assert np.array_equal(alone, batch)

    calls: list[list[str]] = []
    query = vectors._query
    monkeypatch.setattr(vectors, "_query", lambda batch: calls.append(batch) or query(batch))
    again = reader.embed(["公积金 租房，怎么提取"])  # the same text as the model reads it
    assert calls == [] and np.array_equal(again[0], batch[0])
    again[0, 0] += 1  # the caller's copy: what is kept stays as it was
    assert np.array_equal(reader.embed([texts[0]])[0], batch[0])
