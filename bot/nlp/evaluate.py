"""Figures on the project's own held-out test sets (testsets/), never trained on.

* knowledge: how the held-out questions of testsets/knowledge.yml are routed
  (answered right, answered wrong, clarified with the right entry among the
  candidates, nothing found), and questions no entry answers;
* topics: the topic classifier on testsets/topic_letters.yml and on the
  knowledge questions;
* categories: the case classifier on testsets/cases.yml (macro-F1).

usage: .venv-rasa/bin/python -m bot.nlp.evaluate   (make eval runs it)
"""

from __future__ import annotations

import sys
from collections import Counter

import yaml

from bot.config import ROOT
from bot.nlp.classifiers import Classifiers, load_classifiers
from bot.nlp.search import decide

TESTSETS = ROOT / "testsets"


def _load(name: str) -> list:
    path = TESTSETS / name
    return yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else []


def macro_f1(gold: list[str], predicted: list[str]) -> float:
    scores = []
    for label in sorted(set(gold)):
        tp = sum(g == label and p == label for g, p in zip(gold, predicted, strict=True))
        fp = sum(g != label and p == label for g, p in zip(gold, predicted, strict=True))
        fn = sum(g == label and p != label for g, p in zip(gold, predicted, strict=True))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(scores) / len(scores) if scores else 0.0


def knowledge_report(models: Classifiers) -> list[str]:
    lines: list[str] = []
    for name in ("knowledge.yml", "knowledge_typos.yml"):
        lines += _knowledge_set(models, name)
    return lines


def _knowledge_set(models: Classifiers, name: str) -> list[str]:
    items = _load(name)
    covered = Counter()
    unanswerable = Counter()
    for item in items:
        for question in item["questions"]:
            result = models.search.find(question, k=3)
            route = decide(result, models.topics.guess(question).topic)
            ids = [hit.entry.id for hit in result.hits]
            if item["entry"] is None:
                unanswerable[route] += 1
            elif route == "answer":
                covered["answered right" if ids[0] == item["entry"] else "answered WRONG"] += 1
            elif route == "clarify":
                covered["clarified, right one offered" if item["entry"] in ids
                        else "clarified, right one missing"] += 1
            else:
                covered["nothing found"] += 1
    total, none_total = sum(covered.values()), sum(unanswerable.values())
    lines = [f"knowledge search on {total} held-out questions (testsets/{name}):"]
    for key in ("answered right", "answered WRONG", "clarified, right one offered",
                "clarified, right one missing", "nothing found"):
        lines.append(f"  {key:<30} {covered[key]:>4}  {covered[key] / max(total, 1):.3f}")
    if none_total:
        lines.append(f"questions no entry answers ({none_total}): "
                     + ", ".join(f"{k} {v}" for k, v in sorted(unanswerable.items())))
    return lines


def topics_report(models: Classifiers) -> list[str]:
    lines = []
    for name in sorted(p.name for p in TESTSETS.glob("topic_letters*.yml")):
        letters = _load(name)
        if letters:
            hits = sum(models.topics.predict(x["text"]) == x["topic"] for x in letters)
            lines.append(f"topic of {len(letters)} held-out letters (testsets/{name}): "
                         f"accuracy {hits / len(letters):.3f}")
    questions = [(q, models.search.kb[i["entry"]].topic) for i in _load("knowledge.yml")
                 if i["entry"] for q in i["questions"]]
    if questions:
        hits = sum(models.topics.predict(q) == topic for q, topic in questions)
        lines.append(f"topic of {len(questions)} held-out questions: accuracy {hits / len(questions):.3f}")
    return lines


def categories_report(models: Classifiers) -> list[str]:
    lines = []
    for name in ("cases.yml", "category_letters.yml"):
        cases = _load(name)
        if not cases:
            continue
        gold = [c["category"] for c in cases]
        predicted = [models.cases.predict(c["text"]).category for c in cases]
        accuracy = sum(g == p for g, p in zip(gold, predicted, strict=True)) / len(gold)
        confusions = Counter(
            (g, p) for g, p in zip(gold, predicted, strict=True) if g != p).most_common(5)
        lines += [
            (f"category of {len(cases)} held-out letters (testsets/{name}): "
             f"macro-F1 {macro_f1(gold, predicted):.3f}, accuracy {accuracy:.3f}"),
            "  most common confusions: " + ", ".join(f"{g}->{p} x{n}" for (g, p), n in confusions),
        ]
    return lines


def main() -> None:
    models = load_classifiers()
    for block in (knowledge_report(models), topics_report(models), categories_report(models)):
        print("\n".join(block))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
