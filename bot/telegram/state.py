"""What the Telegram front end must remember across restarts: seen updates and keyboards."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

from bot.store.db import Database, utcnow

# Keep the ids of handled updates this long; Telegram redelivers within hours, not days.
UPDATE_MEMORY = timedelta(days=7)


@dataclass(frozen=True)
class ButtonPress:
    """The outcome of pressing button `index` of keyboard `keyboard_id`."""

    status: str  # "ok", "used" (pressed before) or "unknown" (never existed, or not this chat's)
    payload: str | None = None
    title: str | None = None


class TelegramState:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim_update(self, update_id: int) -> bool:
        """Records an update as handled; False if it was already handled."""
        async with self.db.write() as conn:
            cursor = await conn.execute(
                "INSERT OR IGNORE INTO processed_updates (update_id, at) VALUES (?, ?)",
                (update_id, utcnow().isoformat()),
            )
            return cursor.rowcount == 1

    async def forget_old_updates(self) -> int:
        cutoff = (utcnow() - UPDATE_MEMORY).isoformat()
        async with self.db.write() as conn:
            cursor = await conn.execute("DELETE FROM processed_updates WHERE at < ?", (cutoff,))
            return cursor.rowcount

    async def save_keyboard(self, chat_id: int, buttons: list[tuple[str, str]]) -> int:
        """Stores (title, payload) pairs and returns the keyboard id for callback data."""
        async with self.db.write() as conn:
            cursor = await conn.execute(
                "INSERT INTO keyboards (chat_id, payloads, created_at) VALUES (?, ?, ?)",
                (chat_id, json.dumps(buttons, ensure_ascii=False), utcnow().isoformat()),
            )
            return cursor.lastrowid

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
