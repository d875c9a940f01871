"""Compares settings of the topic classifier across the hands that wrote its letters.

data/topic_letters.yml is written in blocks, one hand (or group of hands) each, each
opened by a `# ----` line. For every setting, the classifier is trained on the knowledge
base and every block but one and tested on the letters of the block left out, so each
figure says how the setting does on words written by someone else: the question the real
messages ask. Prints the accuracy per block and the mean. Takes a few minutes per setting.

usage: .venv-rasa/bin/python scripts/compare_topic_models.py [setting ...]
       settings: keywords=0.5 ngrams=1-3 c=20 (defaults: those in bot/nlp/topics.py)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.knowledge.loader import TOPICS, load_knowledge  # noqa: E402
from bot.nlp.topics import KEYWORD_WEIGHT, NGRAM_RANGE, C, TopicClassifier  # noqa: E402
from bot.nlp.training_data import TOPIC_LETTERS, TopicLetter  # noqa: E402

DEFAULT_SETTINGS = [
    f"keywords={KEYWORD_WEIGHT}",
    "keywords=0.3",
    "keywords=0.7",
    "keywords=0",
    "keywords=1",
    "ngrams=1-2",
    "ngrams=1-4",
    "c=5",
    "c=50",
]


def blocks(path: Path = TOPIC_LETTERS) -> list[list[TopicLetter]]:
    """The file's letters, split at its `# ----` lines."""
    found: list[list[str]] = [[]]
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# ----"):
            found.append([])
        found[-1].append(line)
    letters = []
    for lines in found:
        items = yaml.safe_load("\n".join(lines)) or []
        letters.append([TopicLetter(i["topic"], " ".join(i["text"].split())) for i in items
                        if i["topic"] in TOPICS])
    return [block for block in letters if block]


def parse(setting: str) -> dict:
    options = {"keyword_weight": KEYWORD_WEIGHT, "ngram_range": NGRAM_RANGE, "c": C}
    for part in setting.split("+"):
        key, _, value = part.partition("=")
        if key == "keywords":
            options["keyword_weight"] = float(value)
        elif key == "ngrams":
            low, high = value.split("-")
            options["ngram_range"] = (int(low), int(high))
        elif key == "c":
            options["c"] = float(value)
        else:
            raise SystemExit(f"unknown setting {part!r}")
    return options


def main() -> None:
    kb = load_knowledge()
    parts = blocks()
    print(f"{len(parts)} blocks of letters: {[len(p) for p in parts]}")
    for setting in sys.argv[1:] or DEFAULT_SETTINGS:
        options = parse(setting)
        started = time.monotonic()
        scores = []
        for index, held_out in enumerate(parts):
            train = [letter for i, part in enumerate(parts) if i != index for letter in part]
            model = TopicClassifier.train(kb, letters=train, **options)
            right = sum(model.predict(letter.text) == letter.topic for letter in held_out)
            scores.append(right / len(held_out))
        mean = sum(scores) / len(scores)
        print(f"{setting:<16} mean {mean:.3f}   " + " ".join(f"{s:.3f}" for s in scores)
              + f"   ({time.monotonic() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
