"""The live hand-off: after an agent replies, the citizen's messages go to that agent
instead of the bot, until the agent releases the conversation or both sides fall silent."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.cases import cards
from bot.cases.models import Case
from bot.cases.store import append_event, case_by_id
from bot.store.db import Connection, Database, utcnow
from bot.store.outbox import enqueue

HANDOFF_IDLE = timedelta(minutes=30)


class HandoffBusy(RuntimeError):
    """The citizen is already in a live conversation with another agent, on another case."""

    def __init__(self, agent_id: int, number: str) -> None:
        super().__init__(f"citizen in a hand-off with {agent_id} on {number}")
        self.agent_id = agent_id
        self.number = number


@dataclass(frozen=True)
class Handoff:
    citizen_id: int
    chat_id: int
    case_id: int
    agent_id: int
    last_activity_at: datetime


class Handoffs:
    def __init__(self, db: Database, *, clock: Callable[[], datetime] = utcnow,
                 idle: timedelta = HANDOFF_IDLE) -> None:
        self.db = db
        self.clock = clock
        self.idle = idle

    async def start(self, conn: Connection, case: Case, agent_id: int, agent_name: str,
                    actor: str, now: datetime, *, take_over: bool) -> None:
        """The citizen's messages go to `agent_id` from now on.

        A citizen already talking live with another agent (on another case) is not taken
        over silently: `HandoffBusy` unless `take_over`, and then that agent is told.
        """
        async with conn.execute(
            "SELECT h.agent_id, h.last_activity_at, c.number FROM handoffs h"
            " JOIN cases c ON c.id = h.case_id WHERE h.citizen_id = ?",
            (case.citizen_id,)) as cur:
            current = await cur.fetchone()
        live = current is not None and current["agent_id"] != agent_id and (
            now - datetime.fromisoformat(current["last_activity_at"]) <= self.idle)
        if live and not take_over:
            raise HandoffBusy(current["agent_id"], current["number"])
        if live:
            await enqueue(conn, chat_id=current["agent_id"], at=now, case_id=case.id,
                          purpose="handoff_taken",
                          text=f"市民（案件 {current['number']}）的人工对话已由 {agent_name}"
                               f" 在案件 {case.number} 上接管。")
            await append_event(conn, case.id, now, actor, "handoff_taken",
                               {"from": current["agent_id"], "case": current["number"]})
        await conn.execute(
            "INSERT INTO handoffs (citizen_id, chat_id, case_id, agent_id, started_at,"
            " last_activity_at) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (citizen_id) DO UPDATE SET chat_id = excluded.chat_id,"
            " case_id = excluded.case_id, agent_id = excluded.agent_id,"
            " last_activity_at = excluded.last_activity_at",
            (case.citizen_id, case.chat_id, case.id, agent_id, now.isoformat(), now.isoformat()))

    async def end(self, conn: Connection, case: Case, now: datetime, *,
                  notify: bool, reason: str = "released") -> None:
        cursor = await conn.execute("DELETE FROM handoffs WHERE case_id = ?", (case.id,))
        if cursor.rowcount:
            await append_event(conn, case.id, now, "system", "handoff_released",
                               {"reason": reason})
            if notify:
                await enqueue(conn, chat_id=case.chat_id, text=cards.to_citizen_released(case),
                              purpose="released", at=now, case_id=case.id)

    async def release(self, agent_id: int, number: str | None = None) -> list[Case]:
        """Hands the agent's live conversations (or the one on `number`) back to the bot."""
        now = self.clock()
        async with self.db.write() as conn:
            sql = ("SELECT c.* FROM handoffs h JOIN cases c ON c.id = h.case_id"
                   " WHERE h.agent_id = ?")
            params: tuple = (agent_id,)
            if number:
                sql += " AND c.number = ?"
                params += (number,)
            async with conn.execute(sql, params) as cur:
                released = [Case.from_row(r) for r in await cur.fetchall()]
            for case in released:
                await self.end(conn, case, now, notify=True)
            return released

    async def active(self, citizen_id: int) -> Handoff | None:
        """The citizen's live conversation with an agent; an idle one is ended here."""
        row = await self.db.fetchone("SELECT * FROM handoffs WHERE citizen_id = ?", (citizen_id,))
        if row is None:
            return None
        handoff = Handoff(row["citizen_id"], row["chat_id"], row["case_id"], row["agent_id"],
                          datetime.fromisoformat(row["last_activity_at"]))
        if self.clock() - handoff.last_activity_at <= self.idle:
            return handoff
        await self.expire()
        return None

    async def expire(self) -> int:
        now = self.clock()
        cutoff = (now - self.idle).isoformat()
        async with self.db.write() as conn:
            async with conn.execute(
                "SELECT c.* FROM handoffs h JOIN cases c ON c.id = h.case_id"
                " WHERE h.last_activity_at < ?", (cutoff,)) as cur:
                idle = [Case.from_row(r) for r in await cur.fetchall()]
            for case in idle:
                await self.end(conn, case, now, notify=True, reason="idle")
        return len(idle)

    async def citizen_says(self, handoff: Handoff, text: str, photo: str | None = None,
                           alert: str | None = None,
                           key: str | None = None) -> tuple[Case, bool]:
        """A citizen's message during a hand-off: into the case history and to the agent.
        Returns the case and whether this is the citizen's first message since the agent's
        last reply (the citizen is then told it went to a person).

        `alert` (the bot found signs of an emergency and gave the citizen the number) goes
        first, so the agent sees it before the message.

        `key` names the citizen's message (its chat and message id): the same message
        handled again (a redelivery after a crash) adds nothing and is not a first one.
        """
        now = self.clock()
        async with self.db.write() as conn:
            case = await case_by_id(conn, handoff.case_id)
            if key is not None:
                async with conn.execute(
                    "SELECT 1 FROM case_events WHERE case_id = ? AND kind = 'citizen_message'"
                    f" AND {self.db.dialect.json_text('detail', 'key')} = ?",
                    (case.id, key)) as cur:
                    if await cur.fetchone():
                        return case, False
            async with conn.execute(
                "SELECT kind FROM case_events WHERE case_id = ?"
                " AND kind IN ('replied', 'citizen_message') ORDER BY id DESC LIMIT 1",
                (case.id,)) as cur:
                last = await cur.fetchone()
            first = last is None or last["kind"] == "replied"
            detail = {"text": text, **({"photo": photo} if photo else {}),
                      **({"alert": alert} if alert else {}), **({"key": key} if key else {})}
            await append_event(conn, case.id, now, f"citizen:{handoff.citizen_id}",
                               "citizen_message", detail)
            await conn.execute("UPDATE handoffs SET last_activity_at = ? WHERE citizen_id = ?",
                               (now.isoformat(), handoff.citizen_id))
            shown = text if not photo else f"{text}（照片已存入案件）"
            await enqueue(conn, chat_id=handoff.agent_id, at=now, case_id=case.id,
                          purpose="citizen_message", key=f"citizen:{key}" if key else None,
                          text=(f"{alert}\n" if alert else "")
                          + f"【市民回复】{case.number}：{shown}\n"
                          f"（回复请用 /reply {case.number} 内容；结束对话用 /release）")
            return case, first
