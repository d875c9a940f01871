"""The outbox: messages that case changes cause, stored with the change, sent by a worker.

A case change and the messages it causes commit in one transaction (`enqueue` takes the
open connection). The bot's `DeliveryWorker` (bot/telegram/delivery.py) sends what is due, one chat in order and
different chats at once, and marks each row sent right after Telegram accepts it. A crash
between commit and send only delays the message: the row is still due after a restart.

Delivery is at least once with a window of one Bot API call: if the process dies after
Telegram accepted a message and before its row is marked, that one message is sent again
after the restart. Losing a reply to a citizen is worse than repeating it once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.store.db import Connection, Database, utcnow

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class Button:
    """A button by its meaning: what pressing it does (`action`, e.g. "claim") to what
    (`target`, e.g. a case number). The front end decides how that is encoded."""

    title: str
    action: str
    target: str


Buttons = list[list[Button]]  # rows of buttons
# A row written before buttons were stored by meaning holds [title, callback data]: it is
# sent as it was written, so no message waiting at an upgrade is lost.
LEGACY = "legacy"


def _button(stored: list[str]) -> Button:
    return Button(*stored) if len(stored) == 3 else Button(stored[0], LEGACY, stored[1])


ENQUEUE_SQL = (
    "INSERT INTO outbox (created_at, chat_id, text, buttons, case_id, purpose,"
    " dedupe_key, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)


def enqueue_params(*, chat_id: int, text: str, purpose: str, at: datetime,
                   case_id: int | None = None, buttons: Buttons | None = None,
                   key: str | None = None) -> tuple:
    return (at.isoformat(), chat_id, text,
            json.dumps([[[b.title, b.action, b.target] for b in row] for row in buttons],
                       ensure_ascii=False) if buttons else None,
            case_id, purpose, key, at.isoformat())


async def enqueue(conn: Connection, **message: Any) -> None:
    """Adds a message inside the caller's transaction; a repeated `key` adds nothing.

    Takes the keywords of `enqueue_params`.
    """
    await conn.execute(ENQUEUE_SQL, enqueue_params(**message))


@dataclass(frozen=True)
class Outgoing:
    id: int
    chat_id: int
    text: str
    buttons: Buttons | None
    purpose: str
    attempts: int


class Outbox:
    """The outbox table's reads and state changes."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock

    async def due(self, limit: int = 200) -> list[Outgoing]:
        rows = await self.db.fetchall(
            # Due, and not behind an earlier message to the same chat that must wait:
            # a chat's messages keep their order through retries.
            "SELECT id, chat_id, text, buttons, purpose, attempts FROM outbox o"
            " WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= :now"
            " AND NOT EXISTS (SELECT 1 FROM outbox w WHERE w.chat_id = o.chat_id"
            "   AND w.id < o.id AND w.sent_at IS NULL AND w.failed_at IS NULL"
            "   AND w.next_attempt_at > :now)"
            " ORDER BY id LIMIT :limit",
            {"now": self.clock().isoformat(), "limit": limit},
        )
        return [
            Outgoing(row["id"], row["chat_id"], row["text"],
                     [[_button(b) for b in r] for r in json.loads(row["buttons"])]
                     if row["buttons"] else None,
                     row["purpose"], row["attempts"])
            for row in rows
        ]

    async def mark_sent(self, item: Outgoing, message_id: int) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                "UPDATE outbox SET sent_at = ?, message_id = ?, attempts = attempts + 1"
                " WHERE id = ?", (self.clock().isoformat(), message_id, item.id))

    async def retry_later(self, item: Outgoing, error: str, delay: timedelta) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?"
                " WHERE id = ?", (error, (self.clock() + delay).isoformat(), item.id))

    async def give_up(self, item: Outgoing, error: str) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, failed_at = ?"
                " WHERE id = ?", (error, self.clock().isoformat(), item.id))

    async def block_chat(self, chat_id: int, reason: str) -> None:
        """Telegram says the chat blocked the bot: give up its pending messages.

        A message enqueued later is tried once; if the chat still blocks the bot, that
        one is given up the same way.
        """
        now = self.clock().isoformat()
        async with self.db.write() as conn:
            await conn.execute(
                "UPDATE outbox SET failed_at = ?, last_error = ? WHERE chat_id = ?"
                " AND sent_at IS NULL AND failed_at IS NULL", (now, f"blocked: {reason}", chat_id))

    async def counts(self) -> dict[str, int]:
        row = await self.db.fetchone(
            "SELECT count(*) FILTER (WHERE sent_at IS NOT NULL),"
            " count(*) FILTER (WHERE failed_at IS NOT NULL),"
            " count(*) FILTER (WHERE sent_at IS NULL AND failed_at IS NULL) FROM outbox")
        return {"sent": row[0] or 0, "failed": row[1] or 0, "pending": row[2] or 0}
