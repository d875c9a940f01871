"""What the Telegram front end must remember across restarts: seen updates and keyboards."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import timedelta

from bot.store.db import Database, StoreError, utcnow
from bot.store.leases import Leases, stamp

log = logging.getLogger(__name__)

# Keep the ids of handled updates this long; Telegram redelivers within hours, not days.
UPDATE_MEMORY = timedelta(days=7)
# An update cut off by a crash is handled again at the next start if it is this recent;
# an older one would answer a citizen who has long moved on.
REPLAY_WITHIN = timedelta(hours=1)
# Each run holds the lease RUN_PREFIX + its id while it is alive. A run that dies without
# stopping (killed, hung) counts as alive for up to RUN_LEASE after its last heartbeat.
RUN_PREFIX = "run:"
RUN_LEASE = timedelta(seconds=30)
HEARTBEAT = timedelta(seconds=10)
RUN_LEASE_OF_ROW = f"'{RUN_PREFIX}' || p.run"  # SQL: the lease of the run that started row p


@dataclass(frozen=True)
class ButtonPress:
    """The outcome of pressing button `index` of keyboard `keyboard_id`."""

    status: str  # "ok", "used" (pressed before) or "unknown" (never existed, or not this chat's)
    payload: str | None = None
    title: str | None = None


class TelegramState:
    """Handles each update once: `claim_update` before its handlers, `finish_update` after.

    An update is 'started' by a run (one Application's life in one process) until it is
    'done'. Each run holds the lease "run:<id>" while it is alive (`start`, `heartbeat`,
    `stop`). A second delivery is dropped while the update is done, or started by a run
    that is alive: this one, or another process behind the same webhook. One that a run
    which died mid-turn left started is handled again, so a citizen's message is not lost
    with the process. The claim is one row per update id, taken in a write transaction,
    so two processes never both start it. The window left is the one between the
    handlers' last effect and `finish_update`: an update redelivered after a crash there
    is handled twice, which is better than never.
    """

    def __init__(self, db: Database, leases: Leases) -> None:
        self.db = db
        self.leases = leases
        self.run = leases.holder

    async def start(self, *, exclusive: bool) -> None:
        """Marks this run alive. `exclusive` (long polling, where one process takes the
        bot's updates) also ends every other run: what they left started is theirs no more."""
        if exclusive:
            await self.leases.end_others(RUN_PREFIX)
        await self.heartbeat()

    async def heartbeat(self) -> None:
        """Renews this run's lease; every `HEARTBEAT`, well within `RUN_LEASE`."""
        await self.leases.hold(RUN_PREFIX + self.run, RUN_LEASE)

    async def stop(self) -> None:
        """This run ends: an update it left started may be taken at once."""
        await self.leases.release(RUN_PREFIX + self.run)

    async def claim_update(self, update_id: int, payload: str | None = None) -> bool:
        """Starts handling an update (`payload`: its JSON, kept until it is done, for
        `unfinished`); False if it is done or being handled by a run that is alive."""
        now = utcnow()
        async with self.db.write() as conn:
            cursor = await conn.execute(
                "INSERT INTO processed_updates (update_id, at, state, run, payload)"
                " VALUES (?, ?, 'started', ?, ?) ON CONFLICT (update_id) DO NOTHING",
                (update_id, now.isoformat(), self.run, payload))
            if cursor.rowcount == 1:
                return True
            async with conn.execute(
                "SELECT state, run FROM processed_updates WHERE update_id = ?", (update_id,)
            ) as cursor:
                row = await cursor.fetchone()
            if row["state"] == "done" or row["run"] == self.run:
                return False
            async with conn.execute(
                "SELECT 1 FROM leases WHERE name = ? AND expires_at > ?",
                (RUN_PREFIX + row["run"], stamp(now)),
            ) as cursor:
                if await cursor.fetchone() is not None:
                    return False  # another process is handling it
            log.warning("update %s was started by a run that stopped before finishing it;"
                        " handling it again", update_id)
            cursor = await conn.execute(
                "UPDATE processed_updates SET at = ?, run = ?, payload = ?"
                " WHERE update_id = ? AND state = 'started' AND run = ?",
                (now.isoformat(), self.run, payload, update_id, row["run"]))
            return cursor.rowcount == 1

    async def started_elsewhere(self, update_id: int) -> bool:
        """Whether another run that is alive has started the update and not finished it."""
        row = await self.db.fetchone(
            "SELECT 1 FROM processed_updates p JOIN leases l ON l.name = " + RUN_LEASE_OF_ROW +
            " WHERE p.update_id = ? AND p.state = 'started' AND p.run != ? AND l.expires_at > ?",
            (update_id, self.run, stamp(utcnow())))
        return row is not None

    async def unfinished(self) -> list[dict]:
        """Updates a run that is over started and never finished (the process died
        mid-turn), oldest first, from the last `REPLAY_WITHIN`: handled again at start."""
        now = utcnow()
        rows = await self.db.fetchall(
            "SELECT payload FROM processed_updates p WHERE state = 'started' AND run != ?"
            " AND payload IS NOT NULL AND at >= ? AND NOT EXISTS (SELECT 1 FROM leases l"
            "   WHERE l.name = " + RUN_LEASE_OF_ROW + " AND l.expires_at > ?) ORDER BY update_id",
            (self.run, (now - REPLAY_WITHIN).isoformat(), stamp(now)))
        return [json.loads(row["payload"]) for row in rows]

    async def finish_update(self, update_id: int) -> None:
        """Records an update as handled: a later delivery of it is dropped.

        Failing to record it is logged, not raised: the update was answered, and the
        only cost is that a redelivery of it would be handled again.
        """
        try:
            async with self.db.write() as conn:
                await conn.execute(
                    "INSERT INTO processed_updates (update_id, at, state, run)"
                    " VALUES (?, ?, 'done', ?)"
                    " ON CONFLICT (update_id) DO UPDATE SET state = 'done', payload = NULL",
                    (update_id, utcnow().isoformat(), self.run))
        except StoreError:
            log.exception("could not record update %s as handled", update_id)

    async def forget_old_updates(self) -> int:
        cutoff = (utcnow() - UPDATE_MEMORY).isoformat()
        async with self.db.write() as conn:
            cursor = await conn.execute("DELETE FROM processed_updates WHERE at < ?", (cutoff,))
            return cursor.rowcount

    async def save_keyboard(self, chat_id: int, buttons: list[tuple[str, str]]) -> int:
        """Stores (title, payload) pairs and returns the keyboard id for callback data."""
        async with self.db.write() as conn:
            async with conn.execute(
                "INSERT INTO keyboards (chat_id, payloads, created_at) VALUES (?, ?, ?)"
                " RETURNING id",
                (chat_id, json.dumps(buttons, ensure_ascii=False), utcnow().isoformat()),
            ) as cursor:
                (keyboard_id,) = await cursor.fetchone()
            return keyboard_id

    async def press(self, chat_id: int, keyboard_id: int, index: int) -> ButtonPress:
        """Uses a keyboard once: the first press wins, later ones are told it was used."""
        async with self.db.write() as conn:
            async with conn.execute(
                "SELECT payloads, used_at FROM keyboards WHERE id = ? AND chat_id = ?",
                (keyboard_id, chat_id),
            ) as cursor:
                row = await cursor.fetchone()
            if row is None:
                return ButtonPress("unknown")
            buttons = json.loads(row["payloads"])
            if not 0 <= index < len(buttons):
                return ButtonPress("unknown")
            title, payload = buttons[index]
            if row["used_at"] is not None:
                return ButtonPress("used", payload, title)
            await conn.execute(
                "UPDATE keyboards SET used_at = ? WHERE id = ?", (utcnow().isoformat(), keyboard_id)
            )
            return ButtonPress("ok", payload, title)
