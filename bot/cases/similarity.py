"""How alike two descriptions are: overlap of character bigrams, punctuation ignored."""

from __future__ import annotations

import re
import unicodedata

_NOT_TEXT = re.compile(r"[^\w]+")


def bigrams(text: str) -> set[str]:
    folded = _NOT_TEXT.sub("", unicodedata.normalize("NFKC", text).lower())
    if len(folded) < 2:
        return {folded} if folded else set()
    return {folded[i:i + 2] for i in range(len(folded) - 1)}


def similarity(a: str, b: str) -> float:
    """Overlap coefficient of the bigram sets: 1.0 when one text contains the other."""
    x, y = bigrams(a), bigrams(b)
    if not x or not y:
        return 0.0
    return len(x & y) / min(len(x), len(y))
