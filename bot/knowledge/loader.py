"""Loads and validates the knowledge base in `knowledge/*.yml`.

A malformed entry stops loading with its file and line, so a mistake is found
when the data is written, not when a citizen asks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from bot.config import CHINA, ROOT

KNOWLEDGE_DIR = ROOT / "knowledge"

TOPICS: dict[str, str] = {
    "medical_insurance": "医保",
    "pension": "社保养老",
    "housing_fund": "公积金",
    "work_injury": "工伤",
    "unemployment": "失业",
    "maternity": "生育",
    "household_registration": "户籍和居住证",
    "social_assistance": "社会救助",
    "income_tax": "个税",
    "employment": "就业创业",
    "hotline": "12345热线",
}

CHANNELS: dict[str, str] = {
    "12393": "医保服务热线 12393",
    "12333": "人社服务热线 12333",
    "12329": "住房公积金服务热线 12329",
    "12366": "纳税缴费服务热线 12366",
    "12345": "政务服务便民热线 12345",
}

MIN_PARAPHRASES = 6
MAX_ANSWER = 320  # about 300 characters, a little slack for punctuation
ID_RE = re.compile(r"^[a-z]+(-[a-z0-9]+)+$")
FIELDS = {"id", "topic", "question", "paraphrases", "long_questions", "answer", "channel",
          "source", "reviewed", "related"}


class KnowledgeError(ValueError):
    """An entry is malformed; the message starts with `file:line`."""


@dataclass(frozen=True)
class Entry:
    id: str
    topic: str
    question: str
    paraphrases: tuple[str, ...]
    answer: str
    channel: str
    source: str
    reviewed: date
    related: tuple[str, ...]
    file: str
    line: int
    # Optional: questions told the long way, background first and the question last, as
    # citizens write on a message board. The search and the topic classifier learn from
    # them; Rasa's intent model does not (they taught it that any long text is a question).
    long_questions: tuple[str, ...] = ()

    @property
    def topic_label(self) -> str:
        return TOPICS[self.topic]

    @property
    def channel_label(self) -> str:
        return CHANNELS[self.channel]

    @property
    def examples(self) -> tuple[str, ...]:
        """The canonical question, every paraphrase and long question: what a citizen might
        type."""
        return (self.question, *self.paraphrases, *self.long_questions)

    @property
    def short_examples(self) -> tuple[str, ...]:
        """The canonical question and the paraphrases: Rasa's `ask_policy` examples."""
        return (self.question, *self.paraphrases)


@dataclass(frozen=True)
class KnowledgeBase:
    entries: tuple[Entry, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {e.id: e for e in self.entries})

    def get(self, entry_id: str) -> Entry | None:
        return self._by_id.get(entry_id)  # type: ignore[attr-defined]

    def __getitem__(self, entry_id: str) -> Entry:
        return self._by_id[entry_id]  # type: ignore[attr-defined]

    def __len__(self) -> int:
        return len(self.entries)

    def by_topic(self, topic: str) -> list[Entry]:
        return [e for e in self.entries if e.topic == topic]


def _text(value: Any, where: str, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise KnowledgeError(f"{where}: `{name}` must be non-empty text")
    return value.strip()


def _entry(data: Any, file: Path, line: int, today: date) -> Entry:
    where = f"{file}:{line}"
    if not isinstance(data, dict):
        raise KnowledgeError(f"{where}: an entry must be a mapping of fields")
    unknown = set(data) - FIELDS
    if unknown:
        raise KnowledgeError(f"{where}: unknown field(s) {sorted(unknown)}")
    entry_id = _text(data.get("id"), where, "id")
    where = f"{where}: entry {entry_id}"
    if not ID_RE.match(entry_id):
        raise KnowledgeError(f"{where}: id must look like 'mi-outpatient-reimbursement'")
    topic = _text(data.get("topic"), where, "topic")
    if topic not in TOPICS:
        raise KnowledgeError(f"{where}: unknown topic {topic!r}; one of {sorted(TOPICS)}")
    paraphrases = data.get("paraphrases")
    if not isinstance(paraphrases, list) or not all(
        isinstance(p, str) and p.strip() for p in paraphrases
    ):
        raise KnowledgeError(f"{where}: `paraphrases` must be a list of non-empty texts")
    paraphrases = [p.strip() for p in paraphrases]
    if len(set(paraphrases)) < MIN_PARAPHRASES:
        raise KnowledgeError(
            f"{where}: needs at least {MIN_PARAPHRASES} different paraphrases, has {len(set(paraphrases))}"
        )
    if len(set(paraphrases)) != len(paraphrases):
        raise KnowledgeError(f"{where}: a paraphrase is repeated")
    long_questions = data.get("long_questions") or []
    if not isinstance(long_questions, list) or not all(
        isinstance(p, str) and p.strip() for p in long_questions
    ):
        raise KnowledgeError(f"{where}: `long_questions` must be a list of non-empty texts")
    long_questions = [p.strip() for p in long_questions]
    if len(set(paraphrases + long_questions)) != len(paraphrases) + len(long_questions):
        raise KnowledgeError(f"{where}: a long question repeats a paraphrase or another one")
    answer = _text(data.get("answer"), where, "answer")
    if len(answer) > MAX_ANSWER:
        raise KnowledgeError(f"{where}: answer has {len(answer)} characters, at most {MAX_ANSWER}")
    channel = str(data.get("channel", "")).strip()
    if channel not in CHANNELS:
        raise KnowledgeError(f"{where}: channel must be one of {sorted(CHANNELS)}, got {channel!r}")
    reviewed = data.get("reviewed")
    if not isinstance(reviewed, date):
        raise KnowledgeError(f"{where}: `reviewed` must be a date like 2026-11-28")
    if reviewed > today:
        raise KnowledgeError(f"{where}: `reviewed` {reviewed} is in the future")
    related = data.get("related") or []
    if not isinstance(related, list) or not all(isinstance(r, str) for r in related):
        raise KnowledgeError(f"{where}: `related` must be a list of entry ids")
    return Entry(
        id=entry_id,
        topic=topic,
        question=_text(data.get("question"), where, "question"),
        paraphrases=tuple(paraphrases),
        answer=answer,
        channel=channel,
        source=_text(data.get("source"), where, "source"),
        reviewed=reviewed,
        related=tuple(related),
        file=str(file),
        line=line,
        long_questions=tuple(long_questions),
    )


def _load_file(path: Path, today: date) -> list[Entry]:
    try:
        loader = yaml.SafeLoader(path.read_text(encoding="utf-8"))
        try:
            root = loader.get_single_node()
            if root is None:
                return []
            if not isinstance(root, yaml.SequenceNode):
                raise KnowledgeError(f"{path}:1: the file must be a list of entries")
            return [
                _entry(loader.construct_object(node, deep=True), path, node.start_mark.line + 1,
                       today)
                for node in root.value
            ]
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        raise KnowledgeError(f"{path}:{line}: not valid YAML: {exc}") from exc


def load_knowledge(directory: Path = KNOWLEDGE_DIR, today: date | None = None) -> KnowledgeBase:
    """Every entry of every `*.yml` file in `directory`, validated."""
    # China's date, not the server's: on a UTC host an entry reviewed "today" in China
    # would be future-dated between 00:00 and 08:00.
    today = today or datetime.now(CHINA).date()
    entries: list[Entry] = []
    seen: dict[str, Entry] = {}
    for path in sorted(directory.glob("*.yml")):
        for entry in _load_file(path, today):
            if entry.id in seen:
                first = seen[entry.id]
                raise KnowledgeError(
                    f"{entry.file}:{entry.line}: id {entry.id} already used at {first.file}:{first.line}"
                )
            seen[entry.id] = entry
            entries.append(entry)
    for entry in entries:
        for other in entry.related:
            if other not in seen:
                raise KnowledgeError(
                    f"{entry.file}:{entry.line}: entry {entry.id}: related id {other!r} does not exist"
                )
    return KnowledgeBase(tuple(entries))
