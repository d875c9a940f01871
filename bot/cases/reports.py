"""What staff list and count: the queue, an agent's own cases, the hotline's figures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.cases.deadlines import local_date
from bot.cases.models import Case
from bot.store.db import Database, utcnow

OPEN = "status NOT IN ('resolved', 'withdrawn')"


class Reports:
    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock

    async def queue(self, offset: int = 0, limit: int = 10) -> tuple[list[Case], int]:
        """Open cases, nearest deadline first."""
        total = (await self.db.fetchone(f"SELECT count(*) FROM cases WHERE {OPEN}"))[0]
        rows = await self.db.fetchall(
            f"SELECT * FROM cases WHERE {OPEN} ORDER BY deadline, id LIMIT ? OFFSET ?",
            (limit, offset))
        return [Case.from_row(r) for r in rows], total

    async def mine(self, agent_id: int) -> list[Case]:
        rows = await self.db.fetchall(
            f"SELECT * FROM cases WHERE assignee_id = ? AND {OPEN} ORDER BY deadline, id",
            (agent_id,))
        return [Case.from_row(r) for r in rows]

    async def stats(self) -> dict[str, Any]:
        """The hotline's figures: on-time completion and satisfaction (valid callbacks only).

        A case is on time when it closed on or before its deadline, both as dates in China.
        """
        today = local_date(self.clock()).isoformat()
        row = await self.db.fetchone(
            "SELECT count(*) AS filed,"
            " count(*) FILTER (WHERE status = 'resolved') AS resolved,"
            f" count(*) FILTER (WHERE {OPEN}) AS open,"
            f" count(*) FILTER (WHERE {OPEN} AND deadline < ?) AS overdue"
            " FROM cases", (today,))
        closed = await self.db.fetchall(
            "SELECT closed_at, deadline FROM cases WHERE status = 'resolved'")
        on_time = sum(local_date(datetime.fromisoformat(r["closed_at"])).isoformat()
                      <= r["deadline"] for r in closed)
        cb = await self.db.fetchone(
            "SELECT count(*) FILTER (WHERE outcome = 'answered') AS answered,"
            " count(*) FILTER (WHERE outcome = 'answered' AND rating IN ('1', '2')) AS satisfied,"
            " count(*) FILTER (WHERE outcome = 'not_reached') AS not_reached,"
            " count(*) FILTER (WHERE outcome = 'pending') AS pending FROM callbacks")
        figures = {key: row[key] or 0 for key in ("filed", "resolved", "open", "overdue")}
        figures["on_time"] = on_time
        figures.update({key: cb[key] or 0 for key in ("answered", "satisfied", "not_reached",
                                                       "pending")})
        figures["on_time_rate"] = (figures["on_time"] / figures["resolved"]
                                   if figures["resolved"] else None)
        figures["satisfaction_rate"] = (figures["satisfied"] / figures["answered"]
                                        if figures["answered"] else None)
        return figures
