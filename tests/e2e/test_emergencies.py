"""Emergencies through the whole stack: a description that turns out to be an emergency
stops the case form (Rasa's tracker shows no form afterwards), and look-alikes are
answered or offered filing, never given an emergency number.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request

import pytest

from bot.safety.emergency import EmergencyKind
from tests.messages import BY_KIND, LOOKALIKES, numbers_of

FIRST = 881000


def buttons(message: dict) -> list[str]:
    return [b["text"] for row in message.get("reply_markup", {}).get("inline_keyboard", [])
            for b in row]


def active_loop(stack, user: int) -> str | None:
    url = f"{stack.settings.rasa_url}/conversations/{user}/tracker"
    with urllib.request.urlopen(url, timeout=10) as response:
        tracker = json.load(response)
    return (tracker.get("active_loop") or {}).get("name")


@pytest.mark.parametrize("kind", list(EmergencyKind))
async def test_an_emergency_inside_the_case_form_stops_it(telegram, stack, kind):
    user = FIRST + list(EmergencyKind).index(kind)
    _intro, more = await telegram.say(user, "我要投诉，小区门口的路灯坏了一个礼拜了", count=2)
    assert buttons(more) == ["说完了"] and active_loop(stack, user) == "case_form"

    (advice,) = await telegram.say(user, BY_KIND[kind])
    assert all(number in advice["text"] for number in numbers_of(kind))
    for _ in range(50):  # the form is closed right after the advice is sent
        if active_loop(stack, user) is None:
            break
        await asyncio.sleep(0.1)
    assert active_loop(stack, user) is None

    # The next message is a new turn, not the form's next step.
    replies = await telegram.say(user, "谢谢")
    assert all("区县" not in r["text"] and "详细地址" not in r["text"] for r in replies)


@pytest.mark.parametrize(("text", "expected"), LOOKALIKES.items())
async def test_lookalikes_are_answered_or_offered_filing(telegram, text, expected):
    user = FIRST + 100 + list(LOOKALIKES).index(text)
    await telegram.say(user, text)
    await asyncio.sleep(1.0)  # an answer may come in several messages
    replies = telegram.api.sent(user)
    shown = "\n".join(r["text"] + " " + " ".join(buttons(r)) for r in replies)
    assert not any(number in shown for number in ("110", "119", "120 "))
    offered = "登记诉求" in shown or "帮您登记" in shown
    answered = "解决了" in shown
    assert {"case": offered and not answered, "answer": answered,
            "smalltalk": not offered and not answered}[expected], shown
