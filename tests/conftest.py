"""Fixtures shared by every test: a real SQLite file per test."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cases.store import CaseStore
from bot.store.db import Database


class FrozenClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "hotline.db"


@pytest.fixture
async def db(db_path: Path):
    database = await Database.open(db_path)
    yield database
    await database.close()


@pytest.fixture
def clock() -> FrozenClock:
    # A Monday morning in Nantong (UTC+8).
    return FrozenClock(datetime(2026, 11, 30, 1, 30, tzinfo=UTC))


@pytest.fixture
def cases(db: Database, clock: FrozenClock) -> CaseStore:
    return CaseStore(db, clock=clock)
