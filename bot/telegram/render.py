"""Buttons as Telegram callback data, and callback data back to what a button means: the
one place that knows the format (at most 64 bytes: `code:target`)."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.cases import cards
from bot.store.outbox import LEGACY, Button, Buttons

# The front end's own buttons, beside the cases' (bot.cases.cards).
PAGE = "page"              # the next page of /queue; target: the offset
TRANSFER_TO = "transfer_to"  # a department chosen for a transfer; target: "NT…:department"
COMMENT = "comment"        # after a rating: write a comment ("c") or not ("n"); target "id:c|n"

CODES = {
    cards.CLAIM: "a:c", cards.TRANSFER: "a:t", cards.DETAIL: "a:d", PAGE: "a:q",
    cards.CATEGORY: "a:k",
    TRANSFER_TO: "a:td", cards.RATE: "r", COMMENT: "r",
}
STAFF_PREFIX = "a:"    # every staff button's callback data starts so (app.py routes on it)
RATING_PREFIX = "r:"
_ACTIONS = {code: action for action, code in CODES.items() if action != COMMENT}


def callback_data(button: Button) -> str:
    if button.action == LEGACY:  # an outbox row from before buttons had meanings
        return button.target
    data = f"{CODES[button.action]}:{button.target}"
    if len(data.encode()) > 64:
        raise ValueError(f"callback data over 64 bytes: {data!r}")
    return data


def parse(data: str | None) -> tuple[str, str] | None:
    """(action, target) of a button this module encoded; None for anything else."""
    for code, action in sorted(_ACTIONS.items(), key=lambda item: -len(item[0])):
        if (data or "").startswith(code + ":"):
            return action, data[len(code) + 1:]
    return None


def markup(rows: Buttons | None) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.title, callback_data=callback_data(b))
                                  for b in row] for row in rows])
