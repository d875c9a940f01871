"""Early warning at intake, on the real store: sensitive marks, repeat requests, alerts."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from bot.cases.models import CaseDraft, CaseKind
from bot.cases.repeats import place_key
from bot.cases.sensitive import Mark, SignalError, assess, load_signals, parse_signals
from bot.cases.store import CaseStore
from bot.store.db import Database

SUPERVISOR = 70001
GRANTED = 70002
HERE = Path(__file__).parent

# One case a supervisor would want to hear of at once, for every signal in the list.
SENSITIVE = {
    "wage_arrears_many": ("工地老板拖欠我们三十多个工人半年的工资，过年回不了家", Mark.SENSITIVE),
    "collective_petition": ("拆迁补偿一直谈不拢，村里好多户准备下周一起去市政府集体上访", Mark.SENSITIVE),
    "threat_of_harm": ("房东扣押金不还，再不给我就跟他拼了，大不了一起死", Mark.URGENT),
    "food_poisoning_group": ("昨晚在饭店吃了婚宴，我们一桌八个人半夜都上吐下泻", Mark.URGENT),
    "school_safety": ("实验小学操场边的围墙裂缝很大，学生下课就在旁边玩，太危险了", Mark.SENSITIVE),
    "media_exposure": ("物业乱收费的事我已经联系了电视台记者，这周就来采访", Mark.SENSITIVE),
    "mass_gathering": ("售楼处门口现在聚集了上百人要求退房，场面有点乱", Mark.URGENT),
    "building_danger": ("我们这栋老楼的墙体开裂越来越大，楼体有点倾斜，住着很害怕", Mark.URGENT),
    "finance_collapse": ("小区门口的健身房老板跑路了，几百个会员的卡都退不了", Mark.SENSITIVE),
    "vulnerable_abuse": ("邻居家经常打孩子，孩子被打得满身是伤，晚上还被锁在门外", Mark.SENSITIVE),
    "officials_misconduct": ("村干部在低保评定里收红包，没送钱的都评不上", Mark.SENSITIVE),
    "pollution_incident": ("村东头的河里大量死鱼，水变成黑色的，很臭", Mark.SENSITIVE),
}


def draft(citizen: int, text: str, *, district: str = "崇川区", address: str | None = None,
          category: str = "城乡建设") -> CaseDraft:
    return CaseDraft(citizen_id=citizen, chat_id=citizen, kind=CaseKind.COMPLAINT,
                     description=text, category=category, district=district, address=address)


@pytest.fixture
def store(db: Database, clock) -> CaseStore:
    return CaseStore(db, clock=clock, supervisor_ids=frozenset({SUPERVISOR}))


async def outbox_to(db: Database, chat: int) -> list[str]:
    rows = await db.fetchall("SELECT text FROM outbox WHERE chat_id = ? ORDER BY id", (chat,))
    return [r["text"] for r in rows]


async def alerts_of(db: Database, kind: str) -> list:
    return await db.fetchall("SELECT * FROM alerts WHERE kind = ? ORDER BY id", (kind,))


def test_every_signal_in_the_list_has_an_example_that_it_marks():
    signals = load_signals(strict=True)
    assert {s.id for s in signals} == set(SENSITIVE)
    for sid, (text, mark) in SENSITIVE.items():
        marking = assess(text, signals)
        assert marking is not None, sid
        assert sid in {s.id for s in marking.signals}
        assert marking.mark is mark, sid


def test_no_ordinary_complaint_of_the_held_out_list_is_marked():
    ordinary = yaml.safe_load((HERE / "ordinary_complaints.yml").read_text(encoding="utf-8"))
    assert len(ordinary) >= 40
    marked = {text: [s.id for s in m.signals] for text in ordinary
              if (m := assess(text, load_signals())) is not None}
    assert marked == {}


def test_wage_arrears_of_one_worker_is_not_marked_but_of_many_is():
    signals = load_signals()
    assert assess("老板拖欠我两个月工资", signals) is None
    assert assess("老板拖欠我12个月工资", signals) is None
    assert assess("老板拖欠我们十几个人的工资", signals).mark is Mark.SENSITIVE
    assert assess("欠了农民工的工钱一直不给", signals).mark is Mark.SENSITIVE


def test_a_malformed_signal_list_is_refused_with_the_signal_named():
    with pytest.raises(SignalError, match=r"signal 1 .*mark"):
        parse_signals({"signals": [{"id": "x", "mark": "重要", "reason": "r", "all": ["a"]}]},
                      "t.yml")
    with pytest.raises(SignalError, match="bad pattern"):
        parse_signals({"signals": [{"id": "x", "mark": "敏感件", "reason": "r", "all": ["("]}]},
                      "t.yml")


def test_an_edited_list_is_read_again(tmp_path: Path):
    path = tmp_path / "sensitive.yml"
    path.write_text("signals:\n- {id: a, mark: 敏感件, reason: 甲, all: [甲醛]}\n", "utf-8")
    assert [s.id for s in load_signals(path)] == ["a"]
    path.write_text("signals:\n- {id: b, mark: 紧急件, reason: 乙, all: [乙炔]}\n", "utf-8")
    os.utime(path, (1, 1))  # a different time stamp, as an edit makes
    assert [s.id for s in load_signals(path)] == ["b"]
    # A broken edit never stops filing: the last good list stays in use until it is fixed.
    path.write_text("signals:\n- {id: c, mark: 紧急, reason: 丙, all: [丙]}\n", "utf-8")
    os.utime(path, (2, 2))
    assert [s.id for s in load_signals(path)] == ["b"]
    with pytest.raises(SignalError):
        load_signals(path, strict=True)


async def test_a_sensitive_case_is_marked_recorded_and_told_to_every_supervisor(
        db: Database, store: CaseStore, clock):
    async with db.write() as conn:
        await conn.execute("INSERT INTO staff_roles VALUES (?, 'supervisor', 1, ?)",
                           (GRANTED, clock().isoformat()))
    text, _ = SENSITIVE["food_poisoning_group"]
    case = await store.file_case(draft(5001, text, category="卫生计生"))
    assert case.mark == "urgent"
    stored = await store.case_by_number(case.number)
    assert stored.mark == "urgent"
    marked = [e for e in await store.events(case.id) if e.kind == "marked"]
    assert marked[0].detail["signals"] == ["food_poisoning_group"]
    (alert,) = await alerts_of(db, "urgent")
    assert json.loads(alert["case_ids"]) == [case.id]
    for supervisor in (SUPERVISOR, GRANTED):
        (message,) = await outbox_to(db, supervisor)
        assert message.startswith(f"【紧急件】{case.number}")
        assert f"/ack {alert['id']}" in message
    # An ordinary case is filed as before: no mark, no event, no alert.
    plain = await store.file_case(draft(5002, "小区门口的路灯坏了，晚上看不清路"))
    assert plain.mark is None and plain.repeat_flag is None
    assert [e.kind for e in await store.events(plain.id)] == ["filed"]
    assert len(await db.fetchall("SELECT * FROM alerts")) == 1


async def test_the_third_filing_of_the_same_matter_by_one_citizen_is_flagged_and_alerted_once(
        db: Database, store: CaseStore, clock):
    said = ("小区东门的下水道堵了，污水漫到路上，臭气熏天", "东门下水道又堵了，污水漫出来很臭",
            "小区东门下水道还是堵着，污水漫到路上了")
    first = await store.file_case(draft(5100, said[0], address="钟秀路88号"))
    clock.now += timedelta(days=4)
    second = await store.file_case(draft(5100, said[1], address="钟秀路88号"))
    assert first.repeat_flag is None and second.repeat_flag is None
    # Another matter of the same citizen in between is not the same matter.
    await store.file_case(draft(5100, "想问一下公积金怎么提取", category="城乡建设"))
    clock.now += timedelta(days=5)
    third = await store.file_case(draft(5100, said[2], address="钟秀路 88 号东门"))
    assert third.repeat_flag == "citizen"
    (flag,) = [e for e in await store.events(third.id) if e.kind == "repeat_flagged"]
    assert flag.detail == {"rule": "citizen", "cases": [first.number, second.number]}
    (alert,) = await alerts_of(db, "repeat_citizen")
    assert json.loads(alert["case_ids"]) == [first.id, second.id, third.id]
    (message,) = await outbox_to(db, SUPERVISOR)
    assert message.startswith(f"【重复诉求】{third.number} 是该市民30天内第 3 次反映同一件事")
    # The fourth is flagged too, without a second alert about the same matter.
    clock.now += timedelta(days=1)
    fourth = await store.file_case(draft(5100, said[0], address="钟秀路88号"))
    assert fourth.repeat_flag == "citizen"
    assert len(await alerts_of(db, "repeat_citizen")) == 1
    # After 30 days the earlier filings no longer count.
    clock.now += timedelta(days=40)
    later = await store.file_case(draft(5100, said[0], address="钟秀路88号"))
    assert later.repeat_flag is None


async def test_the_same_place_from_three_citizens_is_flagged(db: Database, store: CaseStore,
                                                             clock):
    cases = []
    for citizen, (text, address) in enumerate((
            ("青年路菜场门口天天乱停车", "青年路菜场"),
            ("菜场门口的人行道被摊贩占了", "崇川区青年路菜场 东门"),
            ("青年路菜场早上堵得走不动", "南通市崇川区青年路菜场"))):
        cases.append(await store.file_case(draft(5200 + citizen, text, address=address)))
        clock.now += timedelta(hours=5)
    assert [c.place_key for c in cases] == ["崇川区|青年路菜场"] * 3
    assert [c.repeat_flag for c in cases] == [None, None, "place"]
    (alert,) = await alerts_of(db, "repeat_place")
    assert alert["place"] == "崇川区|青年路菜场"
    (message,) = await outbox_to(db, SUPERVISOR)
    assert message.startswith("【同一地点多人反映】30天内 3 位市民反映同一地点")
    # A fourth citizen there is flagged, without a second alert about the place.
    fourth = await store.file_case(draft(5210, "青年路菜场垃圾没人收", address="青年路菜场"))
    assert fourth.repeat_flag == "place" and len(await alerts_of(db, "repeat_place")) == 1


def test_place_keys_name_one_place_and_refuse_vague_addresses():
    assert place_key("崇川区", "南大街12号3单元") == place_key("崇川区", "南大街 12 号门口")
    assert place_key("崇川区", "南大街12号") != place_key("通州区", "南大街12号")
    assert place_key("海门区", "江苏省南通市海门区东洲小区5栋") == "海门区|东洲小区"
    for vague in ("家门口", "不清楚", "附近", "", None, "三楼"):
        assert place_key("崇川区", vague) is None
