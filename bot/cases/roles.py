"""Who is staff: agents, supervisors and admins.

Roles come from configuration (HOTLINE_AGENT_IDS, HOTLINE_SUPERVISOR_IDS,
HOTLINE_ADMIN_IDS) and from grants an admin makes in chat, stored in `staff_roles`.
A role given in configuration cannot be revoked in chat; change the configuration.
Everyone else is a citizen.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum

from bot.config import Settings
from bot.store.db import Connection, Database, utcnow

log = logging.getLogger(__name__)


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return {"agent": "坐席", "supervisor": "督办员", "admin": "管理员"}[self.value]


ROLE_WORDS = {"agent": Role.AGENT, "坐席": Role.AGENT, "supervisor": Role.SUPERVISOR,
              "督办": Role.SUPERVISOR, "督办员": Role.SUPERVISOR, "admin": Role.ADMIN,
              "管理员": Role.ADMIN}


class Roles:
    def __init__(self, db: Database, settings: Settings,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.clock = clock
        self.configured = {
            Role.AGENT: settings.agent_ids,
            Role.SUPERVISOR: settings.supervisor_ids,
            Role.ADMIN: settings.admin_ids,
        }

    async def roles_of(self, user_id: int) -> set[Role]:
        roles = {role for role, ids in self.configured.items() if user_id in ids}
        rows = await self.db.fetchall("SELECT role FROM staff_roles WHERE user_id = ?",
                                      (user_id,))
        roles.update(Role(row["role"]) for row in rows)
        return roles

    async def has(self, user_id: int, *wanted: Role) -> bool:
        return bool(await self.roles_of(user_id) & set(wanted))

    async def members(self, role: Role, conn: Connection | None = None) -> set[int]:
        """Everyone holding `role`; pass `conn` to read inside an open transaction."""
        sql, params = "SELECT user_id FROM staff_roles WHERE role = ?", (role.value,)
        if conn is None:
            rows = await self.db.fetchall(sql, params)
        else:
            async with conn.execute(sql, params) as cursor:
                rows = await cursor.fetchall()
        return set(self.configured[role]) | {row[0] for row in rows}

    async def grant(self, user_id: int, role: Role, by: int) -> bool:
        """True if the role is new for this user."""
        async with self.db.write() as conn:
            cursor = await conn.execute(
                "INSERT INTO staff_roles (user_id, role, granted_by, granted_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", (user_id, role.value, by, self.clock().isoformat()))
            added = cursor.rowcount == 1
        log.info("role %s granted to %s by %s (new: %s)", role, user_id, by, added)
        return added

    async def revoke(self, user_id: int, role: Role, by: int) -> bool:
        """True if a chat-granted role was removed (configured roles stay)."""
        async with self.db.write() as conn:
            cursor = await conn.execute(
                "DELETE FROM staff_roles WHERE user_id = ? AND role = ?", (user_id, role.value))
            removed = cursor.rowcount == 1
        log.info("role %s revoked from %s by %s (removed: %s)", role, user_id, by, removed)
        return removed
