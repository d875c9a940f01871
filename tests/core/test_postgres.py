"""The store on PostgreSQL itself: its SQL translation, migrations, and the guarantees that
must hold across processes (case numbers, the outbox claim, migrating at once).

The tests that several processes run use real processes (`multiprocessing`, spawned), each
with its own connections, started together at a barrier.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from datetime import UTC, datetime
from types import SimpleNamespace

import psycopg
import pytest

from bot.cases.models import CaseDraft, CaseKind
from bot.cases.store import CaseStore
from bot.config import ConfigError, Settings
from bot.store.db import StoreError, open_database
from bot.store.migrations import MIGRATIONS, POSTGRES_MIGRATIONS
from bot.store.outbox import Outbox, enqueue
from bot.store.postgres import translate

NOW = datetime(2026, 11, 30, 1, 30, tzinfo=UTC)


def test_parameters_become_psycopgs_and_literals_and_casts_stay():
    assert translate("SELECT * FROM t WHERE a = ? AND b = :name") == (
        "SELECT * FROM t WHERE a = %s AND b = %(name)s")
    assert translate("SELECT 1 WHERE actor LIKE 'staff:%' AND x = ?") == (
        "SELECT 1 WHERE actor LIKE 'staff:%%' AND x = %s")
    assert translate("SELECT (detail::jsonb ->> 'key'), 'a ? :b', 5 % 2") == (
        "SELECT (detail::jsonb ->> 'key'), 'a ? :b', 5 %% 2")


def test_the_store_is_where_the_settings_put_it():
    assert Settings.from_env({}).database == Settings.from_env({}).db_path
    url = "postgresql://hotline:secret@db.internal:5432/hotline"
    settings = Settings.from_env({"HOTLINE_DATABASE_URL": url})
    assert settings.database == url
    assert settings.database_shown == "postgresql://hotline@db.internal:5432/hotline"
    with pytest.raises(ConfigError, match="postgresql://"):
        Settings.from_env({"HOTLINE_DATABASE_URL": "mysql://root@127.0.0.1/hotline"})


def test_both_backends_have_the_same_migrations_in_the_same_order():
    assert [name for name, _ in POSTGRES_MIGRATIONS] == [name for name, _ in MIGRATIONS]


async def test_migrating_an_empty_database_creates_every_table_and_again_nothing(postgres):
    url = postgres.create_empty()
    db = await open_database(url, migrate=False)
    try:
        assert await db.migrate() == [name for name, _ in MIGRATIONS]
        assert await db.migrate() == []
        tables = {row["table_name"] for row in await db.fetchall(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")}
        assert {"schema_migrations", "cases", "case_events", "case_counters", "outbox",
                "alerts", "kb_answers", "category_examples"} <= tables
        assert "blocked_chats" not in tables
        types = {row[0]: row[1] for row in await db.fetchall(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_name = 'outbox'")}
        assert types["chat_id"] == "bigint" and types["claimed_until"] == "text"
    finally:
        await db.close()
        postgres.drop(url)


async def test_a_database_that_sorts_text_by_locale_is_refused(postgres):
    name = f"{postgres.template}_locale"
    with psycopg.connect(postgres.admin_url, autocommit=True) as conn:
        collations = {row[0] for row in conn.execute("SELECT collname FROM pg_collation")}
        if "en_US.utf8" not in collations:
            pytest.skip("no en_US.utf8 locale on this machine")
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 LC_COLLATE "en_US.utf8"'
                     ' LC_CTYPE "en_US.utf8"')
    try:
        with pytest.raises(StoreError, match="LC_COLLATE 'C'"):
            await open_database(postgres.url_of(name))
    finally:
        postgres.drop(postgres.url_of(name))


async def test_case_events_are_append_only(db, cases, backend):
    case = await cases.file_case(CaseDraft(citizen_id=1, chat_id=1, kind=CaseKind.COMPLAINT,
                                           description="路灯坏了"))
    for statement in ("UPDATE case_events SET actor = 'x' WHERE case_id = ?",
                      "DELETE FROM case_events WHERE case_id = ?"):
        with pytest.raises(Exception, match="append-only"):
            async with db.write() as conn:
                await conn.execute(statement, (case.id,))
    assert len(await cases.events(case.id)) == 1


async def test_a_read_inside_a_write_sees_it_and_others_only_after_commit(db):
    async with db.write() as conn:
        await conn.execute("INSERT INTO supervision_marks (key, at) VALUES (?, ?)", ("k", "t"))
        assert await db.fetchone("SELECT key FROM supervision_marks") is not None
        outside = asyncio.create_task(db.fetchone("SELECT key FROM supervision_marks"))
        assert await outside is None
    assert (await db.fetchone("SELECT key FROM supervision_marks"))["key"] == "k"


async def test_a_thread_transaction_commits_or_leaves_nothing(db):
    def good(conn) -> int:
        conn.execute("INSERT INTO supervision_marks (key, at) VALUES (?, ?)", ("a", "t"))
        return conn.execute("SELECT count(*) FROM supervision_marks").fetchone()[0]

    def bad(conn) -> None:
        conn.execute("INSERT INTO supervision_marks (key, at) VALUES (?, ?)", ("b", "t"))
        raise RuntimeError("changed its mind")

    assert await db.transaction_in_thread(good) == 1
    with pytest.raises(RuntimeError):
        await db.transaction_in_thread(bad)
    assert [r["key"] for r in await db.fetchall("SELECT key FROM supervision_marks")] == ["a"]


# ---- several processes -------------------------------------------------------------------

def _run(target, index: int, arguments: tuple, barrier, results) -> None:
    try:
        results.put((index, target(*arguments, barrier)))
    except BaseException as exc:
        barrier.abort()
        results.put((index, RuntimeError(f"process {index}: {exc!r}")))


def _spawn(target, argument_lists: list[tuple]) -> list:
    """Runs `target(*arguments, barrier)` in one spawned process each (they wait for each
    other at `barrier`); returns their results in order."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(argument_lists))
    results = context.Queue()
    processes = [context.Process(target=_run, args=(target, i, arguments, barrier, results))
                 for i, arguments in enumerate(argument_lists)]
    for process in processes:
        process.start()
    try:
        found = dict(results.get(timeout=120) for _ in processes)
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    for value in found.values():
        if isinstance(value, Exception):
            raise value
    return [found[i] for i in range(len(processes))]


def file_in_a_process(url: str, how_many: int, citizen: int, barrier) -> list[str]:
    async def file() -> list[str]:
        db = await open_database(url)
        store = CaseStore(db, clock=lambda: NOW)
        barrier.wait()
        try:
            results = await asyncio.gather(*(
                store.file_case(CaseDraft(
                    citizen_id=citizen, chat_id=citizen, kind=CaseKind.COMPLAINT,
                    # every fifth filing violates NOT NULL: it fails alone, its number too
                    description=None if i % 5 == 4 else f"第{i}件事"))
                for i in range(how_many)), return_exceptions=True)
        finally:
            await db.close()
        return [r.number for r in results if not isinstance(r, BaseException)]

    return asyncio.run(file())


async def test_filers_in_two_processes_get_unique_numbers_without_gaps(postgres):
    url = postgres.create()
    numbers = await asyncio.to_thread(
        _spawn, file_in_a_process, [(url, 60, 101), (url, 60, 202)])
    filed = [n for per_process in numbers for n in per_process]
    assert len(filed) == 2 * 48
    assert sorted(filed) == [f"NT20261130{i:04d}" for i in range(1, len(filed) + 1)]
    db = await open_database(url)
    try:
        row = await db.fetchone("SELECT count(*), count(DISTINCT number) FROM cases")
        assert tuple(row) == (len(filed), len(filed))
    finally:
        await db.close()
        postgres.drop(url)


class RecordingBot:
    """Sends nothing: records when each message would have gone, and to whom."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, str, int]] = []

    async def send_message(self, chat_id: int, text: str, **_: object) -> SimpleNamespace:
        await asyncio.sleep(0.001)  # a round trip, so that the two workers overlap
        self.sent.append((chat_id, text, time.time_ns()))
        return SimpleNamespace(message_id=len(self.sent))


def deliver_in_a_process(url: str, barrier) -> list[tuple[int, str, int]]:
    from bot.telegram.delivery import DeliveryWorker  # the bot's environment only

    async def deliver() -> list[tuple[int, str, int]]:
        db = await open_database(url)
        bot = RecordingBot()
        outbox = Outbox(db, clock=lambda: NOW)
        worker = DeliveryWorker(outbox, bot, pace=False)
        barrier.wait()
        try:
            while (await outbox.counts())["pending"]:
                await worker.run_once()
        finally:
            await db.close()
        return bot.sent

    return asyncio.run(deliver())


async def test_two_delivery_processes_never_send_a_row_twice_and_keep_each_chats_order(
        postgres):
    url = postgres.create()
    db = await open_database(url)
    try:
        async with db.write() as conn:
            for i in range(300):
                await enqueue(conn, chat_id=1000 + i % 30, text=f"{i:03d}", purpose="test",
                              at=NOW)
    finally:
        await db.close()
    try:
        sent = await asyncio.to_thread(
            _spawn, deliver_in_a_process, [(url,), (url,)])
    finally:
        postgres.drop(url)
    every = [text for per_worker in sent for _, text, _ in per_worker]
    assert sorted(every) == [f"{i:03d}" for i in range(300)]  # each once, none lost
    assert all(per_worker for per_worker in sent), "both workers should have delivered"
    by_time = sorted((at, chat, text) for per_worker in sent for chat, text, at in per_worker)
    for chat in range(1000, 1030):
        texts = [text for _, c, text in by_time if c == chat]
        assert texts == sorted(texts), f"chat {chat} out of order"


def migrate_in_a_process(url: str, barrier) -> list[str]:
    async def migrate() -> list[str]:
        db = await open_database(url, migrate=False)
        barrier.wait()
        try:
            return await db.migrate()
        finally:
            await db.close()

    return asyncio.run(migrate())


async def test_two_processes_migrating_at_once_apply_each_migration_once(postgres):
    url = postgres.create_empty()
    try:
        first, second = await asyncio.to_thread(
            _spawn, migrate_in_a_process, [(url,), (url,)])
        assert sorted([first, second], key=len) == [[], [name for name, _ in MIGRATIONS]]
        with psycopg.connect(url) as conn:
            names = [row[0] for row in conn.execute("SELECT name FROM schema_migrations")]
        assert sorted(names) == sorted(name for name, _ in MIGRATIONS)
    finally:
        postgres.drop(url)
