"""Early warning through the real stack: a sensitive case alerts the supervisor at intake,
a third repeat request is flagged, and a burst of similar complaints raises one hot-spot
alert that the supervisor acknowledges with /ack.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

from bot.cases.models import CASE_NUMBER_RE, CaseDraft, CaseKind
from bot.cases.store import CaseStore
from bot.store.db import open_database
from bot.telegram import texts
from tests.e2e.conftest import AGENTS, SUPERVISOR
from tests.e2e.test_intake import buttons

WORKER = 880301
NEIGHBOUR = 880302
WAGES = "我要投诉，建筑工地的包工头拖欠我们三十多个农民工半年的工资，一分钱都不给"
DRAIN = "我要投诉，幸福路菜场后面的下水道堵了，污水漫到路上，走路都没法走"
BURST = (
    "东洲小区这两天自来水发黄，还有一股怪味，不敢喝",
    "你好，东洲小区的自来水是黄的，有异味，怎么回事",
    "东洲小区自来水有怪味，颜色发黄，烧开了也有味道",
    "反映一下，东洲小区水龙头出来的水发黄有味道",
    "我们东洲小区自来水发黄有股怪味，家里有孩子不敢用",
    "东洲小区的自来水发黄还有怪味，请尽快查一下",
)


async def file_through_the_bot(telegram, user: int, description: str, address: str) -> str:
    """The whole form, through the bot, Rasa and the actions; returns the case number.

    When the action asks whether it is the same matter as an open case, 「不是，登记新的」.
    """
    _intro, more = await telegram.say(user, description, count=2)
    (district,) = await telegram.press(user, more, 0)
    (_address,) = await telegram.press(user, district, buttons(district).index("崇川区"))
    (when,) = await telegram.say(user, address)
    (_phone,) = await telegram.press(user, when, 0)
    (photos,) = await telegram.say(user, "13912345678")
    (summary,) = await telegram.press(user, photos, 0)
    assert buttons(summary) == ["确认提交", "修改", "取消"]
    (filed,) = await telegram.press(user, summary, 0)
    if "不是，登记新的" in buttons(filed):
        (filed,) = await telegram.press(user, filed, buttons(filed).index("不是，登记新的"))
    return CASE_NUMBER_RE.search(filed["text"]).group(0)


async def to_supervisor(api, needle: str, timeout: float = 60) -> list[dict]:
    return await api.wait_for(lambda: [m for m in api.sent(SUPERVISOR) if needle in m["text"]],
                              timeout)


async def case_of(stack, number: str):
    db = await open_database(stack.settings.db_path)
    try:
        store = CaseStore(db)
        case = await store.case_by_number(number)
        return case, await store.events(case.id)
    finally:
        await db.close()


async def test_a_sensitive_case_alerts_the_supervisor_at_intake(telegram, stack):
    number = await file_through_the_bot(telegram, WORKER, WAGES, "城西建筑工地")
    (alert,) = await to_supervisor(telegram.api, number)
    assert alert["text"].startswith(f"【敏感件】{number} 标记为敏感件")
    assert "拖欠工资涉及多名劳动者" in alert["text"] and "/ack " in alert["text"]
    case, events = await case_of(stack, number)
    assert case.mark == "sensitive"
    assert [e.kind for e in events][:2] == ["filed", "marked"]
    # The agents' card carries the mark too.
    await telegram.api.wait_for(lambda: [m for m in telegram.api.sent(stack.settings.agents_chat_id)
                                         if f"【敏感件】{number}" in m["text"]], 30)


async def test_a_third_repeat_request_is_flagged(telegram, stack):
    # The same citizen reported it ten and five days ago (filed as the action server files;
    # three forms in a row would pass the per-citizen rate limit), and now a third time.
    db = await open_database(stack.settings.db_path)
    try:
        numbers = []
        for days in (10, 5):
            store = CaseStore(db, clock=lambda days=days: datetime.now(UTC) - timedelta(days=days))
            numbers.append((await store.file_case(CaseDraft(
                citizen_id=NEIGHBOUR, chat_id=NEIGHBOUR, kind=CaseKind.COMPLAINT,
                description=DRAIN.removeprefix("我要投诉，"), category="城乡建设",
                district="崇川区", address="幸福路菜场后面"))).number)
    finally:
        await db.close()
    numbers.append(await file_through_the_bot(telegram, NEIGHBOUR, DRAIN, "幸福路菜场后面"))
    assert len(set(numbers)) == 3
    (alert,) = await to_supervisor(telegram.api, f"【重复诉求】{numbers[2]}")
    assert "第 3 次反映同一件事" in alert["text"]
    assert numbers[0] in alert["text"] and numbers[1] in alert["text"]
    for number, flag in zip(numbers, (None, None, "citizen"), strict=True):
        case, _ = await case_of(stack, number)
        assert case.repeat_flag == flag


async def test_a_burst_of_similar_complaints_raises_one_alert_and_a_supervisor_acks_it(
        telegram, stack):
    # Six citizens of 海门区 write about the same water within a day (filed as the action
    # server files them); the bot's supervision job runs the hot-spot pass every second.
    db = await open_database(stack.settings.db_path)
    try:
        start = datetime.now(UTC) - timedelta(hours=20)
        for i, text in enumerate(BURST):
            store = CaseStore(db, clock=lambda i=i: start + timedelta(hours=3 * i))
            await store.file_case(CaseDraft(
                citizen_id=881000 + i, chat_id=881000 + i, kind=CaseKind.COMPLAINT,
                description=text, category="环境保护", district="海门区", address="东洲小区"))
        api = telegram.api
        (alert,) = await to_supervisor(api, "【热点预警】海门区·环境保护")
        assert "6 位市民反映相似问题" in alert["text"]
        assert "地点：海门区 东洲小区" in alert["text"] and "摘要：" in alert["text"]
        alert_id = re.search(r"/ack (\d+)", alert["text"]).group(1)
        # More passes (one a second), and one more case of the same cluster: no second alert.
        await CaseStore(db).file_case(CaseDraft(
            citizen_id=881100, chat_id=881100, kind=CaseKind.COMPLAINT,
            description="东洲小区自来水还是发黄有味道", category="环境保护", district="海门区",
            address="东洲小区"))
        await asyncio.sleep(4)
        assert len([m for m in api.sent(SUPERVISOR) if "【热点预警】海门区" in m["text"]]) == 1
        rows = await db.fetchall("SELECT * FROM alerts WHERE kind = 'hotspot'"
                                 " AND district = '海门区'")
        assert len(rows) == 1 and str(rows[0]["id"]) == alert_id
    finally:
        await db.close()

    # An agent is not a supervisor: /ack is an unknown command to them.
    (refused,) = await telegram.say(AGENTS[0], f"/ack {alert_id}")
    assert refused["text"] == texts.UNKNOWN_COMMAND
    (acked,) = await telegram.say(SUPERVISOR, f"/ack {alert_id}")
    assert acked["text"].startswith(f"已确认预警 #{alert_id}【热点预警】")
    (again,) = await telegram.say(SUPERVISOR, f"/ack {alert_id}")
    assert f"预警 #{alert_id} 已由 {SUPERVISOR}" in again["text"]
    db = await open_database(stack.settings.db_path)
    try:
        row = await db.fetchone("SELECT acked_by FROM alerts WHERE id = ?", (int(alert_id),))
        assert row["acked_by"] == SUPERVISOR
    finally:
        await db.close()
