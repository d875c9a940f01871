"""Reading the project's own training texts: Rasa NLU files and the case examples."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from bot.cases.models import CATEGORIES
from bot.config import ROOT
from bot.knowledge.loader import TOPICS

NLU_DIR = ROOT / "nlu"
CASE_EXAMPLES = ROOT / "data" / "case_examples.yml"
TOPIC_LETTERS = ROOT / "data" / "topic_letters.yml"
TOPIC_KEYWORDS = ROOT / "data" / "topic_keywords.yml"
CATEGORY_KEYWORDS = ROOT / "data" / "category_keywords.yml"

CASE_KINDS = ("complaint", "help", "suggestion", "report")


class TrainingDataError(ValueError):
    """A training file is malformed; the message names the file and the item."""


@dataclass(frozen=True)
class CaseExample:
    category: str
    kind: str
    text: str
    # The policy topic the letter is about, when it is about one (a 政法 letter about
    # moving a 户口 is a household-registration question too); None otherwise.
    topic: str | None = None


def _examples_block(block: str) -> list[str]:
    lines = []
    for raw in block.splitlines():
        line = raw.strip()
        if line.startswith("- "):
            lines.append(line[2:].strip())
    return lines


@cache
def _nlu_index(directory: Path = NLU_DIR) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    for path in sorted(directory.rglob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for block in data.get("nlu", []) or []:
            if "intent" in block:
                found.setdefault(block["intent"], []).extend(_examples_block(block["examples"]))
    return {intent: tuple(examples) for intent, examples in found.items()}


def nlu_examples(intent: str) -> list[str]:
    """The examples written for `intent` in nlu/."""
    return list(_nlu_index().get(intent, ()))


@cache
def _case_examples(path: Path = CASE_EXAMPLES) -> tuple[CaseExample, ...]:
    items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    examples = []
    for number, item in enumerate(items, 1):
        where = f"{path}: item {number}"
        if not isinstance(item, dict):
            raise TrainingDataError(f"{where}: must be a mapping with category, kind, text")
        category, kind, text = item.get("category"), item.get("kind"), item.get("text")
        if category not in CATEGORIES:
            raise TrainingDataError(f"{where}: unknown category {category!r}")
        if kind not in CASE_KINDS:
            raise TrainingDataError(f"{where}: kind must be one of {CASE_KINDS}, got {kind!r}")
        if not isinstance(text, str) or not text.strip():
            raise TrainingDataError(f"{where}: text is empty")
        topic = item.get("topic")
        if topic is not None and topic not in TOPICS:
            raise TrainingDataError(f"{where}: unknown topic {topic!r}; one of {sorted(TOPICS)}")
        examples.append(CaseExample(category, kind, " ".join(text.split()), topic))
    return tuple(examples)


def case_examples() -> list[CaseExample]:
    """The complaints, requests, suggestions and reports written in data/case_examples.yml."""
    return list(_case_examples())


@dataclass(frozen=True)
class TopicLetter:
    topic: str
    text: str


@cache
def _topic_letters(path: Path = TOPIC_LETTERS) -> tuple[TopicLetter, ...]:
    if not path.exists():
        return ()
    letters = []
    for number, item in enumerate(yaml.safe_load(path.read_text(encoding="utf-8")) or [], 1):
        if not isinstance(item, dict) or not item.get("topic") or not item.get("text"):
            raise TrainingDataError(f"{path}: item {number} needs topic and text")
        letters.append(TopicLetter(str(item["topic"]), " ".join(str(item["text"]).split())))
    return tuple(letters)


def topic_letters() -> list[TopicLetter]:
    """Long letters about one policy topic each, written in data/topic_letters.yml."""
    return list(_topic_letters())
