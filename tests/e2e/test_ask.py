"""`make ask`: each input a new citizen through the live bot; one {id, reply, route} line each."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from bot.config import ROOT
from bot.safety.emergency import EmergencyKind
from tests.messages import BY_KIND


def test_ask_answers_each_line_as_a_new_citizen_with_its_route(model):
    items = [
        {"id": "q", "text": "租房子住，公积金能取出来付房租吗，要带什么材料"},
        {"id": 2, "text": BY_KIND[EmergencyKind.GAS]},
        {"id": "c", "text": "我要投诉，小区门口的路灯坏了一个礼拜了"},
        {"id": "t", "text": "你好呀"},
        {"id": "p", "text": "隔壁装修天天早上六点就开始砸墙，吵得老人没法睡"},
        {"id": "w", "text": "法定节假日上班的加班工资是按几倍算的"},
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore",
           "TF_CPP_MIN_LOG_LEVEL": "2", "RASA_TELEMETRY_ENABLED": "false"}
    done = subprocess.run(
        [sys.executable, "-m", "bot.telegram.ask"], cwd=ROOT, env=env, capture_output=True, text=True,
        input="".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items),
        timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [row["id"] for row in rows] == ["q", 2, "c", "t", "p", "w"]
    by_id = {row["id"]: row for row in rows}
    assert by_id["q"]["route"] in ("answer", "clarify") and "公积金" in by_id["q"]["reply"]
    assert by_id[2]["route"] == "emergency" and "119" in by_id[2]["reply"]
    assert by_id["c"]["route"] == "case" and "[说完了]" in by_id["c"]["reply"]
    assert by_id["t"]["route"] == "smalltalk" and "119" not in by_id["t"]["reply"]
    assert by_id["p"]["route"] == "case" and "登记" in by_id["p"]["reply"]  # offered, never refused

    # make triage decides each of them the same way (bot.nlp.route is shared).
    triaged = subprocess.run(
        [str(ROOT / ".venv-rasa" / "bin" / "python"), "-m", "bot.nlp.triage"], cwd=ROOT, env=env,
        capture_output=True, text=True, timeout=600, check=False,
        input="".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items))
    assert triaged.returncode == 0, triaged.stderr[-2000:]
    routes = {row["id"]: row["route"] for row in map(json.loads, triaged.stdout.splitlines())}
    assert routes == {row["id"]: row["route"] for row in rows}
