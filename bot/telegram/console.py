"""The local console chat: a terminal stands in for the Telegram app.

What you type becomes a Telegram update and goes through the same Application,
handlers, Rasa client and rendering as a message from Telegram; what the bot
sends is answered by `LocalBotApi` and printed here. Type the number of a button
to press it.

`/as 用户ID` (console only) switches who is typing, to try the agents' side: set
HOTLINE_AGENT_IDS to that id first. Messages the bot sends to other chats (the
agents' group, an agent, a supervisor) are printed too, marked with their chat.
"""

from __future__ import annotations

import asyncio
import re
import sys
import threading
from typing import Any, TextIO

from telegram import Update

from bot.config import Settings
from bot.telegram.app import build_application
from bot.telegram.local_api import LocalBotApi, LocalRequest

CONSOLE_USER_ID = 10001
QUIT = {"/quit", "/exit", "退出"}


def _read_lines(stream: TextIO, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue) -> None:
    for line in iter(stream.readline, ""):
        loop.call_soon_threadsafe(queue.put_nowait, line.rstrip("\n"))
    loop.call_soon_threadsafe(queue.put_nowait, None)


class Console:
    def __init__(self, api: LocalBotApi, out: TextIO, user_id: int) -> None:
        self.api = api
        self.out = out
        self.user_id = user_id
        self.printed = 0
        self.buttons: dict[str, tuple[dict[str, Any], str]] = {}

    def print_new(self) -> None:
        """Prints the bot messages not printed yet; the newest keyboard becomes numbered."""
        for message in self.api.sent():
            if message["message_id"] <= self.printed:
                continue
            self.printed = message["message_id"]
            chat = message["chat"]["id"]
            where = "" if chat == self.user_id else f"（发往 {chat}）"
            text = message.get("text") or f"[图片] {message.get('caption') or ''}"
            self.out.write(f"\n12345{where} ▸ {text}\n")
            markup = message.get("reply_markup") or {}
            rows = markup.get("inline_keyboard") or []
            if rows:
                self.buttons = {}
                labels = []
                for row in rows:
                    for button in row:
                        number = str(len(self.buttons) + 1)
                        self.buttons[number] = (message, button["callback_data"])
                        labels.append(f"[{number}] {button['text']}")
                self.out.write("        " + "  ".join(labels) + "\n")
        self.out.flush()

    def update_for(self, line: str) -> Any:
        """A pressed button if the line is a live button's number, else a text message."""
        if line.strip() in self.buttons:
            message, data = self.buttons.pop(line.strip())
            self.buttons = {}
            return self.api.press_button(self.user_id, message, data)
        return self.api.send_text(self.user_id, line)


async def run_console(
    settings: Settings,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    user_id: int = CONSOLE_USER_ID,
) -> None:
    """Runs the bot in the terminal until /quit or end of input."""
    api = LocalBotApi()
    # The staff chats exist here as they would in Telegram once each person has started the bot.
    if settings.agents_chat_id is not None:
        api.add_chat(settings.agents_chat_id, title="12345坐席群")
    for staff in settings.agent_ids | settings.supervisor_ids | settings.admin_ids:
        api.add_chat(staff)
    app = build_application(settings, request=LocalRequest(api))
    console = Console(api, stdout, user_id)
    loop = asyncio.get_running_loop()
    lines: asyncio.Queue[str | None] = asyncio.Queue()
    threading.Thread(target=_read_lines, args=(stdin, loop, lines), daemon=True).start()

    stdout.write(
        "本地模式（未设置 TELEGRAM_BOT_TOKEN）：在这里输入消息，就像在 Telegram 里和机器人聊天。\n"
        f"数据库：{settings.database_shown}\n对话记录：{settings.redis_url or settings.tracker_db_path}\n"
        f"Rasa：{settings.rasa_url}\n"
        "输入按钮前的数字可以点按钮；/as 用户ID 切换身份（试用坐席命令）；"
        "输入 /quit 或按 Ctrl-D 退出。\n"
    )
    async with app:
        # run_polling() would call these two hooks; here the console drives the Application.
        await app.post_init(app)
        await app.start()
        try:
            await app.process_update(Update.de_json(await api.send_text(user_id, "/start"), app.bot))
            console.print_new()
            while True:
                stdout.write("\n您 ▸ ")
                stdout.flush()
                line = await lines.get()
                if line is None or line.strip() in QUIT:
                    break
                if not line.strip():
                    continue
                switch = re.fullmatch(r"/as\s+(\d{1,15})", line.strip())
                if switch:
                    console.user_id = int(switch.group(1))
                    stdout.write(f"（现在以用户 {console.user_id} 的身份输入）\n")
                    continue
                update = await console.update_for(line)
                await app.process_update(Update.de_json(update, app.bot))
                # What the change put in the outbox goes out before the next prompt.
                await app.bot_data.delivery.run_once()
                console.print_new()
        finally:
            await app.stop()
            await app.post_shutdown(app)
    stdout.write("\n再见！\n")
