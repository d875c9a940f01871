"""The delivery worker: sends what the outbox holds, within Telegram's limits.

Kept apart from bot/store/outbox.py because the action server (which writes the outbox
when a case is filed) has no python-telegram-bot.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from telegram import Bot
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.store.outbox import Outbox, Outgoing
from bot.telegram.render import markup

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
MAX_BACKOFF = timedelta(minutes=10)


def backoff(attempts: int, base: float) -> timedelta:
    """Exponential backoff with jitter: base, 2·base, 4·base … at most ten minutes."""
    seconds = base * (2 ** attempts) * random.uniform(0.8, 1.2)
    return min(timedelta(seconds=seconds), MAX_BACKOFF)


def _seconds(value: Any) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class DeliveryWorker:
    """Sends due outbox rows: one chat's in order, different chats concurrently.

    Each chat is paced to Telegram's limits (one message a second to a chat, twenty a
    minute to a group); the overall 30 a second is `AIORateLimiter`'s job in Telegram mode.

    Rows are read, not claimed, so only one process may deliver at a time: `may_send`
    (the bot's delivery lease) is asked before each pass and each message, and a process
    that does not hold it sends nothing.
    """

    def __init__(self, outbox: Outbox, bot: Bot, *, poll_interval: float = 0.5,
                 backoff_base: float = 2.0, max_attempts: int = MAX_ATTEMPTS,
                 pace: bool = True,
                 may_send: Callable[[], Awaitable[bool]] | None = None) -> None:
        self.outbox = outbox
        self.bot = bot
        self.poll_interval = poll_interval
        self.backoff_base = backoff_base
        self.max_attempts = max_attempts
        self.pace = pace
        self.may_send = may_send
        self._limiters: dict[int, AsyncLimiter] = {}
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._task: asyncio.Task | None = None

    def _limiter(self, chat_id: int) -> AsyncLimiter:
        if chat_id not in self._limiters:
            self._limiters[chat_id] = (AsyncLimiter(20, 60) if chat_id < 0
                                       else AsyncLimiter(1, 1))
        return self._limiters[chat_id]

    def wake(self) -> None:
        """Something was just enqueued in this process: look now, not at the next poll."""
        self._wake.set()

    async def _allowed(self) -> bool:
        return self.may_send is None or await self.may_send()

    async def run_once(self) -> int:
        """Sends every row due now; returns how many were sent."""
        async with self._lock:
            if not await self._allowed():
                return 0
            items = await self.outbox.due()
            by_chat: dict[int, list[Outgoing]] = {}
            for item in items:
                by_chat.setdefault(item.chat_id, []).append(item)
            results = await asyncio.gather(*(self._send_chat(rows) for rows in by_chat.values()))
            return sum(results)

    async def _send_chat(self, items: list[Outgoing]) -> int:
        sent = 0
        for item in items:
            if not await self._allowed():  # the lease lapsed: another process delivers now
                break
            outcome = await self._send(item)
            if outcome == "sent":
                sent += 1
            elif outcome == "stop":  # keep this chat's order: later rows wait for this one
                break
        return sent

    async def _send(self, item: Outgoing) -> str:
        try:
            if self.pace:
                await self._limiter(item.chat_id).acquire()
            message = await self.bot.send_message(item.chat_id, item.text,
                                                  reply_markup=markup(item.buttons))
        except RetryAfter as exc:
            delay = timedelta(seconds=_seconds(exc.retry_after))
            log.warning("outbox %s: Telegram asks to wait %s", item.id, delay)
            await self.outbox.retry_later(item, f"retry after {delay}", delay)
            return "stop"
        except Forbidden as exc:
            log.warning("outbox %s: chat %s blocked the bot (%s)", item.id, item.chat_id, exc)
            await self.outbox.block_chat(item.chat_id, str(exc))
            return "stop"
        except BadRequest as exc:
            # The request itself is wrong (chat not found, text refused): retrying won't help.
            log.error("outbox %s (%s) refused by Telegram: %s", item.id, item.purpose, exc)
            await self.outbox.give_up(item, str(exc))
            return "failed"
        except TelegramError as exc:  # network, timeouts, 5xx
            if item.attempts + 1 >= self.max_attempts:
                log.error("outbox %s: giving up after %s attempts: %s", item.id,
                          item.attempts + 1, exc)
                await self.outbox.give_up(item, str(exc))
                return "failed"
            delay = backoff(item.attempts, self.backoff_base)
            log.warning("outbox %s: %s; retrying in %.1fs", item.id, exc, delay.total_seconds())
            await self.outbox.retry_later(item, str(exc), delay)
            return "stop"
        await self.outbox.mark_sent(item, message.message_id)
        return "sent"

    async def run(self) -> None:
        """Delivers until `stop()`; errors are logged and the loop goes on."""
        while not self._stopping.is_set():
            try:
                await self.run_once()
            except Exception:
                log.exception("outbox delivery pass failed")
            self._wake.clear()
            waits = [asyncio.ensure_future(self._wake.wait()),
                     asyncio.ensure_future(self._stopping.wait())]
            await asyncio.wait(waits, timeout=self.poll_interval,
                               return_when=asyncio.FIRST_COMPLETED)
            for waiter in waits:
                waiter.cancel()

    def start(self) -> None:
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self.run(), name="outbox-delivery")

    async def stop(self) -> None:
        if self._task is not None:
            self._stopping.set()
            await self._task
            self._task = None
