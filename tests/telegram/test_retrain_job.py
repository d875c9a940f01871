"""The nightly retraining job, run for real: the bot starts Rasa's environment, which
trains a candidate on the confirmed examples in the store and writes the registry."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.cases.examples import ExampleStore
from bot.config import ROOT, Settings
from bot.store.db import open_database
from bot.telegram.app import retrain

pytestmark = pytest.mark.skipif(not (ROOT / ".venv-rasa" / "bin" / "python").exists(),
                                reason="needs Rasa's environment (make setup)")


async def test_the_nightly_job_retrains_on_the_confirmed_examples(tmp_path: Path):
    settings = Settings(data_dir=tmp_path, db_path=tmp_path / "hotline.db")
    db = await open_database(settings.db_path)
    store = ExampleStore(db)
    start = datetime(2026, 12, 1, tzinfo=UTC)
    for i in range(10):
        await store.add_import(f"n{i}", f"小区{i}号楼下的烧烤摊油烟太大，熏得窗户都不敢开（{i}）",
                               "环境保护", None, start + timedelta(minutes=i))
    await db.close()
    await retrain(SimpleNamespace(bot_data=SimpleNamespace(settings=settings)))
    registry = json.loads((tmp_path / "models" / "categories" / "registry.json").read_text())
    (event,) = registry["history"]
    assert event["event"] == "retrained" and event["trained_on"] == 5 and event["held_back"] == 5
    assert (tmp_path / "models" / "categories" / f"{event['candidate']}.joblib").exists()
