"""Every test here that uses the store runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from tests.stores import BACKENDS


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param
