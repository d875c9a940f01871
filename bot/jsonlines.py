"""The input of the batch commands (make triage, make ask): JSON lines {"id", "text"}."""

from __future__ import annotations

import json
from typing import Any, TextIO


def read_items(stream: TextIO, command: str) -> list[dict[str, Any]]:
    """Every non-blank line as an object with a "text"; a bad line stops with its number."""
    items = []
    for number, raw in enumerate(stream, 1):
        line = raw.strip()
        if not line:
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SystemExit(f"{command}: line {number} is not JSON: {exc}") from exc
        if not isinstance(item, dict) or "text" not in item:
            raise SystemExit(f"{command}: line {number} has no \"text\"")
        items.append(item)
    return items
