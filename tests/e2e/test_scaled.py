"""The scaled topology end to end: the case store on PostgreSQL, Rasa with two Sanic workers
sharing conversations and locks in Redis, two action servers, and the bot, through the
fake Bot API. Redis is the project's own (scripts/redis.sh), PostgreSQL too (scripts/pg.sh).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cases.models import CASE_NUMBER_RE
from bot.cases.store import CaseStore
from bot.config import Settings
from bot.rasa.stack import StackError, private_redis, running_servers
from bot.store.db import open_database
from tests.e2e.conftest import AGENTS, AGENTS_CHAT, SUPERVISOR, Stack, free_port, telegram_for
from tests.e2e.test_intake import DESCRIPTION, buttons, fill_form
from tests.stores import PostgresServer, unavailable

CITIZENS = (890201, 890202, 890203, 890204)


def redis_keys(url: str, pattern: str) -> list[str]:
    port = url.rsplit(":", 1)[1].split("/")[0]
    done = subprocess.run(["redis-cli", "-p", port, "--scan", "--pattern", pattern],
                          capture_output=True, text=True, timeout=30, check=True)
    return done.stdout.split()


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory, model: Path,
           postgres_server) -> Iterator[Stack]:
    if not isinstance(postgres_server, PostgresServer):
        unavailable(str(postgres_server))
    data = tmp_path_factory.mktemp("scaled")
    servers = contextlib.ExitStack()
    try:
        redis_url = servers.enter_context(private_redis(data))
    except StackError as exc:
        message = f"Redis unavailable: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI=true: the scaled tests must run)", pytrace=False)
        pytest.skip(message)
    database_url = postgres_server.create("scaled")
    rasa_port = free_port()
    settings = Settings(data_dir=data, db_path=data / "unused.db", database_url=database_url,
                        redis_url=redis_url, rasa_workers=2, action_workers=2,
                        rasa_port=rasa_port, action_port=free_port(),
                        rasa_url=f"http://127.0.0.1:{rasa_port}",
                        agent_ids=frozenset(AGENTS), supervisor_ids=frozenset({SUPERVISOR}),
                        agents_chat_id=AGENTS_CHAT, supervision_seconds=1.0)
    try:
        with running_servers(settings, model) as (actions, rasa):
            yield Stack(settings, actions, rasa)
    finally:
        servers.close()
        postgres_server.drop(database_url)


@pytest.fixture
async def tg(scaled: Stack):
    async with telegram_for(scaled) as telegram:
        yield telegram


async def cases_in(settings: Settings) -> list:
    db = await open_database(settings.database_url)
    try:
        store = CaseStore(db)
        return [case for citizen in CITIZENS for case in await store.cases_of_citizen(citizen)]
    finally:
        await db.close()


async def test_citizens_file_at_once_through_two_rasa_workers_onto_postgresql(tg, scaled):
    for service in (scaled.rasa, scaled.actions):  # Sanic's main process and two workers
        pid = service.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        assert len(children) >= 2, f"{service.name} runs {len(children)} worker(s)"
    summaries = await asyncio.gather(*(fill_form(tg, citizen) for citizen in CITIZENS))
    filed = await asyncio.gather(*(tg.press(citizen, summary, 0)
                                   for citizen, summary in zip(CITIZENS, summaries,
                                                               strict=True)))
    told = {CASE_NUMBER_RE.search(message["text"]).group(0) for (message,) in filed}
    assert len(told) == len(CITIZENS)
    stored = await cases_in(scaled.settings)
    assert {case.number for case in stored} == told  # each told case stored once, no other
    # Conversations and their locks live in Redis, not in a file of one Rasa process.
    assert len(redis_keys(scaled.settings.redis_url, "hotline:tracker:*")) >= len(CITIZENS)
    assert not (scaled.settings.data_dir / "tracker.db").exists()


async def test_a_half_filled_form_survives_a_killed_rasa_in_redis(tg, scaled):
    citizen = CITIZENS[0] + 100
    _intro, more = await tg.say(citizen, DESCRIPTION, count=2)
    scaled.rasa.kill()  # SIGKILL to the server and its workers, as a crash
    scaled.rasa.start()
    scaled.rasa.wait_ready(300)
    (district,) = await tg.press(citizen, more, 0)
    assert "区县" in district["text"] and "崇川区" in buttons(district)
