"""Migrations and transactions on a real SQLite file (PostgreSQL's: test_postgres.py)."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from bot.store.db import SqliteDatabase, StoreError
from bot.store.migrations import MIGRATIONS
from bot.store.outbox import Outbox, enqueue


@pytest.fixture
def backend() -> str:
    return "sqlite"  # these tests are about SQLite itself; PostgreSQL's are in test_postgres.py


async def test_migrating_an_empty_database_creates_every_table(db_path):
    db = await SqliteDatabase.open(db_path)
    try:
        assert await db.applied_migrations() == [name for name, _ in MIGRATIONS]
        tables = {row[0] for row in await db.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"schema_migrations", "cases", "case_events", "case_counters",
                "processed_updates", "keyboards", "kb_feedback", "kb_misses"} <= tables
        columns = {row[1] for row in await db.fetchall("PRAGMA table_info(cases)")}
        assert {"number", "citizen_id", "kind", "category", "department", "deadline",
                "status", "phone", "source_key"} <= columns
    finally:
        await db.close()


async def test_a_database_from_before_0008_keeps_its_handled_updates_and_loses_blocked_chats(
        db_path):
    old = [(name, statements) for name, statements in MIGRATIONS if name < "0008"]
    with sqlite3.connect(db_path) as conn:
        conn.execute("CREATE TABLE schema_migrations (id INTEGER PRIMARY KEY,"
                     " name TEXT NOT NULL UNIQUE, applied_at TEXT NOT NULL)")
        for name, statements in old:
            for statement in statements:
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations (name, applied_at) VALUES (?, 'then')",
                         (name,))
        conn.execute("INSERT INTO processed_updates (update_id, at) VALUES (5, 'then')")
        conn.execute("INSERT INTO blocked_chats (chat_id, at, reason) VALUES (1, 'then', '403')")
    conn.close()
    db = await SqliteDatabase.open(db_path, migrate=False)
    try:
        assert await db.migrate() == [name for name, _ in MIGRATIONS[len(old):]]
        tables = {row[0] for row in await db.fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "blocked_chats" not in tables
        row = await db.fetchone("SELECT state, run FROM processed_updates WHERE update_id = 5")
        assert (row["state"], row["run"]) == ("done", None)
    finally:
        await db.close()


async def test_migrating_again_applies_nothing(db_path):
    first = await SqliteDatabase.open(db_path)
    await first.close()
    again = await SqliteDatabase.open(db_path, migrate=False)
    try:
        assert await again.migrate() == []
        rows = await again.fetchall("SELECT name FROM schema_migrations")
        assert len(rows) == len(MIGRATIONS)
    finally:
        await again.close()


async def test_connection_pragmas(db):
    assert (await db.fetchone("PRAGMA journal_mode"))[0] == "wal"
    assert (await db.fetchone("PRAGMA foreign_keys"))[0] == 1
    assert (await db.fetchone("PRAGMA busy_timeout"))[0] >= 5000


async def test_a_failed_write_leaves_nothing_behind(db):
    with pytest.raises(RuntimeError):
        async with db.write() as conn:
            await conn.execute(
                "INSERT INTO processed_updates (update_id, at) VALUES (1, 'now')")
            raise RuntimeError("boom")
    assert await db.fetchone("SELECT * FROM processed_updates") is None


async def test_case_events_are_append_only(db, cases):
    from bot.cases.models import CaseDraft, CaseKind

    case = await cases.file_case(CaseDraft(citizen_id=1, chat_id=1, kind=CaseKind.HELP,
                                           description="路灯坏了"))
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        async with db.write() as conn:
            await conn.execute("UPDATE case_events SET kind = 'x' WHERE case_id = ?", (case.id,))
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        async with db.write() as conn:
            await conn.execute("DELETE FROM case_events WHERE case_id = ?", (case.id,))
    assert [e.kind for e in await cases.events(case.id)] == ["filed"]


async def test_two_connections_share_the_file(db_path):
    """The bot and the action server each hold a connection; writes from one are seen by the other."""
    a = await SqliteDatabase.open(db_path)
    b = await SqliteDatabase.open(db_path)
    try:
        async with a.write() as conn:
            await conn.execute("INSERT INTO processed_updates (update_id, at) VALUES (7, 'x')")
        assert (await b.fetchone("SELECT count(*) FROM processed_updates"))[0] == 1
    finally:
        await a.close()
        await b.close()


async def test_a_transaction_in_the_database_thread_commits_or_leaves_nothing(db):
    def good(conn: sqlite3.Connection) -> int:
        conn.execute("INSERT INTO case_counters (day, last) VALUES ('20260101', 1)")
        return conn.execute("SELECT last FROM case_counters").fetchone()[0]

    def bad(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO case_counters (day, last) VALUES ('20260102', 1)")
        raise ValueError("the body failed half-way")

    assert await db.transaction_in_thread(good) == 1
    with pytest.raises(ValueError):
        await db.transaction_in_thread(bad)
    days = [r[0] for r in await db.fetchall("SELECT day FROM case_counters")]
    assert days == ["20260101"]
    assert not db.conn.in_transaction


async def test_thread_transactions_and_async_writes_do_not_interleave(db):
    async def async_write(i: int) -> None:
        async with db.write() as conn:
            await conn.execute("INSERT INTO case_counters (day, last) VALUES (?, 0)", (f"a{i}",))
            await asyncio.sleep(0)  # let the other kind try to start meanwhile
            await conn.execute("UPDATE case_counters SET last = 1 WHERE day = ?", (f"a{i}",))

    def thread_write(i: int):
        return lambda conn: conn.execute(
            "INSERT INTO case_counters (day, last) VALUES (?, 1)", (f"t{i}",))

    await asyncio.gather(*(job for i in range(20) for job in (
        async_write(i), db.transaction_in_thread(thread_write(i)))))
    rows = await db.fetchall("SELECT last FROM case_counters")
    assert len(rows) == 40 and {r[0] for r in rows} == {1}


async def test_a_locked_database_is_a_store_error_for_thread_transactions(db_path):
    holder = await SqliteDatabase.open(db_path)
    waiter = await SqliteDatabase.open(db_path, busy_timeout_ms=50)
    try:
        async with holder.write():
            with pytest.raises(StoreError):
                await waiter.transaction_in_thread(lambda conn: conn.execute("SELECT 1"))
    finally:
        await holder.close()
        await waiter.close()


class Rollback(Exception):
    """Raised to roll a test's write back."""


@pytest.fixture(params=["file", "memory"])
async def any_db(request, db_path):
    database = await SqliteDatabase.open(db_path if request.param == "file" else ":memory:")
    yield database
    await database.close()


async def test_reads_see_only_committed_rows_never_a_write_that_rolls_back(any_db):
    outbox = Outbox(any_db)
    at = datetime.now(UTC) - timedelta(seconds=1)
    with pytest.raises(Rollback):
        async with any_db.write() as conn:
            await enqueue(conn, chat_id=42, text="未提交", purpose="test", at=at)
            # The write sees its own row, on its connection and through the Database.
            async with conn.execute("SELECT count(*) FROM outbox") as cursor:
                assert (await cursor.fetchone())[0] == 1
            assert (await any_db.fetchone("SELECT count(*) FROM outbox"))[0] == 1
            # Another task (the delivery worker) reading meanwhile does not. A file
            # database answers at once; an in-memory one waits for the write to end.
            reader = asyncio.create_task(outbox.due())
            done, _ = await asyncio.wait({reader}, timeout=0.5)
            if done:
                assert reader.result() == []
            raise Rollback
    assert await reader == []
    assert await outbox.due() == []
    assert await any_db.fetchall("SELECT * FROM outbox") == []


async def test_reads_see_a_write_once_it_commits(any_db):
    at = datetime.now(UTC) - timedelta(seconds=1)
    async with any_db.write() as conn:
        await enqueue(conn, chat_id=42, text="已提交", purpose="test", at=at)
    assert [item.text for item in await Outbox(any_db).due()] == ["已提交"]
