"""The action server as a process: it stops cleanly on SIGTERM after it opened the store."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path

from bot.config import Settings
from bot.rasa.stack import action_server, free_port


def run_action(port: int, name: str, text: str) -> dict:
    body = {"next_action": name, "sender_id": "t1",
            "tracker": {"sender_id": "t1", "slots": {}, "events": [],
                        "latest_message": {"text": text, "intent": {"name": "greet"}}},
            "domain": {}}
    request = urllib.request.Request(f"http://127.0.0.1:{port}/webhook",
                                     data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def test_sigterm_stops_the_server_after_it_opened_the_store(tmp_path: Path):
    settings = Settings(data_dir=tmp_path, db_path=tmp_path / "hotline.db",
                        action_port=free_port())
    server = action_server(settings)
    server.start()
    try:
        server.wait_ready(120)
        answer = run_action(settings.action_port, "action_small_talk", "你好")
        assert answer["responses"], answer
        assert (tmp_path / "hotline.db").exists()  # the store is open in the server
        server.process.terminate()
        # Before the store was closed on stop, its thread kept the process alive after
        # SIGTERM until it was killed.
        assert server.process.wait(10) == 0
    except subprocess.TimeoutExpired:
        raise AssertionError(f"still running 10 s after SIGTERM:\n{server.log_tail()}") from None
    finally:
        server.kill()
        server.stop()
