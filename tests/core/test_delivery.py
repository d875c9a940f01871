"""The outbox and its delivery worker against the in-process Bot API."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from telegram import Bot

from bot.store.db import Database, open_database
from bot.store.outbox import Button, Outbox, enqueue
from bot.telegram.delivery import DeliveryWorker
from bot.telegram.local_api import ApiError, LocalBotApi, LocalRequest

CITIZEN = 6001
OTHER = 6002


@pytest.fixture
async def api():
    api = LocalBotApi()
    api.add_chat(CITIZEN)
    api.add_chat(OTHER)
    return api


@pytest.fixture
async def bot(api):
    bot = Bot("123:TEST", request=LocalRequest(api))
    async with bot:
        yield bot


def worker_for(db: Database, bot: Bot, clock) -> DeliveryWorker:
    # No pacing: these tests are about what is sent, not how fast.
    return DeliveryWorker(Outbox(db, clock), bot, backoff_base=1.0, pace=False)


async def put(db: Database, clock, chat: int, text: str, key: str | None = None) -> None:
    async with db.write() as conn:
        await enqueue(conn, chat_id=chat, text=text, purpose="test", at=clock(), key=key)


def texts(api: LocalBotApi, chat: int) -> list[str]:
    return [m["text"] for m in api.sent(chat)]


async def test_each_message_goes_out_once_in_order_per_chat(db, bot, api, clock):
    for i in range(3):
        await put(db, clock, CITIZEN, f"第{i}条")
    await put(db, clock, OTHER, "另一位市民")
    await put(db, clock, OTHER, "重复的键", key="k1")
    await put(db, clock, OTHER, "重复的键", key="k1")
    worker = worker_for(db, bot, clock)
    assert await worker.run_once() == 5
    assert await worker.run_once() == 0
    assert texts(api, CITIZEN) == ["第0条", "第1条", "第2条"]
    assert texts(api, OTHER) == ["另一位市民", "重复的键"]
    assert await Outbox(db).counts() == {"sent": 5, "failed": 0, "pending": 0}


async def test_a_message_committed_before_a_crash_is_sent_after_the_restart(
        store_target, bot, api, clock):
    first = await open_database(store_target)
    await put(first, clock, CITIZEN, "您的案件已办结")
    await first.close()  # the process dies here, before any send
    restarted = await open_database(store_target)
    try:
        worker = worker_for(restarted, bot, clock)
        assert await worker.run_once() == 1
        assert await worker_for(restarted, bot, clock).run_once() == 0
    finally:
        await restarted.close()
    assert texts(api, CITIZEN) == ["您的案件已办结"]


async def test_a_message_whose_change_rolls_back_is_never_sent(db, bot, api, clock):
    """The worker runs while a case change is half-written; the change then fails."""
    worker = worker_for(db, bot, clock)
    with pytest.raises(RuntimeError, match="the change failed"):
        async with db.write() as conn:
            await enqueue(conn, chat_id=CITIZEN, text="不该发出的消息", purpose="test", at=clock())
            delivery = asyncio.create_task(worker.run_once())
            await asyncio.wait({delivery}, timeout=1)
            assert texts(api, CITIZEN) == []
            raise RuntimeError("the change failed")
    assert await delivery == 0
    assert await worker.run_once() == 0
    assert texts(api, CITIZEN) == []


async def test_retry_after_is_honoured_and_the_chat_keeps_its_order(db, bot, api, clock):
    await put(db, clock, CITIZEN, "一")
    await put(db, clock, CITIZEN, "二")
    api.fail_next("sendMessage", ApiError(429, "Too Many Requests: retry after 7", 7))
    worker = worker_for(db, bot, clock)
    assert await worker.run_once() == 0
    assert texts(api, CITIZEN) == []  # "二" waits behind "一"
    clock.now += timedelta(seconds=6)
    assert await worker.run_once() == 0
    clock.now += timedelta(seconds=2)
    assert await worker.run_once() == 2
    assert texts(api, CITIZEN) == ["一", "二"]


async def test_server_errors_back_off_then_deliver_without_duplicates(db, bot, api, clock):
    await put(db, clock, CITIZEN, "回复")
    api.fail_next("sendMessage", ApiError(502, "Bad Gateway"), times=2)
    worker = worker_for(db, bot, clock)
    for _ in range(2):
        assert await worker.run_once() == 0
        row = await db.fetchone("SELECT attempts, next_attempt_at, last_error FROM outbox")
        assert row["next_attempt_at"] > clock().isoformat() and "Bad Gateway" in row["last_error"]
        clock.now += timedelta(seconds=10)
    assert await worker.run_once() == 1
    assert texts(api, CITIZEN) == ["回复"]
    assert (await db.fetchone("SELECT attempts FROM outbox"))["attempts"] == 3


async def test_a_citizen_who_blocked_the_bot_is_not_tried_again(db, bot, api, clock):
    await put(db, clock, CITIZEN, "一")
    await put(db, clock, CITIZEN, "二")
    await put(db, clock, OTHER, "照常")
    api.blocked.add(CITIZEN)
    worker = worker_for(db, bot, clock)
    assert await worker.run_once() == 1
    outbox = Outbox(db, clock)
    assert await outbox.counts() == {"sent": 1, "failed": 2, "pending": 0}
    failed = await db.fetchall("SELECT last_error FROM outbox WHERE chat_id = ?", (CITIZEN,))
    assert [row["last_error"][:len("blocked: ")] for row in failed] == ["blocked: "] * 2
    calls = len(api.calls_of("sendMessage"))
    await worker.run_once()
    assert len(api.calls_of("sendMessage")) == calls


async def test_a_refused_message_is_given_up_and_does_not_block_the_rest(db, bot, api, clock):
    await put(db, clock, 424242, "发往不存在的聊天")
    await put(db, clock, CITIZEN, "正常消息")
    assert await worker_for(db, bot, clock).run_once() == 1
    failed = await db.fetchone("SELECT last_error FROM outbox WHERE failed_at IS NOT NULL")
    assert "chat not found" in failed["last_error"].lower()


async def test_buttons_go_out_by_meaning_and_a_row_from_before_meanings_is_still_sent(
        db, bot, api, clock):
    async with db.write() as conn:
        await enqueue(conn, chat_id=CITIZEN, text="新案件", purpose="card", at=clock(),
                      buttons=[[Button("认领", "claim", "NT202612070001")]])
        # A row an earlier version wrote: [title, callback data].
        await conn.execute(
            "INSERT INTO outbox (created_at, chat_id, text, buttons, purpose, next_attempt_at)"
            " VALUES (?, ?, ?, ?, 'card', ?)",
            (clock().isoformat(), CITIZEN, "旧格式", json.dumps([[["认领", "a:c:NT1"]]]),
             clock().isoformat()))
    assert await worker_for(db, bot, clock).run_once() == 2
    sent = [[b["callback_data"] for row in m["reply_markup"]["inline_keyboard"] for b in row]
            for m in api.sent(CITIZEN)]
    assert sent == [["a:c:NT202612070001"], ["a:c:NT1"]]
