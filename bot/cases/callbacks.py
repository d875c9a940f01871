"""The satisfaction callback (回访): asked when a case is resolved, answered by the citizen's
button; 「不满意」 reopens the case and tells the supervisors. An optional comment follows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.cases import cards
from bot.cases.deadlines import format_date
from bot.cases.models import Case, CaseStatus
from bot.cases.notices import Notices
from bot.cases.store import append_event, case_by_id, reopen
from bot.store.db import Connection, Database, utcnow
from bot.store.outbox import enqueue

COMMENT_WINDOW = timedelta(minutes=30)
CALLBACK_WAIT = timedelta(days=3)  # unanswered this long: 回访未联系上 (bot.cases.supervision)


@dataclass(frozen=True)
class RatingResult:
    status: str  # "ok", "used" (answered before) or "unknown" (not this citizen's, or none)
    case: Case | None = None
    rating: str | None = None


async def ask(conn: Connection, case: Case, text: str, now: datetime) -> int:
    """Tells the citizen the case is resolved (`text`, the result) and asks for a rating."""
    async with conn.execute(
        "INSERT INTO callbacks (case_id, citizen_id, asked_at) VALUES (?, ?, ?) RETURNING id",
        (case.id, case.citizen_id, now.isoformat())) as cursor:
        (callback_id,) = await cursor.fetchone()
    await enqueue(conn, chat_id=case.chat_id, at=now, case_id=case.id,
                  text=cards.to_citizen_resolved(case, text), purpose="resolved",
                  buttons=cards.rating_buttons(callback_id))
    return callback_id


class Callbacks:
    def __init__(self, db: Database, notices: Notices, *,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.notices = notices
        self.clock = clock

    async def rate(self, callback_id: int, citizen_id: int, rating: str) -> RatingResult:
        """A citizen's rating; 「不满意」 reopens the case and flags it to supervisors."""
        if rating not in cards.RATINGS:
            return RatingResult("unknown")
        now = self.clock()
        async with self.db.write() as conn:
            async with conn.execute(
                "SELECT * FROM callbacks WHERE id = ? AND citizen_id = ?",
                (callback_id, citizen_id)) as cur:
                row = await cur.fetchone()
            if row is None:
                return RatingResult("unknown")
            case = await case_by_id(conn, row["case_id"])
            if row["outcome"] == "answered":
                return RatingResult("used", case, row["rating"])
            # A late answer after "not reached" is still a real answer and counts.
            await conn.execute(
                "UPDATE callbacks SET outcome = 'answered', rating = ?, answered_at = ?"
                " WHERE id = ?", (rating, now.isoformat(), callback_id))
            await append_event(conn, case.id, now, f"citizen:{citizen_id}", "callback",
                               {"rating": rating, "label": cards.RATINGS[rating]})
            if rating == cards.UNHAPPY and case.status is CaseStatus.RESOLVED:
                case = await reopen(conn, case, f"citizen:{citizen_id}", "市民回访不满意", now)
                await self.notices.to_supervisors(
                    conn, case, f"【不满意重办】市民对 {case.number} 的办理结果不满意，已重办。\n\n"
                                f"{await self.notices.history(conn, case)}",
                    "unhappy", now, key=f"unhappy:{callback_id}")
                if case.assignee_id:
                    await self.notices.to_staff(
                        conn, case, f"市民对 {case.number} 不满意，案件已重办，"
                                    f"新期限 {format_date(case.deadline)}。", "unhappy", now)
            return RatingResult("ok", case, rating)

    async def owns_answered(self, callback_id: int, citizen_id: int) -> bool:
        return await self.db.fetchone(
            "SELECT 1 FROM callbacks WHERE id = ? AND citizen_id = ? AND outcome = 'answered'",
            (callback_id, citizen_id)) is not None

    async def open_comment(self, callback_id: int, citizen_id: int) -> bool:
        """The citizen chose to add a comment: their next message (within 30 minutes) is it."""
        until = (self.clock() + COMMENT_WINDOW).isoformat()
        async with self.db.write() as conn:
            cursor = await conn.execute(
                "UPDATE callbacks SET comment_until = ? WHERE id = ? AND citizen_id = ?"
                " AND outcome = 'answered' AND comment IS NULL", (until, callback_id, citizen_id))
            return cursor.rowcount == 1

    async def comment(self, citizen_id: int, text: str) -> Case | None:
        """Takes the optional comment after a rating, if the citizen is within its window."""
        now = self.clock()
        waiting = ("SELECT * FROM callbacks WHERE citizen_id = ? AND comment_until > ?"
                   " ORDER BY id DESC LIMIT 1")
        # Every citizen message passes here: a read first, a write only when one is due.
        if await self.db.fetchone(waiting, (citizen_id, now.isoformat())) is None:
            return None
        async with self.db.write() as conn:
            async with conn.execute(waiting, (citizen_id, now.isoformat())) as cur:
                row = await cur.fetchone()
            if row is None:
                return None
            await conn.execute("UPDATE callbacks SET comment = ?, comment_until = NULL"
                               " WHERE id = ?", (text, row["id"]))
            await append_event(conn, row["case_id"], now, f"citizen:{citizen_id}",
                               "callback_comment", {"text": text})
            return await case_by_id(conn, row["case_id"])
