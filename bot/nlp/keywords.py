"""Weighted keyword lists (data/*_keywords.yml): domain knowledge written down by people.

Each label has `strong` words (weight 3) and `weak` words (weight 1); a word counts at
most three times per message. The classifiers mix this with what they learned from
examples, which helps most on long letters full of side matters.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

STRONG, WEAK, MAX_COUNT = 3.0, 1.0, 3


class KeywordError(ValueError):
    """A keyword file is malformed."""


class KeywordScorer:
    def __init__(self, table: dict[str, dict[str, list[str]]]) -> None:
        self.labels = list(table)
        self._words: list[tuple[int, str, float]] = []
        for index, label in enumerate(self.labels):
            groups = table[label] or {}
            for word in groups.get("strong") or []:
                self._words.append((index, str(word), STRONG))
            for word in groups.get("weak") or []:
                self._words.append((index, str(word), WEAK))

    def scores(self, text: str) -> dict[str, float]:
        """Raw weighted counts per label."""
        totals = dict.fromkeys(self.labels, 0.0)
        for index, word, weight in self._words:
            count = text.count(word)
            if count:
                totals[self.labels[index]] += weight * min(count, MAX_COUNT)
        return totals

    def distribution(self, text: str, labels: list[str]) -> list[float] | None:
        """The scores as shares summing to 1, ordered as `labels`; None if no word matched."""
        raw = self.scores(text)
        total = sum(raw.values())
        if total == 0:
            return None
        return [raw.get(label, 0.0) / total for label in labels]


@cache
def load_keywords(path: Path) -> KeywordScorer:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise KeywordError(f"{path}: must map each label to strong and weak words")
    for label, groups in data.items():
        if not isinstance(groups, dict) or not set(groups) <= {"strong", "weak"}:
            raise KeywordError(f"{path}: {label} must have only `strong` and `weak` lists")
    return KeywordScorer(data)
