"""Rasa's conversations in Redis without replaying them on every turn.

Rasa's own `RedisTrackerStore` keeps a conversation as one JSON document: every save reads
it back, rebuilds the tracker from all its events, rebuilds it again to merge, and writes
the whole document; every load rebuilds it once more and splits it into sessions. Each
rebuild replays every event, so a turn's cost grew with the conversation (measured in
`bench/turn.py`: 41 ms of Rasa's CPU a turn at thirty messages a citizen, against 20 ms
with the in-memory store).

`AppendOnlyRedisTrackerStore` keeps, per conversation,
* `<prefix>tracker:<id>`: a Redis list of its events as JSON, appended to, never rewritten;
* `<prefix>meta:<id>`: a hash with `session` (the list index where the latest session
  starts) and `stamp` (a new random value at every save).

A save appends only the events the list does not have yet (one round trip). A load reads
the latest session's events and replays them once. And the process that saved a tracker
keeps it: its next load of that conversation asks Redis for the stamp only, and if no
other worker has saved since, carries on with the tracker it has, without reading or
replaying anything. Rasa's lock store (Redis) lets one worker at a time handle a
conversation, so a stamp that still matches means nothing changed in between. A kept
tracker is handed out once (taken, not copied): if the turn fails before its save, the
next load rebuilds it from Redis.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.constants import ACTION_SESSION_START_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event
from rasa.shared.core.trackers import DialogueStateTracker

log = logging.getLogger(__name__)

# Trackers kept per worker, most recently saved last: the conversations active in the last
# minutes (a tracker of a few dozen events is some tens of kilobytes).
KEPT = 1000
# Set on a tracker this store loaded or saved: (list index of its first event, how many of
# its events are stored), so that a save appends exactly the rest.
ORIGIN = "_hotline_stored"


class AppendOnlyRedisTrackerStore(TrackerStore):
    """A tracker store on Redis that appends events and keeps the trackers it saved."""

    def __init__(self, domain: Domain, host: str = "localhost", port: int = 6379,
                 db: int = 0, password: str | None = None, key_prefix: str = "hotline",
                 event_broker: EventBroker | None = None, **kwargs: Any) -> None:
        import redis.asyncio

        self.red = redis.asyncio.Redis(host=host, port=int(port), db=int(db),
                                       password=password, decode_responses=True)
        self.prefix = f"{key_prefix}:"
        self._kept: OrderedDict[str, tuple[str, int, DialogueStateTracker]] = OrderedDict()
        super().__init__(domain, event_broker, **kwargs)

    def _events_key(self, sender_id: str) -> str:
        return f"{self.prefix}tracker:{sender_id}"

    def _meta_key(self, sender_id: str) -> str:
        return f"{self.prefix}meta:{sender_id}"

    async def save(self, tracker: DialogueStateTracker, timeout: float | None = None) -> None:
        """Appends the events Redis does not have yet; keeps the tracker for its next turn."""
        await self.stream_events(tracker)
        sender = tracker.sender_id
        events = list(tracker.events)
        origin = getattr(tracker, ORIGIN, None)  # what of it came from Redis
        if origin is None:  # not loaded here (a new conversation, or a copy): count, as
            # the SQL tracker store does, the latest session's events already stored
            session = int(await self.red.hget(self._meta_key(sender), "session") or 0)
            stored = await self.red.llen(self._events_key(sender))
            origin = (session, max(0, stored - session))
        start, count = origin
        new = events[count:]
        starts = [i for i, event in enumerate(new) if _starts_session(event)]
        stamp = secrets.token_hex(8)
        async with self.red.pipeline(transaction=True) as pipe:
            if new:
                pipe.rpush(self._events_key(sender), *[json.dumps(e.as_dict()) for e in new])
            else:
                pipe.llen(self._events_key(sender))
            pipe.hset(self._meta_key(sender), "stamp", stamp)
            length, _ = await pipe.execute()
        before = length - len(new)
        if before != start + count:
            log.warning("conversation %s changed in Redis while %s held it (%s events, "
                        "expected %s)", sender, self.__class__.__name__, before, start + count)
        self._kept.pop(sender, None)
        if starts:  # a new session began in this turn: the next load reads it alone
            await self.red.hset(self._meta_key(sender), "session", before + starts[-1])
            return
        setattr(tracker, ORIGIN, (start, len(events)))
        self._kept[sender] = (stamp, len(events), tracker)
        while len(self._kept) > KEPT:
            self._kept.popitem(last=False)

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The latest session of the conversation (None: a new one)."""
        kept = self._kept.pop(sender_id, None)
        if kept is not None:
            stamp, count, tracker = kept
            current = await self.red.hget(self._meta_key(sender_id), "stamp")
            if current == stamp and len(tracker.events) == count:
                return tracker
        session = int(await self.red.hget(self._meta_key(sender_id), "session") or 0)
        return await self._load(sender_id, session)

    async def retrieve_full_tracker(self, sender_id: str) -> DialogueStateTracker | None:
        """Every session of the conversation."""
        return await self._load(sender_id, 0)

    async def _load(self, sender_id: str, start: int) -> DialogueStateTracker | None:
        rows = await self.red.lrange(self._events_key(sender_id), start, -1)
        if not rows and start == 0:
            return None
        tracker = DialogueStateTracker.from_dict(
            sender_id, [json.loads(row) for row in rows], self.domain.slots,
            max_event_history=self.max_event_history)
        setattr(tracker, ORIGIN, (start, len(rows)))
        return tracker

    async def keys(self) -> Iterable[str]:
        begin = len(self._events_key(""))
        return [key[begin:] async for key in self.red.scan_iter(self._events_key("*"))]


def _starts_session(event: Event) -> bool:
    return isinstance(event, ActionExecuted) and event.action_name == ACTION_SESSION_START_NAME
