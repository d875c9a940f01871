"""An update Telegram delivers again: handled once, and never lost with a crashed process."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bot.config import Settings
from bot.telegram import texts
from bot.telegram.app import build_application
from bot.telegram.local_api import ApiError, LocalBotApi, LocalRequest
from tests.telegram.conftest import CITIZEN, Harness, RasaStub


@asynccontextmanager
async def running(settings: Settings, api: LocalBotApi, rasa: RasaStub) -> AsyncIterator[Harness]:
    """One run of the bot: a new Application on the same database file and Bot API."""
    app = build_application(settings, request=LocalRequest(api))
    async with app:
        await app.post_init(app)
        try:
            yield Harness(app, api, rasa)
        finally:
            await app.post_shutdown(app)


def again(update: dict[str, Any]) -> dict[str, Any]:
    """The same update as Telegram would send it a second time."""
    return json.loads(json.dumps(update))


def texts_to_citizen(api: LocalBotApi) -> list[str]:
    return [m["text"] for m in api.sent(CITIZEN)]


async def test_an_update_cut_off_by_a_crash_is_handled_when_delivered_again(settings, rasa):
    api = LocalBotApi()
    update = await api.send_text(CITIZEN, "路灯坏了三天")
    rasa.delay = 1.0
    async with running(settings, api, rasa) as first:
        turn = asyncio.create_task(first.process(update))
        await api.wait_for(lambda: rasa.requests)  # mid-turn: Rasa is thinking
        turn.cancel()  # the process dies here
        await asyncio.gather(turn, return_exceptions=True)
    assert texts_to_citizen(api) == []
    rasa.delay = 0.0
    async with running(settings, api, rasa) as restarted:
        await restarted.process(again(update))
    assert texts_to_citizen(api) == ["收到：路灯坏了三天"]
    assert [r["message"] for r in rasa.requests] == ["路灯坏了三天"] * 2


async def test_an_update_cut_off_by_a_crash_and_never_sent_again_is_replayed_at_start(
        settings, rasa):
    """getUpdates acknowledged it, so Telegram will not send it again: the bot replays it."""
    api = LocalBotApi()
    update = await api.send_text(CITIZEN, "小区的水停了一天了")
    rasa.delay = 1.0
    async with running(settings, api, rasa) as first:
        turn = asyncio.create_task(first.process(update))
        await api.wait_for(lambda: rasa.requests)
        turn.cancel()
        await asyncio.gather(turn, return_exceptions=True)
    rasa.delay = 0.0
    async with running(settings, api, rasa) as restarted:
        replayed = restarted.app.update_queue.get_nowait()  # queued by start-up, not by Telegram
        assert replayed.update_id == update["update_id"]
        await restarted.app.process_update(replayed)
        assert restarted.app.update_queue.empty()
    assert texts_to_citizen(api) == ["收到：小区的水停了一天了"]
    async with running(settings, api, rasa) as third:  # done now: nothing to replay
        assert third.app.update_queue.empty()


async def test_a_handled_update_delivered_again_after_a_restart_is_dropped(settings, rasa):
    api = LocalBotApi()
    update = await api.send_text(CITIZEN, "公积金怎么提取")
    async with running(settings, api, rasa) as first:
        await first.process(update)
    async with running(settings, api, rasa) as restarted:
        await restarted.process(again(update))
    assert texts_to_citizen(api) == ["收到：公积金怎么提取"]
    assert len(rasa.requests) == 1


async def test_a_second_delivery_while_the_first_is_handled_is_dropped(harness):
    harness.rasa.delay = 0.5
    update = await harness.api.send_text(CITIZEN, "噪音扰民")
    first = asyncio.create_task(harness.process(update))
    await harness.api.wait_for(lambda: harness.rasa.requests)
    await harness.process(again(update))  # returns at once: the first is still going
    assert not first.done()
    await first
    assert texts_to_citizen(harness.api) == ["收到：噪音扰民"]
    assert len(harness.rasa.requests) == 1


async def test_an_update_answered_by_the_error_handler_is_not_handled_again(settings, rasa):
    api = LocalBotApi()
    update = await api.send_text(CITIZEN, "触发错误")
    api.fail_next("sendMessage", ApiError(400, "Bad Request: something unexpected"))
    async with running(settings, api, rasa) as first:
        await first.process(update)
    assert texts_to_citizen(api) == [texts.ERROR]
    async with running(settings, api, rasa) as restarted:
        await restarted.process(again(update))
    assert texts_to_citizen(api) == [texts.ERROR]
    assert len(rasa.requests) == 1
