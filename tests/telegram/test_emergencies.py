"""Emergencies through the real Application, offline (Rasa is a stub): every kind is answered
at once in a fresh chat, with Rasa stopped and during a hand-off (the agent alerted);
look-alikes go on to Rasa; every signal is recorded, masked, and listed for supervisors.
"""

from __future__ import annotations

import pytest

from bot.nlp.emergency import assess
from bot.safety.emergency import Assessment, EmergencyKind, Level
from bot.telegram import citizen, texts
from tests.messages import BY_KIND, LOOKALIKES, numbers_of
from tests.telegram.conftest import CITIZEN

# The staff tests' settings (agents, supervisors, the agents' group) and their helpers.
from tests.telegram.test_staff import (  # noqa: F401 (fixtures)
    ALICE,
    BOSS,
    STRANGER,
    command,
    deliver,
    desk,
    file_case,
    settings,
)

K = EmergencyKind


def test_every_test_message_is_a_sure_emergency_of_its_kind():
    for kind, text in BY_KIND.items():
        found = assess(text)
        assert (found.level, found.kind) == (Level.EMERGENCY, kind), text


@pytest.mark.parametrize("kind", list(K))
async def test_every_kind_is_answered_at_once_in_a_fresh_chat(harness, kind):
    (reply,) = await harness.say(BY_KIND[kind])
    for number in numbers_of(kind):
        assert number in reply["text"]
    assert "12345 热线不能派出救援" in reply["text"]
    # Rasa only hears that a form, if any, is to be closed; never the message itself.
    assert [r["message"] for r in harness.rasa.requests] == ["/emergency_stop"]
    (record,) = await harness.app.bot_data.emergencies.latest(("emergency",))
    assert (record.kind, record.citizen_id, record.during) == (kind.value, CITIZEN, "chat")
    assert await harness.app.bot_data.cases.count_cases() == 0


@pytest.mark.parametrize("kind", list(K))
async def test_every_kind_is_answered_with_rasa_stopped(harness, kind):
    await harness.rasa.stop()
    (reply,) = await harness.say(BY_KIND[kind])
    for number in numbers_of(kind):
        assert number in reply["text"]
    assert texts.APOLOGY not in reply["text"]


async def test_the_life_saving_steps_are_the_right_ones(harness):
    steps = {
        K.ELECTROCUTION: "切断电源", K.GAS: "室外", K.FIRE: "不要乘电梯", K.CHOKING: "海姆立克",
        K.SELF_HARM: "12356", K.MISSING: "24 小时",
    }
    for kind, step in steps.items():
        (reply,) = await harness.say(BY_KIND[kind], user=CITIZEN + 1 + list(K).index(kind))
        assert step in reply["text"], (kind, reply["text"])


@pytest.mark.parametrize("kind", list(K))
async def test_every_kind_during_a_hand_off_alerts_the_agent(desk, kind):
    number = await file_case(desk)
    await command(desk, ALICE, f"/reply {number} 您好，我是坐席小李，请问油烟几点开始？")
    await deliver(desk)
    rasa_calls = len(desk.rasa.requests)

    reply, receipt = await desk.say(BY_KIND[kind])  # the advice, then: it went to the agent
    assert all(n in reply["text"] for n in numbers_of(kind))
    assert receipt["text"] == texts.HANDOFF_RECEIPT.format(number=number)
    assert len(desk.rasa.requests) == rasa_calls  # the hand-off goes on; Rasa hears nothing
    await deliver(desk)
    alert = desk.api.sent(ALICE)[-1]["text"]
    assert alert.startswith("⚠️【紧急】") and number in alert and BY_KIND[kind] in alert
    (record,) = await desk.app.bot_data.emergencies.latest(("emergency",))
    assert record.during == "handoff"
    events = await desk.app.bot_data.cases.events(
        (await desk.app.bot_data.cases.case_by_number(number)).id)
    assert events[-1].kind == "citizen_message" and events[-1].detail.get("alert")


@pytest.mark.parametrize("text", LOOKALIKES)
async def test_lookalikes_go_on_to_rasa_without_an_emergency_number(harness, text):
    replies = await harness.say(text)
    assert [r["message"] for r in harness.rasa.requests] == [text]
    assert all(n not in r["text"] for r in replies for n in ("110", "119", "120"))
    assert await harness.app.bot_data.emergencies.latest(("emergency", "doubt")) == []


async def test_a_doubt_gives_the_number_first_then_the_conversation_goes_on(harness, monkeypatch):
    # Where the line between doubt and emergency falls is the model's business (see
    # tests/core); here, what the bot does with a doubt.
    text = "路边有个老人倒在地上一动不动 这个归哪个部门管"
    doubt = Assessment(Level.DOUBT, K.MEDICAL, 0.6, ("unresponsive",), ("question",))
    monkeypatch.setattr(citizen, "assess", lambda _: doubt)
    first, second = await harness.say(text)
    assert "120" in first["text"] and "12345 热线不能派出救援" in first["text"]
    assert second["text"] == f"收到：{text}"  # Rasa's answer follows
    assert [r["message"] for r in harness.rasa.requests] == [text]
    (record,) = await harness.app.bot_data.emergencies.latest(("doubt",))
    assert record.kind == "medical"


async def test_a_near_miss_is_recorded_silently_for_review(desk, monkeypatch):
    text = "楼下那户好像有点烟味 不知道是不是做饭"
    near = Assessment(Level.NEAR_MISS, K.FIRE, 0.3, (), ())
    monkeypatch.setattr(citizen, "assess", lambda _: near)
    (reply,) = await desk.say(text)
    assert reply["text"] == f"收到：{text}"
    (listing,) = await command(desk, BOSS, "/emergencies near")
    assert "烟味" in listing["text"] and "未提示" in listing["text"]


async def test_records_are_masked_and_listed_for_supervisors_only(desk):
    await desk.say(f"{BY_KIND[K.WEAPON]} 我电话13912345678 身份证320602199001011234")
    (record,) = await desk.app.bot_data.emergencies.latest(("emergency",))
    assert "13912345678" not in record.text and "139****5678" in record.text
    assert "320602199001011234" not in record.text and "3206**********1234" in record.text

    (listing,) = await command(desk, BOSS, "/emergencies")
    assert "持械、威胁、入室" in listing["text"] and "139****5678" in listing["text"]
    assert "13912345678" not in listing["text"]
    (near,) = await command(desk, BOSS, "/emergencies near")
    assert near["text"] == texts.EMERGENCIES_NONE
    (refused,) = await command(desk, STRANGER, "/emergencies")
    assert refused["text"] == texts.UNKNOWN_COMMAND
