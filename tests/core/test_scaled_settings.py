"""The scaled Rasa's settings: Redis for conversations and locks, workers, and the old
sharding refused with a pointer to what replaced it."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, Settings
from bot.rasa.stack import action_server, hotline_env, rasa_server


def test_embedded_rasa_keeps_its_sqlite_tracker_and_one_worker(tmp_path):
    settings = Settings.from_env({"HOTLINE_DATA_DIR": str(tmp_path)})
    rasa = rasa_server(settings, tmp_path / "model.tar.gz")
    assert "endpoints.yml" in rasa.argv and "SANIC_WORKERS" not in rasa.env
    assert rasa.env["HOTLINE_TRACKER_DB"] == str(tmp_path / "tracker.db")


def test_redis_puts_rasa_on_the_scaled_endpoints_with_its_workers(tmp_path):
    settings = Settings.from_env({"HOTLINE_DATA_DIR": str(tmp_path),
                                  "HOTLINE_REDIS_URL": "redis://10.0.0.5:6380/2",
                                  "HOTLINE_RASA_WORKERS": "3", "HOTLINE_ACTION_WORKERS": "2"})
    rasa = rasa_server(settings, tmp_path / "model.tar.gz")
    assert "endpoints-scaled.yml" in rasa.argv
    assert (rasa.env["HOTLINE_REDIS_HOST"], rasa.env["HOTLINE_REDIS_PORT"],
            rasa.env["HOTLINE_REDIS_DB"], rasa.env["SANIC_WORKERS"]) == ("10.0.0.5", "6380",
                                                                         "2", "3")
    assert action_server(settings).env["ACTION_SERVER_SANIC_WORKERS"] == "2"
    # Every process of the stack is told the same (the bot refuses a mismatch itself).
    assert Settings.from_env(hotline_env(settings)).redis_url == settings.redis_url


@pytest.mark.parametrize(("env", "message"), [
    ({"HOTLINE_RASA_WORKERS": "2"}, "needs HOTLINE_REDIS_URL"),
    ({"HOTLINE_REDIS_URL": "http://127.0.0.1:6379"}, "redis://"),
    ({"HOTLINE_ACTION_WORKERS": "0"}, "at least 1"),
    ({"HOTLINE_RASA_SHARDS": "2"}, "HOTLINE_REDIS_URL and HOTLINE_RASA_WORKERS"),
])
def test_settings_that_cannot_work_are_refused_with_the_reason(env, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env(env)
