"""The case classifier learning from confirmed examples: a real store in a scratch data
folder, real training, the registry on disk."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from actions.resources import Resources
from bot.cases.examples import ExampleStore
from bot.config import ROOT, Settings
from bot.nlp import learning
from bot.nlp.classifiers import load_classifiers
from bot.store.db import open_database

NOISE = ["楼下{}的音响每天晚上放到十一点，吵得孩子没法写作业",
         "{}附近的工地半夜还在施工，电钻声吵得整栋楼睡不着",
         "{}那家KTV天天凌晨还在唱歌，噪音扰民好几个月了",
         "{}广场舞的音箱开得特别响，早上六点就开始放"]
PLACES = ["小区", "学校", "菜市场", "医院", "公园", "车站", "商场"]


def noise(count: int) -> list[str]:
    return [NOISE[i % len(NOISE)].format(PLACES[i % len(PLACES)]) + f"（第{i + 1}次反映）"
            for i in range(count)]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, db_path=tmp_path / "hotline.db")


async def examples(settings: Settings, labelled: list[tuple[str, str]]) -> list:
    db = await open_database(settings.db_path)
    try:
        store = ExampleStore(db)
        start = datetime(2026, 11, 1, tzinfo=UTC)
        for i, (text, category) in enumerate(labelled):
            await store.add_import(f"t{i}", text, category, None, start + timedelta(minutes=i))
        return await store.all()
    finally:
        await db.close()


@pytest.fixture(scope="module")
def seed():
    return load_classifiers().cases


async def test_a_worse_candidate_is_not_promoted_and_the_seed_stays_in_use(settings, seed):
    # Twenty noise complaints mislabelled, then five labelled right: the newest five are
    # held back, and a candidate taught the wrong label does worse on them.
    texts = noise(25)
    wrong = [(t, "纪检监察") for t in texts[:20]] + [(t, "环境保护") for t in texts[20:]]
    outcome = learning.retrain(settings, await examples(settings, wrong), seed)
    assert outcome.held_back == 5 and outcome.trained_on == 20
    assert outcome.after["macro_f1"] < outcome.before["macro_f1"]
    assert not outcome.promoted
    assert learning.in_use(settings, seed) is seed
    registry = learning.Registry.open(learning.registry_dir(settings))
    assert registry.current is None and registry.versions() == ["v0001"]
    assert registry.history[-1]["promoted"] is False
    assert registry.history[-1]["refit_on"] == 20  # not put in use: never refit


async def test_a_candidate_that_is_not_worse_is_promoted_and_one_command_rolls_back(
        settings, seed):
    right = [(t, "环境保护") for t in noise(30)]
    first = learning.retrain(settings, await examples(settings, right[:25]), seed)
    assert first.promoted and first.after["macro_f1"] >= first.before["macro_f1"]
    assert learning.in_use(settings, seed).version == first.candidate == "v0001"
    # Promoted, it is trained again on all 25, the held-back five included.
    assert learning.Registry.open(learning.registry_dir(settings)).history[-1]["refit_on"] == 25
    # The same examples again (a night with nothing confirmed): no new candidate.
    again = learning.retrain(settings, await examples(settings, right[:25]), seed)
    assert again.candidate is None and not again.promoted
    assert learning.Registry.open(learning.registry_dir(settings)).versions() == ["v0001"]
    second = learning.retrain(settings, await examples(settings, right), seed)
    assert second.promoted and learning.in_use(settings, seed).version == "v0002"

    assert learning.rollback(settings) == "v0001"
    assert learning.in_use(settings, seed).version == "v0001"
    assert learning.rollback(settings) is None
    assert learning.in_use(settings, seed) is seed
    with pytest.raises(SystemExit):
        learning.rollback(settings)


def test_with_no_confirmed_examples_nothing_is_trained(settings, seed):
    outcome = learning.retrain(settings, [], seed)
    assert outcome.candidate is None and not outcome.promoted
    assert "skipped" in outcome.lines()[0]
    assert learning.Registry.open(learning.registry_dir(settings)).versions() == []


async def test_the_action_server_picks_up_a_promotion_without_a_restart(settings, seed):
    res = await Resources.open(settings, load_classifiers())
    try:
        assert res.case_classifier() is res.seed_classifier
        learning.retrain(settings, await examples(settings, [(t, "环境保护") for t in noise(25)]),
                         seed)
        assert res.case_classifier().version == "v0001"
        learning.rollback(settings)
        assert res.case_classifier() is res.seed_classifier
    finally:
        await res.close()


def test_make_learn_records_masked_examples_and_prints_before_and_after(settings, monkeypatch,
                                                                        capsys):
    lines = [json.dumps({"id": f"r{i}", "text": t + " 联系电话13912345678",
                         "category": "环境保护"}, ensure_ascii=False)
             for i, t in enumerate(noise(12))]
    monkeypatch.setenv("HOTLINE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    learning.main(["learn"])
    out = capsys.readouterr().out
    assert "recorded 12 examples" in out and "before: macro-F1" in out and "after:" in out
    db_settings = Settings.from_env()
    import asyncio

    stored = asyncio.run(examples(db_settings, []))
    assert len(stored) == 12 and all("13912345678" not in e.text for e in stored)
    assert all(e.source.startswith("import:r") for e in stored)


def test_a_model_promoted_by_the_command_loads_in_another_process(settings, seed):
    """`python -m bot.nlp.learning` runs the module as __main__: what it saves must still
    load where the action server and triage load it."""
    lines = [json.dumps({"id": f"c{i}", "text": t, "category": "环境保护"}, ensure_ascii=False)
             for i, t in enumerate(noise(12))]
    done = subprocess.run(
        [sys.executable, "-m", "bot.nlp.learning", "learn"], input="\n".join(lines) + "\n",
        capture_output=True, text=True, timeout=600, cwd=ROOT, check=False,
        env={**os.environ, "HOTLINE_DATA_DIR": str(settings.data_dir),
             "HOTLINE_DB_PATH": str(settings.db_path)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "promoted" in done.stdout
    model = learning.in_use(settings, seed)
    assert model is not seed and model.version == "v0001"
    assert model.predict(noise(1)[0]).category == "环境保护"
