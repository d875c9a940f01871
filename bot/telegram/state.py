"""What the Telegram front end must remember across restarts: seen updates and keyboards."""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from bot.store.db import Database, StoreError, utcnow

log = logging.getLogger(__name__)

# Keep the ids of handled updates this long; Telegram redelivers within hours, not days.
UPDATE_MEMORY = timedelta(days=7)
# An update cut off by a crash is handled again at the next start if it is this recent;
# an older one would answer a citizen who has long moved on.
REPLAY_WITHIN = timedelta(hours=1)


@dataclass(frozen=True)
class ButtonPress:
    """The outcome of pressing button `index` of keyboard `keyboard_id`."""

    status: str  # "ok", "used" (pressed before) or "unknown" (never existed, or not this chat's)
    payload: str | None = None
    title: str | None = None


class TelegramState:
    """Handles each update once: `claim_update` before its handlers, `finish_update` after.

    An update is 'started' by this run (this object's life in one process) until it is
    'done'. A second delivery is dropped while the update is done or started by this run;
    one that a run which died mid-turn left started is handled again, so a citizen's
    message is not lost with the process. That assumes one process takes the bot's
    updates at a time, as `getUpdates` requires. The window left is the one between the
    handlers' last effect and `finish_update`: an update redelivered after a crash there
    is handled twice, which is better than never.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self.run = uuid.uuid4().hex

    async def claim_update(self, update_id: int, payload: str | None = None) -> bool:
        """Starts handling an update (`payload`: its JSON, kept until it is done, for
        `unfinished`); False if it is done or being handled by this run."""
        async with self.db.write() as conn:
            async with conn.execute(
                "SELECT state, run FROM processed_updates WHERE update_id = ?", (update_id,)
            ) as cursor:
                row = await cursor.fetchone()
            if row is not None and (row["state"] == "done" or row["run"] == self.run):
                return False
            if row is not None:
                log.warning("update %s was started by a run that stopped before finishing it;"
                            " handling it again", update_id)
            await conn.execute(
                "INSERT INTO processed_updates (update_id, at, state, run, payload)"
                " VALUES (?, ?, 'started', ?, ?) ON CONFLICT (update_id) DO UPDATE"
                " SET at = excluded.at, state = excluded.state, run = excluded.run,"
                " payload = excluded.payload",
                (update_id, utcnow().isoformat(), self.run, payload))
            return True

    async def unfinished(self) -> list[dict]:
        """Updates an earlier run started and never finished (the process died mid-turn),
        oldest first, from the last `REPLAY_WITHIN`: the bot handles them again at start."""
        since = (utcnow() - REPLAY_WITHIN).isoformat()
        rows = await self.db.fetchall(
            "SELECT payload FROM processed_updates WHERE state = 'started' AND run != ?"
            " AND payload IS NOT NULL AND at >= ? ORDER BY update_id", (self.run, since))
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
