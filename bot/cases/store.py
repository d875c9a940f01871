"""The case store: every read and write of cases and their history."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import aiosqlite

from bot.cases.deadlines import deadline_for, local_date
from bot.cases.models import Case, CaseDraft, CaseEvent, CaseStatus
from bot.db import Database, utcnow


class CaseNotFound(LookupError):
    """No case with that number belongs to the asker (or exists at all)."""


class CaseStore:
    """Named async operations on cases; each write is one transaction with its event."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock

    async def _next_number(self, conn: aiosqlite.Connection, now: datetime) -> str:
        day = local_date(now).strftime("%Y%m%d")
        await conn.execute(
            "INSERT INTO case_counters (day, last) VALUES (?, 1)"
            " ON CONFLICT (day) DO UPDATE SET last = last + 1",
            (day,),
        )
        async with conn.execute("SELECT last FROM case_counters WHERE day = ?", (day,)) as cur:
            (last,) = await cur.fetchone()
        return f"NT{day}{last:04d}"

    @staticmethod
    async def _append_event(
        conn: aiosqlite.Connection,
        case_id: int,
        at: datetime,
        actor: str,
        kind: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        await conn.execute(
            "INSERT INTO case_events (case_id, at, actor, kind, detail) VALUES (?, ?, ?, ?, ?)",
            (case_id, at.isoformat(), actor, kind, json.dumps(detail or {}, ensure_ascii=False)),
        )

    async def file_case(self, draft: CaseDraft, source_key: str | None = None) -> Case:
        """Files a case with its number, deadline and first event, all or nothing.

        `source_key` makes filing idempotent: filing again with the same key returns
        the case the first call created.
        """
        if source_key is not None:
            existing = await self.db.fetchone(
                "SELECT * FROM cases WHERE source_key = ?", (source_key,)
            )
            if existing is not None:
                return Case.from_row(existing)
        now = self.clock()
        deadline = deadline_for(draft.kind, now)
        async with self.db.write() as conn:
            if source_key is not None:
                async with conn.execute(
                    "SELECT id FROM cases WHERE source_key = ?", (source_key,)
                ) as cur:
                    row = await cur.fetchone()
                if row is not None:
                    case_id = row[0]
                    return await self._get(conn, case_id)
            number = await self._next_number(conn, now)
            cursor = await conn.execute(
                "INSERT INTO cases (number, citizen_id, chat_id, kind, category, department,"
                " district, address, description, happened, phone, anonymous, status,"
                " created_at, updated_at, deadline, source_key)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    number,
                    draft.citizen_id,
                    draft.chat_id,
                    draft.kind.value,
                    draft.category,
                    draft.department,
                    draft.district,
                    draft.address,
                    draft.description,
                    draft.happened,
                    draft.phone,
                    int(draft.anonymous),
                    CaseStatus.ACCEPTED.value,
                    now.isoformat(),
                    now.isoformat(),
                    deadline.isoformat(),
                    source_key,
                ),
            )
            case_id = cursor.lastrowid
            await self._append_event(
                conn,
                case_id,
                now,
                f"citizen:{draft.citizen_id}",
                "filed",
                {"kind": draft.kind.value, "photos": list(draft.photos)},
            )
            return await self._get(conn, case_id)

    @staticmethod
    async def _get(conn: aiosqlite.Connection, case_id: int) -> Case:
        async with conn.execute("SELECT * FROM cases WHERE id = ?", (case_id,)) as cur:
            return Case.from_row(await cur.fetchone())

    async def case_for_citizen(self, number: str, citizen_id: int) -> Case:
        """The case with this number if this citizen filed it; otherwise `CaseNotFound`."""
        row = await self.db.fetchone(
            "SELECT * FROM cases WHERE number = ? AND citizen_id = ?", (number, citizen_id)
        )
        if row is None:
            raise CaseNotFound(number)
        return Case.from_row(row)

    async def case_by_number(self, number: str) -> Case:
        row = await self.db.fetchone("SELECT * FROM cases WHERE number = ?", (number,))
        if row is None:
            raise CaseNotFound(number)
        return Case.from_row(row)

    async def cases_of_citizen(self, citizen_id: int, limit: int = 10) -> list[Case]:
        rows = await self.db.fetchall(
            "SELECT * FROM cases WHERE citizen_id = ? ORDER BY id DESC LIMIT ?",
            (citizen_id, limit),
        )
        return [Case.from_row(row) for row in rows]

    async def events(self, case_id: int) -> list[CaseEvent]:
        rows = await self.db.fetchall(
            "SELECT * FROM case_events WHERE case_id = ? ORDER BY id", (case_id,)
        )
        return [CaseEvent.from_row(row) for row in rows]

    async def count_cases(self) -> int:
        row = await self.db.fetchone("SELECT count(*) FROM cases")
        return row[0]
