"""Fitted linear models laid out for reading one message at a time.

A logistic regression predicts with `X @ coef_.T`; with `X` sparse, SciPy multiplies by a
C-ordered (row-major) matrix and copies `coef_.T` into one when it is not (SciPy 1.10, the
Rasa environment). `coef_` is row-major, so its transpose is not, and every message
copied the whole matrix: 37 MB for the knowledge search, 17 MB for the topics, 13 ms of
the action server's 35 a question. Stored column-major, its transpose is row-major and is
read where it lies; the sums are the same, in the same order, so every probability is the
same bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def column_major(model: Any) -> None:
    """Stores a fitted linear model's `coef_` column-major, if it is not already (once: a
    saved model keeps the order)."""
    coef = model.coef_
    if not coef.flags.f_contiguous:
        model.coef_ = np.asfortranarray(coef)
