"""Leases in the store: one holder at a time, renewed by it, taken over once lapsed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.store.db import Database, open_database
from bot.store.leases import Leases

TTL = timedelta(seconds=30)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 30, 2, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def two_processes(target, clock: Clock) -> tuple[Database, Database, Leases, Leases]:
    """Two connections to one store (SQLite file or PostgreSQL), as two bot processes have."""
    first = await open_database(target)
    second = await open_database(target)
    return first, second, Leases(first, "a", clock), Leases(second, "b", clock)


async def test_a_lease_is_held_by_one_process_and_taken_over_after_it_lapses(store_target):
    clock = Clock()
    db_a, db_b, a, b = await two_processes(store_target, clock)
    try:
        assert await a.hold("job:supervision", TTL)
        assert not await b.hold("job:supervision", TTL)
        assert await b.holder_of("job:supervision") == "a"

        clock.now += TTL * 0.6  # a renews past half its time
        assert await a.hold("job:supervision", TTL)
        clock.now += TTL * 0.6  # still within the renewed lease
        assert not await b.hold("job:supervision", TTL)

        clock.now += TTL  # a stopped renewing (died, hung)
        assert not await a.alive("job:supervision")
        assert await b.hold("job:supervision", TTL)
        assert not await a.hold("job:supervision", TTL)
        assert await a.holder_of("job:supervision") == "b"
    finally:
        await db_a.close()
        await db_b.close()


async def test_a_released_lease_is_free_at_once_and_only_its_holder_can_release_it(store_target):
    clock = Clock()
    db_a, db_b, a, b = await two_processes(store_target, clock)
    try:
        assert await a.hold("job:delivery", TTL)
        await b.release("job:delivery")  # not b's: nothing happens
        assert not await b.hold("job:delivery", TTL)
        await a.release("job:delivery")
        assert await b.hold("job:delivery", TTL)
    finally:
        await db_a.close()
        await db_b.close()


async def test_ending_the_others_leases_leaves_ones_own(store_target):
    clock = Clock()
    db_a, db_b, a, b = await two_processes(store_target, clock)
    try:
        assert await a.hold("run:a", TTL)
        assert await b.hold("run:b", TTL)
        assert await b.hold("job:retrain", TTL)
        assert await a.end_others("run:") == 1
        assert not await a.alive("run:b")
        assert await a.alive("run:a")
        assert await a.holder_of("job:retrain") == "b"
    finally:
        await db_a.close()
        await db_b.close()
