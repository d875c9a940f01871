"""The whole stack: real action server, real Rasa on the trained model, the real bot process,
and a fake Telegram Bot API server on 127.0.0.1 that the bot long-polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.rasa.stack import Service, bot_process, running_servers, train_model
from bot.telegram.local_api import LocalBotApi, serve_http

TOKEN = "123456:TEST-TOKEN"
AGENTS_CHAT = -1001234
AGENTS = (860001, 860002)
SUPERVISOR = 860100


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Stack:
    settings: Settings
    actions: Service
    rasa: Service

    def restart(self, service: Service, timeout: float = 180) -> None:
        service.stop()
        service.start()
        service.wait_ready(timeout)


@pytest.fixture(scope="session")
def model() -> Path:
    return train_model()


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, model: Path) -> Iterator[Stack]:
    data = tmp_path_factory.mktemp("stack")
    rasa_port = free_port()
    settings = Settings(data_dir=data, db_path=data / "hotline.db", rasa_port=rasa_port,
                        action_port=free_port(), rasa_url=f"http://127.0.0.1:{rasa_port}",
                        agent_ids=frozenset(AGENTS), supervisor_ids=frozenset({SUPERVISOR}),
                        agents_chat_id=AGENTS_CHAT, supervision_seconds=1.0)
    with running_servers(settings, model) as (actions, rasa):
        yield Stack(settings, actions, rasa)


@dataclass
class Telegram:
    """The fake Bot API and the bot process polling it."""

    api: LocalBotApi
    port: int
    bot: Service | None = None

    def start_bot(self, settings: Settings, extra_env: dict[str, str] | None = None) -> Service:
        env = {"TELEGRAM_BOT_TOKEN": TOKEN,
               "TELEGRAM_BASE_URL": f"http://127.0.0.1:{self.port}/bot",
               "TELEGRAM_BASE_FILE_URL": f"http://127.0.0.1:{self.port}/file/bot",
               **(extra_env or {})}
        self.bot = bot_process(settings, console=False, extra_env=env,
                               log_path=settings.log_dir / "bot.stderr.log")
        self.bot.start()
        return self.bot

    async def wait_polling(self, timeout: float = 30) -> None:
        await self.api.wait_for(lambda: self.api.get_updates_calls > 0 or
                                (self.bot is not None and not self.bot.alive()), timeout)
        if self.bot is not None and not self.bot.alive():
            raise AssertionError(f"the bot exited:\n{self.bot.log_tail(40)}")

    async def say(self, user: int, text: str, count: int = 1, timeout: float = 30) -> list[dict]:
        """The user types `text`; waits for `count` replies and returns them."""
        after = self.api.last_message_id()
        await self.api.send_text(user, text)
        return await self.replies(user, count, after, timeout)

    async def replies(self, user: int, count: int, after: int, timeout: float) -> list[dict]:
        try:
            return await self.api.wait_for_messages(user, count, after=after, timeout=timeout)
        except TimeoutError:
            got = [m["text"][:80] for m in self.api.sent(user) if m["message_id"] > after]
            raise AssertionError(f"expected {count} replies to {user}, got {got}") from None

    async def press(self, user: int, message: dict[str, Any], index: int, count: int = 1,
                    timeout: float = 30) -> list[dict]:
        buttons = [b for row in message["reply_markup"]["inline_keyboard"] for b in row]
        after = self.api.last_message_id()
        await self.api.press_button(user, message, buttons[index]["callback_data"])
        return await self.replies(user, count, after, timeout)


@contextlib.asynccontextmanager
async def telegram_for(stack: Stack) -> AsyncIterator[Telegram]:
    """The fake Bot API with the agents' group and staff chats, and a bot polling it on
    `stack`; stopped on exit."""
    api = LocalBotApi()
    api.add_chat(AGENTS_CHAT, title="12345坐席群")
    for staff in (*AGENTS, SUPERVISOR):
        api.add_chat(staff)
    runner, port = await serve_http(api)
    tg = Telegram(api, port)
    tg.start_bot(stack.settings)
    try:
        await tg.wait_polling()
        yield tg
    finally:
        if tg.bot is not None:
            # In a thread: the fake Bot API runs on this loop, and the stopping bot makes
            # one last getUpdates call that it must answer (else the stop waits it out).
            await asyncio.to_thread(tg.bot.stop)
        await runner.cleanup()


@pytest.fixture
async def telegram(stack: Stack):
    async with telegram_for(stack) as tg:
        yield tg


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)

