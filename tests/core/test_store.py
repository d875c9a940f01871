"""Filing and reading cases."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import date, timedelta

import psycopg
import pytest

from bot.cases.models import CaseDraft, CaseKind, CaseStatus, mask_phone, normalize_case_number
from bot.cases.store import CaseNotFound


def draft(citizen: int = 501, **overrides) -> CaseDraft:
    fields = {"citizen_id": citizen, "chat_id": citizen, "kind": CaseKind.COMPLAINT,
                  "description": "小区楼下烧烤店油烟很大", "district": "崇川区", "phone": "13812341234"}
    fields.update(overrides)
    return CaseDraft(**fields)


async def test_filing_gives_a_number_deadline_and_first_event(cases):
    case = await cases.file_case(draft())
    assert case.number == "NT202611300001"
    assert case.status is CaseStatus.ACCEPTED
    assert case.deadline == date(2026, 12, 14)  # ten working days after Monday 30 November
    events = await cases.events(case.id)
    assert [(e.kind, e.actor) for e in events] == [("filed", "citizen:501")]


async def test_numbers_count_per_day_and_restart_each_day(cases, clock):
    first = await cases.file_case(draft())
    second = await cases.file_case(draft())
    clock.now += timedelta(days=1)
    next_day = await cases.file_case(draft())
    assert (first.number, second.number, next_day.number) == (
        "NT202611300001", "NT202611300002", "NT202612010001")


async def test_concurrent_filings_get_distinct_numbers(cases):
    filed = await asyncio.gather(*(cases.file_case(draft(citizen=i)) for i in range(20)))
    assert len({c.number for c in filed}) == 20
    assert await cases.count_cases() == 20


async def test_the_same_source_key_files_once(cases):
    one = await cases.file_case(draft(), source_key="tg:update:42")
    two = await cases.file_case(draft(), source_key="tg:update:42")
    assert one.number == two.number
    assert await cases.count_cases() == 1


async def test_only_the_filer_finds_a_case(cases):
    case = await cases.file_case(draft(citizen=501))
    assert (await cases.case_for_citizen(case.number, 501)).id == case.id
    with pytest.raises(CaseNotFound):
        await cases.case_for_citizen(case.number, 502)
    with pytest.raises(CaseNotFound):
        await cases.case_for_citizen("NT209901010001", 501)


async def test_my_cases_are_newest_first(cases):
    numbers = [(await cases.file_case(draft())).number for _ in range(3)]
    await cases.file_case(draft(citizen=999))
    mine = await cases.cases_of_citizen(501)
    assert [c.number for c in mine] == list(reversed(numbers))


async def test_numbers_past_9999_a_day_are_found_whole(cases, db):
    first = await cases.file_case(draft())
    async with db.write() as conn:
        await conn.execute("UPDATE case_counters SET last = 9999")
    big = await cases.file_case(draft())
    assert big.number == "NT2026113010000"
    typed = normalize_case_number(f"查询 {big.number.lower()}")
    assert typed == big.number
    assert (await cases.case_for_citizen(typed, 501)).id == big.id != first.id
    assert normalize_case_number("NT202611300001") == first.number


def test_case_numbers_are_found_in_what_people_type():
    assert normalize_case_number("查询ｎｔ２０２６１１３０００１２") == "NT202611300012"
    assert normalize_case_number("nt 2026 1130 0012 进度") == "NT202611300012"
    assert normalize_case_number("查一下我的案子") is None


@pytest.mark.parametrize(("phone", "masked"), [
    ("13812341234", "138****1234"),
    ("0513-85551234", "0513****1234"),
    ("", ""),
])
def test_phones_are_masked(phone, masked):
    assert mask_phone(phone) == masked


async def test_filings_committed_together_fail_alone(cases, db):
    def draft(text):
        return CaseDraft(citizen_id=42, chat_id=42, kind=CaseKind.COMPLAINT, description=text)

    good, bad, also_good = await asyncio.gather(
        cases.file_case(draft("路灯坏了一个月")),
        cases.file_case(draft(None)),  # violates NOT NULL: this filing alone fails
        cases.file_case(draft("下水道堵了")),
        return_exceptions=True)
    assert isinstance(bad, sqlite3.IntegrityError | psycopg.IntegrityError)
    assert good.number[-4:] == "0001" and also_good.number[-4:] == "0002"  # no gap
    assert await cases.count_cases() == 2
    events = await db.fetchall("SELECT case_id FROM case_events")
    assert sorted(e[0] for e in events) == sorted([good.id, also_good.id])


async def test_a_merged_filing_keeps_its_place_time_and_phone(cases):
    case = await cases.file_case(draft(district=None, phone=None))
    merged = await cases.supplement(
        case.number, 501, "补充：周末更严重", source_key="draft:2",
        details={"district": "崇川区", "address": "工农路88号", "happened": "每晚十点后",
                 "phone": "13912345678", "not_a_column": "x"})
    assert (merged.district, merged.address, merged.happened, merged.phone) == (
        "崇川区", "工农路88号", "每晚十点后", "13912345678")
    event = (await cases.events(case.id))[-1]
    assert event.detail["address"] == "工农路88号" and "not_a_column" not in event.detail
