"""What citizens told us about the knowledge base: helpful or not, and what found nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.safety.mask import mask_personal
from bot.store.db import Database, utcnow

# The route of a question whose answer the citizen marked 「没解决」: kept with the misses so
# that the wording is there if the citizen then files a case (`bot.knowledge.agent_answers`).
UNHELPFUL = "unhelpful"


@dataclass(frozen=True)
class EntryFeedback:
    entry_id: str
    unhelpful: int
    helpful: int


@dataclass(frozen=True)
class Miss:
    question: str
    route: str
    count: int
    last_at: str


class FeedbackStore:
    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock

    async def record_feedback(self, citizen_id: int, entry_id: str, helpful: bool) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                "INSERT INTO kb_feedback (at, citizen_id, entry_id, helpful) VALUES (?, ?, ?, ?)",
                (self.clock().isoformat(), citizen_id, entry_id, int(helpful)),
            )

    async def record_miss(self, citizen_id: int, question: str, route: str) -> None:
        async with self.db.write() as conn:
            await conn.execute(
                "INSERT INTO kb_misses (at, citizen_id, question, route) VALUES (?, ?, ?, ?)",
                (self.clock().isoformat(), citizen_id, mask_personal(question)[:500], route),
            )

    async def record_answer(self, citizen_id: int, entry_id: str, topic: str) -> None:
        """A policy question the bot answered (the supervisors' direct-answer rate counts
        these: `bot.insight.figures`). Only the entry is kept, not the wording."""
        async with self.db.write() as conn:
            await conn.execute(
                "INSERT INTO kb_answers (at, citizen_id, entry_id, topic) VALUES (?, ?, ?, ?)",
                (self.clock().isoformat(), citizen_id, entry_id, topic),
            )

    async def record_unresolved(self, citizen_id: int, question: str) -> None:
        """The citizen's question whose answer they marked 「没解决」."""
        await self.record_miss(citizen_id, question, UNHELPFUL)

    async def most_unhelpful(self, limit: int = 10) -> list[EntryFeedback]:
        rows = await self.db.fetchall(
            "SELECT entry_id, count(*) FILTER (WHERE helpful = 0) AS unhelpful,"
            " count(*) FILTER (WHERE helpful = 1) AS helpful"
            " FROM kb_feedback GROUP BY entry_id HAVING count(*) FILTER (WHERE helpful = 0) > 0"
            " ORDER BY unhelpful DESC, helpful ASC, entry_id LIMIT ?",
            (limit,),
        )
        return [EntryFeedback(r["entry_id"], r["unhelpful"], r["helpful"]) for r in rows]

    async def top_misses(self, limit: int = 20) -> list[Miss]:
        """Questions that found no entry (those answered but marked 「没解决」 are counted
        under their entry in `most_unhelpful`)."""
        rows = await self.db.fetchall(
            "SELECT question, route, count(*) AS n, max(at) AS last_at FROM kb_misses"
            " WHERE route != ? GROUP BY question, route ORDER BY n DESC, last_at DESC LIMIT ?",
            (UNHELPFUL, limit),
        )
        return [Miss(r["question"], r["route"], r["n"], r["last_at"]) for r in rows]
