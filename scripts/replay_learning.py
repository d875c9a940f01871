"""Measures the learning loop by replaying labelled letters k-fold: for each fold, the
other folds are recorded as confirmed examples in a scratch data folder (never in the
repo), a candidate is trained and promoted if not worse (`bot.nlp.learning`, as `make
learn` does), and the fold is classified by the model then in use, as `make triage` would.
Prints macro-F1 and top-3 accuracy per fold and averaged, for the seed model and after.

usage: .venv-rasa/bin/python scripts/replay_learning.py LETTERS [--folds 5] [--weight W]
       LETTERS: JSON lines {"id", "text", "category"} (or the public letters' {"id", "title",
       "text", "label"}), or a YAML list of {text, category}
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.cases.examples import Example, ExampleStore
from bot.config import Settings
from bot.nlp import learning
from bot.nlp.classifiers import load_classifiers
from bot.store.db import open_database


def read(path: Path) -> list[dict]:
    if path.suffix in (".yml", ".yaml"):
        items = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    else:
        items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
                 if line.strip()]
    for item in items:  # the public letters' form: {"id", "title", "text", "label"}
        if "label" in item and "category" not in item:
            item["category"] = item["label"]
        if item.get("title"):
            item["text"] = f"{item['title']}\n{item['text']}"
    gold = [i for i in items if i.get("category")]
    for number, item in enumerate(gold):
        item.setdefault("id", f"r{number}")
    return gold


async def record(settings: Settings, items: list[dict]) -> list[Example]:
    db = await open_database(settings.database)
    try:
        store = ExampleStore(db)
        start = datetime(2026, 1, 1, tzinfo=UTC)
        for number, item in enumerate(items):
            await store.add_import(str(item["id"]), item["text"], item["category"], None,
                                   start + timedelta(minutes=number))
        return await store.all()
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("letters", type=Path)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--weight", type=float, default=learning.REAL_WEIGHT)
    parser.add_argument("--json", type=Path, help="also write the figures here, to compare runs")
    args = parser.parse_args()
    learning.REAL_WEIGHT = args.weight
    items = read(args.letters)
    random.Random(12345).shuffle(items)
    seed = load_classifiers().cases
    rows = []
    for fold in range(args.folds):
        test = items[fold::args.folds]
        train = [item for i, item in enumerate(items) if i % args.folds != fold]
        with tempfile.TemporaryDirectory() as scratch:
            settings = Settings(data_dir=Path(scratch), db_path=Path(scratch) / "hotline.db")
            outcome = learning.retrain(settings, asyncio.run(record(settings, train)), seed)
            model = learning.in_use(settings, seed)
            tested = [Example(str(i["id"]), i["text"], i["category"], None,
                              datetime.now(UTC)) for i in test]
            before, after = learning.scores(seed, tested), learning.scores(model, tested)
            registry = learning.Registry.open(learning.registry_dir(settings))
            candidate = learning.scores(registry.load(outcome.candidate), tested)
        rows.append((before, after, candidate))
        print(f"fold {fold + 1}: learned {len(train)}, tested {len(test)}, "
              f"{'promoted' if outcome.promoted else 'not promoted'}; seed macro-F1 "
              f"{before['macro_f1']:.3f} top-3 {before['top3']:.3f} -> macro-F1 "
              f"{after['macro_f1']:.3f} top-3 {after['top3']:.3f} (the candidate, promoted or "
              f"not: {candidate['macro_f1']:.3f} / {candidate['top3']:.3f})")
    mean = {key: {name: sum(r[i][name] for r in rows) / len(rows) for name in ("macro_f1", "top3")}
            for i, key in enumerate(("before", "after", "candidate"))}
    print(f"mean over {args.folds} folds (real weight {args.weight:g}): seed macro-F1 "
          f"{mean['before']['macro_f1']:.3f} top-3 {mean['before']['top3']:.3f} -> macro-F1 "
          f"{mean['after']['macro_f1']:.3f} top-3 {mean['after']['top3']:.3f}; the candidates "
          f"{mean['candidate']['macro_f1']:.3f} / {mean['candidate']['top3']:.3f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "letters": str(args.letters), "folds": args.folds, "real_weight": args.weight,
            "per_fold": [dict(zip(("seed", "after", "candidate"), row, strict=True))
                         for row in rows],
            "mean": {"seed": mean["before"], "after": mean["after"],
                     "candidate": mean["candidate"]},
        }, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
