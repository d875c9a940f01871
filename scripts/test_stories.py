"""The conversation tests in tests/stories/, checked two ways; exits 1 if either fails.

1. Rasa's own check, what `rasa test core --e2e --stories tests/stories` runs: the NLU
   model must give every typed message the story's intent, and the policies must predict
   every action of the story. Rasa runs no action here: it takes the slots and loops the
   story names as given.
2. The same stories replayed message by message through the same model with the real
   action server, on a database in a temporary folder: the actions that run must be the
   story's, in order; each slot and loop the story names after an action must be set so
   by that action (or, before the first action of a turn, by slot extraction); and each
   button the story presses (a step with `intent:` and no `user:` text) must have been
   offered in the bot's reply just before.

Both use one loaded model, in this process. Prints one line when every story passes;
otherwise what failed, and keeps the logs and Rasa's results in the temporary folder it
names. Talks to nothing but 127.0.0.1.

usage: .venv-rasa/bin/python scripts/test_stories.py [--model PATH] [--keep] [STORIES]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import time
import warnings
from contextlib import redirect_stderr
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import ROOT, Settings
from bot.nlp.fingerprint import MODELS, content_hash
from bot.rasa.payloads import payload
from bot.rasa.stack import QUIET_ENV, StackError, action_server, free_port

STORIES = ROOT / "tests" / "stories"
# Actions Rasa runs on its own that test stories do not list.
UNLISTED_ACTIONS = frozenset({"action_listen", "action_session_start"})
_PAYLOAD = re.compile(r"^/(\w+)(\{.*\})?$", re.DOTALL)


@dataclass(frozen=True)
class Failure:
    story: str
    check: str  # "rasa test" or "replay"
    detail: str

    def __str__(self) -> str:
        return f"FAIL ({self.check}) {self.story}\n    {self.detail}"


def rasa_test_failures(out: Path) -> list[Failure]:
    """The stories `rasa test` got wrong, each with its wrongly predicted lines."""
    import yaml

    text = (out / "failed_test_stories.yml").read_text(encoding="utf-8")
    stories = (yaml.safe_load(text) or {}).get("stories") or []  # none: a comment only
    failures = []
    for block, story in zip(text.split("\n- story: ")[1:], stories, strict=True):
        wrong = [line.strip() for line in block.splitlines() if "# predicted:" in line]
        name = story["story"]  # Rasa adds " (path of the file)"
        if name.endswith(".yml)"):
            name = name.rsplit(" (", 1)[0]
        failures.append(Failure(name, "rasa test", "\n    ".join(wrong)))
    return failures


# The replay. Rasa is imported inside the functions: importing it takes seconds.

def button(text: str) -> tuple[str, dict[str, Any]] | None:
    """(intent, entities) of a `/intent{...}` button payload; None for a plain-text one."""
    match = _PAYLOAD.match(text or "")
    if match is None:
        return None
    return match.group(1), json.loads(match.group(2) or "{}")


def split_at_actions(events: list[Any]) -> list[list[Any]]:
    """The events before a turn's first action, then those after each action."""
    from rasa.shared.core.events import ActionExecuted

    parts: list[list[Any]] = [[]]
    for event in events:
        if isinstance(event, ActionExecuted):
            if event.action_name in UNLISTED_ACTIONS:
                continue
            parts.append([])
        else:
            parts[-1].append(event)
    return parts


def compare_turn(expected: list[Any], actual: list[Any]) -> str | None:
    """What differs between a story's events for one turn and the events that happened."""
    from rasa.shared.core.events import ActionExecuted, ActiveLoop, SlotSet

    wanted = [e.action_name for e in expected if isinstance(e, ActionExecuted)]
    ran = [e.action_name for e in actual
           if isinstance(e, ActionExecuted) and e.action_name not in UNLISTED_ACTIONS]
    if ran != wanted:
        return f"actions {ran} instead of {wanted}"
    for index, (want, got) in enumerate(zip(split_at_actions(expected),
                                            split_at_actions(actual), strict=True)):
        after = f"after {wanted[index - 1]}" if index else "before the first action"
        for event in want:
            if isinstance(event, SlotSet):
                values = [e.value for e in got if isinstance(e, SlotSet) and e.key == event.key]
                if event.value not in values:
                    found = ", ".join(map(repr, values)) or "nothing"
                    return f"{after}: slot {event.key} set to {found}, not {event.value!r}"
            elif isinstance(event, ActiveLoop):
                loops = [e.name for e in got if isinstance(e, ActiveLoop)]
                if event.name not in loops:
                    return f"{after}: active loop {loops or 'unchanged'}, not {event.name}"
    return None


class ErrorLog(logging.Handler):
    """Keeps what Rasa logs as an error (a failed action is logged, not raised)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record.getMessage().splitlines()[0])


async def replay_story(agent: Any, name: str, events: list[Any], sender: str,
                       errors: ErrorLog) -> Failure | None:
    from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
    from rasa.shared.core.events import UserUttered

    turns: list[tuple[UserUttered, list[Any]]] = []
    for event in events:
        if isinstance(event, UserUttered):
            turns.append((event, []))
        elif turns:
            turns[-1][1].append(event)
    offered: list[tuple[str, dict[str, Any]]] = []
    seen = 0
    for number, (user, expected) in enumerate(turns, 1):
        text = (user.text or "").strip()
        if not text:  # a button press
            pressed = (user.intent_name, {e["entity"]: e["value"] for e in user.entities})
            text = payload(pressed[0], **pressed[1])
            if pressed not in offered:
                shown = [payload(i, **e) for i, e in offered] or "no buttons"
                return Failure(name, "replay", f"turn {number}: presses {text}, "
                                               f"but the bot offered {shown}")
        output = CollectingOutputChannel()
        errors.records.clear()
        await agent.handle_message(UserMessage(text, output, sender))
        tracker = await agent.tracker_store.retrieve(sender)
        actual = list(tracker.events)[seen:]
        seen = len(tracker.events)
        problem = compare_turn(expected, actual)
        if errors.records:
            problem = f"{problem + '; ' if problem else ''}Rasa logged: {errors.records[0]}"
        if problem:
            return Failure(name, "replay", f"turn {number} ({text}): {problem}")
        offered = [parsed for message in output.messages
                   for b in message.get("buttons") or []
                   if (parsed := button(b.get("payload", ""))) is not None]
    return None


async def check(stories: Path, model: Path, action_url: str,
                out: Path) -> tuple[int, list[Failure]]:
    """Rasa's test, then the replay, of every story; returns how many there were and the failures."""
    logging.basicConfig(filename=out / "rasa.log", level=logging.INFO, force=True)
    import jieba
    from rasa.core.agent import Agent
    from rasa.core.test import test as rasa_test
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.endpoints import EndpointConfig
    from rasa.utils.log_utils import configure_structlog

    jieba.setLogLevel(logging.WARNING)
    configure_logging_and_warnings(logging.INFO)
    configure_structlog(logging.INFO)

    agent = Agent.load(str(model), action_endpoint=EndpointConfig(url=action_url))
    # Without fail_on_prediction_errors, which stops at the first wrong prediction: every
    # story is checked, and the failed ones are read from failed_test_stories.yml.
    (out / "rasa-test").mkdir()
    await rasa_test(str(stories), agent, out_directory=str(out / "rasa-test"), e2e=True,
                    disable_plotting=True)
    failures = rasa_test_failures(out / "rasa-test")

    errors = ErrorLog()
    logging.getLogger("rasa").addHandler(errors)
    files = sorted(stories.rglob("test_*.yml")) if stories.is_dir() else [stories]
    steps = [step for path in files
             for step in YAMLStoryReader(agent.domain, source_name=str(path)).read_from_file(path)]
    for number, step in enumerate(steps):
        failure = await replay_story(agent, step.block_name, step.events, str(990001 + number),
                                     errors)
        if failure is not None:
            failures.append(failure)
    return len(steps), failures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stories", nargs="?", type=Path, default=STORIES,
                        help="a folder of test_*.yml story files, or one file")
    parser.add_argument("--model", type=Path, help="default: the model of the current inputs")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    os.environ.update(QUIET_ENV)
    warnings.simplefilter("ignore")
    model = args.model or MODELS / f"{content_hash(rasa_only=True)}.tar.gz"
    if not model.exists():
        print(f"test_stories: no model {model.name} for the current inputs; run `make train`",
              file=sys.stderr)
        return 2

    started = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="hotline-stories-"))
    settings = Settings(data_dir=work, db_path=work / "hotline.db", action_port=free_port())
    actions = action_server(settings, log_dir=work)
    actions.start()
    try:
        actions.wait_ready(120)
        # Importing Rasa and TensorFlow warns a lot on stderr: that goes to the log too.
        with open(work / "rasa.log", "a", encoding="utf-8") as log, redirect_stderr(log):
            count, failures = asyncio.run(check(
                args.stories, model, f"http://127.0.0.1:{settings.action_port}/webhook", work))
    except StackError as exc:
        count, failures = 0, [Failure("(all)", "action server", str(exc))]
    finally:
        # Once an action has opened the case store, the action server takes 15 s to exit
        # on SIGTERM (Service.stop then kills it). This one's database is thrown away.
        actions.stop(timeout=3)

    for failure in failures:
        print(failure)
    passed = max(0, count - len({f.story for f in failures}))
    print(f"{passed} of {count} stories pass (Rasa's e2e test, and replayed with the "
          f"action server) in {time.monotonic() - started:.0f} s"
          + (f"; logs and results in {work}" if failures or args.keep else ""))
    if not failures and not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
