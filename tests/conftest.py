"""Fixtures shared by every test: a real store per test, a SQLite file by default.

The store, desk, outbox and supervision tests (tests/core, tests/insight) run each test
on both backends: their conftest sets `backend` to SQLite and PostgreSQL in turn.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cases.store import CaseStore
from bot.store.db import Database, open_database
from tests.stores import PostgresServer, start_postgres, stop_postgres, unavailable


class FrozenClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "hotline.db"


@pytest.fixture(scope="session")
def postgres_server():
    """The project's PostgreSQL (scripts/pg.sh), started once; None if it cannot start."""
    try:
        server = start_postgres()
    except Exception as exc:
        yield exc
        return
    yield server
    stop_postgres(server)


@pytest.fixture
def postgres(postgres_server) -> PostgresServer:
    """The PostgreSQL server, or the test skips (fails when CI=true)."""
    if not isinstance(postgres_server, PostgresServer):
        unavailable(str(postgres_server))
    return postgres_server


@pytest.fixture
def backend() -> str:
    return "sqlite"


@pytest.fixture
def store_target(backend: str, db_path: Path, request) -> str | Path:
    """Where this test's store is: the SQLite file, or a fresh PostgreSQL database's URL."""
    if backend == "sqlite":
        return db_path
    server = request.getfixturevalue("postgres")
    url = server.create()
    request.addfinalizer(lambda: server.drop(url))
    return url


@pytest.fixture
async def db(store_target: str | Path):
    database = await open_database(store_target)
    yield database
    await database.close()


@pytest.fixture
def clock() -> FrozenClock:
    # A Monday morning in Nantong (UTC+8).
    return FrozenClock(datetime(2026, 11, 30, 1, 30, tzinfo=UTC))


@pytest.fixture
def cases(db: Database, clock: FrozenClock) -> CaseStore:
    return CaseStore(db, clock=clock)
