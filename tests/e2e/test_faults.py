"""Faults in the real stack: the action server killed mid-form; personal data kept out of logs."""

from __future__ import annotations

import asyncio

from bot.cases.models import CASE_NUMBER_RE
from bot.telegram import texts
from tests.e2e.test_intake import DESCRIPTION, buttons, cases_of, fill_form

FRANK = 880301
GRACE = 880302


async def test_the_action_server_killed_mid_form_apology_then_the_form_resumes(
        telegram, stack):
    _intro, more = await telegram.say(FRANK, DESCRIPTION, count=2)
    assert buttons(more) == ["说完了"]
    stack.actions.kill()  # SIGKILL, as a crash would
    try:
        (apology,) = await telegram.press(FRANK, more, 0, timeout=60)
        assert apology["text"] == texts.APOLOGY
        assert await cases_of(stack, FRANK) == []  # nothing half-filed
    finally:
        stack.restart(stack.actions)
    # The citizen tries again: the form is still there and goes on from where it was.
    replies = await telegram.say(FRANK, "说完了", timeout=60)
    assert "区县" in replies[-1]["text"], [r["text"][:40] for r in replies]
    (_address,) = await telegram.press(FRANK, replies[-1], buttons(replies[-1]).index("崇川区"))
    (when,) = await telegram.say(FRANK, "工农路青年路交叉口")
    (_phone,) = await telegram.press(FRANK, when, 0)
    (photos,) = await telegram.say(FRANK, "13812340000")
    (summary,) = await telegram.press(FRANK, photos, 0)
    (filed,) = await telegram.press(FRANK, summary, 0)
    number = CASE_NUMBER_RE.search(filed["text"]).group(0)
    (case,) = await cases_of(stack, FRANK)
    assert case.number == number and case.description.startswith("我要投诉")


async def test_a_phone_number_given_in_a_case_appears_in_no_log(telegram, stack):
    summary = await fill_form(telegram, GRACE)  # gives 13912345678
    (filed,) = await telegram.press(GRACE, summary, 0)
    assert CASE_NUMBER_RE.search(filed["text"])
    await telegram.say(GRACE, "我的电话是13912345678，请尽快联系我")
    await asyncio.to_thread(telegram.bot.stop)  # flush and close the bot's log
    logs = sorted(stack.settings.log_dir.glob("*.log"))
    assert {p.name for p in logs} >= {"bot.log", "rasa.log", "actions.log"}
    for path in logs:
        text = path.read_text(encoding="utf-8", errors="replace")
        assert "13912345678" not in text, f"the phone number is in {path.name}"
