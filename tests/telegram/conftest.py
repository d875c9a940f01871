"""The real Application, offline: Bot API in-process (LocalBotApi), Rasa a stub on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from telegram import Update

from bot.config import Settings
from bot.telegram.app import build_application
from bot.telegram.local_api import LocalBotApi, LocalRequest

CITIZEN = 3001


@dataclass
class RasaStub:
    """Answers Rasa's REST webhook with `reply(sender, message)` and records each request."""

    reply: Callable[[str, str], list[dict[str, Any]]] = lambda sender, message: [
        {"recipient_id": sender, "text": f"收到：{message}"}]
    requests: list[dict[str, Any]] = field(default_factory=list)
    delay: float = 0.0  # seconds before answering, as a busy Rasa would take
    port: int = 0
    runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        async def webhook(request: web.Request) -> web.Response:
            body = await request.json()
            self.requests.append(body)
            await asyncio.sleep(self.delay)
            return web.json_response(self.reply(body["sender"], body["message"]))

        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", webhook)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        # A restart comes back on the same port, as a restarted Rasa would.
        site = web.TCPSite(self.runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self.port = self.runner.addresses[0][1]

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None


class Harness:
    def __init__(self, app, api: LocalBotApi, rasa: RasaStub) -> None:
        self.app = app
        self.api = api
        self.rasa = rasa

    async def process(self, update: dict[str, Any]) -> None:
        await self.app.process_update(Update.de_json(update, self.app.bot))

    async def say(self, text: str, user: int = CITIZEN) -> list[dict[str, Any]]:
        """The citizen types `text`; returns the bot messages sent in reply."""
        before = self.api.last_message_id()
        update = await self.api.send_text(user, text)
        await self.process(update)
        return [m for m in self.api.sent(user) if m["message_id"] > before]

    async def press(self, message: dict[str, Any], index: int, user: int = CITIZEN) -> list[dict]:
        """Presses button `index` (in reading order) of a bot message."""
        buttons = [b for row in message["reply_markup"]["inline_keyboard"] for b in row]
        return await self.press_data(message, buttons[index]["callback_data"], user)

    async def press_data(self, message: dict[str, Any], data: str, user: int = CITIZEN) -> list:
        before = self.api.last_message_id()
        await self.process(await self.api.press_button(user, message, data))
        return [m for m in self.api.sent(user) if m["message_id"] > before]

    def callback_answers(self) -> list[str]:
        return [c.params.get("text", "") for c in self.api.calls_of("answerCallbackQuery")]


@pytest.fixture
async def rasa():
    stub = RasaStub()
    await stub.start()
    yield stub
    await stub.stop()


@pytest.fixture
def settings(tmp_path: Path, rasa: RasaStub) -> Settings:
    return Settings(data_dir=tmp_path, db_path=tmp_path / "hotline.db", rasa_url=rasa.url,
                    rasa_timeout=5)


@pytest.fixture
async def harness(settings: Settings, rasa: RasaStub):
    api = LocalBotApi()
    app = build_application(settings, request=LocalRequest(api))
    async with app:
        await app.post_init(app)
        yield Harness(app, api, rasa)
        await app.post_shutdown(app)
