"""What the rest of the code may count on from the case store, on SQLite or PostgreSQL.

The SQL the call sites write is the subset both SQLite 3.40 and PostgreSQL 15 accept:
`?` or `:name` parameters, `INSERT … ON CONFLICT … DO NOTHING / DO UPDATE`, `RETURNING`,
`count(*) FILTER (WHERE …)` instead of summing comparisons, `IS NOT DISTINCT FROM`
instead of `IS ?`, datetimes as ISO text. The few things that differ are the `Dialect`'s.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class StoreError(RuntimeError):
    """The database could not complete an operation; nothing of it was written."""


class Row(Protocol):
    """A result row: by column name (`row["number"]`) or by position (`row[0]`)."""

    def __getitem__(self, key: int | str) -> Any: ...

    def keys(self) -> list[str]: ...


class Cursor(Protocol):
    rowcount: int

    async def fetchone(self) -> Any: ...

    async def fetchall(self) -> Sequence[Any]: ...


class Connection(Protocol):
    """What `Database.write()` yields: `await conn.execute(sql, params)` gives a cursor, and
    `async with conn.execute(sql, params) as cursor` closes it after."""

    def execute(self, sql: str, parameters: Any = ...) -> Any: ...


class SyncConnection(Protocol):
    """What `Database.transaction_in_thread` gives its body: a blocking connection whose
    `execute(sql, params)` returns a cursor with `fetchone`, `fetchall` and `rowcount`."""

    def execute(self, sql: str, parameters: Any = ...) -> Any: ...


@dataclass(frozen=True)
class Dialect:
    """The little SQL that cannot be written once for both databases."""

    name: str
    # A JSON field of a TEXT column, as text: `json_text("detail", "key")`.
    json_text: Callable[[str, str], str]
    # Ends a SELECT that claims rows of `alias`: lock them, skip those another worker
    # holds. Nothing on SQLite, where the claim's write already excludes every other.
    skip_locked: Callable[[str], str]


SQLITE = Dialect("sqlite", lambda column, key: f"json_extract({column}, '$.{key}')",
                 lambda alias: "")
POSTGRES = Dialect("postgresql", lambda column, key: f"({column}::jsonb ->> '{key}')",
                   lambda alias: f" FOR UPDATE OF {alias} SKIP LOCKED")


class Database(ABC):
    """The case store: serialised writes, committed reads, named migrations.

    `write()` is one transaction, committed on exit and rolled back on any error, and
    writes are serialised (on every backend: the code reads, then writes what it read,
    inside one `write()`). `write(serialise=False)` is for statements that guard
    themselves with row locks (the outbox claim); on SQLite it is the same as `write()`.
    `fetchone` and `fetchall` see committed data only, except inside the calling task's
    own `write()`, where they see that write's changes.
    """

    dialect: Dialect
    # Errors after which a whole transaction, not one savepoint of it, has failed.
    fatal_errors: tuple[type[BaseException], ...]

    @abstractmethod
    def write(self, *, serialise: bool = True) -> AbstractAsyncContextManager[Any]:
        """One write transaction (see the class docstring)."""

    @abstractmethod
    async def transaction_in_thread(self, body: Callable[[Any], T]) -> T:
        """Runs `body(conn)` as one serialised write transaction in a worker thread.

        `conn` is a blocking DB-API connection (`conn.execute(sql, params)` returns a
        cursor with `fetchone`, `fetchall` and `rowcount`; rows as in `fetchone`), so a
        hot write with many statements costs one hop between threads, not one a statement.
        """

    @abstractmethod
    async def fetchone(self, sql: str, params: tuple | dict = ()) -> Any: ...

    @abstractmethod
    async def fetchall(self, sql: str, params: tuple | dict = ()) -> list[Any]: ...

    @abstractmethod
    async def migrate(self) -> list[str]:
        """Applies the migrations not yet recorded; returns their names."""

    @abstractmethod
    async def close(self) -> None: ...

    async def applied_migrations(self) -> list[str]:
        rows = await self.fetchall("SELECT name FROM schema_migrations ORDER BY id")
        return [row["name"] for row in rows]


def utcnow() -> datetime:
    return datetime.now(UTC)
