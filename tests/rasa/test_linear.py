"""Column-major coefficients: the same probabilities, bit for bit, and no copy per message."""

from __future__ import annotations

import numpy as np
from scipy.sparse import random as sparse_random
from sklearn.linear_model import LogisticRegression

from bot.nlp.linear import column_major


def test_column_major_coefficients_give_the_same_probabilities_bit_for_bit():
    rng = np.random.default_rng(16)
    features = sparse_random(300, 2000, density=0.01, format="csr", random_state=16)
    labels = rng.integers(0, 5, 300)
    model = LogisticRegression(max_iter=500).fit(features, labels)
    messages = sparse_random(40, 2000, density=0.01, format="csr", random_state=17)
    before = model.predict_proba(messages)
    one_before = model.predict_proba(messages[:1])

    column_major(model)

    assert model.coef_.flags.f_contiguous and model.coef_.T.flags.c_contiguous
    assert np.array_equal(model.predict_proba(messages), before)
    assert np.array_equal(model.predict_proba(messages[:1]), one_before)
    laid_out = model.coef_
    column_major(model)
    assert model.coef_ is laid_out  # once
