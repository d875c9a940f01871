"""Sensitive signals: what marks a case 敏感件 or 紧急件 when it is filed.

The signals are the editable list `data/sensitive.yml`: each names its mark, a reason for
the supervisor and regular expressions that must all be found in the description (and
optionally some that cancel it). The list is read again when the file changes, so an edit
takes effect at the next filing without a restart. Pure Python: it runs wherever cases are
filed (the action server).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import yaml

from bot.config import ROOT

SIGNALS_PATH = ROOT / "data" / "sensitive.yml"
log = logging.getLogger(__name__)


class Mark(StrEnum):
    SENSITIVE = "sensitive"
    URGENT = "urgent"

    @property
    def label(self) -> str:
        return {"sensitive": "敏感件", "urgent": "紧急件"}[self.value]


MARK_WORDS = {"敏感件": Mark.SENSITIVE, "紧急件": Mark.URGENT}


class SignalError(ValueError):
    """The signal list is malformed; the message names the file and the signal."""


@dataclass(frozen=True)
class Signal:
    id: str
    mark: Mark
    reason: str
    all: tuple[re.Pattern[str], ...]
    none: tuple[re.Pattern[str], ...] = ()

    def matches(self, folded: str) -> bool:
        """Whether the (folded) description carries this signal."""
        return (all(p.search(folded) for p in self.all)
                and not any(p.search(folded) for p in self.none))


@dataclass(frozen=True)
class Marking:
    """What the signals found: the mark (紧急件 over 敏感件) and every signal that matched."""

    mark: Mark
    signals: tuple[Signal, ...]

    @property
    def reasons(self) -> str:
        return "；".join(s.reason for s in self.signals)


def fold(text: str) -> str:
    """Full-width letters and digits folded, letters lower-cased, runs of space made one."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def parse_signals(data: object, source: str) -> tuple[Signal, ...]:
    if not isinstance(data, dict) or not isinstance(data.get("signals"), list):
        raise SignalError(f"{source}: expected a mapping with a list 'signals'")
    signals: list[Signal] = []
    seen: set[str] = set()
    for number, item in enumerate(data["signals"], 1):
        where = f"{source}: signal {number}"
        if not isinstance(item, dict):
            raise SignalError(f"{where}: expected a mapping")
        sid = str(item.get("id") or "").strip()
        if not sid or sid in seen:
            raise SignalError(f"{where}: missing or repeated id {sid!r}")
        seen.add(sid)
        mark = MARK_WORDS.get(str(item.get("mark", "")).strip())
        if mark is None:
            raise SignalError(f"{where} ({sid}): mark must be 敏感件 or 紧急件")
        reason = str(item.get("reason") or "").strip()
        if not reason:
            raise SignalError(f"{where} ({sid}): a reason is required")
        patterns = {}
        for field in ("all", "none"):
            raw = item.get(field) or []
            if not isinstance(raw, list) or not all(isinstance(p, str) and p for p in raw):
                raise SignalError(f"{where} ({sid}): '{field}' must be a list of patterns")
            try:
                patterns[field] = tuple(re.compile(fold(p)) for p in raw)
            except re.error as exc:
                raise SignalError(f"{where} ({sid}): bad pattern in '{field}': {exc}") from exc
        if not patterns["all"]:
            raise SignalError(f"{where} ({sid}): 'all' needs at least one pattern")
        signals.append(Signal(sid, mark, reason, patterns["all"], patterns["none"]))
    return tuple(signals)


_cache: dict[Path, tuple[float, tuple[Signal, ...]]] = {}


def load_signals(path: Path = SIGNALS_PATH, *, strict: bool = False) -> tuple[Signal, ...]:
    """The signals in `path`, read again only when the file's time stamp changed.

    A list broken by an edit never stops a filing: the error is logged and the last good
    list (none, if there was never one) is used until the file is fixed. `strict` raises
    instead (tests, and checking an edit).
    """
    cached = _cache.get(path)
    try:
        stamp = path.stat().st_mtime
        if cached is not None and cached[0] == stamp:
            return cached[1]
        signals = parse_signals(yaml.safe_load(path.read_text(encoding="utf-8")), str(path))
    except (OSError, yaml.YAMLError, SignalError):
        if strict:
            raise
        log.exception("the sensitive signals in %s cannot be read; using the last good list",
                      path)
        return cached[1] if cached is not None else ()
    _cache[path] = (stamp, signals)
    return signals


def assess(text: str, signals: tuple[Signal, ...]) -> Marking | None:
    """The mark `text` earns, or None for an ordinary case."""
    folded = fold(text)
    found = tuple(s for s in signals if s.matches(folded))
    if not found:
        return None
    mark = Mark.URGENT if any(s.mark is Mark.URGENT for s in found) else Mark.SENSITIVE
    return Marking(mark, found)
