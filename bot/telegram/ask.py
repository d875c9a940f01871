"""Ask the live bot: JSON lines {"id", "text"} on stdin, one {"id", "reply", "route"} each.

Each input is a new citizen, and goes the way a chat message goes: a Telegram update
through the real Application (the in-process Bot API of local mode), the emergency
check, Rasa and the action server, started here on free ports with a scratch data
folder. `reply` is everything that citizen is shown, button labels included; `route` is
what the bot did (emergency, answer, clarify, case, smalltalk, out_of_scope).

usage: make -s ask < questions.jsonl > replies.jsonl
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, TextIO

from telegram import Update

from bot.config import Settings
from bot.jsonlines import read_items
from bot.rasa.stack import scratch_servers, train_model
from bot.telegram.app import build_application
from bot.telegram.local_api import LocalBotApi, LocalRequest

# Citizens' ids for the inputs: far from any real staff id in the settings.
FIRST_CITIZEN = 7_000_000_000


def shown(message: dict[str, Any]) -> str:
    """The message's text and its buttons' labels, as the citizen sees them."""
    rows = (message.get("reply_markup") or {}).get("inline_keyboard") or []
    labels = [button["text"] for row in rows for button in row]
    return "\n".join([message.get("text") or "", *(f"[{label}]" for label in labels)]).strip()


async def ask_all(settings: Settings, items: list[dict[str, Any]], out: TextIO) -> None:
    api = LocalBotApi()
    app = build_application(settings, request=LocalRequest(api))
    async with app:
        await app.post_init(app)
        app.bot_data.routes = {}
        try:
            for number, item in enumerate(items):
                user = FIRST_CITIZEN + number
                update = await api.send_text(user, str(item.get("text") or ""))
                await app.process_update(Update.de_json(update, app.bot))
                reply = "\n".join(shown(m) for m in api.sent(user))
                route = app.bot_data.routes.get(user)
                out.write(json.dumps({"id": item.get("id"), "reply": reply, "route": route},
                                     ensure_ascii=False) + "\n")
                out.flush()
        finally:
            await app.post_shutdown(app)


def main() -> None:
    # Only the reply lines go to stdout.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    items = read_items(sys.stdin, "ask")
    model = train_model()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp, scratch_servers(Path(tmp), model) as servers:
        settings = servers[0]
        ready = time.monotonic() - started
        began = time.monotonic()
        asyncio.run(ask_all(settings, items, out))
        spent = time.monotonic() - began
    print(f"ask: {len(items)} messages in {spent:.1f} s after a start-up of {ready:.0f} s",
          file=sys.stderr)


if __name__ == "__main__":
    main()
