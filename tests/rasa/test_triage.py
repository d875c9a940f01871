"""Batch triage: the command's contract, and how it routes (real model and classifiers)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from bot.config import ROOT
from bot.jsonlines import read_items
from bot.nlp.triage import Triage
from tests.rasa.conftest import MISREAD_QUESTION, SMALL_TALK_LINES

CONTRACT = {"id", "route", "topic", "category", "categories", "department", "intent",
            "confidence", "entry"}
ROUTES = {"answer", "clarify", "case", "emergency", "smalltalk", "out_of_scope"}


def run_command(lines: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore",
           "TF_CPP_MIN_LOG_LEVEL": "2", "RASA_TELEMETRY_ENABLED": "false"}
    return subprocess.run(
        [sys.executable, "-m", "bot.nlp.triage"], input="".join(line + "\n" for line in lines),
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=600, check=False,
    )


def test_the_command_writes_one_json_line_per_input_and_nothing_else():
    items = [
        {"id": "a", "text": "楼下饭店着火了，浓烟滚滚，里面还有人"},
        {"id": 2, "text": "你好呀"},
        {"id": "c", "text": "租房子住，公积金能取出来付房租吗，要带什么材料"},
        {"id": "d", "text": "小区门口的烧烤摊每天开到凌晨两点，油烟和吵闹声让人睡不着，要求城管处理"},
        {"id": "e", "text": ""},
    ]
    done = run_command([json.dumps(item, ensure_ascii=False) for item in items])
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [json.loads(line) for line in done.stdout.splitlines()]  # Rasa's prints kept off stdout
    assert [row["id"] for row in rows] == ["a", 2, "c", "d", "e"]
    for row in rows:
        assert set(row) == CONTRACT and row["route"] in ROUTES
        assert 0.0 <= row["confidence"] <= 1.0
    by_id = {row["id"]: row for row in rows}
    assert by_id["a"]["route"] == "emergency"
    assert by_id["a"]["intent"] == "emergency_fire"
    assert by_id[2]["route"] in {"smalltalk", "out_of_scope"} and by_id[2]["topic"] is None
    assert by_id["c"]["route"] in {"answer", "clarify"} and by_id["c"]["topic"] == "housing_fund"
    assert by_id["d"]["route"] == "case" and by_id["d"]["category"] and by_id["d"]["department"]
    # Every message but small talk carries the category list, likeliest first; an answered
    # question is counted too.
    for key in ("a", "c", "d"):
        ranked = by_id[key]["categories"]
        assert ranked[0] == by_id[key]["category"] and len(ranked) == len(set(ranked)) >= 3
    assert set(by_id["c"]["categories"]) == set(by_id["d"]["categories"])
    assert by_id[2]["categories"] is None and by_id[2]["category"] is None
    assert "per second" in done.stderr


def test_a_line_that_is_not_json_stops_with_its_number():
    done = run_command(['{"id": 1, "text": "你好"}', "not json"])
    assert done.returncode != 0
    assert "line 2 is not JSON" in done.stderr
    assert done.stdout == ""


def test_reading_skips_blank_lines_and_requires_text(tmp_path):
    with open(tmp_path / "in.jsonl", "w+", encoding="utf-8") as stream:
        stream.write('{"id": 1, "text": "a"}\n\n{"id": 2}\n')
        stream.seek(0)
        with pytest.raises(SystemExit, match='triage: line 3 has no "text"'):
            read_items(stream, "triage")


class ParsedAs:
    """Rasa's parse fixed to one intent, to test what triage does with each intent."""

    def __init__(self, intent: str) -> None:
        self.intent = intent

    async def parse_message(self, text: str) -> dict[str, Any]:
        return {"text": text, "intent": {"name": self.intent, "confidence": 0.8},
                "intent_ranking": [{"name": self.intent, "confidence": 0.8}]}


@pytest.mark.parametrize("intent", ["chitchat", "out_of_scope"])
async def test_a_plain_policy_question_misread_as_small_talk_is_still_searched(
    classifiers, intent
):
    triage = Triage(ParsedAs(intent), classifiers)
    result = await triage.triage(1, MISREAD_QUESTION)
    assert result.route in {"answer", "clarify", "case"}
    assert result.topic == "unemployment"


@pytest.mark.parametrize("intent,route", [("chitchat", "smalltalk"), ("out_of_scope", "out_of_scope")])
async def test_small_talk_stays_small_talk(classifiers, intent, route):
    triage = Triage(ParsedAs(intent), classifiers)
    for text in SMALL_TALK_LINES:
        result = await triage.triage(1, text)
        assert (result.route, result.topic) == (route, None), text
