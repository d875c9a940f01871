"""The hot-spot pass and the alerts' list and acknowledgement, on the real store."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import yaml

from bot.cases.departments import DISTRICTS
from bot.cases.models import CaseDraft, CaseKind
from bot.cases.roles import Roles
from bot.cases.store import CaseStore
from bot.config import ROOT, Settings
from bot.insight import hotspots, warnings
from bot.insight.hotspots import HotSpots, bigram_tfidf, poisson_tail
from bot.store.db import Database

SUPERVISOR = 71001
BURST = (
    "东洲小区这两天自来水发黄，还有一股怪味，不敢喝",
    "你好，东洲小区的自来水是黄的，有异味，怎么回事",
    "东洲小区自来水有怪味，颜色发黄，烧开了也有味道",
    "反映一下，东洲小区水龙头出来的水发黄有味道",
    "我们东洲小区自来水发黄有股怪味，家里有孩子不敢用",
    "东洲小区的自来水发黄还有怪味，请尽快查一下",
)


def draft(citizen: int, text: str, district: str = "海门区",
          category: str = "环境保护", address: str | None = None) -> CaseDraft:
    return CaseDraft(citizen_id=citizen, chat_id=citizen, kind=CaseKind.COMPLAINT,
                     description=text, category=category, district=district, address=address)


@pytest.fixture
async def store(db: Database, clock) -> CaseStore:
    """The store with three weeks of everyday cases behind it, as a hotline's has."""
    cases = CaseStore(db, clock=clock)
    now = clock.now
    ordinary = yaml.safe_load((ROOT / "tests" / "core" / "ordinary_complaints.yml")
                              .read_text(encoding="utf-8"))
    clock.now = now - timedelta(days=21)
    for i, text in enumerate(ordinary * 3):
        await cases.file_case(draft(90_000 + i, text, district=DISTRICTS[i % len(DISTRICTS)],
                                    category=("环境保护", "城乡建设", "交通运输")[i % 3]))
        clock.now += timedelta(hours=3)
    clock.now = now
    return cases


@pytest.fixture
def spotter(db: Database, clock) -> HotSpots:
    return HotSpots(db, Roles(db, Settings(supervisor_ids=frozenset({SUPERVISOR}))),
                    clock=clock)


async def hotspot_messages(db: Database) -> list[str]:
    rows = await db.fetchall("SELECT text FROM outbox WHERE chat_id = ? AND purpose = ?",
                             (SUPERVISOR, "alert:hotspot"))
    return [r["text"] for r in rows]


async def file_burst(store: CaseStore, clock, texts=BURST, first_citizen: int = 6000) -> list:
    cases = []
    for i, text in enumerate(texts):
        cases.append(await store.file_case(draft(first_citizen + i, text, address="东洲小区")))
        clock.now += timedelta(hours=3)
    return cases


def test_similar_texts_are_close_and_different_ones_far():
    vectors = bigram_tfidf([*BURST[:2], "公交12路班次太少了，早上等了四十分钟", ""])
    similar = (vectors @ vectors.T).toarray()
    assert similar[0, 1] > 0.15  # the idf of four texts weighs every rare pair high
    assert similar[0, 2] < 0.05
    assert similar[3].sum() == 0  # an empty text is like nothing


def test_poisson_tail():
    assert poisson_tail(0, 2.0) == 1.0
    assert poisson_tail(1, 2.0) == pytest.approx(1 - 0.1353352832)
    assert poisson_tail(5, 0.25) == pytest.approx(6.61e-6, rel=0.01)


async def test_a_burst_from_several_citizens_raises_one_alert_once(db, store, spotter, clock):
    cases = await file_burst(store, clock)
    # Unrelated cases in the same district and category, and the same words elsewhere.
    await store.file_case(draft(6100, "饭店油烟太大，窗户都不敢开", address="人民路5号"))
    await store.file_case(draft(6101, BURST[0], district="通州区"))
    (alert,) = await spotter.run_once()
    assert alert.kind == "hotspot" and alert.district == "海门区"
    assert alert.category == "环境保护"
    assert set(alert.case_ids) == {c.id for c in cases}
    assert alert.place == "海门区 东洲小区"
    assert "东洲小区" in alert.summary and "自来水" in alert.summary
    (message,) = await hotspot_messages(db)
    assert message.startswith("【热点预警】海门区·环境保护：72小时内 6 位市民反映相似问题")
    assert all(c.number in message for c in cases)
    assert f"/ack {alert.id}" in message
    # Nothing new: the pass does nothing. Something new, the cluster grown: no second alert.
    assert await spotter.run_once() == []
    await store.file_case(draft(6200, "东洲小区自来水还是发黄有怪味", address="东洲小区"))
    assert await spotter.run_once() == []
    assert len(await hotspot_messages(db)) == 1
    # Three days later the window has moved on; a new burst there is a new alert.
    clock.now += timedelta(days=4)
    await file_burst(store, clock, first_citizen=6300)
    assert len(await spotter.run_once()) == 1


async def test_four_citizens_are_not_enough(db, store, spotter, clock):
    await file_burst(store, clock, BURST[:hotspots.MIN_CITIZENS - 1])
    assert await spotter.run_once() == []


async def test_one_citizen_filing_six_times_is_not_a_hot_spot(db, store, spotter, clock):
    for text in BURST:
        await store.file_case(draft(6400, text))
        clock.now += timedelta(hours=2)
    assert await spotter.run_once() == []


async def test_a_matter_as_frequent_in_the_trailing_weeks_raises_nothing(db, store, spotter,
                                                                         clock):
    # Complained of twice a day for four weeks by different citizens: that is its usual.
    for day in range(28):
        for k in range(2):
            await store.file_case(draft(7000 + day * 2 + k, BURST[(day + k) % len(BURST)]))
            clock.now += timedelta(hours=12)
    assert await spotter.run_once() == []
    cases = await file_burst(store, clock, first_citizen=7600)
    assert len(cases) == 6 and await spotter.run_once() == []


async def test_alerts_are_listed_by_period_and_acknowledged_once(db, store, spotter, clock):
    start = clock.now
    cases = await file_burst(store, clock)
    (alert,) = await spotter.run_once()
    # The third citizen at 东洲小区 raised a repeat-place alert at intake, before it.
    listed = await warnings.alerts_between(db, start, clock.now + timedelta(seconds=1))
    assert [a.kind for a in listed] == ["repeat_place", "hotspot"] and listed[1] == alert
    assert await warnings.alerts_between(db, start - timedelta(days=1), start) == []
    assert [a.id for a in await warnings.unacknowledged(db)] == [alert.id, listed[0].id]
    acked, newly = await warnings.acknowledge(db, alert.id, SUPERVISOR, clock)
    assert newly and acked.acked_by == SUPERVISOR and acked.acked_at == clock.now
    again, newly = await warnings.acknowledge(db, alert.id, SUPERVISOR + 1, clock)
    assert not newly and again.acked_by == SUPERVISOR
    assert [a.id for a in await warnings.unacknowledged(db)] == [listed[0].id]
    for case in cases:
        (event,) = [e for e in await store.events(case.id) if e.kind == "alert_acked"]
        assert event.actor == f"staff:{SUPERVISOR}" and event.detail["alert"] == alert.id
    with pytest.raises(warnings.AlertNotFound):
        await warnings.acknowledge(db, 999, SUPERVISOR, clock)
    row = await db.fetchone("SELECT detail FROM alerts WHERE id = ?", (alert.id,))
    assert json.loads(row["detail"])["citizens"] == 6
