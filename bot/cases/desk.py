"""What hotline staff do to cases: claim, reply, note, transfer, return, resolve, reopen,
supervise; the live hand-off with a citizen; the satisfaction callback (回访).

Each operation is one transaction: the case change, its event row and every message it
causes (in the outbox) commit together or not at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import aiosqlite

from bot.cases import cards
from bot.cases.deadlines import deadline_for, format_date, local_date
from bot.cases.models import Case, CaseEvent, CaseStatus
from bot.cases.roles import Role, Roles
from bot.cases.store import CaseClosed, CaseNotFound, append_event
from bot.store.db import Database, utcnow
from bot.store.outbox import enqueue

log = logging.getLogger(__name__)

HANDOFF_IDLE = timedelta(minutes=30)
COMMENT_WINDOW = timedelta(minutes=30)
CALLBACK_WAIT = timedelta(days=3)


class NotAssignee(PermissionError):
    """Another agent holds the case."""

    def __init__(self, case: Case) -> None:
        super().__init__(case.number)
        self.case = case


class HandoffBusy(RuntimeError):
    """The citizen is already in a live conversation with another agent, on another case."""

    def __init__(self, agent_id: int, number: str) -> None:
        super().__init__(f"citizen in a hand-off with {agent_id} on {number}")
        self.agent_id = agent_id
        self.number = number


class CaseStillOpen(RuntimeError):
    """Only a resolved case can be reopened."""


@dataclass(frozen=True)
class Staff:
    user_id: int
    name: str
    supervisor: bool = False

    @property
    def actor(self) -> str:
        return f"staff:{self.user_id}"


@dataclass(frozen=True)
class ClaimResult:
    case: Case
    won: bool


@dataclass(frozen=True)
class Handoff:
    citizen_id: int
    chat_id: int
    case_id: int
    agent_id: int
    last_activity_at: datetime


@dataclass(frozen=True)
class RatingResult:
    status: str  # "ok", "used" (answered before) or "unknown" (not this citizen's, or none)
    case: Case | None = None
    rating: str | None = None


class CaseDesk:
    def __init__(self, db: Database, roles: Roles, *, agents_chat_id: int | None = None,
                 clock: Callable[[], datetime] = utcnow,
                 handoff_idle: timedelta = HANDOFF_IDLE) -> None:
        self.db = db
        self.roles = roles
        self.agents_chat_id = agents_chat_id
        self.clock = clock
        self.handoff_idle = handoff_idle

    # ---- helpers --------------------------------------------------------------------

    @staticmethod
    async def _case(conn: aiosqlite.Connection, number: str) -> Case:
        async with conn.execute("SELECT * FROM cases WHERE number = ?", (number,)) as cur:
            row = await cur.fetchone()
        if row is None:
            raise CaseNotFound(number)
        return Case.from_row(row)

    @staticmethod
    async def case_by_id(conn: aiosqlite.Connection, case_id: int) -> Case:
        async with conn.execute("SELECT * FROM cases WHERE id = ?", (case_id,)) as cur:
            return Case.from_row(await cur.fetchone())

    async def _open_case(self, conn: aiosqlite.Connection, number: str, staff: Staff) -> Case:
        """The open case; refused if another agent holds it (supervisors may act anyway)."""
        case = await self._case(conn, number)
        if not case.status.is_open:
            raise CaseClosed(number)
        if case.assignee_id not in (None, staff.user_id) and not staff.supervisor:
            raise NotAssignee(case)
        return case

    async def _set(self, conn: aiosqlite.Connection, case: Case, now: datetime,
                   **columns: Any) -> None:
        columns["updated_at"] = now.isoformat()
        assignments = ", ".join(f"{name} = ?" for name in columns)
        await conn.execute(f"UPDATE cases SET {assignments} WHERE id = ?",
                           (*columns.values(), case.id))

    async def _take_if_free(self, conn: aiosqlite.Connection, case: Case, staff: Staff,
                            now: datetime) -> None:
        """Acting on an unclaimed case claims it."""
        if case.assignee_id is None:
            await self._set(conn, case, now, assignee_id=staff.user_id, assignee_name=staff.name)
            await append_event(conn, case.id, now, staff.actor, "claimed",
                                          {"name": staff.name})

    async def notify_staff(self, conn: aiosqlite.Connection, case: Case, text: str, purpose: str,
                        now: datetime, key: str | None = None) -> None:
        """To the case's agent, or the agents' group while nobody holds it."""
        chat = case.assignee_id or self.agents_chat_id
        if chat is not None:
            await enqueue(conn, chat_id=chat, text=text, purpose=purpose, at=now,
                          case_id=case.id, key=key)

    async def alert_supervisors(self, conn: aiosqlite.Connection, case: Case, text: str,
                                purpose: str, now: datetime, key: str) -> None:
        supervisors = await self.roles.members(Role.SUPERVISOR, conn)
        for supervisor in sorted(supervisors):
            await enqueue(conn, chat_id=supervisor, text=text, purpose=purpose, at=now,
                          case_id=case.id, key=f"{key}:{supervisor}")
        if not supervisors:
            log.warning("no supervisors configured for %s on %s", purpose, case.number)

    async def history_text(self, conn: aiosqlite.Connection, case: Case) -> str:
        async with conn.execute(
            "SELECT * FROM case_events WHERE case_id = ? ORDER BY id", (case.id,)
        ) as cur:
            rows = await cur.fetchall()
        return cards.detail(case, [CaseEvent.from_row(r) for r in rows],
                            local_date(self.clock()), whole_phone=False)

    # ---- staff operations -----------------------------------------------------------

    async def claim(self, number: str, staff: Staff) -> ClaimResult:
        """Exactly one agent wins a case; the others are told who holds it."""
        now = self.clock()
        async with self.db.write() as conn:
            case = await self._case(conn, number)
            if not case.status.is_open:
                raise CaseClosed(number)
            if case.assignee_id is not None:
                return ClaimResult(case, won=case.assignee_id == staff.user_id)
            status = (CaseStatus.IN_PROGRESS.value
                      if case.status in (CaseStatus.ACCEPTED, CaseStatus.RETURNED)
                      else case.status.value)
            cursor = await conn.execute(
                "UPDATE cases SET assignee_id = ?, assignee_name = ?, status = ?, updated_at = ?"
                " WHERE id = ? AND assignee_id IS NULL",
                (staff.user_id, staff.name, status, now.isoformat(), case.id))
            if cursor.rowcount != 1:  # pragma: no cover - the write lock makes this unreachable
                return ClaimResult(await self.case_by_id(conn, case.id), won=False)
            await append_event(conn, case.id, now, staff.actor, "claimed",
                                          {"name": staff.name})
            return ClaimResult(await self.case_by_id(conn, case.id), won=True)

    async def reply(self, number: str, staff: Staff, text: str, *,
                    take_over: bool = False) -> Case:
        """A reply for the citizen; it opens a live hand-off with this agent.

        A citizen already talking live with another agent (on another case) is not taken
        over silently: `HandoffBusy` unless `take_over`, and then that agent is told.
        """
        now = self.clock()
        async with self.db.write() as conn:
            case = await self._open_case(conn, number, staff)
            async with conn.execute(
                "SELECT h.agent_id, h.last_activity_at, c.number FROM handoffs h"
                " JOIN cases c ON c.id = h.case_id WHERE h.citizen_id = ?",
                (case.citizen_id,)) as cur:
                current = await cur.fetchone()
            live = current is not None and current["agent_id"] != staff.user_id and (
                now - datetime.fromisoformat(current["last_activity_at"]) <= self.handoff_idle)
            if live and not take_over:
                raise HandoffBusy(current["agent_id"], current["number"])
            if live:
                await enqueue(conn, chat_id=current["agent_id"], at=now, case_id=case.id,
                              purpose="handoff_taken",
                              text=f"市民（案件 {current['number']}）的人工对话已由 {staff.name}"
                                   f" 在案件 {case.number} 上接管。")
                await append_event(conn, case.id, now, staff.actor, "handoff_taken",
                                   {"from": current["agent_id"], "case": current["number"]})
            await self._take_if_free(conn, case, staff, now)
            await self._set(conn, case, now, status=CaseStatus.REPLIED.value)
            await append_event(conn, case.id, now, staff.actor, "replied",
                                          {"text": text})
            await enqueue(conn, chat_id=case.chat_id, text=cards.to_citizen_reply(case, text),
                          purpose="reply", at=now, case_id=case.id)
            await conn.execute(
                "INSERT INTO handoffs (citizen_id, chat_id, case_id, agent_id, started_at,"
                " last_activity_at) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (citizen_id) DO UPDATE SET chat_id = excluded.chat_id,"
                " case_id = excluded.case_id, agent_id = excluded.agent_id,"
                " last_activity_at = excluded.last_activity_at",
                (case.citizen_id, case.chat_id, case.id, staff.user_id, now.isoformat(),
                 now.isoformat()))
            return await self.case_by_id(conn, case.id)

    async def note(self, number: str, staff: Staff, text: str) -> Case:
        """An internal note: never shown to the citizen."""
        now = self.clock()
        async with self.db.write() as conn:
            case = await self._case(conn, number)
            await append_event(conn, case.id, now, staff.actor, "noted", {"text": text})
            await self._set(conn, case, now)
            return await self.case_by_id(conn, case.id)

    async def transfer(self, number: str, staff: Staff, department: str, reason: str) -> Case:
        """转办: the case goes to `department`; the citizen is told where."""
        now = self.clock()
        async with self.db.write() as conn:
            case = await self._open_case(conn, number, staff)
            await self._take_if_free(conn, case, staff, now)
            await self._set(conn, case, now, department=department,
                            status=CaseStatus.TRANSFERRED.value)
            await append_event(conn, case.id, now, staff.actor, "transferred",
                                          {"from": case.department, "to": department,
                                           "reason": reason})
            case = await self.case_by_id(conn, case.id)
            await enqueue(conn, chat_id=case.chat_id, at=now, case_id=case.id,
                          text=cards.to_citizen_transferred(case, department),
                          purpose="transferred")
            return case

    async def return_case(self, number: str, staff: Staff, reason: str) -> Case:
        """退单: the department sends the case back to the hotline with a reason."""
        now = self.clock()
        async with self.db.write() as conn:
            case = await self._open_case(conn, number, staff)
            await self._set(conn, case, now, status=CaseStatus.RETURNED.value)
            await append_event(conn, case.id, now, staff.actor, "returned",
                                          {"department": case.department, "reason": reason})
            case = await self.case_by_id(conn, case.id)
            await self.notify_staff(conn, case, f"案件 {case.number} 被 {case.department or '部门'}"
                                 f"退回：{reason}\n请重新派单（/transfer）。", "returned", now)
            return case

    async def resolve(self, number: str, staff: Staff, text: str) -> Case:
        """办结 with the reply the citizen receives, followed by the rating question."""
        now = self.clock()
        async with self.db.write() as conn:
            case = await self._open_case(conn, number, staff)
            await self._take_if_free(conn, case, staff, now)
            await self._set(conn, case, now, status=CaseStatus.RESOLVED.value,
                            closed_at=now.isoformat())
            await append_event(conn, case.id, now, staff.actor, "resolved",
                                          {"text": text})
            await self._end_handoff(conn, case, now, notify=False)
            cursor = await conn.execute(
                "INSERT INTO callbacks (case_id, citizen_id, asked_at) VALUES (?, ?, ?)",
                (case.id, case.citizen_id, now.isoformat()))
            await enqueue(conn, chat_id=case.chat_id, at=now, case_id=case.id,
                          text=cards.to_citizen_resolved(case, text), purpose="resolved",
                          buttons=cards.rating_buttons(cursor.lastrowid))
            return await self.case_by_id(conn, case.id)

    async def _reopen(self, conn: aiosqlite.Connection, case: Case, actor: str, reason: str,
                      now: datetime) -> Case:
        deadline = deadline_for(case.kind, now)
        await self._set(conn, case, now, status=CaseStatus.REOPENED.value, closed_at=None,
                        deadline=deadline.isoformat())
        await append_event(conn, case.id, now, actor, "reopened",
                                      {"reason": reason, "deadline": deadline.isoformat()})
        case = await self.case_by_id(conn, case.id)
        await enqueue(conn, chat_id=case.chat_id, text=cards.to_citizen_reopened(case),
                      purpose="reopened", at=now, case_id=case.id)
        return case

    async def reopen(self, number: str, staff: Staff, reason: str) -> Case:
        now = self.clock()
        async with self.db.write() as conn:
            case = await self._case(conn, number)
            if case.status is not CaseStatus.RESOLVED:
                raise CaseStillOpen(number)
            return await self._reopen(conn, case, staff.actor, reason or "坐席重办", now)

    async def supervise(self, number: str, staff: Staff, note: str,
                        new_deadline: date | None = None) -> Case:
        """督办: a supervisor's instruction, optionally with a new deadline; the agent is told."""
        now = self.clock()
        async with self.db.write() as conn:
            case = await self._case(conn, number)
            if not case.status.is_open:
                raise CaseClosed(number)
            if new_deadline is not None:
                await self._set(conn, case, now, deadline=new_deadline.isoformat())
            await append_event(
                conn, case.id, now, staff.actor, "supervised",
                {"text": note, "deadline": new_deadline.isoformat() if new_deadline else None})
            case = await self.case_by_id(conn, case.id)
            extra = f"\n新的办理期限：{format_date(case.deadline)}" if new_deadline else ""
            await self.notify_staff(conn, case, f"【督办】{case.number}（{staff.name}）：{note}{extra}",
                                 "supervised", now)
            return case

    # ---- live hand-off --------------------------------------------------------------

    async def _end_handoff(self, conn: aiosqlite.Connection, case: Case, now: datetime, *,
                           notify: bool, reason: str = "released") -> None:
        cursor = await conn.execute("DELETE FROM handoffs WHERE case_id = ?", (case.id,))
        if cursor.rowcount:
            await append_event(conn, case.id, now, "system", "handoff_released",
                                          {"reason": reason})
            if notify:
                await enqueue(conn, chat_id=case.chat_id, text=cards.to_citizen_released(case),
                              purpose="released", at=now, case_id=case.id)

    async def release(self, staff: Staff, number: str | None = None) -> list[Case]:
        """Hands the agent's live conversations (or the one on `number`) back to the bot."""
        now = self.clock()
        async with self.db.write() as conn:
            sql = ("SELECT c.* FROM handoffs h JOIN cases c ON c.id = h.case_id"
                   " WHERE h.agent_id = ?")
            params: tuple = (staff.user_id,)
            if number:
                sql += " AND c.number = ?"
                params += (number,)
            async with conn.execute(sql, params) as cur:
                released = [Case.from_row(r) for r in await cur.fetchall()]
            for case in released:
                await self._end_handoff(conn, case, now, notify=True)
            return released

    async def active_handoff(self, citizen_id: int) -> Handoff | None:
        """The citizen's live conversation with an agent; an idle one is ended here."""
        row = await self.db.fetchone("SELECT * FROM handoffs WHERE citizen_id = ?", (citizen_id,))
        if row is None:
            return None
        handoff = Handoff(row["citizen_id"], row["chat_id"], row["case_id"], row["agent_id"],
                          datetime.fromisoformat(row["last_activity_at"]))
        if self.clock() - handoff.last_activity_at <= self.handoff_idle:
            return handoff
        await self.expire_handoffs()
        return None

    async def expire_handoffs(self) -> int:
        now = self.clock()
        cutoff = (now - self.handoff_idle).isoformat()
        async with self.db.write() as conn:
            async with conn.execute(
                "SELECT c.* FROM handoffs h JOIN cases c ON c.id = h.case_id"
                " WHERE h.last_activity_at < ?", (cutoff,)) as cur:
                idle = [Case.from_row(r) for r in await cur.fetchall()]
            for case in idle:
                await self._end_handoff(conn, case, now, notify=True, reason="idle")
        return len(idle)

    async def citizen_says(self, handoff: Handoff, text: str, photo: str | None = None,
                           alert: str | None = None) -> tuple[Case, bool]:
        """A citizen's message during a hand-off: into the case history and to the agent.
        Returns the case and whether this is the citizen's first message since the agent's
        last reply (the citizen is then told it went to a person).

        `alert` (the bot found signs of an emergency and gave the citizen the number) goes
        first, so the agent sees it before the message.
        """
        now = self.clock()
        async with self.db.write() as conn:
            case = await self.case_by_id(conn, handoff.case_id)
            async with conn.execute(
                "SELECT kind FROM case_events WHERE case_id = ?"
                " AND kind IN ('replied', 'citizen_message') ORDER BY id DESC LIMIT 1",
                (case.id,)) as cur:
                last = await cur.fetchone()
            first = last is None or last["kind"] == "replied"
            detail = {"text": text, **({"photo": photo} if photo else {}),
                      **({"alert": alert} if alert else {})}
            await append_event(conn, case.id, now, f"citizen:{handoff.citizen_id}",
                                          "citizen_message", detail)
            await conn.execute("UPDATE handoffs SET last_activity_at = ? WHERE citizen_id = ?",
                               (now.isoformat(), handoff.citizen_id))
            shown = text if not photo else f"{text}（照片已存入案件）"
            await enqueue(conn, chat_id=handoff.agent_id, at=now, case_id=case.id,
                          purpose="citizen_message",
                          text=(f"{alert}\n" if alert else "")
                          + f"【市民回复】{case.number}：{shown}\n"
                          f"（回复请用 /reply {case.number} 内容；结束对话用 /release）")
            return case, first

    # ---- satisfaction callback ------------------------------------------------------

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
            case = await self.case_by_id(conn, row["case_id"])
            if row["outcome"] == "answered":
                return RatingResult("used", case, row["rating"])
            # A late answer after "not reached" is still a real answer and counts.
            await conn.execute(
                "UPDATE callbacks SET outcome = 'answered', rating = ?, answered_at = ?"
                " WHERE id = ?", (rating, now.isoformat(), callback_id))
            await append_event(conn, case.id, now, f"citizen:{citizen_id}",
                                          "callback", {"rating": rating,
                                                       "label": cards.RATINGS[rating]})
            if rating == cards.UNHAPPY and case.status is CaseStatus.RESOLVED:
                case = await self._reopen(conn, case, f"citizen:{citizen_id}",
                                          "市民回访不满意", now)
                await self.alert_supervisors(
                    conn, case, f"【不满意重办】市民对 {case.number} 的办理结果不满意，已重办。\n\n"
                                f"{await self.history_text(conn, case)}",
                    "unhappy", now, key=f"unhappy:{callback_id}")
                if case.assignee_id:
                    await self.notify_staff(conn, case, f"市民对 {case.number} 不满意，案件已重办，"
                                         f"新期限 {format_date(case.deadline)}。", "unhappy", now)
            return RatingResult("ok", case, rating)

    async def owns_answered_callback(self, callback_id: int, citizen_id: int) -> bool:
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
            return await self.case_by_id(conn, row["case_id"])

    async def close_comment_window(self, citizen_id: int) -> None:
        async with self.db.write() as conn:
            await conn.execute("UPDATE callbacks SET comment_until = NULL WHERE citizen_id = ?",
                               (citizen_id,))

    # ---- listings and figures -------------------------------------------------------

    async def queue(self, offset: int = 0, limit: int = 10) -> tuple[list[Case], int]:
        """Open cases, nearest deadline first."""
        where = "status NOT IN ('resolved', 'withdrawn')"
        total = (await self.db.fetchone(f"SELECT count(*) FROM cases WHERE {where}"))[0]
        rows = await self.db.fetchall(
            f"SELECT * FROM cases WHERE {where} ORDER BY deadline, id LIMIT ? OFFSET ?",
            (limit, offset))
        return [Case.from_row(r) for r in rows], total

    async def mine(self, agent_id: int) -> list[Case]:
        rows = await self.db.fetchall(
            "SELECT * FROM cases WHERE assignee_id = ? AND status NOT IN ('resolved', 'withdrawn')"
            " ORDER BY deadline, id", (agent_id,))
        return [Case.from_row(r) for r in rows]

    async def stats(self) -> dict[str, Any]:
        """The hotline's figures: on-time completion and satisfaction (valid callbacks only)."""
        today = local_date(self.clock()).isoformat()
        row = await self.db.fetchone(
            "SELECT count(*) AS filed,"
            " sum(status = 'resolved') AS resolved,"
            " sum(status = 'resolved' AND date(closed_at, '+8 hours') <= deadline) AS on_time,"
            " sum(status NOT IN ('resolved', 'withdrawn')) AS open,"
            " sum(status NOT IN ('resolved', 'withdrawn') AND deadline < ?) AS overdue"
            " FROM cases", (today,))
        cb = await self.db.fetchone(
            "SELECT sum(outcome = 'answered') AS answered,"
            " sum(outcome = 'answered' AND rating IN ('1', '2')) AS satisfied,"
            " sum(outcome = 'not_reached') AS not_reached,"
            " sum(outcome = 'pending') AS pending FROM callbacks")
        figures = {key: row[key] or 0 for key in ("filed", "resolved", "on_time", "open",
                                                   "overdue")}
        figures.update({key: cb[key] or 0 for key in ("answered", "satisfied", "not_reached",
                                                       "pending")})
        figures["on_time_rate"] = (figures["on_time"] / figures["resolved"]
                                   if figures["resolved"] else None)
        figures["satisfaction_rate"] = (figures["satisfied"] / figures["answered"]
                                        if figures["answered"] else None)
        return figures
