"""The record of emergencies and near misses (answered with 110/119/120, never queued).

Phone and ID numbers are masked before the text is stored; supervisors list the last ones
with /emergencies, and near misses (signals not treated as emergencies) are kept beside
them for review.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.safety.emergency import Assessment
from bot.safety.mask import mask_personal
from bot.store.db import Database, utcnow

# Longest text kept of a message.
KEPT = 500


@dataclass(frozen=True)
class EmergencyRecord:
    at: datetime
    citizen_id: int
    kind: str
    level: str
    probability: float | None
    signs: str
    during: str
    text: str


class EmergencyLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, citizen_id: int, found: Assessment, text: str,
                     during: str = "chat") -> None:
        """Stores one assessment; `during` is chat, handoff or offline (Rasa down)."""
        async with self.db.write() as conn:
            await conn.execute(
                "INSERT INTO emergencies (at, citizen_id, kind, level, probability, signs, during,"
                " text) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (utcnow().isoformat(), citizen_id, found.kind.value if found.kind else "",
                 found.level.value, round(found.probability, 4), ",".join(found.signs), during,
                 mask_personal(text)[:KEPT]))

    async def latest(self, levels: tuple[str, ...], limit: int = 10) -> list[EmergencyRecord]:
        """The newest records of these levels, newest first."""
        marks = ",".join("?" * len(levels))
        rows = await self.db.fetchall(
            f"SELECT * FROM emergencies WHERE level IN ({marks}) ORDER BY id DESC LIMIT ?",
            (*levels, limit))
        return [EmergencyRecord(datetime.fromisoformat(r["at"]), r["citizen_id"], r["kind"],
                                r["level"], r["probability"], r["signs"] or "", r["during"],
                                r["text"]) for r in rows]
