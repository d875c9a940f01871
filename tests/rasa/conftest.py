"""Tests that need the Rasa environment (rasa, rasa_sdk, scikit-learn).

Run with .venv-rasa/bin/python -m pytest tests/rasa (scripts/test.sh does).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker

from actions import resources
from actions.resources import Resources
from bot.config import ROOT, Settings
from bot.nlp.classifiers import load_classifiers

# A plain policy question that the intent classifier might take for chit-chat, and chit-chat
# that must stay chit-chat (action_small_talk and batch triage decide alike on both).
MISREAD_QUESTION = "我现在还在领失业保险金，下个月要搬去外地跟儿子住，剩下几个月的失业金能不能一次性领走"
SMALL_TALK_LINES = ("今天天气真不错，适合出去走走", "你会唱歌吗", "帮我推荐一部好看的电影吧")


@pytest.fixture(scope="session")
def domain() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def classifiers():
    """Saved by `make train` (the test command trains first); trained here if missing."""
    return load_classifiers()


@pytest.fixture(scope="session")
def kb(classifiers):
    return classifiers.search.kb


@pytest.fixture
async def res(tmp_path: Path, classifiers):
    settings = Settings(data_dir=tmp_path, db_path=tmp_path / "hotline.db")
    opened = await Resources.open(settings, classifiers)
    resources.use(opened)
    yield opened
    resources.use(None)
    await opened.close()


def make_tracker(
    text: str = "",
    intent: str = "ask_policy",
    entities: list[dict[str, Any]] | None = None,
    slots: dict[str, Any] | None = None,
    sender: str = "4242",
    active_loop: dict[str, Any] | None = None,
    events: list[dict[str, Any]] | None = None,
) -> Tracker:
    """A tracker as Rasa would send it to the action server."""
    return Tracker(
        sender_id=sender,
        slots=slots or {},
        latest_message={
            "text": text,
            "intent": {"name": intent, "confidence": 0.9},
            "entities": entities or [],
            "metadata": {},
        },
        events=events or [],
        paused=False,
        followup_action=None,
        active_loop=active_loop or {},
        latest_action_name="action_listen",
    )


def shown(dispatcher) -> list[dict]:
    """The messages a citizen sees: without the route tag the actions add for the bot."""
    return [m for m in dispatcher.messages if not (m.get("custom") or {}).get("route")]


def route_of(dispatcher) -> str | None:
    """The route the action tagged its turn with."""
    return next((m["custom"]["route"] for m in dispatcher.messages
                 if (m.get("custom") or {}).get("route")), None)
