"""The local console mode: the same Application, typed into a terminal."""

from __future__ import annotations

import io
from dataclasses import replace

from bot.telegram.console import run_console


async def test_console_chats_presses_buttons_and_switches_to_an_agent(settings, rasa):
    rasa.reply = lambda sender, message: [{
        "recipient_id": sender, "text": f"收到：{message}",
        "buttons": [{"title": "好的", "payload": "/affirm"}]}]
    settings = replace(settings, agent_ids=frozenset({7001}), agents_chat_id=-100555)
    stdin = io.StringIO("你好\n1\n/queue\n/as 7001\n/queue\n/quit\n")
    stdout = io.StringIO()
    await run_console(settings, stdin=stdin, stdout=stdout)
    out = stdout.getvalue()
    assert "12345 ▸ 收到：你好" in out and "[1] 好的" in out
    assert "12345 ▸ 收到：/affirm" in out  # the button's payload went to Rasa
    citizen_part, agent_part = out.split("（现在以用户 7001 的身份输入）")
    assert "没有这个命令" in citizen_part  # /queue as a citizen
    assert "当前没有待办案件。" in agent_part
    assert out.rstrip().endswith("再见！")
