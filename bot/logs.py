"""Logging set-up shared by the bot and the action server, with personal data masked."""

from __future__ import annotations

import logging
import re
from pathlib import Path

# A mainland mobile (1xx xxxx xxxx) or a landline with area code, wherever it appears.
_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)|(?<!\d)(0\d{2,3})-?(\d{3,4})(\d{4})(?!\d)")


def mask_phones(text: str) -> str:
    def repl(match: re.Match[str]) -> str:
        if match.group(1):
            return f"{match.group(1)}****{match.group(3)}"
        return f"{match.group(4)}****{match.group(6)}"

    return _PHONE.sub(repl, text)


class MaskingFormatter(logging.Formatter):
    """Formats as usual, then masks every phone number in the whole line."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_phones(super().format(record))


def setup_logging(path: Path, *, to_stderr: bool = True, level: int = logging.INFO) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    formatter = MaskingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handlers: list[logging.Handler] = [logging.FileHandler(path, encoding="utf-8")]
    if to_stderr:
        handlers.append(logging.StreamHandler())
    root = logging.getLogger()
    root.handlers.clear()
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request URL at INFO, and the URL contains the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("aiosqlite").setLevel(logging.WARNING)
