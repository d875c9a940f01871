"""Logging set-up shared by the bot and the action server, with personal data masked."""

from __future__ import annotations

import logging
from pathlib import Path

from bot.safety.mask import mask_personal


class MaskingFormatter(logging.Formatter):
    """Formats as usual, then masks every phone and ID number in the whole line."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_personal(super().format(record))


def mask_every_handler() -> None:
    """Masks what the handlers already set up (by another framework) write."""
    for handler in logging.getLogger().handlers:
        if not isinstance(handler.formatter, MaskingFormatter):
            fmt = handler.formatter
            handler.setFormatter(MaskingFormatter(fmt._fmt if fmt else None,
                                                  fmt.datefmt if fmt else None))


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
