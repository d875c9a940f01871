"""Knowledge drafts: what agents answered, turned into entries for a maintainer to review.

The questions the knowledge base did not resolve and that an agent then answered through a
case (`bot.knowledge.agent_answers`) are grouped, similar wordings together, and each group
becomes a draft: the citizens' wordings (masked) as the question and paraphrases, the
agent's reply (masked) as the answer, the likely topic and its usual channel. Drafts live in
the review file `$HOTLINE_DATA_DIR/kb-drafts.yml`, outside `knowledge/`, so nothing loads
or trains on them. A maintainer edits a draft there, then accepts it: it is validated by
the real loader with the rest of the knowledge base and appended to `knowledge/<topic>.yml`.

**Similarity.** Cosine of TF-IDF vectors over character 1-2 grams (digits and punctuation
aside), the document frequencies counted over the knowledge base's examples, so 怎么, 哪里
and 办理 weigh little and 社保卡 or 上牌 much. Two wordings at `SIMILAR` or more go together,
and so do their groups (single link). The likely topic is the one whose examples are
nearest to the group's wordings and answer.

usage: make kb-drafts | make kb-accept DRAFT=kd-… | make kb-dismiss DRAFT=kd-…
       (or: .venv/bin/python -m bot.knowledge.drafts write|accept ID|dismiss ID)
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import math
import os
import re
import shutil
import sys
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from bot.config import CHINA, Settings
from bot.knowledge.agent_answers import AnsweredQuestion, answered_questions
from bot.knowledge.feedback import UNHELPFUL
from bot.knowledge.loader import (
    KNOWLEDGE_DIR,
    MIN_PARAPHRASES,
    TOPICS,
    Entry,
    KnowledgeBase,
    KnowledgeError,
    load_knowledge,
)
from bot.safety.mask import mask_personal
from bot.store.db import Database, open_database

DRAFTS_FILE = "kb-drafts.yml"
SIMILAR = 0.25
# A wording longer than this is a long question (background first), not a paraphrase.
LONG_QUESTION = 50
# What a maintainer still has to write; `accept` refuses a field that still starts with it.
TODO = "待填写"
SOURCE_TODO = f"{TODO}：政策依据（法规或文件名称，概述，非原文）"
REVIEWED_TODO = f"{TODO}：核对日期，如 2026-12-01"
ROUTE_LABELS = {"fallback": "没有找到", "clarify_none": "候选都不对", UNHELPFUL: "答了没解决"}

HEADER = """\
# 知识库草稿：市民问了没找到答案（或答了「没解决」）后登记成案件，坐席的答复整理成的条目草稿。
# 由 make kb-drafts 生成；草稿不会作为正式条目加载。审核时只改每个草稿 entry 下的字段：
#   answer       坐席的原话：改成对所有市民都适用的答复（不超过 300 字，不留个人信息）
#   source       政策依据（法规、文件，概述），替换「待填写」
#   reviewed     核对日期 YYYY-MM-DD，替换「待填写」
#   paraphrases  市民的说法，至少 6 种；topic 决定写入 knowledge/ 的哪个文件
# 改好后运行 make kb-accept DRAFT=<draft>；不值得收录的运行 make kb-dismiss DRAFT=<draft>。
# 本文件由这些命令改写，文件里另加的注释不会保留。
"""


class DraftRefused(ValueError):
    """A draft cannot be accepted (or found); the message says why, in Chinese."""


# ---------------------------------------------------------------------------- similarity

_NOT_GRAM = re.compile(r"[\W\d_]+")


def _grams(text: str) -> Counter[str]:
    folded = _NOT_GRAM.sub("", unicodedata.normalize("NFKC", text).lower())
    return Counter([*folded, *(folded[i:i + 2] for i in range(len(folded) - 1))])


class TextVectors:
    """TF-IDF over character 1-2 grams, document frequencies from the knowledge base."""

    def __init__(self, kb: KnowledgeBase) -> None:
        self.examples = [(entry.topic, text) for entry in kb.entries for text in entry.examples]
        frequency: Counter[str] = Counter()
        for _, text in self.examples:
            frequency.update(set(_grams(text)))
        total = len(self.examples)
        self._idf = {gram: math.log((total + 1) / (n + 1)) + 1 for gram, n in frequency.items()}
        self._unseen = math.log(total + 1) + 1
        self._example_vectors = [(topic, self.vector(text)) for topic, text in self.examples]

    def vector(self, text: str) -> dict[str, float]:
        weights = {g: n * self._idf.get(g, self._unseen) for g, n in _grams(text).items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        return {g: w / norm for g, w in weights.items()}

    @staticmethod
    def cosine(a: dict[str, float], b: dict[str, float]) -> float:
        if len(b) < len(a):
            a, b = b, a
        return sum(w * b.get(g, 0.0) for g, w in a.items())

    def similarity(self, a: str, b: str) -> float:
        return self.cosine(self.vector(a), self.vector(b))

    def likely_topic(self, texts: Iterable[str]) -> str:
        """The topic whose examples are nearest: each text votes with its best cosine."""
        votes: Counter[str] = Counter()
        for text in texts:
            vector = self.vector(text)
            best, topic = max(((self.cosine(vector, v), t) for t, v in self._example_vectors),
                              default=(0.0, "hotline"))
            if best > 0:
                votes[topic] += best
        return votes.most_common(1)[0][0] if votes else "hotline"


def group(questions: Sequence[AnsweredQuestion], vectors: TextVectors,
          threshold: float = SIMILAR) -> list[list[AnsweredQuestion]]:
    """Similar questions together (single link at `threshold`), in the order first asked."""
    parent = list(range(len(questions)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    vecs = [vectors.vector(q.question) for q in questions]
    for i in range(len(questions)):
        for j in range(i):
            if vectors.cosine(vecs[i], vecs[j]) >= threshold:
                parent[root(i)] = root(j)
    groups: dict[int, list[AnsweredQuestion]] = {}
    for i, question in enumerate(questions):
        groups.setdefault(root(i), []).append(question)
    return list(groups.values())


# ---------------------------------------------------------------------------- drafts


def _most_common(values: Iterable[str], default: str) -> str:
    counts = Counter(values)
    return counts.most_common(1)[0][0] if counts else default


def _wordings(questions: Sequence[AnsweredQuestion], vectors: TextVectors) -> list[str]:
    """Distinct wordings, the most central first (the draft's question)."""
    distinct = list(dict.fromkeys(q.question.strip() for q in questions if q.question.strip()))
    vecs = [vectors.vector(w) for w in distinct]
    centrality = [sum(vectors.cosine(v, other) for other in vecs) for v in vecs]
    order = sorted(range(len(distinct)), key=lambda i: (-centrality[i], len(distinct[i]), i))
    return [distinct[i] for i in order]


def _answer(questions: Sequence[AnsweredQuestion]) -> str:
    """The agent's fullest reply: the longest text any of the cases got."""
    replies = [reply.text for q in questions for reply in q.replies]
    return max(replies, key=len) if replies else f"{TODO}：答复"


def _origin(numbers: Sequence[str]) -> str:
    return f"12345 坐席对案件 {'、'.join(numbers)} 的答复"


def _add_wording(entry: dict[str, Any], wording: str) -> None:
    known = {entry.get("question"), *(entry.get("paraphrases") or ()),
             *(entry.get("long_questions") or ())}
    if wording in known:
        return
    field = "long_questions" if len(wording) > LONG_QUESTION else "paraphrases"
    entry.setdefault(field, []).append(wording)


def new_draft(questions: Sequence[AnsweredQuestion], kb: KnowledgeBase,
              vectors: TextVectors, today: date) -> dict[str, Any]:
    """A draft for one group of similar questions: the entry to edit and where it came from."""
    numbers = list(dict.fromkeys(q.case_number for q in questions))
    digest = hashlib.sha1("|".join(sorted(numbers)).encode()).hexdigest()[:8]
    wordings = _wordings(questions, vectors)
    answer = _answer(questions)
    topic = vectors.likely_topic([*wordings, answer])
    in_topic = kb.by_topic(topic)
    prefix = _most_common((e.id.split("-", 1)[0] for e in in_topic), "hot")
    entry: dict[str, Any] = {
        "id": f"{prefix}-agent-{digest}",
        "topic": topic,
        "question": wordings[0],
        "paraphrases": [],
        "answer": _Folded(answer),
        "channel": _most_common((e.channel for e in in_topic), "12345"),
        "source": SOURCE_TODO,
        "reviewed": REVIEWED_TODO,
    }
    for wording in wordings[1:]:
        _add_wording(entry, wording)
    draft = {"draft": f"kd-{digest}", "made": today, "origin": _origin(numbers),
             "cases": [], "agent_replies": [], "entry": entry}
    _add_cases(draft, questions)
    return draft


def _add_cases(draft: dict[str, Any], questions: Sequence[AnsweredQuestion]) -> None:
    for q in questions:
        draft["cases"].append({"case": q.case_number, "question": q.question,
                               "asked": ROUTE_LABELS.get(q.route, q.route)})
        for reply in q.replies:
            draft["agent_replies"].append({"case": q.case_number, "text": _Folded(reply.text)})
    draft["origin"] = _origin(list(dict.fromkeys(c["case"] for c in draft["cases"])))


def _merge(draft: dict[str, Any], questions: Sequence[AnsweredQuestion]) -> None:
    """New wordings join an open draft; what the maintainer edited is left as it is."""
    _add_cases(draft, questions)
    for q in questions:
        _add_wording(draft["entry"], q.question.strip())


# ---------------------------------------------------------------------------- review file


class _Folded(str):
    """Text written in YAML's folded style (`>-`), as the knowledge files write answers."""


class _Quoted(str):
    """Text written in double quotes, as the knowledge files write the channel."""


class _Dumper(yaml.SafeDumper):
    """Block style with indented lists, as `knowledge/*.yml` is written."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        return super().increase_indent(flow, False)


_Dumper.add_representer(
    _Folded, lambda dumper, text: dumper.represent_scalar("tag:yaml.org,2002:str", text,
                                                          style=">"))
_Dumper.add_representer(
    _Quoted, lambda dumper, text: dumper.represent_scalar("tag:yaml.org,2002:str", text,
                                                          style='"'))


def _dump(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=10**6)


def drafts_path(settings: Settings) -> Path:
    return settings.data_dir / DRAFTS_FILE


def load_review(path: Path) -> dict[str, list[dict[str, Any]]]:
    """The review file: `drafts` (open) and `closed` (accepted or dismissed)."""
    if not path.exists():
        return {"drafts": [], "closed": []}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DraftRefused(f"{path}:{mark.line + 1 if mark else 1}：不是有效的 YAML：{exc}") from exc
    if not isinstance(data, dict):
        raise DraftRefused(f"{path}：文件格式不对，应当有 drafts 和 closed 两部分")
    return {"drafts": list(data.get("drafts") or []), "closed": list(data.get("closed") or [])}


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False,
                                     prefix=f".{path.name}.", suffix=".tmp") as tmp:
        tmp.write(text)
    os.replace(tmp.name, path)


def save_review(path: Path, review: dict[str, list[dict[str, Any]]]) -> None:
    for draft in review["drafts"]:  # keep answers readable after a round trip
        entry = draft.get("entry") or {}
        if isinstance(entry.get("answer"), str):
            entry["answer"] = _Folded(entry["answer"])
        for reply in draft.get("agent_replies") or ():
            reply["text"] = _Folded(reply.get("text") or "")
    _write_atomically(path, HEADER + _dump(review))


def _case_numbers(review: dict[str, list[dict[str, Any]]]) -> set[str]:
    numbers = {c.get("case") for d in review["drafts"] for c in d.get("cases") or ()}
    numbers |= {n for d in review["closed"] for n in d.get("cases") or ()}
    return numbers


async def write_drafts(db: Database, path: Path, kb: KnowledgeBase,
                       today: date | None = None) -> tuple[list[str], list[str]]:
    """Drafts for the answered questions not yet in the review file. A group like an open
    draft's questions joins that draft. Returns the new and the grown drafts' ids."""
    today = today or datetime.now(CHINA).date()
    review = load_review(path)
    known = _case_numbers(review)
    fresh = [q for q in await answered_questions(db) if q.case_number not in known]
    vectors = TextVectors(kb)
    created: list[str] = []
    grown: list[str] = []
    for questions in group(fresh, vectors):
        target = next((draft for draft in review["drafts"] if any(
            vectors.similarity(q.question, str(c.get("question") or "")) >= SIMILAR
            for q in questions for c in draft.get("cases") or ())), None)
        if target is None:
            draft = new_draft(questions, kb, vectors, today)
            review["drafts"].append(draft)
            created.append(draft["draft"])
        else:
            _merge(target, questions)
            grown.append(target["draft"])
    if created or grown or not path.exists():
        save_review(path, review)
    return created, list(dict.fromkeys(grown))


# ---------------------------------------------------------------------------- review


def _unfilled(value: Any) -> bool:
    return value is None or (isinstance(value, str) and (not value.strip()
                                                         or value.strip().startswith(TODO)))


def missing(draft: dict[str, Any]) -> list[str]:
    """What a maintainer still has to do before the draft can be accepted (Chinese)."""
    entry = draft.get("entry")
    if not isinstance(entry, dict):
        return ["entry 缺失"]
    problems = []
    if _unfilled(entry.get("answer")):
        problems.append("answer 还没有填写")
    if _unfilled(entry.get("source")):
        problems.append("source 还没有填写：写明政策依据（法规或文件名称，概述）")
    if not isinstance(entry.get("reviewed"), date):
        problems.append("reviewed 还没有填写：写核对日期，如 2026-12-01")
    texts = [entry.get("question"), entry.get("answer"), *(entry.get("paraphrases") or ()),
             *(entry.get("long_questions") or ())]
    if any("****" in str(text) for text in texts if text):
        problems.append("还有打码的号码（****）：删去或改写，条目里不留个人信息")
    paraphrases = {str(p).strip() for p in entry.get("paraphrases") or () if p}
    if len(paraphrases) < MIN_PARAPHRASES:
        problems.append(f"paraphrases 只有 {len(paraphrases)} 种说法，至少要 {MIN_PARAPHRASES} 种")
    return problems


def _find(review: dict[str, list[dict[str, Any]]], draft_id: str) -> dict[str, Any]:
    for draft in review["drafts"]:
        if draft.get("draft") == draft_id:
            return draft
    waiting = "、".join(str(d.get("draft")) for d in review["drafts"]) or "（无）"
    raise DraftRefused(f"没有待审核的草稿 {draft_id}；待审核的有：{waiting}")


def _entry_text(entry: dict[str, Any]) -> str:
    """The entry as the knowledge files write it (block style, the answer folded). A field
    the loader does not know is kept, so that the loader names it."""
    data = {key: value for key, value in entry.items() if value not in (None, "", [])}
    data["answer"] = _Folded(str(data.get("answer", "")).strip())
    data["channel"] = _Quoted(data.get("channel", ""))
    return _dump([data])


def _append(path: Path, addition: str) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if text and not text.endswith("\n"):
        text += "\n"
    if text and not text.endswith("\n\n"):
        text += "\n"
    _write_atomically(path, text + addition)


def accept(path: Path, draft_id: str, knowledge_dir: Path = KNOWLEDGE_DIR,
           today: date | None = None) -> Entry:
    """Validates the edited draft with the whole knowledge base, appends it to
    `knowledge_dir/<topic>.yml` and closes it. Refuses (`DraftRefused`) an unfilled or
    invalid draft, changing nothing."""
    today = today or datetime.now(CHINA).date()
    review = load_review(path)
    draft = _find(review, draft_id)
    problems = missing(draft)
    if problems:
        raise DraftRefused(f"草稿 {draft_id} 还不能收录：\n  - " + "\n  - ".join(problems))
    entry = draft["entry"]
    topic = str(entry.get("topic"))
    if topic not in TOPICS:
        raise DraftRefused(f"草稿 {draft_id} 的 topic {topic!r} 不对，应当是：{'、'.join(TOPICS)}")
    addition = _entry_text(entry)
    target = knowledge_dir / f"{topic}.yml"
    with tempfile.TemporaryDirectory() as scratch:
        for existing in knowledge_dir.glob("*.yml"):
            shutil.copy(existing, scratch)
        _append(Path(scratch) / target.name, addition)
        try:
            load_knowledge(Path(scratch), today)
        except KnowledgeError as exc:
            detail = str(exc).replace(scratch, str(knowledge_dir))
            raise DraftRefused(f"草稿 {draft_id} 没有通过知识库校验：{detail}") from exc
    before = target.read_text(encoding="utf-8") if target.exists() else None
    _append(target, addition)
    try:
        kb = load_knowledge(knowledge_dir, today)
    except KnowledgeError:  # changed under us since the check: put the file back
        if before is None:
            target.unlink()
        else:
            _write_atomically(target, before)
        raise
    review["drafts"].remove(draft)
    review["closed"].append({"draft": draft_id, "outcome": "accepted", "entry": entry["id"],
                             "file": str(target), "at": today,
                             "cases": [c.get("case") for c in draft.get("cases") or ()]})
    save_review(path, review)
    return kb[str(entry["id"])]


def dismiss(path: Path, draft_id: str, reason: str = "",
            today: date | None = None) -> None:
    """Closes a draft not worth an entry; its cases are not drafted again."""
    today = today or datetime.now(CHINA).date()
    review = load_review(path)
    draft = _find(review, draft_id)
    review["drafts"].remove(draft)
    review["closed"].append({"draft": draft_id, "outcome": "dismissed", "reason": reason,
                             "at": today,
                             "cases": [c.get("case") for c in draft.get("cases") or ()]})
    save_review(path, review)


def open_drafts(path: Path) -> list[dict[str, Any]]:
    return load_review(path)["drafts"]


# ---------------------------------------------------------------------------- command


async def _write(settings: Settings) -> str:
    db = await open_database(settings.database)
    try:
        created, grown = await write_drafts(db, drafts_path(settings), load_knowledge())
    finally:
        await db.close()
    where = drafts_path(settings)
    if not created and not grown:
        return f"没有新的草稿。审核文件：{where}"
    lines = [f"新草稿 {len(created)} 个，补充了新说法的草稿 {len(grown)} 个，在 {where}："]
    lines += [f"  新  {draft_id}" for draft_id in created]
    lines += [f"  补充 {draft_id}" for draft_id in grown]
    lines.append("编辑后运行 make kb-accept DRAFT=<编号> 收录。")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("write", help="write drafts for questions agents answered")
    accepting = commands.add_parser("accept", help="validate an edited draft, add it to knowledge/")
    accepting.add_argument("draft")
    accepting.add_argument("--knowledge", type=Path, default=KNOWLEDGE_DIR)
    dismissing = commands.add_parser("dismiss", help="close a draft not worth an entry")
    dismissing.add_argument("draft")
    dismissing.add_argument("--reason", default="")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    try:
        if args.command == "write":
            print(asyncio.run(_write(settings)))
        elif args.command == "accept":
            entry = accept(drafts_path(settings), args.draft, args.knowledge)
            print(f"已收录：{entry.id} → {entry.file}:{entry.line}\n"
                  "知识库变了，下次 make run / make test 会重新训练。")
        else:
            dismiss(drafts_path(settings), args.draft, mask_personal(args.reason))
            print(f"已关闭草稿 {args.draft}，它的案件不会再生成草稿。")
    except (DraftRefused, KnowledgeError) as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
