"""Citizen handlers through the real Application, offline."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np

from bot.nlp import handover, vectors
from bot.nlp.vectors import SentenceVectors
from bot.telegram import texts
from bot.telegram.local_api import ApiError
from tests.telegram.conftest import CITIZEN


def buttons_of(message):
    return [b["text"] for row in message["reply_markup"]["inline_keyboard"] for b in row]


async def test_start_greets_and_names_12345(harness):
    (reply,) = await harness.say("/start")
    assert reply["text"] == texts.START
    assert "12345" in reply["text"] and "投诉" in reply["text"]
    assert harness.rasa.requests == []


async def test_help_and_the_command_menu(harness):
    (reply,) = await harness.say("/help")
    assert reply["text"] == texts.HELP
    (call,) = harness.api.calls_of("setMyCommands")
    assert [c["command"] for c in call.params["commands"]][:2] == ["start", "help"]


async def test_text_goes_to_rasa_with_the_user_id_as_sender(harness):
    replies = await harness.say("医保卡丢了怎么办")
    assert [r["text"] for r in replies] == ["收到：医保卡丢了怎么办"]
    (request,) = harness.rasa.requests
    assert request["sender"] == str(CITIZEN)
    assert request["metadata"]["chat_id"] == CITIZEN
    assert harness.api.calls_of("sendChatAction") == []  # a quick answer needs no indicator


async def test_the_emergency_readers_vector_goes_along_so_the_actions_need_not_embed(harness):
    await harness.say("灵活就业人员怎么交医保")
    (request,) = harness.rasa.requests
    given = request["metadata"][handover.KEY]
    assert handover.accept("灵活就业人员怎么交医保", {handover.KEY: given})
    vector = np.frombuffer(base64.b64decode(given["vector"]), dtype="<f4")
    vectors.forget_recent()
    assert np.array_equal(vector, SentenceVectors(1.0, Path("unused.npz")).embed(
        ["灵活就业人员怎么交医保"])[0])
    await harness.say("/mycases")  # a command: nothing was embedded, nothing goes along
    assert handover.KEY not in harness.rasa.requests[-1]["metadata"]


async def test_a_slow_answer_shows_the_typing_indicator(harness):
    harness.rasa.delay = 0.6
    harness.rasa.reply = lambda sender, message: [{"recipient_id": sender, "text": "好的"}]
    (reply,) = await harness.say("公积金")
    assert reply["text"] == "好的"
    assert harness.api.calls_of("sendChatAction")[0].params["action"] == "typing"


async def test_invisible_characters_are_removed_before_rasa(harness):
    await harness.say("公\u200b积\u202e金\ufeff提取")
    assert harness.rasa.requests[0]["message"] == "公积金提取"


async def test_rasa_buttons_become_a_one_use_inline_keyboard(harness):
    long_payload = '/kb_feedback{"kb_entry":"mi-outpatient-reimbursement","helpful":"yes"}'
    harness.rasa.reply = lambda sender, message: (
        [{"text": "这个回答解决您的问题了吗？", "buttons": [
            {"title": "解决了", "payload": long_payload},
            {"title": "没解决", "payload": "/kb_feedback"}]}]
        if message == "问题" else [{"text": f"好的：{message}"}])
    (question,) = await harness.say("问题")
    assert buttons_of(question) == ["解决了", "没解决"]
    second_button = question["reply_markup"]["inline_keyboard"][0][1]["callback_data"]
    assert all(len(b["callback_data"].encode()) <= 64
               for row in question["reply_markup"]["inline_keyboard"] for b in row)

    replies = await harness.press(question, 0)
    assert [r["text"] for r in replies] == [f"好的：{long_payload}"]
    assert "reply_markup" not in harness.api.sent(CITIZEN)[0]  # keyboard removed
    assert harness.callback_answers() == ["已选择：解决了"]

    # A double click: the second press (of either button) submits nothing.
    again = await harness.press_data(question, second_button)
    assert again == []
    assert harness.callback_answers()[-1] == texts.BUTTON_USED
    assert len(harness.rasa.requests) == 2


async def test_forged_or_foreign_callback_data_is_refused(harness):
    harness.rasa.reply = lambda s, m: [{"text": "选吧", "buttons": [{"title": "甲", "payload": "/x"}]}]
    (question,) = await harness.say("问")
    real = question["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    for forged in ("k999:0", "k1:7", "drop table cases", "k" + "9" * 40 + ":0"):
        assert await harness.press_data(question, forged) == []
    # Someone else pressing a button of this citizen's private chat (forged chat).
    assert await harness.press_data(question, real, user=CITIZEN + 1) == []
    assert set(harness.callback_answers()) == {texts.BUTTON_STALE}
    assert len(harness.rasa.requests) == 1
    # The owner's real press still works afterwards.
    await harness.press_data(question, real)
    assert harness.rasa.requests[-1]["message"] == "/x"


async def test_rasa_down_gets_an_apology_then_service_resumes(harness):
    await harness.rasa.stop()
    (reply,) = await harness.say("公积金怎么提取")
    assert reply["text"] == texts.APOLOGY and "12345" in reply["text"]
    await harness.rasa.start()
    replies = await harness.say("公积金怎么提取")
    assert [r["text"] for r in replies] == ["收到：公积金怎么提取"]


async def test_an_empty_answer_from_rasa_is_an_apology(harness):
    harness.rasa.reply = lambda s, m: []
    (reply,) = await harness.say("你好")
    assert reply["text"] == texts.APOLOGY


async def test_replies_over_4096_characters_are_split(harness):
    long_text = "\n".join(f"第{i}行：" + "很长的政策说明" * 20 for i in range(60))
    harness.rasa.reply = lambda s, m: [{"text": long_text}]
    replies = await harness.say("长")
    assert len(replies) >= 3
    assert all(len(r["text"]) <= 4096 for r in replies)
    assert "".join(r["text"] for r in replies).replace("\n", "") == long_text.replace("\n", "")


async def test_media_gets_a_clear_answer(harness):
    for kind in ("voice", "sticker", "location", "document"):
        before = harness.api.last_message_id()
        await harness.process(await harness.api.send_media(CITIZEN, kind))
        (reply,) = [m for m in harness.api.sent(CITIZEN) if m["message_id"] > before]
        assert reply["text"] == texts.UNSUPPORTED_MEDIA, kind
    assert harness.rasa.requests == []


async def test_unknown_commands_and_over_long_or_empty_messages(harness):
    assert (await harness.say("/rm_rf"))[0]["text"] == texts.UNKNOWN_COMMAND
    assert (await harness.say("投" * 5000))[0]["text"].startswith("您的消息太长了")
    assert (await harness.say("\u200b\u200b"))[0]["text"] == texts.EMPTY
    assert harness.rasa.requests == []


async def test_markup_and_sql_looking_text_are_passed_on_as_plain_text(harness):
    text = "<b>投诉</b> *加急* '); DROP TABLE cases; --"
    (reply,) = await harness.say(text)
    assert reply["text"] == f"收到：{text}"
    assert "parse_mode" not in reply


async def test_a_duplicate_update_is_handled_once(harness):
    update = await harness.api.send_text(CITIZEN, "重复的消息")
    await harness.process(update)
    await harness.process(json.loads(json.dumps(update)))
    assert len(harness.rasa.requests) == 1


async def test_an_error_in_a_handler_is_logged_and_answered_kindly(harness, caplog):
    harness.api.fail_next("sendMessage", ApiError(400, "Bad Request: something unexpected"))
    await harness.say("触发错误")
    assert "error while handling an update" in caplog.text
    assert harness.api.sent(CITIZEN)[-1]["text"] == texts.ERROR


async def test_commands_and_photos_become_exact_payloads_for_rasa(harness):
    await harness.say("/status nt 2026 1128 0001")
    await harness.say("/status")
    await harness.say("/mycases")
    await harness.say("/cancel")
    await harness.process(await harness.api.send_media(CITIZEN, "photo"))
    sent = [r["message"] for r in harness.rasa.requests]
    assert sent[:4] == ['/check_status{"case_number":"NT202611280001"}', "/check_status",
                        "/my_cases", "/cancel"]
    assert sent[4].startswith('/attach_photo{"photo":"photo')
