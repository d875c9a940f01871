"""The one table of status changes: every change goes through it and writes its event."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.cases.models import TRANSITIONS, CaseDraft, CaseKind, CaseStatus
from bot.cases.store import CaseStore, InvalidTransition, change_status, update_case

BOT = Path(__file__).resolve().parents[2] / "bot"


async def test_each_change_writes_its_event_and_a_change_outside_the_table_is_refused(db, clock):
    store = CaseStore(db, clock=clock)
    case = await store.file_case(CaseDraft(1, 1, CaseKind.COMPLAINT, "楼道灯坏了"))
    walk = ["claimed", "replied", "transferred", "returned", "resolved", "reopened", "withdrawn"]
    async with db.write() as conn:
        for event in walk:
            case = await change_status(conn, case, event, clock(), "staff:1", {"text": event})
            assert case.status is TRANSITIONS[event][1]
        with pytest.raises(InvalidTransition):  # a withdrawn case takes no change
            await change_status(conn, case, "reopened", clock(), "staff:1")
        with pytest.raises(ValueError):
            await update_case(conn, case, clock(), status=CaseStatus.ACCEPTED.value)
    events = [e.kind for e in await store.events(case.id)]
    assert events == ["filed", *walk]
    assert case.closed_at is not None  # withdrawn closes the case; reopened had cleared it


async def test_an_open_case_cannot_be_reopened_nor_a_resolved_one_resolved_again(db, clock):
    store = CaseStore(db, clock=clock)
    case = await store.file_case(CaseDraft(1, 1, CaseKind.HELP, "水管爆了"))
    async with db.write() as conn:
        with pytest.raises(InvalidTransition):
            await change_status(conn, case, "reopened", clock(), "staff:1")
        case = await change_status(conn, case, "resolved", clock(), "staff:1")
        with pytest.raises(InvalidTransition):
            await change_status(conn, case, "resolved", clock(), "staff:1")


def test_no_module_writes_a_case_status_but_the_store():
    """A status written anywhere else would skip the table and its event."""
    writes = re.compile(r"UPDATE cases SET[^\"']*\bstatus\b|status\s*=\s*'(?!resolved|withdrawn)")
    offenders = [str(path.relative_to(BOT)) for path in BOT.rglob("*.py")
                 if path.name != "store.py" and writes.search(path.read_text(encoding="utf-8"))]
    assert offenders == []
