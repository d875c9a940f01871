"""Filing a case and checking it, through the fake Bot API, the bot, Rasa and the actions."""

from __future__ import annotations

from bot.cases.models import CASE_NUMBER_RE
from bot.cases.store import CaseStore
from bot.store.db import open_database

CAROL = 880101
DAVE = 880102
ERIN = 880103
DESCRIPTION = "我要投诉，工农路和青年路路口的红绿灯坏了三天了，早高峰车辆乱成一团，很危险"


def buttons(message):
    return [b["text"] for row in message.get("reply_markup", {}).get("inline_keyboard", [])
            for b in row]


async def fill_form(telegram, user: int) -> dict:
    """Goes through the form up to the summary and returns the summary message."""
    intro, more = await telegram.say(user, DESCRIPTION, count=2)
    assert "登记" in intro["text"] and buttons(more) == ["说完了"]
    (district,) = await telegram.press(user, more, 0)
    assert "区县" in district["text"]
    (_address,) = await telegram.press(user, district, buttons(district).index("崇川区"))
    (when,) = await telegram.say(user, "工农路青年路交叉口")
    assert buttons(when) == ["跳过"]
    (phone,) = await telegram.press(user, when, 0)
    assert "联系电话" in phone["text"]
    (photos,) = await telegram.say(user, "13912345678")
    assert "照片" in photos["text"]
    (summary,) = await telegram.press(user, photos, 0)
    assert buttons(summary) == ["确认提交", "修改", "取消"]
    assert "139****5678" in summary["text"]
    return summary


async def cases_of(stack, user: int):
    db = await open_database(stack.settings.db_path)
    try:
        return await CaseStore(db).cases_of_citizen(user)
    finally:
        await db.close()


async def test_a_complaint_is_filed_numbered_and_checked_by_chat(telegram, stack):
    summary = await fill_form(telegram, CAROL)
    (filed,) = await telegram.press(CAROL, summary, 0)
    number = CASE_NUMBER_RE.search(filed["text"]).group(0)
    assert "办理期限" in filed["text"] and "交通运输" in filed["text"]
    (case,) = await cases_of(stack, CAROL)
    assert case.number == number and case.phone == "13912345678"

    (status,) = await telegram.say(CAROL, f"/status {number}")
    assert "已受理" in status["text"] and buttons(status) == ["补充情况", "撤回"]
    (mine,) = await telegram.say(CAROL, "/mycases")
    assert number in mine["text"]
    (stranger,) = await telegram.say(DAVE, f"查询{number}")
    assert stranger["text"].startswith(f"未找到案件 {number}")
    assert DESCRIPTION[:8] not in stranger["text"]


async def test_the_form_resumes_after_rasa_restarts_and_a_duplicate_update_files_once(
        telegram, stack):
    _intro, more = await telegram.say(ERIN, DESCRIPTION, count=2)
    stack.restart(stack.rasa)  # conversations live in the SQL tracker store
    (district,) = await telegram.press(ERIN, more, 0)
    assert "区县" in district["text"]
    (_address,) = await telegram.press(ERIN, district, 0)
    (when,) = await telegram.say(ERIN, "青年路口")
    (phone,) = await telegram.press(ERIN, when, 0)
    notice, photos = await telegram.press(ERIN, phone, 0, count=2)  # 匿名
    assert "只能在这里" in notice["text"] and "照片" in photos["text"]
    (summary,) = await telegram.press(ERIN, photos, 0)
    confirm = next(b for row in summary["reply_markup"]["inline_keyboard"] for b in row)
    update = await telegram.api.press_button(ERIN, summary, confirm["callback_data"])
    await telegram.replies(ERIN, 1, summary["message_id"], 60)
    await telegram.api.redeliver(update)  # Telegram sends the same update again
    (_status,) = await telegram.say(ERIN, "/mycases")
    cases = await cases_of(stack, ERIN)
    assert len(cases) == 1 and cases[0].anonymous and cases[0].phone is None
