"""Deadlines in working days on the Chinese calendar (holidays and make-up workdays).

The calendar comes from `chinesecalendar`, which is updated each year once the
State Council publishes the next year's holiday schedule. For a year it does not
know yet, Monday to Friday are counted as working days and a warning is logged.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from functools import lru_cache

import chinese_calendar

from bot.cases.models import CaseKind
from bot.config import CHINA

log = logging.getLogger(__name__)


# Working days allowed per kind of case, counted from the working day after filing.
WORKING_DAYS: dict[CaseKind, int] = {
    CaseKind.CONSULT: 3,
    CaseKind.HELP: 5,
    CaseKind.COMPLAINT: 10,
    CaseKind.REPORT: 10,
    CaseKind.SUGGESTION: 15,
}

_warned_years: set[int] = set()


@lru_cache(maxsize=8192)  # chinesecalendar scans its tables on every call
def is_workday(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            log.warning("no holiday calendar for %s yet; counting Monday to Friday", day.year)
        return day.weekday() < 5


def add_working_days(start: date, days: int) -> date:
    """The `days`-th working day after `start` (`start` itself is not counted)."""
    if days < 1:
        raise ValueError("days must be at least 1")
    current = start
    counted = 0
    while counted < days:
        current += timedelta(days=1)
        if is_workday(current):
            counted += 1
    return current


@lru_cache(maxsize=65536)
def working_days_between(start: date, end: date) -> int:
    """The working days after `start` up to and including `end` (0 when `end` <= `start`):
    a case filed on `start` and closed on `end` took this many working days."""
    counted = 0
    current = start
    while current < end:
        current += timedelta(days=1)
        if is_workday(current):
            counted += 1
    return counted


def deadline_for(kind: CaseKind, filed_at: datetime) -> date:
    """The last day on which a case of this kind, filed at `filed_at`, is on time."""
    return _deadline_from(kind, filed_at.astimezone(CHINA).date())


@lru_cache(maxsize=4096)
def _deadline_from(kind: CaseKind, local_day: date) -> date:
    return add_working_days(local_day, WORKING_DAYS[kind])


def local_date(moment: datetime) -> date:
    return moment.astimezone(CHINA).date()


def format_date(day: date) -> str:
    """2026年12月14日（周一）"""
    weekday = "一二三四五六日"[day.weekday()]
    return f"{day.year}年{day.month}月{day.day}日（周{weekday}）"
