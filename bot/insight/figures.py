"""The hotline's figures for a period, from the case history.

Every figure is counted from `case_events` (and, for the bot's own answers, from
`kb_answers`, `kb_feedback` and `kb_misses`), never from counters kept beside it, and as of the end of
the period: events at or after `end` are not read, so a past week's figures come out the
same whenever they are computed. The definitions are in the README ("Figures").

Two queries and one pass: the cases that matter for the period (filed before its end and
not closed before its start, or touched during it), their events in order, then one walk
over each case's history that keeps its deadline in force, whether it is open and when it
was first claimed. Times in the store are UTC ISO strings (`utcnow().isoformat()`), so
the period's bounds are compared as strings.
"""

from __future__ import annotations

import asyncio
import math
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache, partial
from itertools import groupby
from typing import Any

from bot.cases.deadlines import (
    add_working_days,
    deadline_for,
    local_date,
    working_days_between,
)
from bot.cases.models import CaseKind
from bot.knowledge.feedback import UNHELPFUL
from bot.store.db import Database, Dialect

# 签收: a case should be claimed by the end of the first working day after its filing day.
SIGN_FOR_WORKING_DAYS = 1
# A case is a repeat request when its citizen filed another in the same category this soon before.
REPEAT_WITHIN = timedelta(days=30)
# An answer the citizen escalated within this long (「没解决」 or a case) was not direct.
ESCALATED_WITHIN = timedelta(hours=24)
# 满意 and 基本满意 (bot.cases.cards.RATINGS) count as satisfied.
SATISFIED_RATINGS = frozenset({"1", "2"})
# A supplement that came from a new filing the citizen said was the same matter
# (actions/intake.py, ActionMergeCase) carries the draft's key.
MERGED_KEY_PREFIX = "draft:"
UNSET = "未定"
KIND_LABELS: tuple[str, ...] = tuple(kind.label for kind in CaseKind)
CHANNEL_CASES = "Telegram 登记"
CHANNEL_ANSWERS = "智能问答"
CONSULT = CaseKind.CONSULT.label

# The events a figure reads; the others (notes, replies, hand-offs, reminders …) are skipped.
EVENT_KINDS = ("filed", "claimed", "transferred", "returned", "resolved", "reopened",
               "withdrawn", "supervised", "callback", "callback_not_reached", "supplemented")


@dataclass(frozen=True)
class OverdueCase:
    """An open case whose deadline in force had passed at the end of the period."""

    number: str
    kind: str
    category: str
    department: str
    district: str
    deadline: date
    days_over: int  # calendar days from the deadline to the date the period ends on
    assignee: str | None


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass
class Measures:
    """The figures of one group of cases (the whole hotline, a department, a category or a
    district) for the period."""

    intake: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KIND_LABELS, 0))
    sign_for_due: int = 0
    signed_in_time: int = 0
    resolved: int = 0
    resolved_on_time: int = 0
    late: list[str] = field(default_factory=list)  # numbers of the cases resolved late
    callbacks: int = 0  # valid callbacks: the citizen gave a rating
    satisfied: int = 0
    not_reached: int = 0
    reopened: int = 0
    returned: int = 0  # cases filed in the period and returned (退单) at least once
    transfers: int = 0  # transfers (转办) of the cases filed in the period
    repeats: int = 0
    handling_days: list[int] = field(default_factory=list)
    overdue: list[OverdueCase] = field(default_factory=list)

    @property
    def filed(self) -> int:
        return sum(self.intake.values())

    @property
    def sign_for_rate(self) -> float | None:
        return _rate(self.signed_in_time, self.sign_for_due)

    @property
    def on_time_rate(self) -> float | None:
        return _rate(self.resolved_on_time, self.resolved)

    @property
    def satisfaction_rate(self) -> float | None:
        return _rate(self.satisfied, self.callbacks)

    @property
    def reopen_rate(self) -> float | None:
        return _rate(self.reopened, self.resolved)

    @property
    def return_rate(self) -> float | None:
        return _rate(self.returned, self.filed)

    @property
    def transfers_per_case(self) -> float | None:
        return _rate(self.transfers, self.filed)

    @property
    def average_days(self) -> float | None:
        return _rate(sum(self.handling_days), len(self.handling_days))

    @property
    def p90_days(self) -> int | None:
        """The 90th percentile by nearest rank: the ⌈0.9·n⌉-th smallest."""
        if not self.handling_days:
            return None
        ordered = sorted(self.handling_days)
        return ordered[math.ceil(0.9 * len(ordered)) - 1]


@dataclass
class Figures:
    start: datetime
    end: datetime
    total: Measures = field(default_factory=Measures)
    departments: dict[str, Measures] = field(default_factory=lambda: defaultdict(Measures))
    categories: dict[str, Measures] = field(default_factory=lambda: defaultdict(Measures))
    districts: dict[str, Measures] = field(default_factory=lambda: defaultdict(Measures))
    # Policy questions with a recorded outcome, and those the bot answered for good.
    policy_questions: int = 0
    answered_directly: int = 0
    # Intake per day (China dates) and type, every channel together.
    intake_by_day: dict[date, dict[str, int]] = field(default_factory=dict)

    @property
    def direct_answer_rate(self) -> float | None:
        return _rate(self.answered_directly, self.policy_questions)

    @property
    def intake_by_channel(self) -> dict[str, dict[str, int]]:
        answers = dict.fromkeys(KIND_LABELS, 0)
        answers[CONSULT] = self.answered_directly
        return {CHANNEL_CASES: dict(self.total.intake), CHANNEL_ANSWERS: answers}

    @property
    def intake_by_type(self) -> dict[str, int]:
        return {label: sum(channel[label] for channel in self.intake_by_channel.values())
                for label in KIND_LABELS}


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise ValueError("figures need aware datetimes")
    return moment.astimezone(UTC).isoformat()


# Cases that matter for [start, end): filed before the end, and open at some point of the
# period (not closed before it began) or touched during it (a late rating, say).
_RELEVANT = """
    c.created_at < :end AND (c.closed_at IS NULL OR c.closed_at >= :start
        OR c.id IN (SELECT case_id FROM case_events WHERE at >= :start AND at < :end))
"""
_CASES_SQL = f"""
    SELECT c.id, c.number, c.kind, c.category, c.department, c.district, c.assignee_name
    FROM cases c WHERE {_RELEVANT}
"""


def _events_sql(dialect: Dialect) -> str:
    field = partial(dialect.json_text, "e.detail")
    return f"""
    SELECT e.case_id, e.at, e.kind, {field("deadline")}, {field("rating")},
           {field("source_key")}
    FROM case_events e JOIN cases c ON c.id = e.case_id
    WHERE {_RELEVANT} AND e.at < :end
      AND e.kind IN ({", ".join(f"'{kind}'" for kind in EVENT_KINDS)})
    ORDER BY e.case_id, e.id
"""
# Earlier filings in the same category, for repeat requests.
_REPEAT_SQL = """
    SELECT id, citizen_id, category, created_at FROM cases
    WHERE created_at >= :since AND created_at < :end AND category IS NOT NULL ORDER BY id
"""


async def compute(db: Database, start: datetime, end: datetime) -> Figures:
    """The hotline's figures for [start, end), whole and per department, category and
    district."""
    params = {"start": _iso(start), "end": _iso(end), "since": _iso(start - REPEAT_WITHIN)}
    cases = await db.fetchall(_CASES_SQL, params)
    events = await db.fetchall(_events_sql(db.dialect), params)
    filings = await db.fetchall(_REPEAT_SQL, params)
    answers = await db.fetchall(
        "SELECT at, citizen_id FROM kb_answers WHERE at >= :start AND at < :end ORDER BY at",
        params)
    # What escalates an answer: the citizen's 「没解决」, or a case they filed, within a day.
    escalations = await db.fetchall(
        "SELECT at, citizen_id FROM kb_feedback WHERE helpful = 0 AND at >= :start AND at < :end"
        " UNION ALL SELECT created_at, citizen_id FROM cases"
        " WHERE created_at >= :start AND created_at < :end", params)
    # A 「没解决」 is also kept among the misses (for its wording): its answer is counted.
    misses = await db.fetchone(
        "SELECT count(*) FROM kb_misses WHERE at >= :start AND at < :end AND route != :unhelpful",
        {**params, "unhelpful": UNHELPFUL})
    return await asyncio.to_thread(_tally, start, end, cases, events, filings,
                                   _direct_answers(answers, escalations), len(answers) + misses[0])


def _direct_answers(answers: list[Any], escalations: list[Any]) -> list[str]:
    """The times of the answers no escalation followed within `ESCALATED_WITHIN`."""
    later: dict[int, list[str]] = defaultdict(list)
    for at, citizen in escalations:
        later[citizen].append(at)
    for times in later.values():
        times.sort()
    kept = []
    for at, citizen in answers:
        times = later.get(citizen, [])
        i = bisect_left(times, at)
        until = _iso(datetime.fromisoformat(at) + ESCALATED_WITHIN)
        if i == len(times) or times[i] >= until:
            kept.append(at)
    return kept


def _tally(start: datetime, end: datetime, cases: list[Any], events: list[Any],
           filings: list[Any], direct: list[str], policy_questions: int) -> Figures:
    """The one pass over the histories (pure: no database)."""
    figures = Figures(start, end)
    start_iso = _iso(start)
    end_day = local_date(end)
    repeated = _repeats(filings, start_iso)
    by_id = {row[0]: row for row in cases}
    day_counts: dict[date, dict[str, int]] = defaultdict(lambda: dict.fromkeys(KIND_LABELS, 0))

    for case_id, history in groupby(events, key=lambda row: row[0]):
        row = by_id[case_id]
        number, kind = row[1], CaseKind(row[2])
        category, department, district = row[3] or UNSET, row[4] or UNSET, row[5] or UNSET
        groups = (figures.total, figures.departments[department],
                  figures.categories[category], figures.districts[district])
        filed_iso, filed_at = "", None
        deadline: date | None = None
        is_open = True
        claimed_at: str | None = None
        withdrawn_unclaimed = returned = False
        transfers = 0
        for _, at, event, new_deadline, rating, source_key in history:
            in_period = at >= start_iso
            if event == "filed":
                filed_iso, filed_at = at, datetime.fromisoformat(at)
                deadline = deadline_for(kind, filed_at)
            elif event == "claimed":
                claimed_at = claimed_at or at
            elif event == "supervised" or event == "reopened":
                if new_deadline:
                    deadline = date.fromisoformat(new_deadline)
                if event == "reopened":
                    is_open = True
                    if in_period:
                        for m in groups:
                            m.reopened += 1
            elif event == "resolved":
                is_open = False
                if in_period and filed_at is not None:
                    day = local_date(datetime.fromisoformat(at))
                    days = working_days_between(local_date(filed_at), day)
                    on_time = deadline is not None and day <= deadline
                    for m in groups:
                        m.resolved += 1
                        m.resolved_on_time += on_time
                        m.handling_days.append(days)
                        if not on_time:
                            m.late.append(number)
            elif event == "withdrawn":
                is_open = False
                withdrawn_unclaimed = withdrawn_unclaimed or claimed_at is None
            elif event == "returned":
                returned = True
            elif event == "transferred":
                transfers += 1
            elif not in_period:
                continue
            elif event == "callback":
                for m in groups:
                    m.callbacks += 1
                    m.satisfied += str(rating) in SATISFIED_RATINGS
            elif event == "callback_not_reached":
                for m in groups:
                    m.not_reached += 1
            elif event == "supplemented" and str(source_key or "").startswith(MERGED_KEY_PREFIX):
                for m in groups:
                    m.repeats += 1
        if filed_at is None:
            continue  # no filing in the history: nothing to measure it against
        if filed_iso >= start_iso:  # and before the end, as every event read
            filed_day = local_date(filed_at)
            day_counts[filed_day][kind.label] += 1
            target = _sign_for_target(filed_day)
            due = not withdrawn_unclaimed and (claimed_at is not None or end_day > target)
            in_time = (claimed_at is not None
                       and local_date(datetime.fromisoformat(claimed_at)) <= target)
            for m in groups:
                m.intake[kind.label] += 1
                m.returned += returned
                m.transfers += transfers
                m.repeats += case_id in repeated
                m.sign_for_due += due
                m.signed_in_time += due and in_time
        if is_open and deadline is not None and deadline < end_day:
            late = OverdueCase(number, kind.label, category, department, district, deadline,
                               (end_day - deadline).days, row[6])
            for m in groups:
                m.overdue.append(late)

    for m in (figures.total, *figures.departments.values(), *figures.categories.values(),
              *figures.districts.values()):
        m.overdue.sort(key=lambda c: (c.deadline, c.number))
    figures.policy_questions = policy_questions
    for at in direct:
        figures.answered_directly += 1
        day_counts[local_date(datetime.fromisoformat(at))][CONSULT] += 1
    figures.intake_by_day = {day: dict(day_counts[day]) for day in _days(start, end)}
    figures.departments = dict(figures.departments)
    figures.categories = dict(figures.categories)
    figures.districts = dict(figures.districts)
    return figures


@lru_cache(maxsize=4096)
def _sign_for_target(filed_day: date) -> date:
    """The last day on which claiming a case filed on `filed_day` is in time."""
    return add_working_days(filed_day, SIGN_FOR_WORKING_DAYS)


def _repeats(filings: list[Any], start_iso: str) -> set[int]:
    """Cases filed from `start_iso` on whose citizen filed another case in the same category
    within `REPEAT_WITHIN` before."""
    earlier: dict[tuple[int, str], list[datetime]] = defaultdict(list)
    found: set[int] = set()
    for case_id, citizen_id, category, created_at in filings:
        at = datetime.fromisoformat(created_at)
        previous = earlier[(citizen_id, category)]
        if created_at >= start_iso and any(at - before <= REPEAT_WITHIN for before in previous):
            found.add(case_id)
        previous.append(at)
    return found


def _days(start: datetime, end: datetime) -> list[date]:
    """The China dates the period covers."""
    first, last = local_date(start), local_date(end - timedelta(microseconds=1))
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
