"""The whole loop through the real stack: file, card, claim, reply, answer back, transfer,
return, flag, resolve, rate 不满意, reopen; with the bot killed in the middle.
"""

from __future__ import annotations

from bot.cases.desk import CaseDesk, Staff
from bot.cases.handoffs import Handoffs
from bot.cases.models import CASE_NUMBER_RE, CATEGORIES, CaseStatus
from bot.cases.notices import Notices
from bot.cases.roles import Roles
from bot.cases.store import CaseStore
from bot.store.db import open_database
from bot.telegram import texts
from tests.e2e.conftest import AGENTS, AGENTS_CHAT, SUPERVISOR
from tests.e2e.test_intake import buttons, fill_form

CITIZEN = 880201
ALICE, BOB = AGENTS


async def agent_says(telegram, agent: int, text: str, count: int = 1) -> list[dict]:
    return await telegram.say(agent, text, count=count, timeout=60)


async def open_desk(stack):
    db = await open_database(stack.settings.db_path)
    notices = Notices(Roles(db, stack.settings), agents_chat_id=AGENTS_CHAT)
    return db, CaseDesk(db, notices, Handoffs(db))


async def test_the_loop_closes_and_survives_a_crash_of_the_bot(telegram, stack):
    api = telegram.api
    summary = await fill_form(telegram, CITIZEN)
    (filed,) = await telegram.press(CITIZEN, summary, 0)
    number = CASE_NUMBER_RE.search(filed["text"]).group(0)

    # The card reaches the agents' group through the outbox, phone masked. (Cards of cases
    # filed by earlier tests, whose bot is gone, arrive too: the outbox keeps them.)
    (card,) = await api.wait_for(lambda: [m for m in api.sent(AGENTS_CHAT)
                                          if number in m["text"]], 30)
    assert "139****5678" in card["text"]
    # Beside 认领 / 转办 / 详情, the classifier's three likeliest categories and its version.
    assert buttons(card)[:3] == ["认领", "转办", "详情"]
    assert len(buttons(card)) == 6 and set(buttons(card)[3:]) <= set(CATEGORIES)
    assert "分类建议（模型 seed-" in card["text"]

    # Two agents press 认领 one after the other: one holds it, the other is told who.
    claim = card["reply_markup"]["inline_keyboard"][0][0]
    answered = len(api.calls_of("answerCallbackQuery"))
    await api.press_button(ALICE, card, claim["callback_data"])
    await api.wait_for(lambda: "认领人" in api.messages[(AGENTS_CHAT, card["message_id"])]["text"],
                       30)
    await api.press_button(BOB, card, claim["callback_data"])
    await api.wait_for(lambda: len(api.calls_of("answerCallbackQuery")) >= answered + 2, 30)
    answers = [c.params.get("text", "") for c in api.calls_of("answerCallbackQuery")]
    assert answers[answered].startswith(f"已认领 {number}")
    assert answers[answered + 1].startswith(f"案件 {number} 已由")

    (sent,) = await agent_says(telegram, ALICE, f"/reply {number} 您好，红绿灯是哪个方向坏了？")
    assert "已发送" in sent["text"]
    (asked,) = await telegram.replies(CITIZEN, 1, filed["message_id"], 30)
    assert "哪个方向" in asked["text"]

    # The citizen answers: it reaches the agent and the history; Rasa stays out of it and
    # the citizen is told once that it went to a person.
    after = api.last_message_id()
    await api.send_text(CITIZEN, "东西方向的灯一直不亮")
    (forwarded,) = await api.wait_for_messages(ALICE, 1, after=after, timeout=30)
    assert "东西方向的灯一直不亮" in forwarded["text"]
    (receipt,) = await api.wait_for_messages(CITIZEN, 1, after=after, timeout=30)
    assert receipt["text"] == texts.HANDOFF_RECEIPT.format(number=number)

    # The bot dies. Meanwhile a change commits (as another bot process would make it);
    # after the restart its message is sent exactly once.
    telegram.bot.kill()
    db, desk = await open_desk(stack)
    try:
        await desk.note(number, Staff(ALICE, "坐席"), "已联系交警支队")
        await desk.transfer(number, Staff(ALICE, "坐席"), "南通市公安局", "信号灯归交警")
    finally:
        await db.close()
    before_restart = api.last_message_id()
    telegram.start_bot(stack.settings)
    await telegram.wait_polling()
    (moved,) = await api.wait_for_messages(CITIZEN, 1, after=before_restart, timeout=60)
    assert "南通市公安局" in moved["text"]

    (returned,) = await agent_says(telegram, ALICE, f"/return {number} 路口属于市政设施")
    assert "退单" in returned["text"]
    # The supervisors hear about the return (踢皮球) with the case history.
    flag = await api.wait_for(lambda: [m for m in api.sent(SUPERVISOR)
                                       if "推诿提醒" in m["text"] and number in m["text"]], 60)
    assert "办理记录" in flag[0]["text"]

    after = api.last_message_id()
    (done,) = await agent_says(telegram, ALICE, f"/resolve {number} 信号灯已于今日修复")
    assert "已办结" in done["text"]
    (rating,) = await api.wait_for_messages(CITIZEN, 1, after=after, timeout=30)
    assert "信号灯已于今日修复" in rating["text"]
    assert buttons(rating) == ["满意", "基本满意", "不满意"]
    thanks, reopened = await telegram.press(CITIZEN, rating, 2, count=2, timeout=60)
    assert "重新交办" in thanks["text"] or "重新交办" in reopened["text"]
    await api.wait_for(lambda: [m for m in api.sent(SUPERVISOR)
                                if "不满意" in m["text"] and number in m["text"]], 60)

    db = await open_database(stack.settings.db_path)
    try:
        store = CaseStore(db)
        case = await store.case_by_number(number)
        kinds = [e.kind for e in await store.events(case.id)]
        outbox = await db.fetchall("SELECT chat_id, text FROM outbox WHERE case_id = ?",
                                   (case.id,))
    finally:
        await db.close()
    assert case.status is CaseStatus.REOPENED and case.assignee_id == ALICE
    for kind in ("filed", "claimed", "replied", "citizen_message", "noted", "transferred",
                 "returned", "pingpong_flag", "resolved", "callback", "reopened"):
        assert kind in kinds, kind
    # Every outbox row went out once: no duplicate texts to the citizen.
    citizen_texts = [m["text"] for m in api.sent(CITIZEN)]
    for row in outbox:
        if row["chat_id"] == CITIZEN:
            assert citizen_texts.count(row["text"]) == 1, row["text"][:40]


async def test_a_stranger_cannot_see_the_queue(telegram, stack):
    (reply,) = await telegram.say(880299, "/queue")
    assert reply["text"].startswith("没有这个命令")
