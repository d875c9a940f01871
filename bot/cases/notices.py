"""Who is told about a case, inside the change's transaction: its agent (or the agents'
group while nobody holds it), and every supervisor."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from bot.cases import cards
from bot.cases.deadlines import local_date
from bot.cases.models import Case, CaseEvent
from bot.cases.roles import Role, Roles
from bot.store.db import Connection, utcnow
from bot.store.outbox import enqueue

log = logging.getLogger(__name__)


class Notices:
    def __init__(self, roles: Roles, *, agents_chat_id: int | None = None,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.roles = roles
        self.agents_chat_id = agents_chat_id
        self.clock = clock

    async def to_staff(self, conn: Connection, case: Case, text: str, purpose: str,
                       now: datetime, key: str | None = None) -> None:
        """To the case's agent, or the agents' group while nobody holds it."""
        chat = case.assignee_id or self.agents_chat_id
        if chat is not None:
            await enqueue(conn, chat_id=chat, text=text, purpose=purpose, at=now,
                          case_id=case.id, key=key)

    async def to_supervisors(self, conn: Connection, case: Case, text: str,
                             purpose: str, now: datetime, key: str) -> None:
        supervisors = await self.roles.members(Role.SUPERVISOR, conn)
        for supervisor in sorted(supervisors):
            await enqueue(conn, chat_id=supervisor, text=text, purpose=purpose, at=now,
                          case_id=case.id, key=f"{key}:{supervisor}")
        if not supervisors:
            log.warning("no supervisors configured for %s on %s", purpose, case.number)

    async def history(self, conn: Connection, case: Case) -> str:
        """The case and its history as staff read it (phone and ID numbers masked)."""
        async with conn.execute(
            "SELECT * FROM case_events WHERE case_id = ? ORDER BY id", (case.id,)
        ) as cur:
            rows = await cur.fetchall()
        return cards.detail(case, [CaseEvent.from_row(r) for r in rows],
                            local_date(self.clock()), whole_phone=False)
