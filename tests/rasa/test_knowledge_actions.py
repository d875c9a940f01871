"""The knowledge actions with a CollectingDispatcher, the real domain and a real store."""

from __future__ import annotations

import pytest
import yaml
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.intake import ActionStartCase
from actions.knowledge import ActionAnswerPolicy, ActionKbFeedback, ActionKbNone, ActionSmallTalk
from bot.config import ROOT
from bot.nlp.search import Hit, SearchResult, decide
from bot.rasa.payloads import payload
from tests.rasa.conftest import MISREAD_QUESTION, SMALL_TALK_LINES, make_tracker, route_of, shown


async def test_a_clear_question_is_answered_with_channel_review_date_and_feedback(res, domain):
    entry = res.kb["hf-withdraw-rent"]
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerPolicy().run(dispatcher, make_tracker(entry.question), domain)
    (answer,) = shown(dispatcher)  # one message: answer, source line and buttons
    assert route_of(dispatcher) == "answer"
    assert answer["text"].startswith(entry.answer)
    assert entry.channel in answer["text"] and "2026-11-28" in answer["text"]
    assert "这个回答解决您的问题了吗" in answer["text"]
    assert [b["title"] for b in answer["buttons"][:2]] == ["解决了", "没解决"]
    assert answer["buttons"][1]["payload"] == payload("kb_feedback", kb_entry=entry.id,
                                                      helpful="no")
    assert SlotSet("kb_entry", entry.id) in events
    assert SlotSet("kb_topic", "housing_fund") in events
    # Counted for the supervisors' direct-answer rate: the entry, not the wording.
    rows = await res.db.fetchall("SELECT citizen_id, entry_id, topic FROM kb_answers")
    assert [tuple(r) for r in rows] == [(4242, entry.id, "housing_fund")]


async def test_an_answer_shows_the_next_likely_entries_in_the_same_message(res, domain):
    """A question near two entries: the likelier is answered, the other offered as a button."""
    question = "公积金提取出来交房租和还房贷都行吗"
    result = res.search.find(question, k=3)
    assert decide(result) == "answer" and result.hits[1].probability >= 0.05
    dispatcher = CollectingDispatcher()
    await ActionAnswerPolicy().run(dispatcher, make_tracker(question), domain)
    (answer,) = shown(dispatcher)
    alternatives = [b for b in answer["buttons"] if b["title"].startswith("您是不是想问：")]
    assert alternatives and answer["text"].startswith(result.hits[0].entry.answer)
    assert alternatives[0]["payload"] == payload("kb_choose", kb_entry=result.hits[1].entry.id)


async def test_a_chosen_candidate_is_answered_directly(res, domain):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("/kb_choose", intent="kb_choose",
                           entities=[{"entity": "kb_entry", "value": "pen-transfer"}])
    await ActionAnswerPolicy().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["text"].startswith(res.kb["pen-transfer"].answer)
    rows = await res.db.fetchall("SELECT entry_id FROM kb_answers")
    assert [r[0] for r in rows] == ["pen-transfer"]


async def test_gibberish_finds_nothing_and_is_recorded_as_a_miss(res, domain):
    dispatcher = CollectingDispatcher()
    await ActionAnswerPolicy().run(dispatcher, make_tracker("zzqqxx"), domain)
    assert "没有找到" in dispatcher.messages[0]["text"]
    misses = await res.feedback.top_misses()
    assert [(m.question, m.route) for m in misses] == [("zzqqxx", "fallback")]
    assert await res.db.fetchall("SELECT * FROM kb_answers") == []


async def test_feedback_is_stored(res, domain):
    for helpful in ("no", "no", "yes"):
        tracker = make_tracker(intent="kb_feedback", entities=[
            {"entity": "kb_entry", "value": "mi-e-voucher"}, {"entity": "helpful", "value": helpful}])
        await ActionKbFeedback().run(CollectingDispatcher(), tracker, domain)
    (row,) = await res.feedback.most_unhelpful()
    assert (row.entry_id, row.unhelpful, row.helpful) == ("mi-e-voucher", 2, 1)


async def test_forged_feedback_for_an_unknown_entry_is_not_stored(res, domain):
    tracker = make_tracker(intent="kb_feedback", entities=[
        {"entity": "kb_entry", "value": "no-such-entry"}, {"entity": "helpful", "value": "no"}])
    dispatcher = CollectingDispatcher()
    await ActionKbFeedback().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["response"] == "utter_default"
    assert await res.feedback.most_unhelpful() == []


async def test_none_of_the_candidates_records_the_question(res, domain):
    tracker = make_tracker(intent="kb_none", slots={"kb_query": "公积金能给我爸用吗"})
    await ActionKbNone().run(CollectingDispatcher(), tracker, domain)
    assert [m.route for m in await res.feedback.top_misses()] == ["clarify_none"]


def test_decide_thresholds(kb):
    a, b = kb.entries[0], kb.entries[1]
    assert decide(SearchResult([], 0.0)) == "fallback"
    assert decide(SearchResult([Hit(a, 0.9, 0.9)], 0.1)) == "fallback"  # nothing close …
    assert decide(SearchResult([Hit(a, 0.9, 0.9)], 0.1), a.topic) == "answer"  # … but agreed
    assert decide(SearchResult([Hit(a, 0.9, 0.8), Hit(b, 0.05, 0.3)], 0.8)) == "answer"
    assert decide(SearchResult([Hit(a, 0.40, 0.6), Hit(b, 0.35, 0.6)], 0.6)) == "clarify"
    assert decide(SearchResult([Hit(a, 0.10, 0.5)], 0.5)) == "clarify"  # not sure enough
    assert decide(SearchResult([Hit(a, 0.25, 0.5), Hit(b, 0.1, 0.4)], 0.5)) == "answer"
    # A closer lead is answered when the topic classifier agrees on the entry's topic.
    close = SearchResult([Hit(a, 0.20, 0.5), Hit(b, 0.12, 0.4)], 0.5)
    assert decide(close) == "clarify"
    assert decide(close, topic=a.topic) == "answer"
    assert decide(close, topic="not-" + a.topic) == "clarify"
    assert decide(SearchResult([Hit(a, 0.20, 0.5), Hit(b, 0.17, 0.4)], 0.5), a.topic) == "clarify"


async def test_a_follow_up_stays_on_the_topic_of_the_previous_answer(res, domain):
    dispatcher = CollectingDispatcher()
    first = await ActionAnswerPolicy().run(dispatcher, make_tracker("公积金怎么提取出来"), domain)
    assert SlotSet("kb_topic", "housing_fund") in first

    for topic, previous in (("housing_fund", "公积金怎么提取出来"),
                            ("medical_insurance", "职工医保怎么交")):
        dispatcher = CollectingDispatcher()
        tracker = make_tracker("那离职了呢？", slots={"kb_topic": topic, "kb_query": previous})
        await ActionAnswerPolicy().run(dispatcher, tracker, domain)
        message = dispatcher.messages[0]
        if message.get("buttons"):  # a clarification: every candidate is on the topic
            candidates = [b["payload"] for b in message["buttons"] if "kb_entry" in b["payload"]]
            assert candidates and all(res.kb[_entry_of(p)].topic == topic for p in candidates)
        else:
            answered = next(e for e in res.kb.entries if message["text"].startswith(e.answer))
            assert answered.topic == topic


def _entry_of(payload_text: str) -> str:
    import json

    return json.loads(payload_text[payload_text.index("{"):])["kb_entry"]


def test_what_counts_as_a_follow_up():
    from actions.knowledge import is_followup

    assert is_followup("那离职了呢？")
    assert is_followup("要是退休了的话")
    assert not is_followup("公积金租房提取需要什么材料")


async def test_unsure_small_talk_is_answered_as_small_talk_not_as_a_miss(res, domain):
    tracker = make_tracker("你好呀", intent="nlu_fallback")
    tracker.latest_message["intent_ranking"] = [
        {"name": "nlu_fallback", "confidence": 0.45}, {"name": "greet", "confidence": 0.4},
        {"name": "ask_policy", "confidence": 0.3}]
    dispatcher = CollectingDispatcher()
    await ActionAnswerPolicy().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["response"] == "utter_greet"
    assert await res.feedback.top_misses() == []


async def test_not_solved_offers_to_file_a_case(res, domain):
    tracker = make_tracker(intent="kb_feedback", entities=[
        {"entity": "kb_entry", "value": "mi-e-voucher"}, {"entity": "helpful", "value": "no"}])
    dispatcher = CollectingDispatcher()
    events = await ActionKbFeedback().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["buttons"][0]["payload"] == '/file_case{"case_kind":"consult"}'
    assert SlotSet("kb_query", res.kb["mi-e-voucher"].question) in events


async def test_a_plain_policy_question_taken_for_chit_chat_is_still_answered(res, domain):
    dispatcher = CollectingDispatcher()
    await ActionSmallTalk().run(dispatcher, make_tracker(MISREAD_QUESTION, intent="chitchat"),
                                domain)
    messages = shown(dispatcher)
    assert messages and all("response" not in m or m["response"] is None for m in messages)
    assert messages[-1]["buttons"]  # feedback, candidates, or the offer to file
    assert route_of(dispatcher) in ("answer", "clarify", "case")


@pytest.mark.parametrize("intent,response", [("chitchat", "utter_chitchat"),
                                             ("out_of_scope", "utter_out_of_scope")])
async def test_small_talk_gets_its_short_answer(res, domain, intent, response):
    for text in SMALL_TALK_LINES:
        dispatcher = CollectingDispatcher()
        events = await ActionSmallTalk().run(dispatcher, make_tracker(text, intent=intent), domain)
        assert [m["response"] for m in shown(dispatcher)] == [response], text
        assert route_of(dispatcher) == ("out_of_scope" if intent == "out_of_scope"
                                        else "smalltalk")
        assert events == []


@pytest.mark.parametrize("intent,response", [("greet", "utter_greet"),
                                             ("goodbye", "utter_goodbye"),
                                             ("thanks", "utter_thanks")])
async def test_a_courtesy_gets_its_courtesy_unless_it_goes_on_to_ask_a_policy_question(
        res, domain, intent, response):
    plain = {"greet": "您好 在吗", "goodbye": "好的那我先下线了 回头再聊",
             "thanks": "谢谢你啊，医保那个事我已经弄明白了"}[intent]
    dispatcher = CollectingDispatcher()
    await ActionSmallTalk().run(dispatcher, make_tracker(plain, intent=intent), domain)
    assert [m["response"] for m in shown(dispatcher)] == [response]
    assert route_of(dispatcher) == "smalltalk"
    # The same courtesy, then a question plainly about a policy topic: it is searched.
    asked = {"greet": "您好，想打听下退休了住房公积金怎么全部取出来？",
             "goodbye": "再见前再问一句，退休以后公积金能一次取完吗",
             "thanks": "谢谢了，还想问退休后公积金咋个提取出来呢"}[intent]
    dispatcher = CollectingDispatcher()
    await ActionSmallTalk().run(dispatcher, make_tracker(asked, intent=intent), domain)
    assert all(m.get("response") is None for m in shown(dispatcher))
    assert route_of(dispatcher) in ("answer", "clarify")


@pytest.mark.parametrize("intent", ["thanks", "goodbye", "cancel", "chitchat"])
async def test_a_letter_rasa_takes_for_small_talk_is_offered_filing_not_small_talk(
        res, domain, intent):
    letter = ("我们村东头那条水泥路去年才修好，今年开春就被拉石子的大货车压得坑坑洼洼，"
              "下雨天全是积水，孩子上学只能绕远路走田埂，已经跟村里说过几次了，麻烦管一管，谢谢")
    assert len(letter) >= 50
    dispatcher = CollectingDispatcher()
    events = await ActionSmallTalk().run(dispatcher, make_tracker(letter, intent=intent), domain)
    assert all(m.get("response") is None for m in shown(dispatcher))
    assert route_of(dispatcher) == "case"
    assert shown(dispatcher)[-1]["buttons"][0]["title"] == "登记诉求"
    assert SlotSet("kb_query", letter) in events


async def test_cancel_with_nothing_open_says_so(res, domain):
    dispatcher = CollectingDispatcher()
    await ActionSmallTalk().run(dispatcher, make_tracker("算了算了 不弄了", intent="cancel"),
                                domain)
    assert [m["response"] for m in shown(dispatcher)] == ["utter_nothing_to_cancel"]
    assert route_of(dispatcher) == "smalltalk"


async def test_a_daily_life_problem_taken_for_chit_chat_is_offered_filing(res, domain):
    for intent in ("chitchat", "out_of_scope"):
        dispatcher = CollectingDispatcher()
        text = "小区消防通道天天被几辆私家车堵着，物业说了也不管"
        events = await ActionSmallTalk().run(dispatcher, make_tracker(text, intent=intent), domain)
        (offer,) = shown(dispatcher)
        assert "登记" in offer["text"] and offer["buttons"][0]["title"] == "登记诉求"
        assert route_of(dispatcher) == "case"
        assert SlotSet("kb_query", text) in events


async def test_a_policy_question_read_as_a_complaint_is_answered_and_the_form_stays_closed(
        res, domain):
    """「登记」 only on an explicit complaint or the button: a question is searched first."""
    question = "周末加班费到底怎么算的 公司说只给调休"
    dispatcher = CollectingDispatcher()
    events = await ActionStartCase().run(
        dispatcher, make_tracker(question, intent="file_complaint"), domain)
    assert FollowupAction("action_listen") in events
    assert route_of(dispatcher) in ("answer", "clarify")
    assert not any(e.get("name") == "case_draft_id" for e in events)
    assert "登记这件" not in " ".join(m.get("text") or "" for m in dispatcher.messages)
    # Said as a complaint, the same matter opens the form.
    dispatcher = CollectingDispatcher()
    events = await ActionStartCase().run(
        dispatcher, make_tracker("我要投诉公司周末加班不给加班费", intent="file_complaint"), domain)
    assert any(e.get("name") == "case_draft_id" for e in events)


def test_typos_and_homophones_find_their_entry(res):
    """The held-out typo questions (testsets/knowledge_typos.yml) through the live search:
    the pinyin view keeps 低宝, 公基金, 医宝 and 个说 on their entries."""
    items = yaml.safe_load((ROOT / "testsets" / "knowledge_typos.yml").read_text(encoding="utf-8"))
    questions = [(item["entry"], q) for item in items for q in item["questions"]]
    results = res.search.find_many([q for _, q in questions], k=3)
    top1 = sum(r.hits[0].entry.id == entry for (entry, _), r in zip(questions, results, strict=True))
    top3 = sum(entry in [h.entry.id for h in r.hits]
               for (entry, _), r in zip(questions, results, strict=True))
    assert top1 / len(questions) >= 0.95 and top3 / len(questions) >= 0.98


async def test_a_question_read_as_a_filing_is_answered_with_filing_offered_at_once(res, domain):
    """Question-shaped, no word of filing, the search sure of its answer: answered, the form
    stays closed, and 「登记诉求」 is on the answer because Rasa read it as a filing."""
    question = "做兼职拿了两千块劳务费 被扣了两百多的税 这样扣对不对"
    dispatcher = CollectingDispatcher()
    events = await ActionStartCase().run(
        dispatcher, make_tracker(question, intent="file_complaint"), domain)
    assert FollowupAction("action_listen") in events
    assert route_of(dispatcher) == "answer"
    assert not any(e.get("name") == "case_draft_id" for e in events)
    answer = next(m for m in dispatcher.messages if m.get("buttons"))
    titles = [b["title"] for b in answer["buttons"]]
    assert "没解决" in titles and any("登记诉求" in t for t in titles)
    # A question asked as a question (not read as a filing) is not offered filing up front.
    dispatcher = CollectingDispatcher()
    await ActionAnswerPolicy().run(dispatcher, make_tracker(question, intent="ask_policy"), domain)
    answer = next(m for m in dispatcher.messages if m.get("buttons"))
    assert route_of(dispatcher) == "answer"
    assert not any("登记诉求" in b["title"] for b in answer["buttons"])
