"""Questions the knowledge base did not resolve that an agent then answered.

A question that found nothing (`kb_misses`, routes `fallback` and `clarify_none`) or whose
answer was marked 「没解决」 (route `unhelpful`) is followed by 「登记诉求」, and the case form
starts from the question: the filed case's description begins with the citizen's words.
So a question is linked to a case when all three hold:

* the same citizen filed the case,
* within `LINK_WINDOW` after asking,
* and the case's description (masked) contains the question (masked), punctuation and
  spaces aside.

If several of the citizen's questions qualify, the latest asked wins. A case filed some
other way, or whose description the citizen rewrote, is not linked: a missed link costs
one wording, a wrong one would put an unrelated reply in a draft. The agent's reply is
what the desk recorded for the citizen: the text of every `replied` and `resolved` event.
Nothing here needs a column of its own; the link is derived from the tables as they are.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.safety.mask import mask_personal
from bot.store.db import Database

LINK_WINDOW = timedelta(hours=24)
# The desk's events whose text reached the citizen: /reply and /resolve.
AGENT_EVENTS = ("replied", "resolved")

_NOT_TEXT = re.compile(r"[^\w*]+")


@dataclass(frozen=True)
class AgentReply:
    at: datetime
    text: str  # masked


@dataclass(frozen=True)
class AnsweredQuestion:
    """A citizen's question, the case they filed about it, and what the agent told them."""

    question: str  # masked
    route: str
    asked_at: datetime
    case_number: str
    filed_at: datetime
    replies: tuple[AgentReply, ...]


def _folded(text: str) -> str:
    return _NOT_TEXT.sub("", unicodedata.normalize("NFKC", mask_personal(text)).lower())


def _linked(question: str, description: str) -> bool:
    asked = _folded(question)
    return bool(asked) and asked in _folded(description)


async def answered_questions(db: Database,
                             window: timedelta = LINK_WINDOW) -> list[AnsweredQuestion]:
    """Every linked question with at least one agent reply, oldest case first."""
    rows = await db.fetchall(
        "SELECT m.id AS miss_id, m.at AS asked_at, m.question, m.route, c.id AS case_id,"
        " c.number, c.description, c.created_at FROM kb_misses m"
        " JOIN cases c ON c.citizen_id = m.citizen_id ORDER BY c.id, m.at DESC, m.id DESC")
    linked: dict[int, AnsweredQuestion] = {}
    for row in rows:
        if row["case_id"] in linked:
            continue  # the latest qualifying question already won
        asked_at = datetime.fromisoformat(row["asked_at"])
        filed_at = datetime.fromisoformat(row["created_at"])
        if not asked_at <= filed_at <= asked_at + window:
            continue
        if not _linked(row["question"], row["description"]):
            continue
        linked[row["case_id"]] = AnsweredQuestion(
            question=mask_personal(row["question"]), route=row["route"], asked_at=asked_at,
            case_number=row["number"], filed_at=filed_at, replies=())
    if not linked:
        return []
    marks = ",".join("?" * len(linked))
    kinds = ",".join("?" * len(AGENT_EVENTS))
    events = await db.fetchall(
        f"SELECT case_id, at, detail FROM case_events WHERE case_id IN ({marks})"
        f" AND kind IN ({kinds}) AND actor LIKE 'staff:%' ORDER BY id",
        (*linked, *AGENT_EVENTS))
    replies: dict[int, list[AgentReply]] = {}
    for event in events:
        text = str(json.loads(event["detail"] or "{}").get("text") or "").strip()
        if text:
            replies.setdefault(event["case_id"], []).append(
                AgentReply(datetime.fromisoformat(event["at"]), mask_personal(text)))
    return [
        AnsweredQuestion(q.question, q.route, q.asked_at, q.case_number, q.filed_at,
                         tuple(replies[case_id]))
        for case_id, q in linked.items() if case_id in replies
    ]
