"""Working-day deadlines on the Chinese calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.cases.deadlines import add_working_days, deadline_for, format_date, is_workday
from bot.cases.models import CaseKind


def test_national_day_holiday_and_its_make_up_workday_2026():
    # 2026: 1-7 October are holidays; Saturday 10 October is a make-up workday.
    assert not is_workday(date(2026, 10, 1))
    assert is_workday(date(2026, 10, 10))
    # From Wednesday 30 September: 8 and 9 October, then the make-up Saturday 10 October.
    assert add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)


def test_spring_festival_2026_spans_the_deadline():
    # Filed Friday 13 February 2026; Saturday 14 February is a make-up workday,
    # 15-23 February are the Spring Festival holiday.
    assert add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert add_working_days(date(2026, 2, 13), 2) == date(2026, 2, 24)


def test_deadline_uses_the_date_in_china_not_utc():
    # 17:00 UTC on Sunday 29 November is 01:00 on Monday 30 November in Nantong.
    filed = datetime(2026, 11, 29, 17, 0, tzinfo=UTC)
    assert deadline_for(CaseKind.HELP, filed) == add_working_days(date(2026, 11, 30), 5)


def test_unknown_year_counts_weekdays():
    # No holiday calendar is published for 2031 yet: Monday to Friday count.
    assert add_working_days(date(2031, 6, 6), 1) == date(2031, 6, 9)


def test_format_date():
    assert format_date(date(2026, 12, 14)) == "2026年12月14日（周一）"
