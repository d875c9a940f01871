"""The outbox: messages that case changes cause, stored with the change, sent by a worker.

A case change and the messages it causes commit in one transaction (`enqueue` takes the
open connection). The bot's `DeliveryWorker` (bot/telegram/delivery.py) sends what is due, one chat in order and
different chats at once, and marks each row sent right after Telegram accepts it. A crash
between commit and send only delays the message: the row is still due after a restart.

Delivery is at least once with a window of one Bot API call: if the process dies after
Telegram accepted a message and before its row is marked, that one message is sent again
after the restart (once its claim has lapsed). Losing a reply to a citizen is worse than
repeating it once.

Several workers (bots in several processes or machines) may deliver from one store. A
worker claims each chat's next message before sending it (`Outbox.claim`): the row gets
the worker's name and a lease, `CLAIM_LEASE`. Only a chat's first unsent row can be
claimed, and only when no lease on it is live, so one chat's messages go out in order
through one worker at a time and no row is sent twice while its lease lasts. On
PostgreSQL the claim's `SELECT … FOR UPDATE SKIP LOCKED` passes over the rows another
worker is claiming at that moment instead of waiting for them, and the claim is not
serialised with the other writes; on SQLite it is one short write like any other.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.store.db import Connection, Database, utcnow

log = logging.getLogger(__name__)

# How long a claimed message is the claiming worker's alone. One send takes at most a few
# seconds (the group pace, a slow Bot API); a worker that died holding a claim delays that
# chat by at most this much.
CLAIM_LEASE = timedelta(minutes=2)

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


# A chat's first message not yet sent or given up, due, and claimed by nobody (or by a
# worker whose lease has lapsed).
_HEADS = (
    "SELECT o.id FROM outbox o"
    " WHERE o.sent_at IS NULL AND o.failed_at IS NULL AND o.next_attempt_at <= :now"
    " AND (o.claimed_until IS NULL OR o.claimed_until <= :now)"
    " AND NOT EXISTS (SELECT 1 FROM outbox w WHERE w.chat_id = o.chat_id AND w.id < o.id"
    "   AND w.sent_at IS NULL AND w.failed_at IS NULL)"
)


def _outgoing(row: Any) -> Outgoing:
    return Outgoing(row["id"], row["chat_id"], row["text"],
                    [[_button(b) for b in r] for r in json.loads(row["buttons"])]
                    if row["buttons"] else None,
                    row["purpose"], row["attempts"])


def worker_name() -> str:
    """This process's name in `claimed_by`: host, process id, and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Outbox:
    """The outbox table's reads and state changes."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow,
                 worker: str | None = None) -> None:
        self.db = db
        self.clock = clock
        self.worker = worker or worker_name()

    async def claim(self, limit: int = 200, lease: timedelta = CLAIM_LEASE) -> list[Outgoing]:
        """Claims the next due message of up to `limit` chats for this worker, oldest first.

        A message claimed here is this worker's to send until `lease` has passed; marking
        it sent, retried or given up ends the claim. A chat's later messages become
        claimable once its earlier ones are sent or given up.
        """
        now = self.clock()
        params = {"now": now.isoformat(), "limit": limit, "worker": self.worker,
                  "until": (now + lease).isoformat()}
        # A read first: an idle poll writes nothing (on SQLite it would take the one writer).
        if await self.db.fetchone(_HEADS + " LIMIT 1", params) is None:
            return []
        claim = (
            f"WITH heads AS ({_HEADS} ORDER BY o.id LIMIT :limit"
            f"{self.db.dialect.skip_locked('o')})"
            " UPDATE outbox SET claimed_by = :worker, claimed_until = :until"
            " WHERE id IN (SELECT id FROM heads)"
            " RETURNING id, chat_id, text, buttons, purpose, attempts"
        )
        async with self.db.write(serialise=False) as conn, conn.execute(claim, params) as cursor:
            rows = await cursor.fetchall()
        return sorted((_outgoing(row) for row in rows), key=lambda item: item.id)

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
        return [_outgoing(row) for row in rows]

    # Marking one claimed row needs no serialised write: the claim keeps others off it.
    async def mark_sent(self, item: Outgoing, message_id: int) -> None:
        async with self.db.write(serialise=False) as conn:
            await conn.execute(
                "UPDATE outbox SET sent_at = ?, message_id = ?, attempts = attempts + 1"
                " WHERE id = ?", (self.clock().isoformat(), message_id, item.id))

    async def retry_later(self, item: Outgoing, error: str, delay: timedelta) -> None:
        async with self.db.write(serialise=False) as conn:
            await conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,"
                " claimed_by = NULL, claimed_until = NULL"
                " WHERE id = ?", (error, (self.clock() + delay).isoformat(), item.id))

    async def give_up(self, item: Outgoing, error: str) -> None:
        async with self.db.write(serialise=False) as conn:
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
