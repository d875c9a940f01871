"""What hotline staff do to cases: claim, reply, note, transfer, return, resolve, reopen,
supervise, each with its role check.

Each operation is one transaction: the case change, its event row and every message it
causes (in the outbox) commit together or not at all. Status changes go through
`bot.cases.store.change_status` and its one table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from bot.cases import callbacks, cards, examples
from bot.cases.deadlines import format_date
from bot.cases.handoffs import Handoffs
from bot.cases.models import CATEGORIES, TRANSITIONS, Case, CaseStatus
from bot.cases.notices import Notices
from bot.cases.store import (
    CaseClosed,
    append_event,
    case_by_id,
    case_by_number,
    change_status,
    reopen,
    update_case,
)
from bot.store.db import Connection, Database, utcnow
from bot.store.outbox import enqueue


class NotAssignee(PermissionError):
    """Another agent holds the case."""

    def __init__(self, case: Case) -> None:
        super().__init__(case.number)
        self.case = case


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


class CaseDesk:
    def __init__(self, db: Database, notices: Notices, handoffs: Handoffs, *,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.notices = notices
        self.handoffs = handoffs
        self.clock = clock

    @staticmethod
    async def _open_case(conn: Connection, number: str, staff: Staff) -> Case:
        """The open case; refused if another agent holds it (supervisors may act anyway)."""
        case = await case_by_number(conn, number)
        if not case.status.is_open:
            raise CaseClosed(number)
        if case.assignee_id not in (None, staff.user_id) and not staff.supervisor:
            raise NotAssignee(case)
        return case

    @staticmethod
    async def _take_if_free(conn: Connection, case: Case, staff: Staff,
                            now: datetime) -> Case:
        """Acting on an unclaimed case claims it."""
        if case.assignee_id is not None:
            return case
        columns = {"assignee_id": staff.user_id, "assignee_name": staff.name}
        if case.status in TRANSITIONS["claimed"][0]:
            return await change_status(conn, case, "claimed", now, staff.actor,
                                       {"name": staff.name}, **columns)
        await update_case(conn, case, now, **columns)
        await append_event(conn, case.id, now, staff.actor, "claimed", {"name": staff.name})
        return await case_by_id(conn, case.id)

    async def claim(self, number: str, staff: Staff) -> ClaimResult:
        """Exactly one agent wins a case (the write lock orders them); the others are told
        who holds it."""
        async with self.db.write() as conn:
            case = await case_by_number(conn, number)
            if not case.status.is_open:
                raise CaseClosed(number)
            if case.assignee_id is not None:
                return ClaimResult(case, won=case.assignee_id == staff.user_id)
            return ClaimResult(await self._take_if_free(conn, case, staff, self.clock()),
                               won=True)

    async def reply(self, number: str, staff: Staff, text: str, *,
                    take_over: bool = False) -> Case:
        """A reply for the citizen; it opens a live hand-off with this agent (see
        `Handoffs.start` for a citizen already talking with another agent)."""
        now = self.clock()
        async with self.db.write() as conn:
            case = await self._open_case(conn, number, staff)
            await self.handoffs.start(conn, case, staff.user_id, staff.name, staff.actor, now,
                                      take_over=take_over)
            case = await self._take_if_free(conn, case, staff, now)
            case = await change_status(conn, case, "replied", now, staff.actor, {"text": text})
            await enqueue(conn, chat_id=case.chat_id, text=cards.to_citizen_reply(case, text),
                          purpose="reply", at=now, case_id=case.id)
            return case

    async def note(self, number: str, staff: Staff, text: str) -> Case:
        """An internal note: never shown to the citizen."""
        now = self.clock()
        async with self.db.write() as conn:
            case = await case_by_number(conn, number)
            await append_event(conn, case.id, now, staff.actor, "noted", {"text": text})
            await update_case(conn, case, now)
            return await case_by_id(conn, case.id)

    async def transfer(self, number: str, staff: Staff, department: str, reason: str) -> Case:
        """转办: the case goes to `department`; the citizen is told where."""
        now = self.clock()
        async with self.db.write() as conn:
            case = await self._open_case(conn, number, staff)
            case = await self._take_if_free(conn, case, staff, now)
            case = await change_status(conn, case, "transferred", now, staff.actor,
                                       {"from": case.department, "to": department,
                                        "reason": reason}, department=department)
            await enqueue(conn, chat_id=case.chat_id, at=now, case_id=case.id,
                          text=cards.to_citizen_transferred(case, department),
                          purpose="transferred")
            return case

    async def categorize(self, number: str, staff: Staff, category: str,
                         department: str | None) -> Case:
        """The case's final category, as an agent confirms or corrects it (open or closed),
        and `department` with it unless a transfer already chose one. The history records
        who decided and when."""
        if category not in CATEGORIES:
            raise ValueError(f"unknown category {category!r}")
        now = self.clock()
        async with self.db.write() as conn:
            case = await case_by_number(conn, number)
            columns: dict[str, str] = {"category": category}
            transferred = await (await conn.execute(
                "SELECT 1 FROM case_events WHERE case_id = ? AND kind = 'transferred' LIMIT 1",
                (case.id,))).fetchone()
            if department and not transferred:
                columns["department"] = department
            await update_case(conn, case, now, **columns)
            await append_event(conn, case.id, now, staff.actor, "categorized",
                               {"from": case.category, "to": category, "name": staff.name,
                                "department": columns.get("department", case.department),
                                "suggested": category in case.suggestions})
            case = await case_by_id(conn, case.id)
            if case.status is CaseStatus.RESOLVED:  # a correction after the case closed
                await examples.record_case(conn, case, staff.actor, now)
            return case

    async def return_case(self, number: str, staff: Staff, reason: str) -> Case:
        """退单: the department sends the case back to the hotline with a reason."""
        now = self.clock()
        async with self.db.write() as conn:
            case = await self._open_case(conn, number, staff)
            case = await change_status(conn, case, "returned", now, staff.actor,
                                       {"department": case.department, "reason": reason})
            await self.notices.to_staff(conn, case, f"案件 {case.number} 被 {case.department or '部门'}"
                                                    f"退回：{reason}\n请重新派单（/transfer）。",
                                        "returned", now)
            return case

    async def resolve(self, number: str, staff: Staff, text: str) -> Case:
        """办结 with the reply the citizen receives, followed by the rating question."""
        now = self.clock()
        async with self.db.write() as conn:
            case = await self._open_case(conn, number, staff)
            case = await self._take_if_free(conn, case, staff, now)
            case = await change_status(conn, case, "resolved", now, staff.actor, {"text": text})
            await examples.record_case(conn, case, staff.actor, now)
            await self.handoffs.end(conn, case, now, notify=False)
            await callbacks.ask(conn, case, text, now)
            return case

    async def reopen(self, number: str, staff: Staff, reason: str) -> Case:
        async with self.db.write() as conn:
            case = await case_by_number(conn, number)
            if case.status is not CaseStatus.RESOLVED:
                raise CaseStillOpen(number)
            return await reopen(conn, case, staff.actor, reason or "坐席重办", self.clock())

    async def supervise(self, number: str, staff: Staff, note: str,
                        new_deadline: date | None = None) -> Case:
        """督办: a supervisor's instruction, optionally with a new deadline; the agent is told."""
        now = self.clock()
        async with self.db.write() as conn:
            case = await case_by_number(conn, number)
            if not case.status.is_open:
                raise CaseClosed(number)
            if new_deadline is not None:
                await update_case(conn, case, now, deadline=new_deadline.isoformat())
            await append_event(
                conn, case.id, now, staff.actor, "supervised",
                {"text": note, "deadline": new_deadline.isoformat() if new_deadline else None})
            case = await case_by_id(conn, case.id)
            extra = f"\n新的办理期限：{format_date(case.deadline)}" if new_deadline else ""
            await self.notices.to_staff(conn, case, f"【督办】{case.number}（{staff.name}）：{note}{extra}",
                                        "supervised", now)
            return case
