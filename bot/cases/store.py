"""The case store: every read and write of cases and their history."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot.cases import cards, early_warning
from bot.cases.deadlines import deadline_for, local_date
from bot.cases.models import TRANSITIONS, Case, CaseDraft, CaseEvent, CaseStatus
from bot.cases.sensitive import Signal, load_signals
from bot.cases.similarity import similarity
from bot.store.db import Connection, Database, SyncConnection, utcnow
from bot.store.outbox import ENQUEUE_SQL, enqueue, enqueue_params

# The same citizen filing something this alike this soon is asked whether it is the same matter.
SIMILAR_WITHIN = timedelta(hours=72)
SIMILAR_SCORE = 0.6
# Events whose text the citizen sees in the status view.
PUBLIC_REPLY_EVENTS = ("replied", "resolved")


EVENT_SQL = "INSERT INTO case_events (case_id, at, actor, kind, detail) VALUES (?, ?, ?, ?, ?)"


def event_params(case_id: int, at: datetime, actor: str, kind: str,
                 detail: dict[str, Any] | None = None) -> tuple:
    return (case_id, at.isoformat(), actor, kind, json.dumps(detail or {}, ensure_ascii=False))


async def append_event(
    conn: Connection,
    case_id: int,
    at: datetime,
    actor: str,
    kind: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Appends one row to a case's history, inside the caller's transaction."""
    await conn.execute(EVENT_SQL, event_params(case_id, at, actor, kind, detail))


class CaseNotFound(LookupError):
    """No case with that number belongs to the asker (or exists at all)."""


class CaseClosed(RuntimeError):
    """The case is resolved or withdrawn and cannot take this change."""


class InvalidTransition(RuntimeError):
    """The case's status does not allow this change (see `TRANSITIONS`)."""

    def __init__(self, case: Case, event: str) -> None:
        super().__init__(f"{case.number}: {event} from {case.status.value}")
        self.case = case
        self.event = event


async def case_by_number(conn: Connection, number: str) -> Case:
    async with conn.execute("SELECT * FROM cases WHERE number = ?", (number,)) as cur:
        row = await cur.fetchone()
    if row is None:
        raise CaseNotFound(number)
    return Case.from_row(row)


async def case_by_id(conn: Connection, case_id: int) -> Case:
    async with conn.execute("SELECT * FROM cases WHERE id = ?", (case_id,)) as cur:
        return Case.from_row(await cur.fetchone())


async def update_case(conn: Connection, case: Case, now: datetime,
                      **columns: Any) -> None:
    """Sets case columns (not the status: `change_status` does that) and `updated_at`."""
    if "status" in columns:
        raise ValueError("status changes go through change_status")
    await _update(conn, case, now, columns)


async def _update(conn: Connection, case: Case, now: datetime,
                  columns: dict[str, Any]) -> None:
    columns["updated_at"] = now.isoformat()
    assignments = ", ".join(f"{name} = ?" for name in columns)  # names from this module only
    await conn.execute(f"UPDATE cases SET {assignments} WHERE id = ?",
                       (*columns.values(), case.id))


async def change_status(conn: Connection, case: Case, event: str, now: datetime,
                        actor: str, detail: dict[str, Any] | None = None, **columns: Any) -> Case:
    """The one way a case's status changes: checked against `TRANSITIONS`, written with its
    event (and any other columns) in the caller's transaction. Returns the changed case."""
    allowed, status = TRANSITIONS[event]
    if case.status not in allowed:
        raise InvalidTransition(case, event)
    if status is CaseStatus.RESOLVED or status is CaseStatus.WITHDRAWN:
        columns["closed_at"] = now.isoformat()
    elif status is CaseStatus.REOPENED:
        columns["closed_at"] = None
    await _update(conn, case, now, {"status": status.value, **columns})
    await append_event(conn, case.id, now, actor, event, detail)
    return await case_by_id(conn, case.id)


async def reopen(conn: Connection, case: Case, actor: str, reason: str,
                 now: datetime) -> Case:
    """重办: a resolved case opens again with a new deadline; the citizen is told."""
    deadline = deadline_for(case.kind, now)
    case = await change_status(conn, case, "reopened", now, actor,
                               {"reason": reason, "deadline": deadline.isoformat()},
                               deadline=deadline.isoformat())
    await enqueue(conn, chat_id=case.chat_id, text=cards.to_citizen_reopened(case),
                  purpose="reopened", at=now, case_id=case.id)
    return case


# What a merged filing adds besides its description and photos (case columns).
MERGED_FIELDS = ("district", "address", "happened", "phone")

class CaseStore:
    """Named async operations on cases; each write is one transaction with its event."""

    def __init__(self, db: Database, clock: Callable[[], datetime] = utcnow,
                 agents_chat_id: int | None = None,
                 supervisor_ids: frozenset[int] = frozenset(),
                 signals: Callable[[], tuple[Signal, ...]] = load_signals) -> None:
        self.db = db
        self.clock = clock
        # New cases are posted here as cards, through the outbox, in the filing transaction.
        self.agents_chat_id = agents_chat_id
        # Sensitive and repeated cases are told to the supervisors (these and those granted
        # in chat) in the filing transaction; `signals` gives the sensitive signals' list.
        self.supervisor_ids = supervisor_ids
        self.signals = signals
        self._pending: list[tuple[CaseDraft, str | None, asyncio.Future[Case]]] = []
        self._flusher: asyncio.Task | None = None

    async def file_case(self, draft: CaseDraft, source_key: str | None = None) -> Case:
        """Files a case with its number, deadline, first event and the agents' card, all or
        nothing, and returns it once committed.

        `source_key` makes filing idempotent: filing again with the same key returns
        the case the first call created.

        Filings that arrive while a transaction is in flight are committed together in the
        next one (group commit), each inside its own savepoint: one filing's failure undoes
        only that filing, and nobody is told a number before the commit. The transaction
        runs whole in the database thread (see `bench/store.py` for what this buys).
        """
        future: asyncio.Future[Case] = asyncio.get_running_loop().create_future()
        self._pending.append((draft, source_key, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_filings())
        return await future

    async def _flush_filings(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            now = self.clock()

            # Run at once below, inside this iteration: `batch` and `now` are this batch's.
            def transaction(conn: SyncConnection, batch=batch, now=now
                            ) -> list[Case | Exception]:
                outcomes: list[Case | Exception] = []
                for draft, source_key, _ in batch:
                    conn.execute("SAVEPOINT filing")
                    try:
                        outcomes.append(self._file_one(conn, draft, source_key, now))
                    except self.db.fatal_errors:
                        raise  # locked, disk full, connection lost …: the whole batch fails
                    except Exception as exc:
                        conn.execute("ROLLBACK TO filing")
                        outcomes.append(exc)
                    conn.execute("RELEASE filing")
                return outcomes

            try:
                outcomes = await self.db.transaction_in_thread(transaction)
            except Exception as exc:
                outcomes = [exc] * len(batch)
            for (_, _, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():  # the caller went away; the filing stands or fell anyway
                    continue
                if isinstance(outcome, Exception):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)

    def _file_one(self, conn: SyncConnection, draft: CaseDraft, source_key: str | None,
                  now: datetime) -> Case:
        """The statements of one filing, inside the open transaction."""
        deadline = deadline_for(draft.kind, now)
        if source_key is not None:
            existing = conn.execute(
                "SELECT * FROM cases WHERE source_key = ?", (source_key,)).fetchone()
            if existing is not None:
                return Case.from_row(existing)
        day = local_date(now).strftime("%Y%m%d")
        (last,) = conn.execute(
            "INSERT INTO case_counters (day, last) VALUES (?, 1)"
            " ON CONFLICT (day) DO UPDATE SET last = case_counters.last + 1 RETURNING last",
            (day,)).fetchone()
        row = conn.execute(
            "INSERT INTO cases (number, citizen_id, chat_id, kind, category, department,"
            " district, address, description, happened, phone, anonymous, status,"
            " created_at, updated_at, deadline, source_key, suggestions, model_version)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
            (
                f"NT{day}{last:04d}",
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
                json.dumps(list(draft.suggestions), ensure_ascii=False),
                draft.model_version,
            ),
        ).fetchone()
        case = Case.from_row(row)
        conn.execute(EVENT_SQL, event_params(
            case.id, now, f"citizen:{draft.citizen_id}", "filed",
            {"kind": draft.kind.value, "photos": list(draft.photos)}))
        case = early_warning.check_filing(conn, case, now, signals=self.signals(),
                                          configured_supervisors=self.supervisor_ids)
        if self.agents_chat_id is not None:
            conn.execute(ENQUEUE_SQL, enqueue_params(
                chat_id=self.agents_chat_id, text=cards.card(case),
                buttons=cards.card_buttons(case), purpose="card", at=now,
                case_id=case.id, key=f"card:{case.id}"))
        return case

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

    async def similar_open_case(self, citizen_id: int, description: str) -> Case | None:
        """The citizen's most alike open case of the last 72 hours, if alike enough."""
        since = (self.clock() - SIMILAR_WITHIN).isoformat()
        rows = await self.db.fetchall(
            "SELECT * FROM cases WHERE citizen_id = ? AND created_at >= ?"
            " AND status NOT IN ('resolved', 'withdrawn') ORDER BY id DESC",
            (citizen_id, since),
        )
        best: tuple[float, Case] | None = None
        for row in rows:
            case = Case.from_row(row)
            score = similarity(description, case.description)
            if score >= SIMILAR_SCORE and (best is None or score > best[0]):
                best = (score, case)
        return best[1] if best else None

    async def _open_case_of(self, conn: Connection, number: str,
                            citizen_id: int) -> Case:
        async with conn.execute(
            "SELECT * FROM cases WHERE number = ? AND citizen_id = ?", (number, citizen_id)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            raise CaseNotFound(number)
        case = Case.from_row(row)
        if not case.status.is_open:
            raise CaseClosed(number)
        return case

    async def supplement(self, number: str, citizen_id: int, text: str,
                         photos: tuple[str, ...] = (), source_key: str | None = None,
                         details: dict[str, str] | None = None) -> Case:
        """Adds the citizen's new information to their open case (补充).

        `details` (district, address, happened, phone) go into the event whole, and fill
        the case's own fields where those are still empty; a value that differs from
        the case's stays in the history for the agent to see.
        """
        details = {k: v for k, v in (details or {}).items() if k in MERGED_FIELDS and v}
        now = self.clock()
        async with self.db.write() as conn:
            case = await self._open_case_of(conn, number, citizen_id)
            if source_key is not None:
                async with conn.execute(
                    "SELECT 1 FROM case_events WHERE case_id = ? AND kind = 'supplemented'"
                    f" AND {self.db.dialect.json_text('detail', 'source_key')} = ?",
                    (case.id, source_key)
                ) as cur:
                    if await cur.fetchone():
                        return case
            await append_event(conn, case.id, now, f"citizen:{citizen_id}", "supplemented",
                                     {"text": text, "photos": list(photos),
                                      "source_key": source_key, **details})
            await conn.execute("UPDATE cases SET updated_at = ? WHERE id = ?",
                               (now.isoformat(), case.id))
            for field, value in details.items():  # names from MERGED_FIELDS only
                await conn.execute(
                    f"UPDATE cases SET {field} = ? WHERE id = ? AND ({field} IS NULL OR {field} = '')",
                    (value, case.id))
            return await case_by_id(conn, case.id)

    async def withdraw(self, number: str, citizen_id: int, reason: str) -> Case:
        """The citizen withdraws their open case (撤回), giving a reason."""
        now = self.clock()
        async with self.db.write() as conn:
            case = await self._open_case_of(conn, number, citizen_id)
            return await change_status(conn, case, "withdrawn", now, f"citizen:{citizen_id}",
                                       {"reason": reason, "from": case.status.value})

    async def latest_public_reply(self, case_id: int) -> str | None:
        """The last reply written for the citizen (by an agent or a department), if any."""
        marks = ", ".join("?" for _ in PUBLIC_REPLY_EVENTS)
        row = await self.db.fetchone(
            f"SELECT detail FROM case_events WHERE case_id = ? AND kind IN ({marks})"
            " ORDER BY id DESC LIMIT 1",
            (case_id, *PUBLIC_REPLY_EVENTS),
        )
        if row is None:
            return None
        return json.loads(row["detail"]).get("text")
