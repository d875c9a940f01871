"""The domain, the training data and the action classes agree with each other."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml
from rasa_sdk.executor import ActionExecutor

from bot.config import ROOT


def registered_actions() -> set[str]:
    executor = ActionExecutor()
    executor.register_package("actions")
    return set(executor.actions)


def test_every_domain_action_has_a_class_and_every_class_is_in_the_domain(domain):
    in_domain = {a for a in domain["actions"] if a.startswith(("action_", "validate_"))}
    assert in_domain == registered_actions()


def test_every_response_used_in_code_exists(domain):
    used: set[str] = set()
    for path in [*Path(ROOT / "actions").rglob("*.py"), *Path(ROOT / "bot").rglob("*.py")]:
        used |= set(re.findall(r"""response=["'](utter_\w+)["']""", path.read_text("utf-8")))
    assert used, "expected actions to use responses"
    assert used <= set(domain["responses"])


def test_every_intent_in_the_training_data_is_declared(domain):
    declared = set(domain["intents"])
    found: set[str] = set()
    for path in (ROOT / "nlu").rglob("*.yml"):
        data = yaml.safe_load(path.read_text("utf-8")) or {}
        for block in data.get("nlu", []):
            if "intent" in block:
                found.add(block["intent"])
        for rule in data.get("rules", []) + data.get("stories", []):
            for step in rule.get("steps", []):
                if "intent" in step:
                    found.add(step["intent"])
    found.discard("nlu_fallback")
    assert found <= declared, found - declared


def test_every_action_used_in_rules_is_declared(domain):
    declared = set(domain["actions"]) | set(domain["responses"]) | set(domain.get("forms") or {})
    built_in = {"action_listen", "action_restart", "action_deactivate_loop",
                "action_default_fallback", "action_two_stage_fallback"}
    for path in (ROOT / "nlu").rglob("*.yml"):
        data = yaml.safe_load(path.read_text("utf-8")) or {}
        for rule in data.get("rules", []) + data.get("stories", []):
            for step in rule.get("steps", []):
                action = step.get("action") or step.get("active_loop")
                if action and action not in built_in:
                    assert action in declared, f"{path.name}: {action} is not in domain.yml"


def test_action_names_follow_their_class_names():
    """ActionFileCase.name() is action_file_case: a reader finds one from the other."""
    for path in (ROOT / "actions").glob("*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and node.name.startswith(("Action", "Validate")):
                snake = re.sub(r"(?<!^)(?=[A-Z])", "_", node.name).lower()
                assert snake in registered_actions(), f"{node.name} should be named {snake}"
