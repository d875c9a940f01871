"""Hot spots (诉求热点): similar cases from several citizens in one district and category,
more of them than the trailing weeks make usual.

A pass at time `now`:

1. It reads the cases of the window (the `WINDOW` before `now`) and of the `TRAILING`
   weeks before the window, those with a district.
2. Each case's address and description become a TF-IDF vector of character bigrams
   (punctuation and spaces dropped; counted with numpy, normalised with scikit-learn).
   Two cases are *similar* when they have the same district and category, were filed at
   most `WINDOW + TRAILING` apart, and their cosine is at least `SIMILAR`.
3. In the window, the case with the most similar cases not yet in a cluster is a leader;
   it and those cases are a cluster. Repeated while a leader has enough.
4. A cluster is a hot spot when at least `MIN_CITIZENS` different citizens filed it and
   that many is unlikely given its baseline. The baseline is the number of citizens who
   filed a case similar to the leader in the trailing weeks, scaled to one window: a
   Poisson rate λ (at least `FLOOR`). The cluster is unusual when P(N ≥ n | λ) < `ALPHA`,
   n its citizens. A matter complained of every week raises nothing; a new one does.
5. Each hot spot is alerted once per cluster per window (`HotSpots.raise_alerts`): a
   cluster sharing a case with a hot-spot alert of the same district and category raised
   within the window is that one, grown. The alert lists the cases, names the place (the
   address most of them give) and quotes the most central case (the one most similar to
   the others) in one line.

The bot runs a pass from its periodic supervision job when cases were filed since the
last one; `bench/insight.py` replays a year of passes over 100,000 synthetic cases.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.preprocessing import normalize

from bot.cases import alerts, cards
from bot.cases.alerts import Alert, AlertKind
from bot.cases.roles import Role, Roles
from bot.store.db import Database, utcnow
from bot.store.outbox import enqueue

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=72)
TRAILING = timedelta(weeks=4)
SIMILAR = 0.3
MIN_CITIZENS = 5
ALPHA = 0.001
FLOOR = 0.25
PRIOR_DOCS = 500

_NOT_TEXT = re.compile(r"[^\w]+")
CASE_COLUMNS = ("id, number, citizen_id, created_at, district, category, address, place_key,"
                " description")


def bigram_tfidf(texts: Sequence[str]) -> sparse.csr_matrix:
    """Rows of l2-normalised TF-IDF weights (sublinear counts, the idf smoothed by
    `PRIOR_DOCS`) of each text's character bigrams, punctuation and spaces dropped,
    full-width folded, letters lower-cased."""
    folded = [_NOT_TEXT.sub("", unicodedata.normalize("NFKC", t).lower()) for t in texts]
    lengths = np.fromiter(map(len, folded), dtype=np.int64, count=len(folded))
    points = np.frombuffer("".join(folded).encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    doc = np.repeat(np.arange(len(folded)), lengths)
    if len(points) > 1:
        starts = np.flatnonzero(doc[1:] == doc[:-1])  # a bigram never spans two texts
    else:
        starts = np.zeros(0, dtype=np.int64)
    codes = points[starts] * 0x110000 + points[starts + 1]
    vocabulary, column = np.unique(codes, return_inverse=True)
    counts = sparse.csr_matrix(
        (np.ones(len(codes), dtype=np.float32), (doc[starts], column)),
        shape=(len(folded), max(len(vocabulary), 1)))
    counts.sum_duplicates()
    # Inverse document frequency as if `PRIOR_DOCS` texts without the bigram were there too:
    # among a few dozen cases a bigram that five of them share would weigh next to nothing,
    # and a burst would look unlike itself; among thousands the prior changes little.
    seen = np.bincount(counts.indices, minlength=counts.shape[1])
    idf = np.log((len(folded) + PRIOR_DOCS) / (seen + 1.0)) + 1.0
    counts.data = (1.0 + np.log(counts.data)) * idf[counts.indices]  # sublinear tf × idf
    return normalize(counts, copy=False).tocsr()


def similar_pairs(vectors: sparse.csr_matrix, times: np.ndarray, groups: np.ndarray,
                  span: float, threshold: float = SIMILAR) -> sparse.csr_matrix:
    """The symmetric matrix of cosines ≥ `threshold` between cases of the same group filed
    at most `span` seconds apart (everything else zero).

    Each group is cut into blocks of `span` seconds and a block compared with itself and
    the next: a pair further apart than that is never computed.
    """
    n = vectors.shape[0]
    rows, cols, values = [], [], []
    order = np.lexsort((times, groups))
    cuts = np.flatnonzero(np.diff(groups[order])) + 1
    for members in np.split(order, cuts):
        if len(members) < 2:
            continue
        t = times[members]
        block = ((t - t[0]) // span).astype(np.int64)
        starts = np.searchsorted(block, np.arange(block[-1] + 3))
        for b in range(block[-1] + 1):
            a0, a1 = starts[b], starts[b + 1]
            if a0 == a1:
                continue
            b1 = starts[b + 2]
            product = (vectors[members[a0:a1]] @ vectors[members[a0:b1]].T).tocoo()
            keep = product.data >= threshold
            i = product.row[keep] + a0
            j = product.col[keep] + a0
            close = (j > i) & (t[j] - t[i] <= span)
            rows.append(members[i[close]])
            cols.append(members[j[close]])
            values.append(product.data[keep][close])
    if rows:
        r, c, v = np.concatenate(rows), np.concatenate(cols), np.concatenate(values)
    else:
        r = c = np.zeros(0, dtype=np.int64)
        v = np.zeros(0, dtype=np.float32)
    return sparse.csr_matrix((np.concatenate([v, v]), (np.concatenate([r, c]),
                                                       np.concatenate([c, r]))), shape=(n, n))


@dataclass
class Corpus:
    """Cases in time order with their similarity graph."""

    rows: list[Any]            # id, number, citizen_id, created_at, district, category …
    times: np.ndarray          # seconds since the epoch, ascending
    citizens: np.ndarray
    graph: sparse.csr_matrix   # cosine of similar pairs (see `similar_pairs`)

    @classmethod
    def build(cls, rows: Sequence[Any], span: timedelta = WINDOW + TRAILING) -> Corpus:
        """`rows` ordered by `created_at`, each with the columns of `CASE_COLUMNS`."""
        rows = list(rows)
        times = np.array([datetime.fromisoformat(r["created_at"]).timestamp() for r in rows],
                         dtype=np.float64)
        citizens = np.array([r["citizen_id"] for r in rows], dtype=np.int64)
        names: dict[tuple[str, str], int] = {}
        groups = np.array([names.setdefault((r["district"], r["category"] or ""), len(names))
                           for r in rows], dtype=np.int64)
        # The place the citizen gave counts as text too: the same words about another
        # street are a different matter.
        vectors = bigram_tfidf([f"{r['address'] or ''} {r['description']}" for r in rows])
        graph = similar_pairs(vectors, times, groups, span.total_seconds())
        return cls(rows, times, citizens, graph)


@dataclass(frozen=True)
class HotSpot:
    district: str
    category: str | None
    case_ids: tuple[int, ...]
    numbers: tuple[str, ...]
    centre: int                # the case id of the most central case
    citizens: int
    expected: float            # the baseline: citizens expected in one window
    chance: float              # P(N ≥ citizens | expected)
    place: str
    summary: str


def poisson_tail(n: int, rate: float) -> float:
    """P(N ≥ n) for N ~ Poisson(rate)."""
    term, below = math.exp(-rate), 0.0
    for k in range(n):
        below += term
        term *= rate / (k + 1)
    return max(0.0, 1.0 - below)


def _place(rows: list[Any], centre: Any) -> str:
    keys = Counter(r["place_key"] for r in rows if r["place_key"])
    if keys:
        key, _ = keys.most_common(1)[0]
        address = next(r["address"] for r in rows if r["place_key"] == key)
    else:
        address = centre["address"] or ""
    return " ".join(p for p in (centre["district"], address) if p)


def _trailing_citizens(corpus: Corpus, cases: np.ndarray, start: int, end: int) -> int:
    """Citizens with a case similar to one of `cases` among the cases `start` to `end`."""
    near = np.concatenate([corpus.graph.indices[corpus.graph.indptr[c]:corpus.graph.indptr[c + 1]]
                           for c in cases])
    return len(set(corpus.citizens[near[(near >= start) & (near < end)]].tolist()))


def find_hotspots(corpus: Corpus, now: float, window: timedelta = WINDOW,
                  trailing: timedelta = TRAILING) -> list[HotSpot]:
    """The hot spots in the window ending at `now` (seconds since the epoch)."""
    w, tr = window.total_seconds(), trailing.total_seconds()
    a = int(np.searchsorted(corpus.times, now - w, side="right"))
    b = int(np.searchsorted(corpus.times, now, side="right"))
    t0 = int(np.searchsorted(corpus.times, now - w - tr, side="left"))
    if b - a < MIN_CITIZENS:
        return []
    inside = corpus.graph[a:b][:, a:b].tocsr()
    degree = np.diff(inside.indptr)
    taken = np.zeros(b - a, dtype=bool)
    spots = []
    for leader in np.argsort(-degree, kind="stable"):
        if degree[leader] + 1 < MIN_CITIZENS:
            break
        if taken[leader]:
            continue
        near = inside.indices[inside.indptr[leader]:inside.indptr[leader + 1]]
        members = np.concatenate([[leader], near[~taken[near]]])
        citizens = len(set(corpus.citizens[a + members].tolist()))
        if citizens < MIN_CITIZENS:
            continue
        taken[members] = True
        usual = _trailing_citizens(corpus, a + members, t0, a) * w / tr
        expected = max(usual, FLOOR)
        chance = poisson_tail(citizens, expected)
        if chance >= ALPHA:
            continue
        closeness = np.asarray(inside[members][:, members].sum(axis=1)).ravel()
        centre = corpus.rows[a + members[int(np.argmax(closeness))]]
        rows = [corpus.rows[a + m] for m in sorted(members)]
        spots.append(HotSpot(
            district=centre["district"], category=centre["category"],
            case_ids=tuple(r["id"] for r in rows), numbers=tuple(r["number"] for r in rows),
            centre=centre["id"], citizens=citizens, expected=round(usual, 2), chance=chance,
            place=_place(rows, centre), summary=cards.short(centre["description"], 60)))
    return spots


def alert_text(alert_id: int, spot: HotSpot, window: timedelta = WINDOW) -> str:
    hours = round(window.total_seconds() / 3600)
    listed = "、".join(spot.numbers[:15]) + (f" 等 {len(spot.numbers)} 件"
                                              if len(spot.numbers) > 15 else "")
    return (f"【{AlertKind.HOTSPOT.label}】{spot.district}·{spot.category or '未分类'}："
            f"{hours}小时内 {spot.citizens} 位市民反映相似问题"
            f"（近四周同类平均每{hours}小时 {spot.expected:g} 位）。\n"
            f"地点：{spot.place}\n"
            f"摘要：{spot.summary}\n"
            f"案件：{listed}\n"
            f"{alerts.ack_hint(alert_id)}")


class HotSpots:
    """The live pass: finds hot spots over the store and alerts the supervisors once each."""

    def __init__(self, db: Database, roles: Roles | None = None, *,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.db = db
        self.roles = roles
        self.clock = clock
        self._last_case: int | None = None

    async def run_once(self) -> list[Alert]:
        """A pass over the window ending now, if a case was filed since the last pass."""
        now = self.clock()
        last = (await self.db.fetchone("SELECT max(id) FROM cases"))[0]
        if last is None or last == self._last_case:
            return []
        rows = await self.db.fetchall(
            f"SELECT {CASE_COLUMNS} FROM cases WHERE created_at >= ? AND created_at <= ?"
            " AND district IS NOT NULL ORDER BY created_at, id",
            ((now - WINDOW - TRAILING).isoformat(), now.isoformat()))
        spots = await asyncio.to_thread(
            lambda: find_hotspots(Corpus.build(rows), now.timestamp()))
        raised = await self.raise_alerts(spots, now)
        self._last_case = last
        if raised:
            log.info("hot-spot pass: %d alert(s) %s", len(raised), [a.id for a in raised])
        return raised

    async def raise_alerts(self, spots: Sequence[HotSpot], now: datetime) -> list[Alert]:
        """Records each new hot spot and tells every supervisor; a cluster already alerted
        within the window (sharing a case with that alert) is skipped."""
        raised = []
        since = (now - WINDOW).isoformat()
        for spot in spots:
            async with self.db.write() as conn:
                async with conn.execute(
                    "SELECT case_ids, place FROM alerts WHERE kind = ? AND district = ?"
                    " AND category IS NOT DISTINCT FROM ? AND raised_at >= ?",
                    (AlertKind.HOTSPOT.value, spot.district, spot.category, since)) as cur:
                    earlier = await cur.fetchall()
                if any(set(json.loads(r[0])) & set(spot.case_ids) or r[1] == spot.place
                       for r in earlier):
                    continue
                alert_id = await alerts.insert(
                    conn, AlertKind.HOTSPOT,
                    f"hotspot:{spot.district}:{spot.category}:{spot.centre}:{now.isoformat()}",
                    now, spot.summary, case_ids=spot.case_ids, district=spot.district,
                    category=spot.category, place=spot.place,
                    detail={"numbers": list(spot.numbers), "citizens": spot.citizens,
                            "expected": spot.expected, "chance": spot.chance,
                            "centre": spot.centre})
                if alert_id is None:
                    continue
                supervisors = (sorted(await self.roles.members(Role.SUPERVISOR, conn))
                               if self.roles is not None else [])
                text = alert_text(alert_id, spot)
                for supervisor in supervisors:
                    await enqueue(conn, chat_id=supervisor, text=text, purpose="alert:hotspot",
                                  at=now, case_id=spot.centre,
                                  key=f"alert:{alert_id}:{supervisor}")
                async with conn.execute("SELECT * FROM alerts WHERE id = ?", (alert_id,)) as cur:
                    raised.append(Alert.from_row(await cur.fetchone()))
        return raised
