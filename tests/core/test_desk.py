"""Staff operations, the callback and supervision on a real SQLite file."""

from __future__ import annotations

import asyncio
import json
from datetime import date, timedelta

import pytest

from bot.cases import cards
from bot.cases.callbacks import Callbacks
from bot.cases.desk import CaseDesk, NotAssignee, Staff
from bot.cases.handoffs import HandoffBusy, Handoffs
from bot.cases.models import CaseDraft, CaseKind, CaseStatus
from bot.cases.notices import Notices
from bot.cases.reports import Reports
from bot.cases.roles import Role, Roles
from bot.cases.store import CaseClosed, CaseStore
from bot.cases.supervision import Supervision
from bot.config import Settings
from bot.store.db import Database, open_database

CITIZEN = 5001
AGENTS_CHAT = -100777
ALICE = Staff(9001, "王小丽")
BOB = Staff(9002, "李强")
BOSS = Staff(9100, "张主任", supervisor=True)


@pytest.fixture
def settings() -> Settings:
    return Settings(agent_ids=frozenset({ALICE.user_id, BOB.user_id}),
                    supervisor_ids=frozenset({BOSS.user_id}), agents_chat_id=AGENTS_CHAT)


@pytest.fixture
def notices(db, clock, settings) -> Notices:
    return Notices(Roles(db, settings, clock), agents_chat_id=AGENTS_CHAT, clock=clock)


@pytest.fixture
def handoffs(db, clock) -> Handoffs:
    return Handoffs(db, clock=clock)


@pytest.fixture
def desk(db, clock, notices, handoffs) -> CaseDesk:
    return CaseDesk(db, notices, handoffs, clock=clock)


@pytest.fixture
def callbacks(db, clock, notices) -> Callbacks:
    return Callbacks(db, notices, clock=clock)


@pytest.fixture
def reports(db, clock) -> Reports:
    return Reports(db, clock=clock)


@pytest.fixture
def store(db, clock) -> CaseStore:
    return CaseStore(db, clock=clock, agents_chat_id=AGENTS_CHAT)


async def file(store: CaseStore, text: str = "小区门口的路灯坏了一个多月，晚上很黑", **kw):
    draft = CaseDraft(citizen_id=CITIZEN, chat_id=CITIZEN, kind=CaseKind.COMPLAINT,
                      description=text, phone="13912345678", district="崇川区", **kw)
    return await store.file_case(draft)


async def outbox(db: Database, purpose: str | None = None) -> list[dict]:
    rows = await db.fetchall("SELECT * FROM outbox ORDER BY id")
    return [dict(r) for r in rows if purpose is None or r["purpose"] == purpose]


async def kinds(store: CaseStore, case) -> list[str]:
    return [e.kind for e in await store.events(case.id)]


async def test_filing_posts_a_card_with_a_masked_phone_in_the_same_transaction(db, store):
    case = await file(store)
    (card,) = await outbox(db, "card")
    assert card["chat_id"] == AGENTS_CHAT and card["case_id"] == case.id
    assert case.number in card["text"] and "139****5678" in card["text"]
    assert "13912345678" not in card["text"]
    # Buttons are stored by meaning; only the Telegram adapter knows callback data.
    assert json.loads(card["buttons"]) == [[["认领", "claim", case.number],
                                            ["转办", "transfer", case.number],
                                            ["详情", "detail", case.number]]]
    # Filing again with the same key neither files nor posts a second time.
    draft = CaseDraft(CITIZEN, CITIZEN, CaseKind.HELP, "同一草稿")
    first = await store.file_case(draft, source_key="draft:1")
    again = await store.file_case(draft, source_key="draft:1")
    assert first.id == again.id and len(await outbox(db, "card")) == 2


async def test_two_agents_claiming_at_once_from_two_connections_one_wins(
        store_target, store, clock, settings):
    case = await file(store)
    a_db, b_db = await open_database(store_target), await open_database(store_target)
    try:
        desks = [CaseDesk(d, Notices(Roles(d, settings)), Handoffs(d), clock=clock)
                 for d in (a_db, b_db)]
        results = await asyncio.gather(desks[0].claim(case.number, ALICE),
                                       desks[1].claim(case.number, BOB))
    finally:
        await a_db.close()
        await b_db.close()
    assert sorted(r.won for r in results) == [False, True]
    winner = ALICE if results[0].won else BOB
    loser = results[1] if results[0].won else results[0]
    assert loser.case.assignee_name == winner.name
    claimed = await store.case_by_number(case.number)
    assert claimed.assignee_id == winner.user_id and claimed.status is CaseStatus.IN_PROGRESS
    assert (await kinds(store, case)).count("claimed") == 1


async def test_another_agents_case_is_refused_but_a_supervisor_may_act(desk, store):
    case = await file(store)
    await desk.claim(case.number, ALICE)
    with pytest.raises(NotAssignee) as refused:
        await desk.reply(case.number, BOB, "我来答复")
    assert refused.value.case.assignee_name == ALICE.name
    await desk.note(case.number, BOB, "已电话联系物业")  # notes are open to all staff
    await desk.transfer(case.number, BOSS, "南通市城市管理局", "路灯归城管")
    assert (await store.case_by_number(case.number)).department == "南通市城市管理局"


async def test_reply_opens_a_hand_off_that_carries_the_citizen_back_and_idles_out(db, desk, store, clock, handoffs):
    case = await file(store)
    await desk.reply(case.number, ALICE, "请问具体是哪栋楼门口？")
    (reply,) = await outbox(db, "reply")
    assert reply["chat_id"] == CITIZEN and "哪栋楼" in reply["text"]
    handoff = await handoffs.active(CITIZEN)
    assert handoff is not None and handoff.agent_id == ALICE.user_id

    clock.now += timedelta(minutes=10)
    assert (await handoffs.citizen_says(handoff, "3号楼北门", key="5001:77"))[1]  # the first
    # The same message handled again (redelivered after a crash): nothing added or sent.
    sent = len(await outbox(db, "citizen_message"))
    assert not (await handoffs.citizen_says(handoff, "3号楼北门", key="5001:77"))[1]
    assert len(await outbox(db, "citizen_message")) == sent
    assert not (await handoffs.citizen_says(handoff, "靠近菜场那边"))[1]
    back, _ = await outbox(db, "citizen_message")
    assert back["chat_id"] == ALICE.user_id and "3号楼北门" in back["text"]
    assert (await store.case_by_number(case.number)).status is CaseStatus.REPLIED
    assert "citizen_message" in await kinds(store, case)

    clock.now += timedelta(minutes=29)
    assert await handoffs.active(CITIZEN) is not None  # activity moved the idle clock
    clock.now += timedelta(minutes=2)
    assert await handoffs.active(CITIZEN) is None
    (released,) = await outbox(db, "released")
    assert released["chat_id"] == CITIZEN
    history = cards.detail(case, await store.events(case.id), date(2026, 12, 1), whole_phone=False)
    assert "自动交回机器人" in history and "idle" not in history
    assert "handoff_released" in await kinds(store, case)


async def test_release_hands_back_only_the_agents_own_conversations(db, desk, store, handoffs):
    case = await file(store)
    await desk.reply(case.number, ALICE, "收到")
    assert await handoffs.release(BOB.user_id) == []
    assert [c.number for c in await handoffs.release(ALICE.user_id)] == [case.number]
    assert await handoffs.active(CITIZEN) is None


async def test_resolve_asks_for_a_rating_and_unhappy_reopens_and_flags(db, desk, store, clock, callbacks):
    case = await file(store)
    await desk.claim(case.number, ALICE)
    clock.now += timedelta(days=1)
    await desk.resolve(case.number, ALICE, "路灯已于今日修复")
    resolved = await store.case_by_number(case.number)
    assert resolved.status is CaseStatus.RESOLVED and resolved.closed_at is not None
    (notice,) = await outbox(db, "resolved")
    buttons = json.loads(notice["buttons"])[0]
    assert [(t, action) for t, action, _ in buttons] == [
        ("满意", "rate"), ("基本满意", "rate"), ("不满意", "rate")]
    callback_id = int(buttons[2][2].split(":")[0])

    assert (await callbacks.rate(callback_id, CITIZEN + 1, "3")).status == "unknown"  # not theirs
    clock.now += timedelta(hours=2)
    result = await callbacks.rate(callback_id, CITIZEN, "3")
    assert result.status == "ok" and result.case.status is CaseStatus.REOPENED
    assert result.case.deadline > resolved.deadline  # counted again from today
    assert (await callbacks.rate(callback_id, CITIZEN, "1")).status == "used"
    (alert,) = [r for r in await outbox(db, "unhappy") if r["chat_id"] == BOSS.user_id]
    assert case.number in alert["text"] and "办理记录" in alert["text"]
    assert "13912345678" not in alert["text"]
    assert (await kinds(store, case))[-2:] == ["callback", "reopened"]
    (told,) = await outbox(db, "reopened")
    assert told["chat_id"] == CITIZEN and "重办" in told["text"]


async def test_a_resolved_case_takes_no_reply_until_reopened(desk, store):
    case = await file(store)
    await desk.resolve(case.number, ALICE, "已处理")
    with pytest.raises(CaseClosed):
        await desk.reply(case.number, ALICE, "补充一句")
    reopened = await desk.reopen(case.number, ALICE, "市民来电仍未解决")
    assert reopened.status is CaseStatus.REOPENED and reopened.closed_at is None
    await desk.reply(case.number, ALICE, "我们再去现场看看")


async def test_comment_only_after_the_citizen_asks_to_write_one(desk, store, clock, callbacks):
    case = await file(store)
    await desk.resolve(case.number, ALICE, "已处理")
    row = await desk.db.fetchone("SELECT id FROM callbacks")
    await callbacks.rate(row["id"], CITIZEN, "1")
    assert await callbacks.comment(CITIZEN, "下一个问题：公积金怎么提取") is None
    assert await callbacks.open_comment(row["id"], CITIZEN)
    assert (await callbacks.comment(CITIZEN, "处理很快，谢谢")).id == case.id
    assert await callbacks.comment(CITIZEN, "再来一条") is None  # one comment per callback


async def test_supervision_acts_once_per_event_across_passes(db, desk, store, clock, notices,
                                                             handoffs):
    sup = Supervision(db, notices, handoffs, clock=clock)
    case = await file(store)
    await desk.claim(case.number, ALICE)
    await desk.transfer(case.number, ALICE, "南通市城市管理局", "路灯")
    assert (await sup.run_once()).pingpong == 0  # one transfer is normal work
    await desk.transfer(case.number, ALICE, "崇川区人民政府", "属地管理")
    await desk.return_case(case.number, ALICE, "不属于本单位职责")
    first = await sup.run_once()
    assert first.pingpong == 2  # the second transfer and the return
    assert (await sup.run_once()).pingpong == 0
    # One episode, one alert: both flags are in the history it carries, and a later pass
    # that flags the same case within a day adds history, not another alert.
    (alert,) = [r for r in await outbox(db, "pingpong") if r["chat_id"] == BOSS.user_id]
    assert "转办" in alert["text"]
    assert (await kinds(store, case)).count("pingpong_flag") == 2
    await desk.transfer(case.number, BOSS, "南通市住房和城乡建设局", "再次转办")
    assert (await sup.run_once()).pingpong == 1
    assert len([r for r in await outbox(db, "pingpong") if r["chat_id"] == BOSS.user_id]) == 1
    clock.now += timedelta(days=1, minutes=1)
    await desk.transfer(case.number, BOSS, "南通市城市管理局", "第二天又转")
    assert (await sup.run_once()).pingpong == 1
    assert len([r for r in await outbox(db, "pingpong") if r["chat_id"] == BOSS.user_id]) == 2

    # The deadline day: one reminder to the agent; the day after: one overdue alert.
    clock.now = clock.now.replace(year=case.deadline.year, month=case.deadline.month,
                                  day=case.deadline.day, hour=1)
    assert (await sup.run_once()).reminders == 1
    assert (await sup.run_once()).reminders == 0
    (reminder,) = await outbox(db, "reminder")
    assert reminder["chat_id"] == ALICE.user_id
    clock.now += timedelta(days=1)
    assert (await sup.run_once()).overdue == 1
    assert (await sup.run_once()).overdue == 0
    assert [r["chat_id"] for r in await outbox(db, "overdue")] == [BOSS.user_id]

    # A supervisor's new deadline is a new event: the overdue alert may come again later.
    await desk.supervise(case.number, BOSS, "请本周内办结", date(2027, 1, 8))
    (order,) = await outbox(db, "supervised")
    assert order["chat_id"] == ALICE.user_id and "2027年1月8日" in order["text"]


async def test_unanswered_callback_is_not_reached_after_three_days_and_not_valid(
        db, desk, store, clock, reports, notices, handoffs):
    sup = Supervision(db, notices, handoffs, clock=clock)
    case = await file(store)
    await desk.resolve(case.number, ALICE, "已处理")
    clock.now += timedelta(days=2, hours=23)
    assert (await sup.run_once()).not_reached == 0
    clock.now += timedelta(hours=2)
    assert (await sup.run_once()).not_reached == 1
    assert (await sup.run_once()).not_reached == 0
    figures = await reports.stats()
    assert figures["not_reached"] == 1 and figures["answered"] == 0
    assert figures["satisfaction_rate"] is None  # only real answers count
    assert figures["resolved"] == 1 and figures["on_time_rate"] == 1.0
    assert "callback_not_reached" in await kinds(store, case)


async def test_roles_from_config_and_from_grants(db, settings):
    roles = Roles(db, settings)
    assert await roles.roles_of(ALICE.user_id) == {Role.AGENT}
    assert await roles.roles_of(4242) == set()
    assert await roles.grant(4242, Role.SUPERVISOR, by=1)
    assert not await roles.grant(4242, Role.SUPERVISOR, by=1)
    assert await roles.members(Role.SUPERVISOR) == {BOSS.user_id, 4242}
    assert await roles.revoke(4242, Role.SUPERVISOR, by=1)
    assert not await roles.revoke(ALICE.user_id, Role.AGENT, by=1)  # configured roles stay
    assert await roles.has(ALICE.user_id, Role.AGENT)


async def test_numbers_typed_into_a_description_are_masked_for_the_group_and_supervisors(
        db, desk, store, clock, callbacks):
    typed = "油烟扰民，有事打我13812340000，身份证号320602198812120011"
    case = await file(store, typed)
    (card,) = await outbox(db, "card")
    assert "13812340000" not in card["text"] and "138****0000" in card["text"]
    assert "320602198812120011" not in card["text"] and "3206**********0011" in card["text"]
    await desk.claim(case.number, ALICE)
    await desk.resolve(case.number, ALICE, "已处理")
    (notice,) = await outbox(db, "resolved")
    callback_id = int(json.loads(notice["buttons"])[0][2][2].split(":")[0])
    await callbacks.rate(callback_id, CITIZEN, "3")
    (alert,) = [r for r in await outbox(db, "unhappy") if r["chat_id"] == BOSS.user_id]
    assert "13812340000" not in alert["text"] and "320602198812120011" not in alert["text"]


async def test_questions_that_found_nothing_are_stored_masked(db):
    from bot.knowledge.feedback import FeedbackStore

    feedback = FeedbackStore(db)
    await feedback.record_miss(CITIZEN, "我的社保卡丢了 电话13812340000 怎么补", "fallback")
    (miss,) = await feedback.top_misses()
    assert "13812340000" not in miss.question and "138****0000" in miss.question


def test_log_handlers_set_up_elsewhere_are_masked_too():
    import io
    import logging

    from bot.safety.logs import mask_every_handler

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        mask_every_handler()
        logging.getLogger("rasa_sdk.test").warning("slot phone=13812340000 id=320602198812120011")
    finally:
        root.removeHandler(handler)
    assert "13812340000" not in stream.getvalue() and "138****0000" in stream.getvalue()
    assert "320602198812120011" not in stream.getvalue()


async def test_a_second_agent_does_not_silently_take_over_a_live_conversation(db, desk, store, handoffs):
    first = await file(store, "小区门口的路灯坏了一个多月，晚上很黑")
    second = await file(store, "楼下垃圾桶三天没人清运，气味很大")
    await desk.reply(first.number, ALICE, "您好，路灯的事我来跟进")
    with pytest.raises(HandoffBusy) as busy:
        await desk.reply(second.number, BOB, "您好，垃圾清运的事我来跟进")
    assert (busy.value.agent_id, busy.value.number) == (ALICE.user_id, first.number)
    handoff = await handoffs.active(CITIZEN)
    assert (handoff.agent_id, handoff.case_id) == (ALICE.user_id, first.id)

    await desk.reply(second.number, BOB, "您好，垃圾清运的事我来跟进", take_over=True)
    handoff = await handoffs.active(CITIZEN)
    assert (handoff.agent_id, handoff.case_id) == (BOB.user_id, second.id)
    (told,) = await outbox(db, "handoff_taken")
    assert told["chat_id"] == ALICE.user_id and "李强" in told["text"]
    assert (await kinds(store, second))[-1] == "replied"
    assert "handoff_taken" in await kinds(store, second)
