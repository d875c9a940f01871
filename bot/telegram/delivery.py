"""The delivery worker: sends what the outbox holds, within Telegram's limits.

Kept apart from bot/store/outbox.py because the action server (which writes the outbox
when a case is filed) has no python-telegram-bot.
"""

from __future__ import annotations

import asyncio
import logging
import random
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
    """

    def __init__(self, outbox: Outbox, bot: Bot, *, poll_interval: float = 0.5,
                 backoff_base: float = 2.0, max_attempts: int = MAX_ATTEMPTS,
                 pace: bool = True) -> None:
        self.outbox = outbox
        self.bot = bot
        self.poll_interval = poll_interval
        self.backoff_base = backoff_base
        self.max_attempts = max_attempts
        self.pace = pace
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

    async def run_once(self) -> int:
        """Sends every row due now; returns how many were sent.

        Each round claims every chat's next message (`Outbox.claim`) and sends them at
        once; a chat's next message is claimable once this one is sent or given up, so
        rounds go on until no chat has a due message left. A message to retry later
        keeps its chat's later ones waiting: its order holds.
        """
        async with self._lock:
            sent = 0
            while items := await self.outbox.claim():
                outcomes = await asyncio.gather(*(self._send(item) for item in items))
                sent += outcomes.count("sent")
                if all(outcome == "stop" for outcome in outcomes):
                    break  # only retries: nothing new is due until their time comes
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
