"""Policy questions: answer, clarify, or say plainly that nothing fits."""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import resources
from bot.knowledge.loader import Entry
from bot.nlp import handover
from bot.nlp.route import CASE_INTENTS, Route, intents, route
from bot.nlp.search import decide
from bot.rasa.payloads import payload

log = logging.getLogger(__name__)

def answer_text(entry: Entry) -> str:
    return (
        f"{entry.answer}\n\n"
        f"依据：{entry.source}｜{entry.channel_label}｜核对：{entry.reviewed.isoformat()}\n"
        "这个回答解决您的问题了吗？"
    )


def send_answer(dispatcher: CollectingDispatcher, entry: Entry,
                alternatives: tuple[Entry, ...] = (), offer_filing: bool = False) -> None:
    """One message: the answer, a short source line, 解决了 / 没解决, the next likely
    entries as 「您是不是想问」 buttons, and (`offer_filing`: the message also read as a
    complaint or request) 「登记诉求」 at once."""
    buttons = [
        {"title": "解决了", "payload": payload("kb_feedback", kb_entry=entry.id, helpful="yes")},
        {"title": "没解决", "payload": payload("kb_feedback", kb_entry=entry.id, helpful="no")},
    ]
    buttons += [{"title": f"您是不是想问：{other.question}",
                 "payload": payload("kb_choose", kb_entry=other.id)} for other in alternatives]
    if offer_filing:
        buttons.append(FILE_BUTTON)
    dispatcher.utter_message(text=answer_text(entry), buttons=buttons)


# Alternatives shown under an answer: the next entries at least this probable, two at most.
ALTERNATIVE_PROBABILITY = 0.05
ALTERNATIVES = 2


_FOLLOWUP = re.compile(r"^(那|那么|那要是|如果|要是|假如|还有|换成)|(呢|的话|怎么样|怎么办|行吗|可以吗)[？?。！!]*$")


def is_followup(text: str) -> bool:
    """A short question that leans on the previous one: 「那离职了呢？」, 「要是退休了的话」."""
    return len(text.strip()) <= 16 and bool(_FOLLOWUP.search(text.strip()))


SMALL_TALK_RESPONSES = {
    "greet": "utter_greet",
    "goodbye": "utter_goodbye",
    "thanks": "utter_thanks",
    "chitchat": "utter_chitchat",
    "out_of_scope": "utter_out_of_scope",
    "cancel": "utter_nothing_to_cancel",
}


def tag_route(dispatcher: CollectingDispatcher, route: str) -> None:
    """Tells the bot what this turn did (answer, clarify, case, smalltalk …); shown to no one."""
    dispatcher.utter_message(json_message={"route": route})


PROBLEM_OFFER = ("听起来您遇到了需要有关部门处理的问题。需要的话，我可以帮您登记下来，"
                 "由工作人员跟进办理，并告诉您案件编号。")
PROBLEM_BUTTON = {"title": "登记诉求", "payload": '/file_case{"case_kind":"complaint"}'}
FILE_BUTTON = {"title": "登记诉求，由工作人员跟进", "payload": '/file_case{"case_kind":"consult"}'}


def message_text(tracker: Tracker) -> str:
    """The citizen's latest message; its sentence vector, when the bot handed it over, is
    kept so that reading the message does not embed it again (bot.nlp.handover)."""
    text = tracker.latest_message.get("text") or ""
    handover.accept(text, tracker.latest_message.get("metadata"))
    return text


def citizen_id(tracker: Tracker) -> int:
    try:
        return int(tracker.sender_id)
    except (TypeError, ValueError):
        return 0


class ActionAnswerPolicy(Action):
    """Every message Rasa sends here (policy questions, low-confidence messages, chit-chat
    and out-of-scope ones) is decided by `bot.nlp.route.route`, as batch triage is."""

    def name(self) -> str:
        return "action_answer_policy"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        res = await resources.get()
        chosen = next(tracker.get_latest_entity_values("kb_entry"), None)
        if chosen and res.kb.get(chosen):
            entry = res.kb[chosen]
            send_answer(dispatcher, entry)
            await res.feedback.record_answer(citizen_id(tracker), entry.id, entry.topic)
            return [SlotSet("kb_entry", entry.id), SlotSet("kb_topic", entry.topic)]

        question = message_text(tracker)
        result = res.search.find(question, k=3)
        topic = tracker.get_slot("kb_topic")
        if topic and is_followup(question):
            # 「那离职了呢？」 after a 公积金 answer: look within that topic first.
            within = res.search.find(question, k=3, topic=topic)
            if decide(within) == "fallback":
                within = res.search.find(f"{tracker.get_slot('kb_query') or ''} {question}", k=3,
                                         topic=topic)
            if decide(within) != "fallback":
                result = within
        intent, best, _ = intents(tracker.latest_message)
        found = route(question, intent, best, result, res.topics.guess(question), res.topics,
                      res.problems)
        hits = result.hits
        if found is Route.ANSWER:
            entry = hits[0].entry
            send_answer(dispatcher, entry, tuple(
                hit.entry for hit in hits[1:1 + ALTERNATIVES]
                if hit.probability >= ALTERNATIVE_PROBABILITY),
                offer_filing=bool({intent, best} & CASE_INTENTS))
            await res.feedback.record_answer(citizen_id(tracker), entry.id, entry.topic)
            tag_route(dispatcher, "answer")
            return [
                SlotSet("kb_entry", entry.id),
                SlotSet("kb_topic", entry.topic),
                SlotSet("kb_query", question),
            ]
        if found is Route.CLARIFY:
            buttons = [
                {"title": hit.entry.question, "payload": payload("kb_choose", kb_entry=hit.entry.id)}
                for hit in hits
            ]
            buttons.append({"title": "都不是", "payload": payload("kb_none")})
            buttons.append(FILE_BUTTON)  # unclear: filing is offered at once, not opened
            dispatcher.utter_message(text="您想问的是下面哪一个？", buttons=buttons)
            tag_route(dispatcher, "clarify")
            return [SlotSet("kb_query", question), SlotSet("kb_topic", hits[0].entry.topic)]
        if found in (Route.SMALLTALK, Route.OUT_OF_SCOPE):
            said = intent if intent in SMALL_TALK_RESPONSES else best
            dispatcher.utter_message(response=SMALL_TALK_RESPONSES.get(said, "utter_chitchat"))
            tag_route(dispatcher, found.value)
            return []
        if found is Route.PROBLEM:
            # A problem in daily life, said without 投诉 or 举报: offer filing, never turn it away.
            dispatcher.utter_message(text=PROBLEM_OFFER, buttons=[PROBLEM_BUTTON])
            tag_route(dispatcher, "case")
            return [SlotSet("kb_query", question)]
        await res.feedback.record_miss(citizen_id(tracker), question, "fallback")
        dispatcher.utter_message(
            text=(
                "抱歉，我这里暂时没有找到能回答这个问题的内容。您可以换个说法再问一次；"
                "也可以登记下来，由工作人员跟进答复，或者拨打 12345。"
            ),
            buttons=[FILE_BUTTON],
        )
        tag_route(dispatcher, "case")
        return [SlotSet("kb_query", question)]


class ActionSmallTalk(ActionAnswerPolicy):
    """Chit-chat, out-of-scope and courtesy intents: the same decision (a misread policy
    question is still searched, a daily-life problem is offered filing, a greeting that
    goes on to ask a policy question is that question)."""

    def name(self) -> str:
        return "action_small_talk"


class ActionKbNone(Action):
    def name(self) -> str:
        return "action_kb_none"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        res = await resources.get()
        question = tracker.get_slot("kb_query") or ""
        if question:
            await res.feedback.record_miss(citizen_id(tracker), question, "clarify_none")
        dispatcher.utter_message(
            text=(
                "抱歉，没能找到您要的内容。您可以换个说法再问；也可以登记下来，"
                "由工作人员跟进答复，或者拨打 12345。"
            ),
            buttons=[FILE_BUTTON],
        )
        return []


class ActionKbFeedback(Action):
    def name(self) -> str:
        return "action_kb_feedback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        res = await resources.get()
        entry_id = next(tracker.get_latest_entity_values("kb_entry"), None)
        helpful = next(tracker.get_latest_entity_values("helpful"), None)
        if entry_id is None or res.kb.get(entry_id) is None or helpful not in ("yes", "no"):
            dispatcher.utter_message(response="utter_default")
            return []
        await res.feedback.record_feedback(citizen_id(tracker), entry_id, helpful == "yes")
        if helpful == "yes":
            dispatcher.utter_message(response="utter_kb_feedback_thanks")
        else:
            dispatcher.utter_message(
                text=(
                    "抱歉没能解决您的问题。您可以换个说法再问；也可以登记下来，"
                    "由工作人员跟进答复，或者拨打 12345。"
                ),
                buttons=[FILE_BUTTON],
            )
            asked = tracker.get_slot("kb_query")
            if asked:
                # The citizen's own wording: if they file now, the form starts from it and an
                # agent's reply to the case can become a knowledge draft.
                await res.feedback.record_unresolved(citizen_id(tracker), asked)
            question = asked or res.kb[entry_id].question
            return [SlotSet("kb_query", question)]
        return []
