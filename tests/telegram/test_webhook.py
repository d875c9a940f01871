"""Webhook mode: the real Application behind uvicorn on 127.0.0.1, updates posted over HTTP,
the Bot API in-process (LocalBotApi), Rasa a stub; and several such processes on one store.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import httpx
import pytest

from bot.__main__ import main
from bot.config import ConfigError, Settings
from bot.store.outbox import enqueue
from bot.telegram.app import SUPERVISION, build_application
from bot.telegram.context import HotlineApp
from bot.telegram.local_api import LocalBotApi, LocalRequest
from bot.telegram.webhook import SECRET_HEADER, ListenError, WebhookServer
from tests.telegram.conftest import CITIZEN, RasaStub

SECRET = "hotline_webhook-secret-2026"
URL = "https://hotline.example/telegram/updates"


@dataclass
class Process:
    """One bot process in webhook mode."""

    app: HotlineApp
    server: WebhookServer
    http: httpx.AsyncClient

    async def post(self, update: dict[str, Any] | bytes, secret: str | None = SECRET,
                   ) -> httpx.Response:
        headers = {} if secret is None else {SECRET_HEADER: secret}
        if isinstance(update, bytes):
            return await self.http.post("/telegram/updates", content=update, headers=headers)
        return await self.http.post("/telegram/updates", json=update, headers=headers)

    @property
    def run(self) -> str:
        return self.app.bot_data.leases.holder


@pytest.fixture
def webhook_settings(settings: Settings) -> Settings:
    return replace(settings, telegram_token="123456:TEST", webhook_url=URL,
                   webhook_secret=SECRET, webhook_port=0)


@asynccontextmanager
async def serving(settings: Settings, api: LocalBotApi) -> AsyncIterator[Process]:
    """A bot process: its Application and uvicorn on a free port of 127.0.0.1."""
    app = build_application(settings, request=LocalRequest(api))
    server = WebhookServer(app, settings)
    task = asyncio.create_task(server.run())
    started = asyncio.create_task(server.started.wait())
    await asyncio.wait([task, started], timeout=120, return_when=asyncio.FIRST_COMPLETED)
    if not server.started.is_set():
        started.cancel()
        await task  # raises what stopped it
        raise AssertionError("the webhook server did not start")
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as http:
            yield Process(app, server, http)
    finally:
        server.stop()
        await task


def texts_to(api: LocalBotApi, chat_id: int = CITIZEN) -> list[str]:
    return [m["text"] for m in api.sent(chat_id)]


async def processed(process: Process) -> int:
    row = await process.app.bot_data.db.fetchone("SELECT count(*) FROM processed_updates")
    return row[0]


async def test_only_requests_with_the_secret_reach_the_bot(webhook_settings, rasa: RasaStub):
    api = LocalBotApi()
    async with serving(webhook_settings, api) as bot:
        assert api.webhook["url"] == URL
        assert api.webhook["secret_token"] == SECRET
        assert api.webhook["max_connections"] == 40
        update = await api.send_text(CITIZEN, "路灯坏了三天")

        for secret in (None, "", "wrong", SECRET[:-1], SECRET + "x"):
            refused = await bot.post(update, secret=secret)
            assert refused.status_code == 403, secret
        assert (await bot.post(b"{not json", secret="wrong")).status_code == 403
        assert (await bot.http.get("/healthz")).status_code == 403
        assert (await bot.http.get("/elsewhere")).status_code == 403
        assert rasa.requests == []
        assert texts_to(api) == []
        assert await processed(bot) == 0

        answered = await bot.post(update)
        assert answered.status_code == 200
        # Answered after handling: the reply was sent before Telegram hears back.
        assert texts_to(api) == ["收到：路灯坏了三天"]


async def test_malformed_requests_are_refused_and_health_answers(webhook_settings, rasa):
    api = LocalBotApi()
    async with serving(webhook_settings, api) as bot:
        assert (await bot.post(b"{not json")).status_code == 400
        assert (await bot.post(b"[1, 2]")).status_code == 400
        assert (await bot.post({"message": {"text": "没有编号"}})).status_code == 400
        assert (await bot.post({"update_id": 7, "message": {"text": "缺字段"}})).status_code == 400
        health = await bot.http.get("/healthz", headers={SECRET_HEADER: SECRET})
        assert (health.status_code, health.text) == (200, "ok")
        wrong_method = await bot.http.get("/telegram/updates", headers={SECRET_HEADER: SECRET})
        assert wrong_method.status_code == 405
        assert rasa.requests == []


async def test_the_same_update_posted_to_two_processes_is_handled_once(webhook_settings, rasa):
    api = LocalBotApi()
    second_settings = replace(webhook_settings, webhook_register=False)
    async with serving(webhook_settings, api) as first, serving(second_settings, api) as second:
        assert len(api.calls_of("setWebhook")) == 1  # only the first registers
        update = await api.send_text(CITIZEN, "公积金怎么提取")
        assert (await first.post(update)).status_code == 200
        assert (await second.post(update)).status_code == 200
        assert (await first.post(update)).status_code == 200
    assert texts_to(api) == ["收到：公积金怎么提取"]
    assert [r["message"] for r in rasa.requests] == ["公积金怎么提取"]


async def test_an_update_in_hand_elsewhere_is_sent_back_to_retry(webhook_settings, rasa):
    """While one process handles an update, another refuses it with 503 and Retry-After:
    Telegram keeps it at the head of the chat's queue and sends it again later."""
    api = LocalBotApi()
    second_settings = replace(webhook_settings, webhook_register=False)
    async with serving(webhook_settings, api) as first, serving(second_settings, api) as second:
        update = await api.send_text(CITIZEN, "小区的水停了一天了")
        rasa.delay = 1.0
        turn = asyncio.create_task(first.post(update))
        await api.wait_for(lambda: rasa.requests)  # mid-turn in the first process
        busy = await second.post(update)
        assert busy.status_code == 503
        assert busy.headers["Retry-After"] == "5"
        assert (await turn).status_code == 200
        assert (await second.post(update)).status_code == 200  # the retry: done, dropped
    assert texts_to(api) == ["收到：小区的水停了一天了"]
    assert len(rasa.requests) == 1


async def test_an_update_dropped_by_the_rate_limit_is_not_sent_back_by_another_process(
        webhook_settings, rasa):
    settings = replace(webhook_settings, citizen_rate_per_minute=1)
    api = LocalBotApi()
    second_settings = replace(settings, webhook_register=False)
    async with serving(settings, api) as first, serving(second_settings, api) as second:
        assert (await first.post(await api.send_text(CITIZEN, "第一句"))).status_code == 200
        flood = await api.send_text(CITIZEN, "第二句")
        assert (await first.post(flood)).status_code == 200  # over the limit: dropped
        assert (await second.post(flood)).status_code == 200  # a redelivery: dropped too
    assert [r["message"] for r in rasa.requests] == ["第一句"]


async def test_an_update_left_started_by_a_process_that_died_is_handled_by_another(
        webhook_settings, rasa):
    api = LocalBotApi()
    update = await api.send_text(CITIZEN, "噪音扰民到半夜")
    async with serving(webhook_settings, api) as bot:
        # A process that died mid-turn: it started the update, its run lease is gone.
        async with bot.app.bot_data.db.write() as conn:
            await conn.execute(
                "INSERT INTO processed_updates (update_id, at, state, run, payload)"
                " VALUES (?, '2026-01-01T00:00:00+00:00', 'started', 'dead-run', NULL)",
                (update["update_id"],))
        assert (await bot.post(update)).status_code == 200  # Telegram's retry
    assert texts_to(api) == ["收到：噪音扰民到半夜"]


async def test_a_job_runs_in_one_process_and_another_takes_it_over(webhook_settings, rasa):
    settings = replace(webhook_settings, supervision_seconds=0.2)
    api = LocalBotApi()
    second_settings = replace(settings, webhook_register=False)
    async with serving(settings, api) as first, serving(second_settings, api) as second:
        passes = {first.run: 0, second.run: 0}
        for process in (first, second):
            supervision = process.app.bot_data.supervision
            run_once = supervision.run_once

            async def counted(run=process.run, run_once=run_once):
                passes[run] += 1
                return await run_once()

            supervision.run_once = counted
        await asyncio.sleep(1.5)
        holder = await first.app.bot_data.leases.holder_of(SUPERVISION)
        other = second.run if holder == first.run else first.run
        assert holder in passes
        assert passes[holder] >= 3
        assert passes[other] == 0

        # The holder stops running its jobs (hung, or dying): its lease lapses after three
        # intervals and the other process runs the pass instead.
        hung = first if holder == first.run else second
        hung.app.job_queue.scheduler.pause()
        before = passes[holder]
        await asyncio.sleep(1.5)
        hung.app.job_queue.scheduler.resume()
        assert await first.app.bot_data.leases.holder_of(SUPERVISION) in (other, holder)
        assert passes[other] >= 2
        assert passes[holder] == before


async def test_the_outbox_is_delivered_once_by_several_processes(webhook_settings, rasa):
    api = LocalBotApi()
    chats = list(range(5001, 5009))
    for chat in chats:
        api.add_chat(chat)
    second_settings = replace(webhook_settings, webhook_register=False)
    async with serving(webhook_settings, api) as first, serving(second_settings, api) as second:
        async with first.app.bot_data.db.write() as conn:
            for chat in chats:
                for n in (1, 2):
                    await enqueue(conn, chat_id=chat, text=f"第{n}条", purpose="test",
                                  at=first.app.bot_data.outbox.clock() - timedelta(seconds=1))
        for process in (first, second):
            process.app.bot_data.delivery.wake()
        await api.wait_for(lambda: all(len(api.sent(chat)) >= 2 for chat in chats))
        await asyncio.sleep(1.0)  # a second sender would have sent again by now
        for chat in chats:
            assert texts_to(api, chat) == ["第1条", "第2条"]


async def test_a_second_process_on_a_taken_address_stops_before_starting(webhook_settings,
                                                                        rasa):
    api = LocalBotApi()
    async with serving(webhook_settings, api) as first:
        taken = replace(webhook_settings, webhook_port=first.server.port, webhook_register=False)
        second = build_application(taken, request=LocalRequest(api))
        with pytest.raises(ListenError, match=r"cannot listen on 127\.0\.0\.1"):
            await WebhookServer(second, taken).run()
        assert not second.running
        assert len(api.calls_of("getMe")) == 1  # the second never started its Application


def test_webhook_mode_needs_a_secret_an_https_url_and_a_token():
    base = {"TELEGRAM_BOT_TOKEN": "123456:TEST", "HOTLINE_WEBHOOK_URL": URL}
    with pytest.raises(ConfigError, match="HOTLINE_WEBHOOK_SECRET is required"):
        Settings.from_env(base)
    with pytest.raises(ConfigError, match="HOTLINE_WEBHOOK_SECRET must be"):
        Settings.from_env({**base, "HOTLINE_WEBHOOK_SECRET": "空格 不行"})
    with pytest.raises(ConfigError, match="https://"):
        Settings.from_env({**base, "HOTLINE_WEBHOOK_URL": "http://hotline.example/",
                           "HOTLINE_WEBHOOK_SECRET": SECRET})
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN"):
        Settings.from_env({"HOTLINE_WEBHOOK_URL": URL, "HOTLINE_WEBHOOK_SECRET": SECRET})
    with pytest.raises(ConfigError, match="host:port"):
        Settings.from_env({**base, "HOTLINE_WEBHOOK_SECRET": SECRET,
                           "HOTLINE_WEBHOOK_LISTEN": "8443"})
    settings = Settings.from_env({**base, "HOTLINE_WEBHOOK_SECRET": SECRET,
                                  "HOTLINE_WEBHOOK_LISTEN": "[::1]:8080",
                                  "HOTLINE_WEBHOOK_REGISTER": "0"})
    assert (settings.webhook_mode, settings.webhook_host, settings.webhook_port,
            settings.webhook_register) == (True, "::1", 8080, False)
    assert not Settings.from_env({"TELEGRAM_BOT_TOKEN": "123456:TEST"}).webhook_mode


def test_the_bot_refuses_to_start_a_webhook_without_its_secret(monkeypatch, capsys):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:TEST")
    monkeypatch.setenv("HOTLINE_WEBHOOK_URL", URL)
    monkeypatch.delenv("HOTLINE_WEBHOOK_SECRET", raising=False)
    assert main([]) == 2
    assert "HOTLINE_WEBHOOK_SECRET is required" in capsys.readouterr().err
