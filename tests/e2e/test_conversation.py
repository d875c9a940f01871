"""A citizen's conversation through every real component."""

from __future__ import annotations

import yaml

from bot.config import ROOT
from bot.telegram import texts

DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
SMALL_TALK = {v["text"] for key in ("utter_greet", "utter_chitchat")
              for v in DOMAIN["responses"][key]}

ALICE = 880001
BOB = 880002


def button_titles(message):
    return [b["text"] for row in message["reply_markup"]["inline_keyboard"] for b in row]


async def test_start_greeting_policy_answer_and_feedback_button(telegram):
    (start,) = await telegram.say(ALICE, "/start")
    assert start["text"] == texts.START
    commands = telegram.api.calls_of("setMyCommands")
    assert commands and commands[0].params["commands"]

    (greeting,) = await telegram.say(ALICE, "你好")
    assert greeting["text"] in SMALL_TALK

    # One message: the answer, its source line, and the buttons.
    (answer,) = await telegram.say(ALICE, "租房可以提取公积金吗？怎么办理？")
    assert "租房" in answer["text"]
    assert "12329" in answer["text"] and "核对：" in answer["text"]
    assert button_titles(answer)[:2] == ["解决了", "没解决"]

    (thanks,) = await telegram.press(ALICE, answer, 0)
    assert "感谢您的反馈" in thanks["text"]
    assert "reply_markup" not in telegram.api.messages[(ALICE, answer["message_id"])]
    assert telegram.api.calls_of("answerCallbackQuery")


async def test_rasa_down_apology_then_recovery(telegram, stack):
    stack.rasa.stop()
    try:
        (apology,) = await telegram.say(BOB, "公积金租房提取")
        assert apology["text"] == texts.APOLOGY
    finally:
        stack.restart(stack.rasa)
    replies = await telegram.say(BOB, "租房可以提取公积金吗？怎么办理？")
    assert "租房" in replies[0]["text"]


async def test_action_server_down_apology_then_recovery(telegram, stack):
    stack.actions.stop()
    try:
        (apology,) = await telegram.say(BOB + 1, "租房可以提取公积金吗？怎么办理？")
        assert apology["text"] == texts.APOLOGY
    finally:
        stack.restart(stack.actions)
    replies = await telegram.say(BOB + 1, "租房可以提取公积金吗？怎么办理？")
    assert "租房" in replies[0]["text"]
