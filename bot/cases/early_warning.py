"""The checks a case gets when it is filed: sensitive signals and repeat requests.

Runs inside the filing transaction (`CaseStore._file_one`, a plain sqlite3 connection in
the database thread), wherever the case is filed: the mark, the repeat flags and the
normalised place are set on the case, each finding is an event in its history, and the
supervisors are alerted through the outbox, all committed with the case or not at all.
Hot spots, which need many cases, are found later by the bot's periodic pass
(bot/insight/hotspots.py).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from bot.cases import alerts, cards, repeats
from bot.cases.alerts import AlertKind
from bot.cases.models import Case
from bot.cases.sensitive import Mark, Signal, assess
from bot.store.db import SyncConnection
from bot.store.outbox import ENQUEUE_SQL, enqueue_params

log = logging.getLogger(__name__)

EVENT_SQL = "INSERT INTO case_events (case_id, at, actor, kind, detail) VALUES (?, ?, ?, ?, ?)"


def _event(conn: SyncConnection, case: Case, now: datetime, kind: str,
           detail: dict) -> None:
    conn.execute(EVENT_SQL, (case.id, now.isoformat(), "system", kind,
                             json.dumps(detail, ensure_ascii=False)))


def _numbers(numbers: list[str], most: int = 10) -> str:
    return "、".join(numbers[:most]) + (f" 等 {len(numbers)} 件" if len(numbers) > most else "")


def _place_text(case: Case) -> str:
    return " ".join(p for p in (case.district, case.address) if p) or "未说明"


def _alert(conn: SyncConnection, supervisors: list[int], case: Case, now: datetime,
           kind: AlertKind, key: str, head: str, case_ids: list[int],
           detail: dict) -> int | None:
    """Records the alert and sends it to every supervisor; None if it was raised before."""
    summary = cards.short(case.description, 60)
    alert_id = alerts.insert_in_thread(
        conn, kind, key, now, summary, case_ids=case_ids, district=case.district,
        category=case.category, place=case.place_key, detail=detail)
    if alert_id is None:
        return None
    text = (f"【{kind.label}】{head}\n"
            f"地点：{_place_text(case)}｜分类：{case.category or '待定'}\n"
            f"内容：{cards.short(case.description)}\n"
            f"{alerts.ack_hint(alert_id)}")
    for supervisor in supervisors:
        conn.execute(ENQUEUE_SQL, enqueue_params(
            chat_id=supervisor, text=text, purpose=f"alert:{kind.value}", at=now,
            case_id=case.id, key=f"alert:{alert_id}:{supervisor}"))
    if not supervisors:
        log.warning("no supervisors to tell of alert %s on %s", alert_id, case.number)
    return alert_id


def _alerted_before(conn: SyncConnection, kind: AlertKind, now: datetime, *,
                    case_ids: set[int] | None = None, place: str | None = None) -> bool:
    """An alert of `kind` in the last 30 days about one of `case_ids`, or about `place`."""
    since = (now - repeats.REPEAT_WITHIN).isoformat()
    if place is not None:
        row = conn.execute("SELECT 1 FROM alerts WHERE kind = ? AND place = ? AND raised_at >= ?",
                           (kind.value, place, since)).fetchone()
        return row is not None
    rows = conn.execute("SELECT case_ids FROM alerts WHERE kind = ? AND raised_at >= ?",
                        (kind.value, since)).fetchall()
    return any(set(json.loads(r[0])) & (case_ids or set()) for r in rows)


def check_filing(conn: SyncConnection, case: Case, now: datetime, *,
                 configured_supervisors: Iterable[int], signals: tuple[Signal, ...]) -> Case:
    """Marks, flags and alerts on a case just inserted; returns the case as it now is."""
    place = repeats.place_key(case.district, case.address)
    marking = assess(case.description, signals)
    earlier = repeats.citizen_repeats(conn, case.id, case.citizen_id, case.description,
                                      case.category, place, now)
    neighbours = repeats.place_repeats(conn, case.id, case.citizen_id, place, now)
    citizens = {r["citizen_id"] for r in neighbours} | {case.citizen_id}
    flags = []
    if len(earlier) + 1 >= repeats.REPEAT_COUNT:
        flags.append("citizen")
    if len(citizens) >= repeats.PLACE_CITIZENS:
        flags.append("place")
    case = replace(case, mark=marking.mark.value if marking else None,
                   repeat_flag=",".join(flags) or None, place_key=place)
    conn.execute("UPDATE cases SET mark = ?, repeat_flag = ?, place_key = ? WHERE id = ?",
                 (case.mark, case.repeat_flag, case.place_key, case.id))
    if marking is None and not flags:
        return case

    supervisors = alerts.supervisors_in_thread(conn, configured_supervisors)
    if marking is not None:
        ids = [s.id for s in marking.signals]
        _event(conn, case, now, "marked", {"mark": marking.mark.value, "signals": ids,
                                           "reason": marking.reasons})
        kind = AlertKind.URGENT if marking.mark is Mark.URGENT else AlertKind.SENSITIVE
        _alert(conn, supervisors, case, now, kind, f"mark:{case.id}",
               f"{case.number} 标记为{marking.mark.label}。原因：{marking.reasons}",
               [case.id], {"signals": ids})
    if "citizen" in flags:
        numbers = [r["number"] for r in earlier]
        _event(conn, case, now, "repeat_flagged", {"rule": "citizen", "cases": numbers})
        # One alert per matter in 30 days: later filings of it go into the history only.
        if not _alerted_before(conn, AlertKind.REPEAT_CITIZEN, now,
                               case_ids={r["id"] for r in earlier}):
            _alert(conn, supervisors, case, now, AlertKind.REPEAT_CITIZEN,
                   f"repeat_citizen:{case.id}",
                   f"{case.number} 是该市民30天内第 {len(earlier) + 1} 次反映同一件事"
                   f"（此前：{_numbers(numbers)}）。",
                   [*(r["id"] for r in earlier), case.id], {"rule": "citizen"})
    if "place" in flags:
        numbers = [r["number"] for r in neighbours]
        _event(conn, case, now, "repeat_flagged",
               {"rule": "place", "cases": numbers, "citizens": len(citizens)})
        if not _alerted_before(conn, AlertKind.REPEAT_PLACE, now, place=place):
            _alert(conn, supervisors, case, now, AlertKind.REPEAT_PLACE,
                   f"repeat_place:{case.id}",
                   f"30天内 {len(citizens)} 位市民反映同一地点：{case.number}、"
                   f"{_numbers(numbers)}。",
                   [*(r["id"] for r in neighbours), case.id], {"rule": "place"})
    return case
