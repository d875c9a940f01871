"""Cleaning what citizens type before anything reads it."""

from __future__ import annotations

import re
import unicodedata

# Zero-width characters, bidirectional controls and the byte-order mark: invisible,
# and able to hide a word from a keyword match or reorder what an agent reads.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_SPACES = re.compile(r"[ \t\u3000]+")


def clean_text(text: str) -> str:
    """Drops invisible and control characters and squeezes runs of spaces; keeps emoji."""
    text = _INVISIBLE.sub("", text)
    text = "".join(
        ch for ch in text if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cs")
    )
    text = _SPACES.sub(" ", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def split_message(text: str, limit: int = 4096) -> list[str]:
    """Splits text into pieces of at most `limit` characters, at line ends where possible."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut < limit // 2:
            cut = limit
        pieces.append(rest[:cut].rstrip("\n"))
        rest = rest[cut:].lstrip("\n")
    pieces.append(rest)
    return [piece for piece in pieces if piece.strip()]


_NOISE = re.compile(r"[\s\W_]+")


def compact(text: str) -> str:
    """NFKC, lower case, no spaces, punctuation or emoji ("快 快 快!!" → "快快快")."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", text).lower())
