"""督办: the periodic pass over open cases.

Each action is taken once per key, recorded in `supervision_marks` in the same
transaction as the messages it causes, so the pass can run every minute, after
any restart and in more than one process without acting twice.

- the deadline is today (the last 24 hours): remind the assignee (or the agents' group);
- the deadline has passed: alert the supervisors;
- a case transferred a second time, or returned by a department (推诿, 踢皮球): flag it to
  the supervisors with its history, once a day per case (an episode is one alert);
- a callback unanswered for three days: recorded as not reached (it never counts as valid);
- a live hand-off idle too long: handed back to the bot.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.cases.callbacks import CALLBACK_WAIT
from bot.cases.deadlines import format_date, local_date
from bot.cases.handoffs import Handoffs
from bot.cases.models import Case, CaseEvent
from bot.cases.notices import Notices
from bot.cases.store import append_event, case_by_id
from bot.store.db import Connection, Database, utcnow

log = logging.getLogger(__name__)

OPEN = "status NOT IN ('resolved', 'withdrawn')"
PINGPONG_LOOKBACK = timedelta(days=30)
PINGPONG_QUIET = timedelta(days=1)  # after an alert on a case, its further flags go unannounced


@dataclass
class PassReport:
    reminders: int = 0
    overdue: int = 0
    pingpong: int = 0
    not_reached: int = 0
    handoffs_ended: int = 0

    @property
    def total(self) -> int:
        return (self.reminders + self.overdue + self.pingpong + self.not_reached
                + self.handoffs_ended)


class Supervision:
    def __init__(self, db: Database, notices: Notices, handoffs: Handoffs, *,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.notices = notices
        self.handoffs = handoffs
        self.clock = clock

    @staticmethod
    async def _mark(conn: Connection, key: str, now: datetime) -> bool:
        """Claims `key`; False if this action was taken before."""
        cursor = await conn.execute(
            "INSERT INTO supervision_marks (key, at) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (key, now.isoformat()))
        return cursor.rowcount == 1

    async def run_once(self) -> PassReport:
        report = PassReport()
        now = self.clock()
        today = local_date(now).isoformat()
        due_today = await self.db.fetchall(
            f"SELECT * FROM cases WHERE {OPEN} AND deadline = ?", (today,))
        for row in due_today:
            case = Case.from_row(row)
            async with self.db.write() as conn:
                if await self._mark(conn, f"remind:{case.id}:{case.deadline}", now):
                    await append_event(conn, case.id, now, "system",
                                                  "deadline_reminder", {})
                    await self.notices.to_staff(
                        conn, case, f"【到期提醒】{case.number} 今天（{format_date(case.deadline)}）"
                                    f"到期，请尽快办结。", "reminder", now)
                    report.reminders += 1
        overdue = await self.db.fetchall(
            f"SELECT * FROM cases WHERE {OPEN} AND deadline < ?", (today,))
        for row in overdue:
            case = Case.from_row(row)
            async with self.db.write() as conn:
                if await self._mark(conn, f"overdue:{case.id}:{case.deadline}", now):
                    await append_event(conn, case.id, now, "system", "overdue_alert", {})
                    await self.notices.to_supervisors(
                        conn, case, f"【超期】{case.number} 已超过办理期限"
                                    f"（{format_date(case.deadline)}），认领人：{case.assignee_name or '无'}。"
                                    f"督办请用 /supervise {case.number} 意见 [新期限]",
                        "overdue", now, key=f"overdue:{case.id}:{case.deadline}")
                    report.overdue += 1
        report.pingpong = await self._pingpong(now)
        report.not_reached = await self._not_reached(now)
        report.handoffs_ended = await self.handoffs.expire()
        if report.total:
            log.info("supervision pass: %s", report)
        return report

    async def _pingpong(self, now: datetime) -> int:
        since = (now - PINGPONG_LOOKBACK).isoformat()
        rows = await self.db.fetchall(
            "SELECT e.*, (SELECT count(*) FROM case_events t WHERE t.case_id = e.case_id"
            "   AND t.kind = 'transferred' AND t.id <= e.id) AS transfers"
            " FROM case_events e LEFT JOIN supervision_marks m ON m.key = 'pingpong:' || e.id"
            " WHERE e.kind IN ('transferred', 'returned') AND e.at >= ? AND m.key IS NULL",
            (since,))
        flagged = 0
        for row in rows:
            event = CaseEvent.from_row(row)
            if event.kind == "transferred" and row["transfers"] < 2:
                continue
            async with self.db.write() as conn:
                if not await self._mark(conn, f"pingpong:{event.id}", now):
                    continue
                case = await case_by_id(conn, event.case_id)
                why = ("被部门退回" if event.kind == "returned"
                       else f"已第 {row['transfers']} 次转办")
                await append_event(conn, case.id, now, "system", "pingpong_flag",
                                              {"event": event.id, "reason": why})
                flagged += 1
                # One episode (a return and the transfer after it, seconds apart) is one
                # alert: a case already flagged in the last day goes into the history only.
                async with conn.execute(
                    "SELECT 1 FROM supervision_marks WHERE key LIKE ? AND at >= ?",
                    (f"pingpong-alert:{case.id}:%", (now - PINGPONG_QUIET).isoformat())) as cur:
                    if await cur.fetchone():
                        continue
                await self._mark(conn, f"pingpong-alert:{case.id}:{event.id}", now)
                history = await self.notices.history(conn, case)
                await self.notices.to_supervisors(
                    conn, case, f"【推诿提醒】{case.number} {why}，请关注。\n\n{history}",
                    "pingpong", now, key=f"pingpong:{event.id}")
        return flagged

    async def _not_reached(self, now: datetime) -> int:
        cutoff = (now - CALLBACK_WAIT).isoformat()
        rows = await self.db.fetchall(
            "SELECT * FROM callbacks WHERE outcome = 'pending' AND asked_at < ?", (cutoff,))
        count = 0
        for row in rows:
            async with self.db.write() as conn:
                cursor = await conn.execute(
                    "UPDATE callbacks SET outcome = 'not_reached' WHERE id = ?"
                    " AND outcome = 'pending'", (row["id"],))
                if cursor.rowcount:
                    await append_event(conn, row["case_id"], now, "system",
                                                  "callback_not_reached", {})
                    count += 1
        return count

