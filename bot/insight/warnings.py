"""Early warnings as supervisors and the bulletin read them: listing and acknowledging.

The warnings themselves are raised elsewhere: sensitive cases and repeat requests when a
case is filed (bot/cases/early_warning.py), hot spots by the bot's periodic pass
(bot/insight/hotspots.py). Each is a row of `alerts` (bot/cases/alerts.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.cases.alerts import Alert
from bot.cases.store import append_event
from bot.store.db import Database, utcnow


class AlertNotFound(LookupError):
    """No alert with that id."""


async def alerts_between(db: Database, start: datetime, end: datetime) -> list[Alert]:
    """Alerts raised from `start` (included) to `end` (excluded), oldest first: the
    bulletin's list of the week's warnings."""
    rows = await db.fetchall(
        "SELECT * FROM alerts WHERE raised_at >= ? AND raised_at < ? ORDER BY raised_at, id",
        (start.isoformat(), end.isoformat()))
    return [Alert.from_row(r) for r in rows]


async def unacknowledged(db: Database, limit: int = 20) -> list[Alert]:
    """The newest alerts nobody has acknowledged yet."""
    rows = await db.fetchall(
        "SELECT * FROM alerts WHERE acked_by IS NULL ORDER BY id DESC LIMIT ?", (limit,))
    return [Alert.from_row(r) for r in rows]


async def acknowledge(db: Database, alert_id: int, user_id: int,
                      clock: Callable[[], datetime] = utcnow) -> tuple[Alert, bool]:
    """Records that supervisor `user_id` has seen and taken up the alert; False when it was
    acknowledged before (the first acknowledgement stands). Each of its cases' histories
    records the acknowledgement."""
    now = clock()
    async with db.write() as conn:
        cursor = await conn.execute(
            "UPDATE alerts SET acked_by = ?, acked_at = ? WHERE id = ? AND acked_by IS NULL",
            (user_id, now.isoformat(), alert_id))
        newly = cursor.rowcount == 1
        async with conn.execute("SELECT * FROM alerts WHERE id = ?", (alert_id,)) as cur:
            row = await cur.fetchone()
        if row is None:
            raise AlertNotFound(alert_id)
        alert = Alert.from_row(row)
        if newly:
            for case_id in alert.case_ids:
                await append_event(conn, case_id, now, f"staff:{user_id}", "alert_acked",
                                   {"alert": alert.id, "kind": alert.kind.value})
    return alert, newly
