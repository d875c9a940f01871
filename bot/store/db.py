"""Opens the case store where the settings put it: a SQLite file, or PostgreSQL by URL.

`Database` (bot/store/base.py) is the one interface; `SqliteDatabase` (bot/store/sqlite.py)
and `PostgresDatabase` (bot/store/postgres.py) are its two backends.
"""

from __future__ import annotations

from pathlib import Path

from bot.store.base import Connection, Database, Dialect, Row, StoreError, SyncConnection, utcnow
from bot.store.sqlite import BUSY_TIMEOUT_MS, SqliteDatabase

__all__ = ["BUSY_TIMEOUT_MS", "Connection", "Database", "Dialect", "Row", "SqliteDatabase",
           "StoreError", "SyncConnection", "is_postgres_url", "open_database", "utcnow"]


def is_postgres_url(target: str | Path) -> bool:
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


async def open_database(target: str | Path, *, migrate: bool = True,
                        busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> Database:
    """The store at `target`: a `postgresql://` URL, or a SQLite file (or ":memory:").

    `busy_timeout_ms` is how long a SQLite write waits for another process's; PostgreSQL
    writers wait for each other's lock without a limit, as its transactions are short.
    """
    if is_postgres_url(target):
        # Imported here so that the SQLite path never loads psycopg.
        from bot.store.postgres import PostgresDatabase

        return await PostgresDatabase.open(str(target), migrate=migrate)
    return await SqliteDatabase.open(target, migrate=migrate, busy_timeout_ms=busy_timeout_ms)
