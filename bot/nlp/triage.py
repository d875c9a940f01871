"""Batch triage: JSON lines {"id", "text"} on stdin, one triage line per input on stdout.

    {"id": ..., "route": "answer|clarify|case|emergency|smalltalk|out_of_scope",
     "topic": ..., "category": ..., "categories": [...], "department": ..., "intent": ...,
     "confidence": ...}

`category` is the likeliest case category and `categories` all of them, likeliest first,
for every message that is not small talk (an answered question is counted too).

It loads the trained Rasa model in-process (no server), the knowledge search, the
topic classifier and the case classifier, and decides as the live bot would:
emergencies first, then Rasa's intent, then the knowledge search for questions.
Hotline staff can pre-sort a backlog of written messages with it.

usage: make triage < messages.jsonl > triage.jsonl
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

from bot.jsonlines import read_items
from bot.nlp.categories import CategoryGuess
from bot.nlp.classifiers import Classifiers, load_classifiers
from bot.nlp.emergency import assess_many
from bot.nlp.route import FALLBACK, Route, intents, route
from bot.nlp.search import SearchResult
from bot.nlp.topics import TopicGuess
from bot.safety.emergency import Assessment

log = logging.getLogger(__name__)

# Messages read by the scikit-learn models at once.
BATCH = 64
# Shorter than this and about nothing the bot knows: not a case for a person.
SHORT_MESSAGE = 20


@dataclass
class TriageResult:
    id: Any
    route: str
    topic: str | None
    category: str | None
    department: str | None
    intent: str
    confidence: float
    entry: str | None = None
    categories: list[str] | None = None


class Triage:
    def __init__(self, agent: Any, classifiers: Classifiers) -> None:
        self.agent = agent
        self.search = classifiers.search
        self.topics = classifiers.topics
        self.cases = classifiers.cases
        self.problems = classifiers.problems

    @classmethod
    def load(cls, model: Path) -> Triage:
        from rasa.core.agent import Agent

        from bot.config import Settings
        from bot.nlp.learning import in_use

        classifiers = load_classifiers()
        # The case classifier promoted by make retrain / make learn, if any.
        classifiers.cases = in_use(Settings.from_env(), classifiers.cases)
        return cls(Agent.load(str(model)), classifiers)

    async def triage(self, item_id: Any, text: str) -> TriageResult:
        return (await self.triage_many([(item_id, text)]))[0]

    async def triage_many(self, items: list[tuple[Any, str]]) -> list[TriageResult]:
        """Rasa parses one message at a time; the scikit-learn models read them all at once."""
        texts = [text for _, text in items]
        parses = [await self.agent.parse_message(text) for text in texts]
        topics = self.topics.guesses(texts)
        cases = self.cases.predict_many(texts)
        searches = self.search.find_many(texts, k=3)
        dangers = assess_many(texts)
        return [
            self._decide(item_id, text, *found)
            for (item_id, text), *found in zip(items, dangers, parses, topics, cases, searches,
                                                strict=True)
        ]

    def _decide(self, item_id: Any, text: str, danger: Assessment, parse: dict[str, Any],
                topic_guess: TopicGuess, guess: CategoryGuess,
                result: SearchResult) -> TriageResult:
        intent, best, confidence = intents(parse)
        shown = best if intent == FALLBACK and best else intent
        topic = topic_guess.topic
        ranked = list(guess.ranked)
        category, department = guess.category, guess.department
        if danger.alarming:
            # The citizen is given the number first (alone, for a sure emergency).
            return TriageResult(item_id, "emergency", topic, guess.category, None,
                                f"emergency_{danger.kind}", round(danger.probability, 4),
                                categories=ranked)
        found = route(text, intent, best, result, topic_guess, self.topics, self.problems)
        if found in (Route.SMALLTALK, Route.OUT_OF_SCOPE):
            return TriageResult(item_id, found.value, None, None, None, shown, confidence)
        if found is Route.SELF_SERVICE:
            return TriageResult(item_id, "answer", None, category, None, shown, confidence,
                                categories=ranked)
        hits = result.hits
        # The topic classifier reads the whole message; the entry found is a second opinion.
        if found is Route.ANSWER:
            entry = hits[0].entry
            return TriageResult(item_id, "answer", topic or entry.topic, category, department,
                                shown, hits[0].score, entry.id, ranked)
        if found is Route.CLARIFY:
            return TriageResult(item_id, "clarify", topic or hits[0].entry.topic, category,
                                department, shown, hits[0].score, categories=ranked)
        if found is Route.NOT_FOUND and len(text.strip()) < SHORT_MESSAGE and topic is None:
            # A few words that match nothing: nothing a person could act on either.
            return TriageResult(item_id, "out_of_scope", None, None, None, shown, confidence)
        # Filing: asked for, offered for a daily-life problem, or offered when nothing fits.
        return TriageResult(item_id, "case", topic, category, department, shown, confidence,
                            categories=ranked)


async def run(model: Path, items: list[dict[str, Any]], out: TextIO) -> float:
    triage = Triage.load(model)
    started = time.perf_counter()
    for start in range(0, len(items), BATCH):
        batch = [(item.get("id"), str(item.get("text") or "")) for item in items[start:start + BATCH]]
        for result in await triage.triage_many(batch):
            record = asdict(result)
            record["confidence"] = round(record["confidence"], 4)
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    out.flush()
    return time.perf_counter() - started


def main() -> None:
    # Rasa and TensorFlow print to stdout; the triage lines alone must go there.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    # Rasa's structured log writes every parsed message, text and all, at debug level:
    # no citizen's words in the log, and no time spent writing them.
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    from bot.nlp.training import train

    items = read_items(sys.stdin, "triage")
    model = train()
    elapsed = asyncio.run(run(model, items, out))
    if items:
        print(f"triage: {len(items)} messages in {elapsed:.2f} s "
              f"({len(items) / elapsed:.0f} per second)", file=sys.stderr)


if __name__ == "__main__":
    main()
