"""The case store on SQLite: one file shared by the bot and the action server.

One file, WAL journal, a busy timeout so that two processes wait for each other
instead of failing, foreign keys on, and every write in `BEGIN IMMEDIATE` so a
writer takes the lock before it reads what it is about to change. Reads have a
connection of their own, so they see only what was committed (WAL lets them run
while a write is open), never the inside of a write that may still roll back.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

import aiosqlite

from bot.store.base import SQLITE, Database, StoreError, utcnow
from bot.store.migrations import MIGRATIONS

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 10_000
T = TypeVar("T")


class SqliteDatabase(Database):
    """A writing connection per process, writes serialised by an asyncio lock, and a
    reading one.

    `fetchone` and `fetchall` read on `reader` and see committed data only. An in-memory
    database cannot be opened twice, so it has no `reader` and its reads wait for the
    write lock instead. A read by the task inside `write()` reads within that write, so
    it sees the write's own changes (as a read on the `conn` it yields does).
    """

    dialect = SQLITE
    fatal_errors = (sqlite3.OperationalError,)

    def __init__(self, conn: aiosqlite.Connection, path: Path,
                 reader: aiosqlite.Connection | None = None) -> None:
        self.conn = conn
        self.path = path
        self.reader = reader
        self._write_lock = asyncio.Lock()
        self._writer: asyncio.Task | None = None  # the task inside `write()`, if any

    @classmethod
    async def open(cls, path: Path | str, *, migrate: bool = True,
                   busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> SqliteDatabase:
        path = Path(path)
        in_memory = str(path) == ":memory:"
        if not in_memory:
            path.parent.mkdir(parents=True, exist_ok=True)
        conn = await _connect(path, busy_timeout_ms)
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA synchronous = NORMAL")
        reader = None
        if not in_memory:
            reader = await _connect(path, busy_timeout_ms)
            await reader.execute("PRAGMA query_only = ON")  # writes go through `write()`
        db = cls(conn, path, reader)
        if migrate:
            await db.migrate()
        return db

    async def close(self) -> None:
        if self.reader is not None:
            await self.reader.close()
        await self.conn.close()

    @asynccontextmanager
    async def write(self, *, serialise: bool = True) -> AsyncIterator[aiosqlite.Connection]:
        """A `BEGIN IMMEDIATE` transaction: committed on exit, rolled back on any error.

        Every write here is serialised, `serialise=False` too: SQLite has one writer.
        """
        async with self._write_lock:
            self._writer = asyncio.current_task()
            try:
                try:
                    await self.conn.execute("BEGIN IMMEDIATE")
                except aiosqlite.OperationalError as exc:
                    raise StoreError(f"could not start a write on {self.path}: {exc}") from exc
                try:
                    yield self.conn
                except aiosqlite.OperationalError as exc:  # locked, read-only, disk full …
                    await self.conn.execute("ROLLBACK")
                    raise StoreError(f"write to {self.path} failed: {exc}") from exc
                except BaseException:
                    await self.conn.execute("ROLLBACK")
                    raise
                try:
                    await self.conn.execute("COMMIT")
                except aiosqlite.OperationalError as exc:
                    await self.conn.execute("ROLLBACK")
                    raise StoreError(f"could not commit to {self.path}: {exc}") from exc
            finally:
                self._writer = None

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection a read goes to, held for as long as the read needs it."""
        if self._writer is not None and self._writer is asyncio.current_task():
            yield self.conn  # inside this task's own write
        elif self.reader is not None:
            yield self.reader
        else:
            async with self._write_lock:
                yield self.conn

    async def transaction_in_thread(self, body: Callable[[sqlite3.Connection], T]) -> T:
        """Runs `body` as one `BEGIN IMMEDIATE` transaction inside the database thread.

        A statement through aiosqlite costs a round trip between threads (about 0.25 ms
        here, more than the statement itself); a hot write with several statements runs
        whole in the thread instead, in one round trip. aiosqlite has no public call for
        this, so it uses `Connection._execute` and `_conn` of the pinned aiosqlite
        (tests/core/test_db.py fails if an upgrade changes them).
        """
        raw_connection = self.conn._conn

        def run() -> T:
            raw_connection.execute("BEGIN IMMEDIATE")
            try:
                result = body(raw_connection)
            except BaseException:
                raw_connection.execute("ROLLBACK")
                raise
            try:
                raw_connection.execute("COMMIT")
            except BaseException:
                raw_connection.execute("ROLLBACK")
                raise
            return result

        async with self._write_lock:
            try:
                return await self.conn._execute(run)
            except sqlite3.OperationalError as exc:
                raise StoreError(f"write to {self.path} failed: {exc}") from exc

    async def fetchone(self, sql: str, params: tuple | dict = ()) -> aiosqlite.Row | None:
        async with self._reading() as conn, conn.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def fetchall(self, sql: str, params: tuple | dict = ()) -> list[aiosqlite.Row]:
        async with self._reading() as conn, conn.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def migrate(self) -> list[str]:
        """Applies the migrations not yet recorded, each in one transaction with its record."""
        async with self.write() as conn:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " id INTEGER PRIMARY KEY,"
                " name TEXT NOT NULL UNIQUE,"
                " applied_at TEXT NOT NULL)"
            )
        applied = set(await self.applied_migrations())
        newly: list[str] = []
        for name, statements in MIGRATIONS:
            if name in applied:
                continue
            async with self.write() as conn:
                # Another process may have applied it between our read and our lock.
                async with conn.execute(
                    "SELECT 1 FROM schema_migrations WHERE name = ?", (name,)
                ) as cursor:
                    if await cursor.fetchone():
                        continue
                for statement in statements:
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)",
                    (name, utcnow().isoformat()),
                )
            log.info("applied migration %s", name)
            newly.append(name)
        return newly


async def _connect(path: Path, busy_timeout_ms: int) -> aiosqlite.Connection:
    # isolation_level=None: no implicit transactions, we open them ourselves.
    conn = await aiosqlite.connect(str(path), isolation_level=None)
    conn.row_factory = aiosqlite.Row
    await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    await conn.execute("PRAGMA foreign_keys = ON")
    return conn
