"""Named leases in the store, so that several bot processes share work without doing it twice.

A lease is one row: who holds `name` and until when. A process acts under a name only
while it holds the lease, claimed or renewed in a write transaction that succeeds only
if the row is free, expired or already its own. A holder that dies stops renewing, and
another process takes the lease over once it expires.

The SQL is the common subset of SQLite and PostgreSQL: an upsert that updates only when
its condition holds, and time stamps as ISO text in UTC, which sort as they compare.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from bot.store.db import Database, utcnow

CLAIM_SQL = (
    "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)"
    " ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at"
    " WHERE leases.holder = excluded.holder OR leases.expires_at <= ?"
)


def stamp(at: datetime) -> str:
    """A time as the store keeps it: always with microseconds, so texts compare as times."""
    return at.isoformat(timespec="microseconds")


class Leases:
    """The leases one process (`holder`) claims, renews and gives back."""

    def __init__(self, db: Database, holder: str,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.holder = holder
        self.clock = clock

    async def hold(self, name: str, ttl: timedelta) -> bool:
        """Claims `name` for `ttl`, or renews it when half of it is gone; False while
        another holder's lease runs.

        A lease of ours with more than half its time left is not written again, and one
        held by another is only read: a process that waits costs no write.
        """
        now = self.clock()
        row = await self.db.fetchone(
            "SELECT holder, expires_at FROM leases WHERE name = ?", (name,))
        if row is not None:
            if row["holder"] != self.holder and row["expires_at"] > stamp(now):
                return False
            if row["holder"] == self.holder and row["expires_at"] > stamp(now + ttl / 2):
                return True
        async with self.db.write() as conn:
            cursor = await conn.execute(CLAIM_SQL, (name, self.holder, stamp(now + ttl), stamp(now)))
            return cursor.rowcount == 1

    async def alive(self, name: str) -> bool:
        """Whether anyone holds `name` now."""
        row = await self.db.fetchone(
            "SELECT 1 FROM leases WHERE name = ? AND expires_at > ?", (name, stamp(self.clock())))
        return row is not None

    async def holder_of(self, name: str) -> str | None:
        """Who holds `name` now, if anyone."""
        row = await self.db.fetchone(
            "SELECT holder FROM leases WHERE name = ? AND expires_at > ?",
            (name, stamp(self.clock())))
        return None if row is None else row["holder"]

    async def end_others(self, prefix: str) -> int:
        """Ends every lease under `prefix` held by another holder (known to be gone)."""
        async with self.db.write() as conn:
            cursor = await conn.execute(
                "DELETE FROM leases WHERE name LIKE ? AND holder != ?", (prefix + "%", self.holder))
            return cursor.rowcount

    async def release(self, name: str) -> None:
        """Gives `name` back, if it is ours: another process may claim it at once."""
        async with self.db.write() as conn:
            await conn.execute("DELETE FROM leases WHERE name = ? AND holder = ?",
                               (name, self.holder))
