"""/bulletin and the Monday job, through the real Application speaking HTTP to the fake Bot
API on 127.0.0.1: a supervisor receives the charts as one album with a short caption; a
stranger, a citizen or an agent gets the unknown-command answer and no photo."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from telegram import Update

from bot.cases.deadlines import local_date
from bot.cases.desk import Staff
from bot.cases.models import CaseDraft, CaseKind
from bot.config import CHINA, Settings
from bot.insight.charts import CHART_FILES
from bot.store.db import utcnow
from bot.telegram import app as app_module
from bot.telegram import texts
from bot.telegram.app import build_application
from bot.telegram.local_api import LocalBotApi, serve_http
from tests.telegram.conftest import CITIZEN, RasaStub

TOKEN = "123456:TEST-TOKEN"
ALICE = 7001
BOSS = 7100
STRANGER = 7300
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def telegram(tmp_path: Path, rasa: RasaStub):
    """The Application with its resources, its Bot API calls going over HTTP to the fake."""
    api = LocalBotApi()
    for chat in (ALICE, BOSS, STRANGER, CITIZEN):
        api.add_chat(chat)
    runner, port = await serve_http(api)
    settings = Settings(telegram_token=TOKEN, telegram_base_url=f"http://127.0.0.1:{port}/bot",
                        telegram_base_file_url=f"http://127.0.0.1:{port}/file/bot",
                        telegram_rate_limit=0, data_dir=tmp_path,
                        db_path=tmp_path / "hotline.db", rasa_url=rasa.url, rasa_timeout=5,
                        agent_ids=frozenset({ALICE}), supervisor_ids=frozenset({BOSS}))
    app = build_application(settings)
    try:
        async with app:
            await app.post_init(app)
            yield SimpleNamespace(app=app, api=api, settings=settings)
            await app.post_shutdown(app)
    finally:
        await runner.cleanup()


async def command(tg, user: int, text: str) -> list[dict]:
    """`user` types `text` in their private chat; the bot's messages there in reply."""
    before = tg.api.last_message_id()
    update = await tg.api.send_text(user, text)
    await tg.app.process_update(Update.de_json(update, tg.app.bot))
    return [m for m in tg.api.sent(user) if m["message_id"] > before]


async def a_week_of_cases(tg) -> None:
    """Two cases this week, one resolved and rated 满意, through the real store and desk."""
    services = tg.app.bot_data
    for kind, text in ((CaseKind.COMPLAINT, "楼下餐馆油烟直排"), (CaseKind.HELP, "路灯坏了")):
        case = await services.cases.file_case(CaseDraft(
            citizen_id=CITIZEN, chat_id=CITIZEN, kind=kind, description=text,
            category="环境保护", department="南通市生态环境局", district="崇川区"))
    await services.desk.resolve(case.number, Staff(ALICE, "王小丽"), "已修好")
    row = await services.db.fetchone("SELECT id FROM callbacks")
    assert (await services.callbacks.rate(row["id"], CITIZEN, "1")).status == "ok"


def assert_album(messages: list[dict], api: LocalBotApi) -> None:
    assert len(messages) == len(CHART_FILES)
    assert all(m.get("photo") for m in messages)
    assert len({m["media_group_id"] for m in messages}) == 1
    captions = [m.get("caption") for m in messages]
    assert captions[0].startswith("12345 热线周报") and captions[1:] == [None] * 3
    for m in messages:
        (size,) = m["photo"]
        assert api.uploads[size["file_id"]].startswith(PNG)
        assert size["width"] >= 800 and size["file_size"] > 10_000


async def test_a_supervisor_gets_the_weeks_charts_as_photos(telegram):
    await a_week_of_cases(telegram)
    today = local_date(utcnow())
    album = await command(telegram, BOSS, f"/bulletin {today.isoformat()}")
    assert_album(album, telegram.api)
    caption = album[0]["caption"]
    assert "受理 2 件" in caption and "满意率 100.0%（有效回访 1 件）" in caption
    (call,) = telegram.api.calls_of("sendMediaGroup")
    assert int(call.params["chat_id"]) == BOSS
    assert sorted(call.params["_files"]) == sorted(
        item["media"].removeprefix("attach://") for item in call.params["media"])
    # The same bulletin is on disk: Markdown and the PNGs that were sent.
    monday = today - timedelta(days=today.weekday())
    folder = (telegram.settings.data_dir / "bulletin"
              / f"{monday:%Y-%m-%d}_{monday + timedelta(days=6):%Y-%m-%d}")
    assert sorted(p.name for p in folder.iterdir()) == sorted([*CHART_FILES, "bulletin.md"])
    assert "受理（登记案件） | 2 |" in (folder / "bulletin.md").read_text(encoding="utf-8")


async def test_a_bad_date_gets_the_usage(telegram):
    (reply,) = await command(telegram, BOSS, "/bulletin 下周")
    assert reply["text"].startswith("用法：/bulletin")
    assert telegram.api.calls_of("sendMediaGroup") == []


@pytest.mark.parametrize("user", [STRANGER, CITIZEN, ALICE])
async def test_anyone_else_gets_the_unknown_command_answer_and_no_photo(telegram, user):
    await a_week_of_cases(telegram)
    (reply,) = await command(telegram, user, "/bulletin")
    assert reply["text"] == texts.UNKNOWN_COMMAND
    assert telegram.api.calls_of("sendMediaGroup") == []
    assert telegram.api.calls_of("sendPhoto") == []
    assert telegram.api.uploads == {}


async def test_the_monday_job_sends_last_weeks_bulletin_to_the_supervisors(telegram):
    (job,) = telegram.app.job_queue.get_jobs_by_name("bulletin")
    sunday_noon = datetime(2026, 12, 6, 12, tzinfo=CHINA)
    fire = job.job.trigger.get_next_fire_time(None, sunday_noon)
    assert fire == datetime(2026, 12, 7, 8, 30, tzinfo=CHINA)  # Monday 08:30 China time
    after = fire + timedelta(minutes=1)
    assert job.job.trigger.get_next_fire_time(None, after) == datetime(2026, 12, 14, 8, 30,
                                                                       tzinfo=CHINA)

    before = telegram.api.last_message_id()
    await app_module.weekly_bulletin(SimpleNamespace(bot=telegram.app.bot,
                                                     bot_data=telegram.app.bot_data))
    album = [m for m in telegram.api.sent(BOSS) if m["message_id"] > before]
    assert_album(album, telegram.api)
    assert album[0]["caption"].startswith("12345 热线周报")
    for other in (ALICE, STRANGER, CITIZEN):
        assert telegram.api.sent(other) == []
