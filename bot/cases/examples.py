"""Agent-confirmed category examples: the labelled data the case classifier learns from.

When a case is resolved, its final category and department (as the agents left them: the
card's suggestion confirmed, a transfer, or a `/category` correction) and its description,
with phone and ID numbers masked, become one example; a later correction updates it. An
example belongs to its case (`ON DELETE CASCADE`), so it is kept exactly as long as the
case is. `make learn` adds examples from past records (`source` "import:<id>").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.cases.models import CATEGORIES, Case
from bot.safety.mask import mask_personal
from bot.store.db import Connection, Database

UPSERT_SQL = (
    "INSERT INTO category_examples (source, case_id, text, category, department, decided_by,"
    " decided_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (source) DO UPDATE SET text = excluded.text, category = excluded.category,"
    " department = excluded.department, decided_by = excluded.decided_by,"
    " decided_at = excluded.decided_at"
)


@dataclass(frozen=True)
class Example:
    source: str
    text: str
    category: str
    department: str | None
    decided_at: datetime


async def record_case(conn: Connection, case: Case, actor: str,
                      now: datetime) -> None:
    """The resolved case as an example, in the caller's transaction (nothing without a
    category the classifier knows)."""
    if case.category not in CATEGORIES:
        return
    await conn.execute(UPSERT_SQL, (f"case:{case.number}", case.id,
                                    mask_personal(case.description), case.category,
                                    case.department, actor, now.isoformat()))


class ExampleStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add_import(self, source_id: str, text: str, category: str,
                         department: str | None, now: datetime) -> None:
        """A past record, as `make learn` loads it (masked like the rest)."""
        if category not in CATEGORIES:
            raise ValueError(f"unknown category {category!r}")
        async with self.db.write() as conn:
            await conn.execute(UPSERT_SQL, (f"import:{source_id}", None, mask_personal(text),
                                            category, department, "import", now.isoformat()))

    async def all(self) -> list[Example]:
        """Every example, oldest decision first."""
        rows = await self.db.fetchall(
            "SELECT source, text, category, department, decided_at FROM category_examples"
            " ORDER BY decided_at, id")
        return [Example(r["source"], r["text"], r["category"], r["department"],
                        datetime.fromisoformat(r["decided_at"])) for r in rows]
