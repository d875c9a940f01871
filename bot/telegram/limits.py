"""A per-citizen message rate limit (leaky bucket from aiolimiter), with one polite notice."""

from __future__ import annotations

import time

from aiolimiter import AsyncLimiter

NOTICE_EVERY = 60.0  # seconds between two notices to the same person
MAX_TRACKED = 10_000  # forget idle buckets beyond this many people


class CitizenLimiter:
    """At most `per_minute` updates a minute from one person; 0 turns the limit off."""

    def __init__(self, per_minute: float) -> None:
        self.per_minute = per_minute
        self._buckets: dict[int, AsyncLimiter] = {}
        self._noticed: dict[int, float] = {}

    async def check(self, user_id: int) -> tuple[bool, bool]:
        """(allowed, tell_them): take one unit if there is room; otherwise say whether
        this is the first refusal in a while, so the notice is sent once, not per message.
        """
        if self.per_minute <= 0:
            return True, False
        bucket = self._buckets.get(user_id)
        if bucket is None:
            if len(self._buckets) >= MAX_TRACKED:
                self._forget_idle()
            bucket = self._buckets[user_id] = AsyncLimiter(self.per_minute, 60)
        if bucket.has_capacity():
            await bucket.acquire()  # returns at once: there is room
            return True, False
        now = time.monotonic()
        if now - self._noticed.get(user_id, -NOTICE_EVERY) >= NOTICE_EVERY:
            self._noticed[user_id] = now
            return False, True
        return False, False

    def _forget_idle(self) -> None:
        for user_id in [u for u, b in self._buckets.items() if b.has_capacity(b.max_rate)]:
            del self._buckets[user_id]
            self._noticed.pop(user_id, None)
