"""The case store alone: filings per second with the full transaction (the number from the
day's counter, the case, its first event and the agents' card in the outbox).

Writes go through one connection per process, serialised as in production, with
`--concurrency` tasks filing at once on it (as concurrent chats do); `--writers` opens
that many connections (as the action server and bot processes would). Measured on SQLite
(a scratch file) and on PostgreSQL (a scratch database on the project's server,
scripts/pg.sh, when it starts). Prints figures and writes bench/results/store.json and
bench/results/store-postgres.json.

usage: .venv/bin/python -m bench.store [--cases 5000] [--writers 1] [--concurrency 8]
                                       [--backend both|sqlite|postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bench.local import percentile, report
from bot.cases.models import CaseDraft, CaseKind
from bot.cases.store import CaseStore
from bot.config import ROOT
from bot.store.db import open_database


async def writer(path: Path | str, first: int, count: int, latencies: list[float],
                 concurrency: int) -> None:
    """One connection (one process), filing from `concurrency` tasks at once."""
    db = await open_database(path)
    store = CaseStore(db, agents_chat_id=-100900)
    try:
        await asyncio.gather(*(
            file_some(store, range(first + k, first + count, concurrency), latencies)
            for k in range(concurrency)))
    finally:
        await db.close()


async def file_some(store: CaseStore, ids: range, latencies: list[float]) -> None:
    for i in ids:
        draft = CaseDraft(citizen_id=i, chat_id=i, kind=CaseKind.COMPLAINT,
                          description=f"第{i}号测试：小区门口的路灯坏了，晚上看不清路",
                          category="城乡建设", department="南通市城市管理局",
                          district="崇川区", phone="13912345678")
        started = time.perf_counter()
        await store.file_case(draft, source_key=f"bench:{i}")
        latencies.append((time.perf_counter() - started) * 1000)


@asynccontextmanager
async def sqlite_store() -> AsyncIterator[Path]:
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp) / "hotline.db"


@asynccontextmanager
async def postgres_store() -> AsyncIterator[str]:
    """A scratch database on the project's PostgreSQL, dropped after."""
    import psycopg  # only when measuring PostgreSQL

    started = subprocess.run([str(ROOT / "scripts" / "pg.sh"), "start"], capture_output=True,
                             text=True, check=True)
    server = started.stdout.strip().rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS hotline_bench WITH (FORCE)")
        conn.execute("CREATE DATABASE hotline_bench")
    try:
        yield f"{server}/hotline_bench"
    finally:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS hotline_bench WITH (FORCE)")


async def run(cases: int, writers: int, concurrency: int, backend: str = "sqlite") -> dict:
    async with (sqlite_store() if backend == "sqlite" else postgres_store()) as path:
        await (await open_database(path)).close()  # migrations, outside the timing
        latencies: list[float] = []
        per = cases // writers
        started = time.perf_counter()
        await asyncio.gather(*(writer(path, w * per, per, latencies, concurrency)
                               for w in range(writers)))
        elapsed = time.perf_counter() - started
        db = await open_database(path)
        try:
            counts = {table: (await db.fetchone(f"SELECT count(*) FROM {table}"))[0]
                      for table in ("cases", "case_events", "outbox")}
            numbers = (await db.fetchone("SELECT count(DISTINCT number) FROM cases"))[0]
        finally:
            await db.close()
    return {
        "backend": backend,
        "cases": per * writers, "writers": writers, "tasks_per_writer": concurrency,
        "seconds": round(elapsed, 2),
        "filings_per_s": round(per * writers / elapsed),
        "latency_ms": {"p50": round(statistics.median(latencies), 3),
                       "p95": round(percentile(latencies, 0.95), 3),
                       "p99": round(percentile(latencies, 0.99), 3)},
        "rows": counts, "distinct_numbers": numbers,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--writers", type=int, default=1,
                        help="connections, as separate processes would have")
    parser.add_argument("--concurrency", type=int, default=8,
                        help="tasks filing at once on each connection, as the bot's chats do")
    parser.add_argument("--backend", choices=("both", "sqlite", "postgres"), default="both",
                        help="both: SQLite, then PostgreSQL if scripts/pg.sh can start it")
    args = parser.parse_args()
    if args.backend in ("both", "sqlite"):
        report("store", asyncio.run(run(args.cases, args.writers, args.concurrency)))
    if args.backend in ("both", "postgres"):
        try:
            figures = asyncio.run(run(args.cases, args.writers, args.concurrency, "postgres"))
        except (subprocess.CalledProcessError, OSError) as exc:
            if args.backend == "postgres":
                raise
            print(f"PostgreSQL not measured: {getattr(exc, 'stderr', '') or exc}",
                  file=sys.stderr)
            return
        report("store-postgres", figures)


if __name__ == "__main__":
    main()
