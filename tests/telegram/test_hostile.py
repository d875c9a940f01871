"""Hostile input and faults around the bot, through the real Application (Rasa a stub).

Property-based where it fits: whatever a person types or whatever callback data a forged
client sends, the bot answers clearly, does not crash, and reveals no one else's case.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from bot.cases.models import CaseDraft, CaseKind
from bot.store.db import open_database
from bot.telegram import texts
from bot.telegram.app import build_application
from bot.telegram.local_api import ApiError, LocalBotApi, LocalRequest
from tests.telegram.conftest import CITIZEN, Harness

OTHER = 3002
_users = itertools.count(100_000)

# Any text a Telegram client can send, and the nastiest kinds on purpose.
HOSTILE_TEXT = st.one_of(
    st.text(min_size=1, max_size=300),
    st.text(alphabet=st.sampled_from("\u200b\u200c\u200d\u202e\u2066\ufeff\x00\x07\x1b\t\r"),
            min_size=1, max_size=50),
    st.sampled_from([
        "<b>粗体</b><script>alert(1)</script>", "*加粗* _斜体_ [链接](http://x) `代码` ||剧透||",
        "'; DROP TABLE cases; --", "1 OR 1=1", "\u202e反向文字\u202c测试", "😀😡🙏🏻👨‍👩‍👧",
        "/status NT209912319999", "/status ' OR '1'='1", "/mycases extra args here",
        "/claim NT202611280001", "/queue", "/reply", "/start@SomeOtherBot",
        "x" * 10_000, "查询 NT2026112800010", "查询NT20261128000１",
    ]),
)


@pytest.fixture
async def other_case(harness):
    """A case filed by someone else, whose number a stranger may try."""
    draft = CaseDraft(citizen_id=OTHER, chat_id=OTHER, kind=CaseKind.COMPLAINT,
                      description="别人的秘密案件：邻居违建", phone="13700001111")
    return await harness.app.bot_data.cases.file_case(draft)


@hyp_settings(max_examples=60, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=HOSTILE_TEXT)
async def test_any_text_gets_a_clear_answer_and_reveals_nothing(harness, other_case, text):
    harness.rasa.reply = lambda sender, message: [{"text": "收到"}]
    user = next(_users)
    before_errors = len(harness.api.calls_of("sendMessage"))
    replies = await harness.say(text, user=user)
    assert replies, f"no answer to {text[:40]!r}"
    for reply in replies:
        assert reply["text"].strip()
        assert "parse_mode" not in reply  # plain text: nothing typed can become markup
        assert other_case.number not in reply["text"]
        assert "秘密" not in reply["text"] and "13700001111" not in reply["text"]
        assert reply["text"] != texts.ERROR
    assert len(harness.api.calls_of("sendMessage")) > before_errors


@hyp_settings(max_examples=60, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(
    st.text(min_size=1, max_size=64),
    st.builds("k{}:{}".format, st.integers(-10, 10**15), st.integers(-5, 200)),
    st.builds("r:{}:{}".format, st.integers(0, 10**13), st.sampled_from("123cnx")),
    st.builds("a:{}:{}".format, st.sampled_from(["c", "t", "d", "q", "td"]),
              st.text(min_size=1, max_size=20)),
))
async def test_forged_callback_data_is_refused_politely(harness, other_case, data):
    harness.rasa.reply = lambda sender, message: [{"text": "收到"}]
    user = next(_users)
    (question,) = await harness.say("你好", user=user)
    answers = len(harness.api.calls_of("answerCallbackQuery"))
    replies = await harness.press_data(question, data, user=user)
    assert len(harness.api.calls_of("answerCallbackQuery")) == answers + 1  # answered once
    assert harness.callback_answers()[-1] == texts.BUTTON_STALE
    assert replies == []
    assert harness.rasa.requests[-1]["message"] == "你好"  # nothing went to Rasa
    case = await harness.app.bot_data.cases.case_by_number(other_case.number)
    assert case.assignee_id is None and case.status.value == "accepted"


async def test_someone_elses_case_number_looks_like_a_missing_one(harness, other_case):
    """/status is answered by Rasa's action; here the bot's own /claim and buttons."""
    (claim,) = await harness.say(f"/claim {other_case.number}")
    (missing,) = await harness.say("/claim NT209912319999")
    assert claim["text"] == missing["text"] == texts.UNKNOWN_COMMAND
    (question,) = await harness.say("你好")
    await harness.press_data(question, f"a:d:{other_case.number}")
    assert harness.callback_answers()[-1] == texts.BUTTON_STALE


async def test_telegram_5xx_and_429_are_retried_and_the_reply_arrives_once(harness):
    harness.rasa.reply = lambda sender, message: [{"text": "这是答复"}]
    harness.api.fail_next("sendMessage", ApiError(502, "Bad Gateway"), times=2)
    (reply,) = await harness.say("公积金")
    assert reply["text"] == "这是答复"
    harness.api.fail_next("sendMessage", ApiError(429, "Too Many Requests: retry after 1", 1))
    (reply,) = await harness.say("医保")
    assert reply["text"] == "这是答复"
    texts_sent = [m["text"] for m in harness.api.sent(CITIZEN)]
    assert texts_sent == ["这是答复", "这是答复"]  # once per question, no duplicates


async def test_a_refused_message_is_not_retried(harness, caplog):
    harness.rasa.reply = lambda sender, message: [{"text": "这是答复"}]
    harness.api.fail_next("sendMessage", ApiError(400, "Bad Request: can't parse entities"))
    await harness.say("公积金")
    assert len(harness.api.calls_of("sendMessage")) == 2  # the refused one, then the apology
    assert harness.api.sent(CITIZEN)[-1]["text"] == texts.ERROR


async def test_a_busy_database_is_waited_for_and_the_citizen_sees_nothing_wrong(harness,
                                                                                 settings):
    harness.rasa.reply = lambda sender, message: [{"text": "这是答复"}]
    other_process = await open_database(settings.db_path)
    try:
        async def hold_the_lock() -> None:
            async with other_process.write() as conn:
                await conn.execute("INSERT INTO case_counters (day, last) VALUES ('lock', 1)")
                await asyncio.sleep(0.8)  # another process writing for a while

        holder = asyncio.create_task(hold_the_lock())
        await asyncio.sleep(0.1)
        (reply,) = await harness.say("公积金怎么取")
        await holder
    finally:
        await other_process.close()
    assert reply["text"] == "这是答复"


async def test_a_flood_from_one_citizen_is_told_once_and_others_are_unaffected(
        settings, rasa):
    rasa.reply = lambda sender, message: [{"text": "收到"}]
    settings = replace(settings, citizen_rate_per_minute=5, agent_ids=frozenset({OTHER}))
    api = LocalBotApi()
    app = build_application(settings, request=LocalRequest(api))
    async with app:
        await app.post_init(app)
        harness = Harness(app, api, rasa)
        answers = [await harness.say(f"第{i}条") for i in range(9)]
        assert all(a[0]["text"] == "收到" for a in answers[:5])
        assert answers[5][0]["text"] == texts.SLOW_DOWN
        assert answers[6:] == [[], [], []]  # told once, then quiet
        assert len(rasa.requests) == 5
        (other,) = await harness.say("你好", user=CITIZEN + 1)
        assert other["text"] == "收到"
        staff = [await harness.say(f"坐席{i}", user=OTHER) for i in range(8)]
        assert all(s[0]["text"] == "收到" for s in staff)  # staff are not limited
        await app.post_shutdown(app)
