"""The record of emergencies reported to the bot (answered with 110/119/120, never queued)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.db import Database, utcnow
from bot.emergency import Emergency
from bot.logs import mask_phones


@dataclass(frozen=True)
class EmergencyRecord:
    at: str
    citizen_id: int
    kind: str
    text: str


class EmergencyLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, citizen_id: int, emergency: Emergency, text: str) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                "INSERT INTO emergencies (at, citizen_id, kind, text) VALUES (?, ?, ?, ?)",
                (utcnow().isoformat(), citizen_id, emergency.kind.value, mask_phones(text)[:500]),
            )

    async def recent(self, limit: int = 20) -> list[EmergencyRecord]:
        rows = await self.db.fetchall(
            "SELECT at, citizen_id, kind, text FROM emergencies ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [EmergencyRecord(r["at"], r["citizen_id"], r["kind"], r["text"]) for r in rows]
