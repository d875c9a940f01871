"""The one decision of what a turn does with a citizen's message, once Rasa has read its
intent: the live bot's actions (actions/knowledge.py) and batch triage (bot.nlp.triage)
both call `route`, so they cannot drift apart. Emergencies are decided before, in the bot.

In order:
1. chit-chat or out-of-scope intents: a plain policy question misread so is searched;
   a problem in daily life is offered filing; the rest gets its short answer;
2. greetings and thanks, status look-ups and filings follow their intent, except that a
   question with no word of filing (「周末加班费怎么算」 read as a complaint) is searched
   first when it is plainly about a policy topic or the search is sure of its answer: the
   form opens only on an explicit complaint, request or report, or on the 「登记诉求」 button;
3. everything else is searched, and answered when the search is sure;
4. no sure answer: small talk when Rasa's best guess under its fallback is small talk,
   else the candidates to choose from, else "not found" (the bot says so and offers filing).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from bot.nlp.problems import ProblemDetector
from bot.nlp.search import SearchResult, decide
from bot.nlp.topics import TopicClassifier, TopicGuess


class Route(StrEnum):
    ANSWER = "answer"
    CLARIFY = "clarify"
    NOT_FOUND = "not_found"        # searched, nothing fits: said plainly, filing offered
    PROBLEM = "problem"            # a daily-life problem without 投诉/举报: filing offered
    CASE = "case"                  # an explicit complaint, request, suggestion or report
    SELF_SERVICE = "self_service"  # status look-ups
    SMALLTALK = "smalltalk"
    OUT_OF_SCOPE = "out_of_scope"


SMALL_TALK_INTENTS = {"greet", "goodbye", "thanks", "affirm", "deny", "chitchat", "cancel"}
CASE_INTENTS = {"file_complaint", "file_help", "file_suggestion", "file_report", "ask_human"}
SELF_SERVICE_INTENTS = {"check_status", "my_cases"}
# Chit-chat and out of scope: a plain policy question is searched even without a question
# word, and a daily-life problem is offered filing.
MISREAD_AS_SMALL_TALK = {"chitchat", "out_of_scope"}
# A greeting, goodbye or thanks that goes on to ask a plain policy question
# (「您好，想打听下退休了公积金怎么取？」) is that question; without a question it stays
# small talk (「谢谢，医保的事我明白了」).
COURTESIES = {"greet", "goodbye", "thanks"}
# The intents whose rule runs action_small_talk outside a form: chit-chat, out of scope,
# the courtesies and 「取消」 with nothing to cancel.
SMALL_TALK_ACTION_INTENTS = MISREAD_AS_SMALL_TALK | COURTESIES | {"cancel"}
# Small talk is short: the training examples of those intents are at most 24 characters,
# the project's held-out ones at most 38. A message this long that Rasa takes for one of
# them (a letter that ends 「谢谢」, a complaint that opens 「算了不说了」) says more.
LONG_MESSAGE = 50
FALLBACK = "nlu_fallback"
# A message asks something …
QUESTION = re.compile(r"怎么|怎样|如何|咋|啥|什么|多少|几[个天月年号岁倍]|哪[里儿个些家]|能不能|可不可以|"
                      r"能否|是否|是不是|算不算|有没有|要不要|对不对|合不合|真的假的|有这(个|种)?规定|吗|呢|[?？]")
# … unless it also says plainly that the citizen wants something filed or done.
FILING_WORDS = re.compile(r"投诉|举报|反映|控告|曝光|登记|帮我处理|帮我解决|派人|管一管|管管|处理一下")
# Under a low-confidence fallback, these best guesses are answered as small talk.
FALLBACK_SMALL_TALK = {"greet", "goodbye", "thanks", "chitchat", "out_of_scope"}


def route(text: str, intent: str, best: str | None, search: SearchResult, topic: TopicGuess,
          topics: TopicClassifier, problems: ProblemDetector) -> Route:
    """`intent` is Rasa's (nlu_fallback when unsure) and `best` the likeliest real intent
    under it; `search` and `topic` are this text's knowledge search and topic guess."""
    if intent in MISREAD_AS_SMALL_TALK or intent in SMALL_TALK_INTENTS:
        if not more_than_small_talk(text, intent, topic, topics):
            if intent in MISREAD_AS_SMALL_TALK and problems.is_problem(text):
                return Route.PROBLEM
            return Route.OUT_OF_SCOPE if intent == "out_of_scope" else Route.SMALLTALK
        if (len(text.strip()) >= LONG_MESSAGE and decide(search, topic.topic) != "answer"
                and problems.is_problem(text)):
            return Route.PROBLEM
    elif intent in SELF_SERVICE_INTENTS:
        return Route.SELF_SERVICE
    elif intent in CASE_INTENTS:
        if files_at_once(text, intent, search, topic, topics):
            return Route.CASE
    found = decide(search, topic.topic)
    if found == "answer":
        return Route.ANSWER
    if intent == FALLBACK and best in FALLBACK_SMALL_TALK:
        # Rasa unsure, its best guess small talk, the search unsure too: small talk.
        return Route.OUT_OF_SCOPE if best == "out_of_scope" else Route.SMALLTALK
    if found == "clarify":
        return Route.CLARIFY
    return Route.NOT_FOUND


def more_than_small_talk(text: str, intent: str, topic: TopicGuess,
                         topics: TopicClassifier) -> bool:
    """Whether a message Rasa took for small talk says more and is searched: a long one, a
    plain policy question misread as chit-chat or out of scope, or a courtesy that goes
    on to ask one."""
    if intent in SMALL_TALK_ACTION_INTENTS and len(text.strip()) >= LONG_MESSAGE:
        return True
    if intent in MISREAD_AS_SMALL_TALK:
        return topics.clear_policy_topic(text, topic) is not None
    if intent in COURTESIES:
        return is_question(text, intent) and topics.clear_policy_topic(text, topic) is not None
    return False


def is_question(text: str, intent: str) -> bool:
    """Question-shaped, with no word asking for something to be filed or done."""
    return intent != "ask_human" and bool(QUESTION.search(text)) and not FILING_WORDS.search(text)


def files_at_once(text: str, intent: str, search: SearchResult, topic: TopicGuess,
                  topics: TopicClassifier) -> bool:
    """Whether a filing intent opens the form. Not for a question with no word of filing
    that is plainly about a policy topic, or whose answer the search is sure of: that is
    answered (with 「没解决」 and the offer to file) and the form stays closed."""
    if not is_question(text, intent):
        return True
    return (topics.clear_policy_topic(text, topic) is None
            and decide(search, topic.topic) != "answer")


def intents(parse: dict[str, Any]) -> tuple[str, str | None, float]:
    """Rasa's intent for a parsed message (a parse result or a tracker's latest message),
    the likeliest real one under a fallback, and the latter's confidence."""
    intent = parse.get("intent") or {}
    name, confidence = intent.get("name") or FALLBACK, float(intent.get("confidence") or 0)
    best = next((r for r in parse.get("intent_ranking") or [] if r.get("name") != FALLBACK),
                None)
    if name == FALLBACK and best is not None:
        return name, best["name"], float(best.get("confidence") or 0)
    return name, best["name"] if best else None, confidence
