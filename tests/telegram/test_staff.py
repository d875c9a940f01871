"""Agents and supervisors through the real Application, offline (Rasa is a stub)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.cases.models import CaseDraft, CaseKind, CaseStatus
from bot.config import Settings
from bot.telegram import staff, texts
from tests.telegram.conftest import CITIZEN, RasaStub

GROUP = -100123
ALICE = 7001
BOB = 7002
BOSS = 7100
ADMIN = 7200
STRANGER = 7300


@pytest.fixture
def settings(tmp_path: Path, rasa: RasaStub) -> Settings:
    return Settings(data_dir=tmp_path, db_path=tmp_path / "hotline.db", rasa_url=rasa.url,
                    rasa_timeout=5, agent_ids=frozenset({ALICE, BOB}),
                    supervisor_ids=frozenset({BOSS}), admin_ids=frozenset({ADMIN}),
                    agents_chat_id=GROUP)


@pytest.fixture
async def desk(harness):
    for chat in (ALICE, BOB, BOSS, ADMIN, STRANGER, CITIZEN):
        harness.api.add_chat(chat)
    harness.api.add_chat(GROUP, title="12345坐席群")
    # Deliveries happen when a test calls deliver(), so replies and notices don't interleave.
    await harness.app.bot_data.delivery.stop()
    return harness


async def deliver(harness) -> None:
    """Lets the delivery worker send everything pending."""
    outbox = harness.app.bot_data.outbox
    for _ in range(100):
        await harness.app.bot_data.delivery.run_once()
        if (await outbox.counts())["pending"] == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"outbox still pending: {await outbox.counts()}")


async def command(harness, user: int, text: str, chat: int | None = None) -> list[dict]:
    chat = user if chat is None else chat
    before = harness.api.last_message_id()
    await harness.process(await harness.api.send_text(user, text, chat_id=chat))
    return [m for m in harness.api.sent(chat) if m["message_id"] > before]


async def file_case(harness, text: str = "我家楼下的餐馆油烟直排，窗户都不敢开") -> str:
    draft = CaseDraft(citizen_id=CITIZEN, chat_id=CITIZEN, kind=CaseKind.COMPLAINT,
                      description=text, category="环境保护", department="南通市生态环境局",
                      district="崇川区", phone="13812345678")
    case = await harness.app.bot_data.cases.file_case(draft)
    await deliver(harness)
    return case.number


def buttons(message: dict) -> list[str]:
    return [b["text"] for row in message.get("reply_markup", {}).get("inline_keyboard", [])
            for b in row]


async def test_strangers_get_the_unknown_command_answer_and_nothing_about_cases(desk):
    number = await file_case(desk)
    for text in ("/queue", f"/case {number}", f"/claim {number}", f"/resolve {number} 好了",
                 "/stats", "/grant 7300 agent"):
        (reply,) = await command(desk, STRANGER, text)
        assert reply["text"] == texts.UNKNOWN_COMMAND
    (unknown,) = await command(desk, STRANGER, "/nosuchcommand")
    assert unknown["text"] == texts.UNKNOWN_COMMAND
    case = await desk.app.bot_data.cases.case_by_number(number)
    assert case.assignee_id is None
    # An agent may not grant roles either; only admins may.
    (refused,) = await command(desk, ALICE, "/grant 7300 agent")
    assert refused["text"] == texts.UNKNOWN_COMMAND


async def test_card_claim_race_reply_and_the_citizen_answering_back(desk):
    number = await file_case(desk)
    (card,) = desk.api.sent(GROUP)
    assert number in card["text"] and "138****5678" in card["text"]
    assert buttons(card) == ["认领", "转办", "详情"]

    await desk.press_data(card, f"a:c:{number}", user=ALICE)
    await desk.press_data(card, f"a:c:{number}", user=BOB)
    answers = desk.callback_answers()
    assert answers[-2].startswith(f"已认领 {number}")
    assert answers[-1] == texts.STAFF_NOT_YOURS.format(number=number, holder="市民7001")
    edited = desk.api.sent(GROUP)[0]
    assert "认领人：市民7001" in edited["text"] and buttons(edited) == ["转办", "详情"]

    # Only the agent holding the case sees the whole phone, and only in private.
    (in_group,) = await command(desk, ALICE, f"/case {number}", chat=GROUP)
    assert "138****5678" in in_group["text"] and "13812345678" not in in_group["text"]
    (private,) = await command(desk, ALICE, f"/case {number}")
    assert "13812345678" in private["text"]
    (bobs,) = await command(desk, BOB, f"/case {number}")
    assert "13812345678" not in bobs["text"]

    (done,) = await command(desk, ALICE, f"/reply {number} 您好，请问油烟是几点开始排放的？")
    assert "已发送" in done["text"]
    await deliver(desk)
    (to_citizen,) = desk.api.sent(CITIZEN)
    assert "几点开始排放" in to_citizen["text"] and number in to_citizen["text"]

    rasa_calls = len(desk.rasa.requests)
    (receipt,) = await desk.say("每天晚上六点到十点")  # Rasa does not answer; a receipt
    assert receipt["text"] == texts.HANDOFF_RECEIPT.format(number=number)
    assert await desk.say("大概持续四个小时") == []  # only the first time
    # A status query is still answered by the bot during the hand-off.
    await desk.say(f"查询 {number}")
    assert desk.rasa.requests[-1]["message"] == f'/check_status{{"case_number":"{number}"}}'
    rasa_calls += 1
    assert len(desk.rasa.requests) == rasa_calls
    await deliver(desk)
    forwarded = desk.api.sent(ALICE)[-2]
    assert "每天晚上六点到十点" in forwarded["text"] and number in forwarded["text"]
    events = await desk.app.bot_data.cases.events(
        (await desk.app.bot_data.cases.case_by_number(number)).id)
    assert [e.kind for e in events][-1] == "citizen_message"

    (released,) = await command(desk, ALICE, "/release")
    assert number in released["text"]
    await desk.say("公积金怎么提取")
    assert len(desk.rasa.requests) == rasa_calls + 1  # back to the bot


async def test_transfer_buttons_resolve_and_an_unhappy_rating_reopens_and_flags(desk):
    number = await file_case(desk)
    (card,) = desk.api.sent(GROUP)
    await desk.press_data(card, f"a:c:{number}", user=ALICE)
    await desk.press_data(card, f"a:t:{number}", user=ALICE)
    chooser = desk.api.sent(GROUP)[-1]
    assert "转办给哪个部门" in chooser["text"] and "城管" in buttons(chooser)
    await desk.press_data(chooser, f"a:td:{number}:urban", user=ALICE)
    case = await desk.app.bot_data.cases.case_by_number(number)
    assert case.status is CaseStatus.TRANSFERRED and case.department == "南通市城市管理局"

    (returned,) = await command(desk, ALICE, f"/return {number} 油烟归生态环境部门")
    assert "退单" in returned["text"]
    (moved,) = await command(desk, ALICE, f"/transfer {number} 生态环境 油烟直排")
    assert "南通市生态环境局" in moved["text"]
    await desk.app.bot_data.supervision.run_once()
    await deliver(desk)
    flags = [m["text"] for m in desk.api.sent(BOSS)]
    assert any("推诿提醒" in t and number in t for t in flags)

    (resolved,) = await command(desk, ALICE, f"/resolve {number} 已责令餐馆加装油烟净化器")
    assert "已办结" in resolved["text"]
    await deliver(desk)
    rating = desk.api.sent(CITIZEN)[-1]
    assert "油烟净化器" in rating["text"] and buttons(rating) == ["满意", "基本满意", "不满意"]

    data = [b["callback_data"] for row in rating["reply_markup"]["inline_keyboard"] for b in row]
    (thanks,) = await desk.press_data(rating, data[2])
    assert "重新交办" in thanks["text"]
    # A double click, and someone else's click, change nothing.
    await desk.press_data(rating, data[0])
    assert desk.callback_answers()[-1] == texts.BUTTON_USED
    await desk.press_data(rating, data[0], user=STRANGER)
    assert desk.callback_answers()[-1] == texts.BUTTON_STALE
    case = await desk.app.bot_data.cases.case_by_number(number)
    assert case.status is CaseStatus.REOPENED
    await deliver(desk)
    assert any("不满意" in m["text"] and number in m["text"] for m in desk.api.sent(BOSS))

    (comment,) = await desk.press(thanks, 0)  # 写几句意见
    assert comment["text"] == texts.COMMENT_PROMPT
    (saved,) = await desk.say("油烟还是很大")
    assert saved["text"] == texts.COMMENT_SAVED

    (order,) = await command(desk, BOSS, f"/supervise {number} 三天内复查 2026-12-31")
    assert "已督办" in order["text"]
    await deliver(desk)
    assert "【督办】" in desk.api.sent(ALICE)[-1]["text"]
    (figures,) = await command(desk, BOSS, "/stats")
    assert "满意率：0.0%" in figures["text"] and "有效回访 1 件" in figures["text"]


async def test_queue_pages_and_commands_with_bad_arguments(desk):
    numbers = [await file_case(desk, f"第{i}件：小区垃圾一直没人清运，味道很大") for i in range(12)]
    (first,) = await command(desk, ALICE, "/queue")
    assert "共 12 件" in first["text"] and numbers[0] in first["text"]
    assert numbers[11] not in first["text"] and buttons(first) == ["下一页"]
    await desk.press(first, 0, user=ALICE)
    second = desk.api.sent(ALICE)[-1]
    assert numbers[11] in second["text"]

    for text, usage in (("/claim", "claim"), ("/reply NT202611280001", "reply"),
                        ("/transfer 随便写", "transfer"), ("/case abc", "case")):
        (reply,) = await command(desk, ALICE, text)
        assert reply["text"] == staff.usage(usage)
    (missing,) = await command(desk, ALICE, "/claim NT209912319999")
    assert missing["text"] == texts.STAFF_NOT_FOUND.format(number="NT209912319999")
    (nodept,) = await command(desk, ALICE, f"/transfer {numbers[0]} 火星局 理由")
    assert "没有找到部门「火星局」" in nodept["text"]


async def test_admin_grants_and_revokes_a_role_stored_in_the_database(desk):
    (refused,) = await command(desk, STRANGER, "/queue")
    assert refused["text"] == texts.UNKNOWN_COMMAND
    (granted,) = await command(desk, ADMIN, f"/grant {STRANGER} agent")
    assert "已授予" in granted["text"]
    assert "queue" in desk.api.menus[f"chat:{STRANGER}"]  # their private menu follows the role
    (queue,) = await command(desk, STRANGER, "/queue")
    assert queue["text"] == "当前没有待办案件。"
    (revoked,) = await command(desk, ADMIN, f"/revoke {STRANGER} 坐席")
    assert "已收回" in revoked["text"]
    (again,) = await command(desk, STRANGER, "/queue")
    assert again["text"] == texts.UNKNOWN_COMMAND
    assert desk.api.menus.get(f"chat:{STRANGER}") is None  # back to the citizens' menu


async def test_staff_get_their_own_start_and_a_private_menu_scoped_to_their_roles(desk):
    (agent,) = await command(desk, ALICE, "/start")
    assert "坐席" in agent["text"] and "/claim" in agent["text"] and "/grant" not in agent["text"]
    (admin,) = await command(desk, ADMIN, "/start")
    assert "/grant" in admin["text"] and "/claim" not in admin["text"]
    (citizen,) = await command(desk, CITIZEN, "/start")
    assert citizen["text"] == texts.START

    services = desk.app.bot_data
    await staff.set_menus(desk.app.bot, services.roles, GROUP)
    menus = desk.api.menus
    assert "claim" in menus[f"chat:{GROUP}"] and "grant" not in menus[f"chat:{GROUP}"]
    assert {"start", "mycases", "claim"} <= set(menus[f"chat:{ALICE}"])
    assert "supervise" not in menus[f"chat:{ALICE}"] and "supervise" in menus[f"chat:{BOSS}"]
    assert f"chat:{CITIZEN}" not in menus and f"chat:{STRANGER}" not in menus
    # Every staff command in the table has a handler, a menu line and a usage text.
    assert {c.name for c in staff.COMMANDS.values() if c.menu and c.usage} == set(staff.COMMANDS)


async def test_the_card_offers_the_three_likeliest_categories_and_the_choice_is_recorded(desk):
    draft = CaseDraft(citizen_id=CITIZEN, chat_id=CITIZEN, kind=CaseKind.COMPLAINT,
                      description="小区门口的路灯坏了半个月，晚上老人走路摔了一跤",
                      category="交通运输", department="南通市交通运输局", district="崇川区",
                      suggestions=("交通运输", "城乡建设", "政法"), model_version="seed-test")
    number = (await desk.app.bot_data.cases.file_case(draft)).number
    await deliver(desk)
    (card,) = desk.api.sent(GROUP)
    assert buttons(card)[3:] == ["交通运输", "城乡建设", "政法"]
    assert "seed-test" in card["text"]

    # The second suggestion, tapped: the category and its department, and who decided.
    await desk.press_data(card, f"a:k:{number}:second", user=ALICE)
    case = await desk.app.bot_data.cases.case_by_number(number)
    assert case.category == "城乡建设" and case.department != "南通市交通运输局"
    (event,) = [e for e in await desk.app.bot_data.cases.events(case.id)
                if e.kind == "categorized"]
    assert event.actor == f"staff:{ALICE}" and event.detail["from"] == "交通运输"
    assert event.detail["to"] == "城乡建设" and event.detail["suggested"] is True
    # A place the card never had, and a stranger's tap, change nothing.
    await desk.press_data(card, f"a:k:{number}:fourth", user=ALICE)
    assert desk.callback_answers()[-1] == texts.BUTTON_STALE
    await desk.press_data(card, f"a:k:{number}:first", user=STRANGER)
    assert (await desk.app.bot_data.cases.case_by_number(number)).category == "城乡建设"

    # A correction by command, after a transfer: the category changes, the department stays.
    await command(desk, ALICE, f"/transfer {number} 住建 路灯归住建")
    (fixed,) = await command(desk, BOB, f"/category {number} 劳动")
    assert "劳动和社会保障" in fixed["text"]
    case = await desk.app.bot_data.cases.case_by_number(number)
    assert case.category == "劳动和社会保障" and "住房和城乡建设" in case.department
    (unknown,) = await command(desk, BOB, f"/category {number} 火星")
    assert "没有分类" in unknown["text"]
    (shown,) = await command(desk, ALICE, f"/case {number}")
    assert "确定分类→劳动和社会保障" in shown["text"] and "seed-test" in shown["text"]


async def test_a_correction_on_the_card_reaches_the_training_data_masked(desk):
    from bot.cases.examples import ExampleStore

    draft = CaseDraft(citizen_id=CITIZEN, chat_id=CITIZEN, kind=CaseKind.HELP,
                      description="工地欠了我们六个人三个月工资，包工头电话13812345678打不通，"
                                  "我身份证号320602198001011234",
                      category="城乡建设", department="南通市住房和城乡建设局",
                      suggestions=("城乡建设", "劳动和社会保障", "政法"), model_version="seed-x")
    number = (await desk.app.bot_data.cases.file_case(draft)).number
    await deliver(desk)
    (card,) = desk.api.sent(GROUP)
    store = ExampleStore(desk.app.bot_data.db)
    await desk.press_data(card, f"a:k:{number}:second", user=ALICE)
    assert await store.all() == []  # an open case teaches nothing yet
    await command(desk, ALICE, f"/resolve {number} 已转劳动监察立案，督促支付")
    (example,) = await store.all()
    assert example.source == f"case:{number}" and example.category == "劳动和社会保障"
    assert "13812345678" not in example.text and "320602198001011234" not in example.text
    assert "包工头" in example.text
    # A correction after the case closed updates the same example.
    await command(desk, BOSS, f"/category {number} 政法")
    (example,) = await store.all()
    assert example.category == "政法"
