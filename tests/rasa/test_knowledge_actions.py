"""The knowledge actions with a CollectingDispatcher, the real domain and a real store."""

from __future__ import annotations

from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.knowledge import (
    ActionAnswerPolicy,
    ActionKbFeedback,
    ActionKbNone,
    decide,
    payload,
)
from bot.knowledge.search import Hit
from tests.rasa.conftest import make_tracker


async def test_a_clear_question_is_answered_with_channel_review_date_and_feedback(res, domain):
    entry = res.kb["hf-withdraw-rent"]
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerPolicy().run(dispatcher, make_tracker(entry.question), domain)
    answer, ask = dispatcher.messages
    assert answer["text"].startswith(entry.answer)
    assert entry.channel in answer["text"] and "2026-11-28" in answer["text"]
    assert [b["title"] for b in ask["buttons"]] == ["解决了", "没解决"]
    assert ask["buttons"][1]["payload"] == payload("kb_feedback", kb_entry=entry.id, helpful="no")
    assert SlotSet("kb_entry", entry.id) in events
    assert SlotSet("kb_topic", "housing_fund") in events


async def test_a_chosen_candidate_is_answered_directly(res, domain):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("/kb_choose", intent="kb_choose",
                           entities=[{"entity": "kb_entry", "value": "pen-transfer"}])
    await ActionAnswerPolicy().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["text"].startswith(res.kb["pen-transfer"].answer)


async def test_gibberish_finds_nothing_and_is_recorded_as_a_miss(res, domain):
    dispatcher = CollectingDispatcher()
    await ActionAnswerPolicy().run(dispatcher, make_tracker("zzqqxx"), domain)
    assert "没有找到" in dispatcher.messages[0]["text"]
    misses = await res.feedback.top_misses()
    assert [(m.question, m.route) for m in misses] == [("zzqqxx", "fallback")]


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
    assert decide([]) == "fallback"
    assert decide([Hit(a, 0.2)]) == "fallback"
    assert decide([Hit(a, 0.9), Hit(b, 0.3)]) == "answer"
    assert decide([Hit(a, 0.6), Hit(b, 0.58)]) == "clarify"
    assert decide([Hit(a, 0.4)]) == "clarify"
