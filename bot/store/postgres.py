"""The case store on PostgreSQL (`HOTLINE_DATABASE_URL=postgresql://…`), through psycopg 3.

The call sites write SQL once, with SQLite's `?` and `:name` parameters; this module turns
them into psycopg's `%s` and `%(name)s` (a literal `%` doubled), hands out rows that read
by name and by position as `sqlite3.Row` does, and keeps the guarantees the SQLite store
gives:

* **Writes are serialised.** SQLite's `BEGIN IMMEDIATE` lets one writer in at a time, and
  the code counts on it: it reads, then writes what it read, inside one `write()` (is the
  case still open, was this source key filed, who holds the hand-off). Here every
  serialised write first takes one transaction-level advisory lock
  (`pg_advisory_xact_lock(WRITE_LOCK)`), released by its commit or rollback. The cost:
  one writer at a time across every process and machine, each holding the lock for its
  round trips to the server (a filing batch is about ten statements), so write throughput
  is bounded as on SQLite; reads never wait (MVCC). SERIALIZABLE with retries would let
  writes overlap, but every write would then have to be safe to run again from the top,
  and filing, which answers callers' futures, and the outbox, which must enqueue once, are
  not written that way; a global lock changes no call site.
* **The outbox claim is not serialised.** `write(serialise=False)` skips that lock; the
  claim's `SELECT … FOR UPDATE SKIP LOCKED` (bot/store/outbox.py) keeps delivery workers
  in different processes off each other's rows.
* **Case numbers** come from a per-day counter row, incremented with
  `INSERT … ON CONFLICT DO UPDATE … RETURNING` in the filing transaction: the row lock
  (and the write lock) make them unique, and a rolled-back filing rolls its number back,
  so they have no gaps.
* **Migrations** (`POSTGRES_MIGRATIONS`, the same names in the same order as SQLite's)
  run under a session advisory lock, so two processes starting together apply each
  once.

Datetimes stay ISO text, compared as text, as on SQLite: that needs the database's
collation to be "C" (byte order), and `migrate` refuses a database created otherwise.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager, nullcontext
from contextvars import ContextVar
from functools import lru_cache
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit

import psycopg
from psycopg.adapt import Loader
from psycopg_pool import AsyncConnectionPool, ConnectionPool, PoolTimeout

from bot.store.base import POSTGRES, Database, StoreError, utcnow
from bot.store.migrations import POSTGRES_MIGRATIONS

log = logging.getLogger(__name__)

T = TypeVar("T")

# Advisory lock keys: (namespace, key). 12345 is the hotline's.
WRITE_LOCK = (12345, 1)
MIGRATION_LOCK = (12345, 2)
CONNECT_TIMEOUT = 10.0


# ---- SQL and rows ------------------------------------------------------------------------

_TOKEN = re.compile(r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|::|\?|:([A-Za-z_]\w*)|%""")


@lru_cache(maxsize=2048)
def translate(sql: str) -> str:
    """SQLite's parameters as psycopg's: `?` → `%s`, `:name` → `%(name)s`, `%` → `%%`.

    String literals keep their text (their `%` doubled, as psycopg reads them too) and
    `::` casts stay casts.
    """

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token[0] in "'\"":
            return token.replace("%", "%%")
        if token == "::":
            return token
        if token == "?":
            return "%s"
        if token == "%":
            return "%%"
        return f"%({match.group(1)})s"

    return _TOKEN.sub(replace, sql)


class Row(tuple):
    """A result row read by position or by column name, as `sqlite3.Row` is."""

    __slots__ = ()
    _names: ClassVar[tuple[str, ...]] = ()
    _index: ClassVar[dict[str, int]] = {}

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            try:
                key = self._index[key]
            except KeyError:
                raise IndexError(f"no column named {key}") from None
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


@lru_cache(maxsize=512)
def _row_class(names: tuple[str, ...]) -> type[Row]:
    return type("Row", (Row,), {"__slots__": (), "_names": names,
                                "_index": {name: i for i, name in enumerate(names)}})


def row_factory(cursor: Any) -> Callable[[Sequence[Any]], Any]:
    if cursor.description is None:
        return tuple
    return _row_class(tuple(column.name for column in cursor.description))


class _NumberLoader(Loader):
    """`numeric` (what `sum` of a BIGINT gives) as an int when whole, else a float, as
    SQLite returns it; never a Decimal."""

    def load(self, data: Any) -> int | float:
        text = bytes(data).decode()
        try:
            return int(text)
        except ValueError:
            return float(text)


def _configure_sync(conn: psycopg.Connection) -> None:
    conn.adapters.register_loader("numeric", _NumberLoader)


async def _configure(conn: psycopg.AsyncConnection) -> None:
    conn.adapters.register_loader("numeric", _NumberLoader)


def _params(params: Any) -> Any:
    # Never None: psycopg leaves a query without parameters untouched, `%%` included.
    return params if isinstance(params, dict) else tuple(params)


def shown(url: str) -> str:
    """The URL without its password, for logs and errors."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path}"


class _Execution:
    """`conn.execute(…)` as aiosqlite gives it: await it for the cursor, or use it with
    `async with` to have the cursor closed after."""

    __slots__ = ("_cursor", "_pending")

    def __init__(self, pending: Any) -> None:
        self._pending = pending
        self._cursor: psycopg.AsyncCursor | None = None

    def __await__(self) -> Any:
        return self._pending.__await__()

    async def __aenter__(self) -> psycopg.AsyncCursor:
        self._cursor = await self._pending
        return self._cursor

    async def __aexit__(self, *exc: object) -> None:
        if self._cursor is not None:
            await self._cursor.close()


class PgConnection:
    """The connection `write()` yields: `execute` takes the SQLite-style SQL."""

    def __init__(self, raw: psycopg.AsyncConnection) -> None:
        self.raw = raw

    def execute(self, sql: str, parameters: Any = ()) -> _Execution:
        return _Execution(self.raw.execute(translate(sql), _params(parameters)))


class SyncPgConnection:
    """The blocking connection `transaction_in_thread` gives its body."""

    def __init__(self, raw: psycopg.Connection) -> None:
        self.raw = raw

    def execute(self, sql: str, parameters: Any = ()) -> psycopg.Cursor:
        return self.raw.execute(translate(sql), _params(parameters))

    def executemany(self, sql: str, seq: Any) -> psycopg.Cursor:
        cursor = self.raw.cursor()
        cursor.executemany(translate(sql), [_params(p) for p in seq])
        return cursor


# ---- the database ------------------------------------------------------------------------

class PostgresDatabase(Database):
    """A pool of connections in autocommit mode: each read is one statement on its own
    snapshot of committed data, each `write()` one transaction (see the module docstring)."""

    dialect = POSTGRES
    fatal_errors = (psycopg.OperationalError,)

    def __init__(self, url: str, pool: AsyncConnectionPool) -> None:
        self.url = url
        self.pool = pool
        # One serialised write at a time per process: the others would only wait for the
        # advisory lock holding a connection of the pool each.
        self._write_lock = asyncio.Lock()
        self._current: ContextVar[tuple[asyncio.Task | None, PgConnection] | None] = (
            ContextVar(f"pg_write_{id(self)}", default=None))
        self._sync_pool: ConnectionPool | None = None

    @classmethod
    async def open(cls, url: str, *, migrate: bool = True, max_size: int = 8
                   ) -> PostgresDatabase:
        pool = AsyncConnectionPool(
            url, min_size=1, max_size=max_size, open=False, configure=_configure,
            kwargs={"autocommit": True, "row_factory": row_factory},
            name="hotline")
        try:
            await pool.open(wait=True, timeout=CONNECT_TIMEOUT)
        except PoolTimeout as exc:
            await pool.close()
            raise StoreError(f"could not connect to {shown(url)}: {exc}") from exc
        db = cls(url, pool)
        if migrate:
            try:
                await db.migrate()
            except BaseException:
                await db.close()
                raise
        return db

    async def close(self) -> None:
        if self._sync_pool is not None:
            await asyncio.to_thread(self._sync_pool.close)
            self._sync_pool = None
        await self.pool.close()

    def _own_write(self) -> PgConnection | None:
        current = self._current.get()
        if current is not None and current[0] is asyncio.current_task():
            return current[1]
        return None

    @asynccontextmanager
    async def write(self, *, serialise: bool = True) -> AsyncIterator[PgConnection]:
        """One transaction, committed on exit, rolled back on any error; serialised with
        every other serialised write of every process unless `serialise=False`."""
        async with self._write_lock if serialise else nullcontext():
            try:
                async with self.pool.connection() as raw, raw.transaction():
                    if serialise:
                        await raw.execute("SELECT pg_advisory_xact_lock(%s, %s)", WRITE_LOCK)
                    conn = PgConnection(raw)
                    token = self._current.set((asyncio.current_task(), conn))
                    try:
                        yield conn
                    finally:
                        self._current.reset(token)
            except (psycopg.OperationalError, PoolTimeout) as exc:
                raise StoreError(f"write to {shown(self.url)} failed: {exc}") from exc

    async def transaction_in_thread(self, body: Callable[[SyncPgConnection], T]) -> T:
        """Runs `body` as one serialised write on a blocking connection in a thread."""
        async with self._write_lock:
            try:
                return await asyncio.to_thread(self._run_in_thread, body)
            except (psycopg.OperationalError, PoolTimeout) as exc:
                raise StoreError(f"write to {shown(self.url)} failed: {exc}") from exc

    def _run_in_thread(self, body: Callable[[SyncPgConnection], T]) -> T:
        if self._sync_pool is None:  # under the write lock: one thread at a time gets here
            pool = ConnectionPool(
                self.url, min_size=1, max_size=1, open=False, configure=_configure_sync,
                kwargs={"autocommit": True, "row_factory": row_factory},
                name="hotline-thread")
            pool.open(wait=True, timeout=CONNECT_TIMEOUT)
            self._sync_pool = pool
        with self._sync_pool.connection() as raw, raw.transaction():
            raw.execute("SELECT pg_advisory_xact_lock(%s, %s)", WRITE_LOCK)
            return body(SyncPgConnection(raw))

    async def fetchone(self, sql: str, params: tuple | dict = ()) -> Any:
        conn = self._own_write()
        if conn is not None:
            async with conn.execute(sql, params) as cursor:
                return await cursor.fetchone()
        async with self.pool.connection() as raw:
            cursor = await raw.execute(translate(sql), _params(params))
            return await cursor.fetchone()

    async def fetchall(self, sql: str, params: tuple | dict = ()) -> list[Any]:
        conn = self._own_write()
        if conn is not None:
            async with conn.execute(sql, params) as cursor:
                return list(await cursor.fetchall())
        async with self.pool.connection() as raw:
            cursor = await raw.execute(translate(sql), _params(params))
            return list(await cursor.fetchall())

    async def migrate(self) -> list[str]:
        """Applies the migrations not yet recorded, each in one transaction with its record,
        under a lock that makes a second migrator wait and then find them applied."""
        newly: list[str] = []
        async with self.pool.connection() as raw:
            await raw.execute("SELECT pg_advisory_lock(%s, %s)", MIGRATION_LOCK)
            try:
                await _check_collation(raw, self.url)
                await raw.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
                    " name TEXT NOT NULL UNIQUE,"
                    " applied_at TEXT NOT NULL)")
                cursor = await raw.execute("SELECT name FROM schema_migrations")
                applied = {row[0] for row in await cursor.fetchall()}
                for name, statements in POSTGRES_MIGRATIONS:
                    if name in applied:
                        continue
                    async with raw.transaction():
                        for statement in statements:
                            await raw.execute(statement)
                        await raw.execute(
                            "INSERT INTO schema_migrations (name, applied_at) VALUES (%s, %s)",
                            (name, utcnow().isoformat()))
                    log.info("applied migration %s", name)
                    newly.append(name)
            finally:
                await raw.execute("SELECT pg_advisory_unlock(%s, %s)", MIGRATION_LOCK)
        return newly


async def _check_collation(raw: psycopg.AsyncConnection, url: str) -> None:
    cursor = await raw.execute(
        "SELECT datcollate FROM pg_database WHERE datname = current_database()")
    (collation,) = await cursor.fetchone()
    if collation not in ("C", "POSIX", "C.UTF-8", "C.utf8"):
        raise StoreError(
            f"{shown(url)} sorts text by {collation!r}; the store compares ISO times as text"
            " and needs byte order: create the database with LC_COLLATE 'C'"
            " TEMPLATE template0")
