"""Early warnings for the supervisors: recorded once each, acknowledged with /ack.

An alert is a row of `alerts`, written in the same transaction as the messages that carry
it to the supervisors (through the outbox). Its `key` says what makes it one alert (a
case's mark, a citizen's repeated matter, a hot spot's cluster in its window), so the
same warning is never raised twice. Listing and acknowledging them: bot/insight/warnings.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.store.db import Connection, SyncConnection


class AlertKind(StrEnum):
    SENSITIVE = "sensitive"
    URGENT = "urgent"
    REPEAT_CITIZEN = "repeat_citizen"
    REPEAT_PLACE = "repeat_place"
    HOTSPOT = "hotspot"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    AlertKind.SENSITIVE: "敏感件",
    AlertKind.URGENT: "紧急件",
    AlertKind.REPEAT_CITIZEN: "重复诉求",
    AlertKind.REPEAT_PLACE: "同一地点多人反映",
    AlertKind.HOTSPOT: "热点预警",
}


@dataclass(frozen=True)
class Alert:
    id: int
    kind: AlertKind
    key: str
    raised_at: datetime
    summary: str
    district: str | None = None
    category: str | None = None
    place: str | None = None
    case_ids: tuple[int, ...] = ()
    detail: dict[str, Any] = field(default_factory=dict)
    acked_by: int | None = None
    acked_at: datetime | None = None

    @classmethod
    def from_row(cls, row: Any) -> Alert:
        return cls(
            id=row["id"], kind=AlertKind(row["kind"]), key=row["key"],
            raised_at=datetime.fromisoformat(row["raised_at"]), summary=row["summary"],
            district=row["district"], category=row["category"], place=row["place"],
            case_ids=tuple(json.loads(row["case_ids"])), detail=json.loads(row["detail"]),
            acked_by=row["acked_by"],
            acked_at=datetime.fromisoformat(row["acked_at"]) if row["acked_at"] else None)


INSERT_SQL = (
    "INSERT INTO alerts (kind, key, raised_at, district, category, place, summary,"
    " case_ids, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id")


def insert_params(kind: AlertKind, key: str, at: datetime, summary: str, *,
                  case_ids: Iterable[int], district: str | None = None,
                  category: str | None = None, place: str | None = None,
                  detail: dict[str, Any] | None = None) -> tuple:
    return (kind.value, key, at.isoformat(), district, category, place, summary,
            json.dumps(list(case_ids)), json.dumps(detail or {}, ensure_ascii=False))


def insert_in_thread(conn: SyncConnection, *args: Any, **kwargs: Any) -> int | None:
    """Records an alert inside the caller's transaction (a plain sqlite3 connection, as
    filing uses); None if one with this key exists. Takes `insert_params`' arguments."""
    row = conn.execute(INSERT_SQL, insert_params(*args, **kwargs)).fetchone()
    return row[0] if row else None


async def insert(conn: Connection, *args: Any, **kwargs: Any) -> int | None:
    """As `insert_in_thread`, on an aiosqlite connection."""
    async with conn.execute(INSERT_SQL, insert_params(*args, **kwargs)) as cursor:
        row = await cursor.fetchone()
    return row[0] if row else None


SUPERVISORS_SQL = "SELECT user_id FROM staff_roles WHERE role = 'supervisor'"


def supervisors_in_thread(conn: SyncConnection, configured: Iterable[int]) -> list[int]:
    """Every supervisor: the configured ones and those granted in chat."""
    return sorted(set(configured) | {row[0] for row in conn.execute(SUPERVISORS_SQL)})


def ack_hint(alert_id: int) -> str:
    return f"处理后请发 /ack {alert_id} 确认。"
