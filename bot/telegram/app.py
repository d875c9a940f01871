"""Builds the python-telegram-bot Application and registers every handler."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import time as dt_time
from datetime import timedelta
from pathlib import Path

from telegram import BotCommand, Update
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.cases.callbacks import Callbacks
from bot.cases.departments import load_directory
from bot.cases.desk import CaseDesk
from bot.cases.handoffs import Handoffs
from bot.cases.notices import Notices
from bot.cases.reports import Reports
from bot.cases.roles import Role, Roles
from bot.cases.store import CaseStore
from bot.cases.supervision import Supervision
from bot.config import CHINA, ROOT, Settings
from bot.insight.hotspots import HotSpots
from bot.nlp import emergency
from bot.rasa.client import RasaClient
from bot.safety.incidents import EmergencyLog
from bot.store.db import open_database
from bot.store.leases import Leases
from bot.store.outbox import Outbox
from bot.telegram import citizen, render, staff, texts
from bot.telegram.context import HotlineApp, HotlineContext, Services
from bot.telegram.delivery import DeliveryWorker
from bot.telegram.limits import CitizenLimiter
from bot.telegram.staff import STAFF as STAFF_ROLES
from bot.telegram.state import HEARTBEAT, TelegramState
from bot.telegram.updates import PerChatUpdateProcessor

log = logging.getLogger(__name__)

FINISH_GROUP = 1_000  # after every handler group


async def drop_duplicate_update(update: Update, context: HotlineContext) -> None:
    """Stops an update that was handled or is being handled (Telegram can deliver one twice)."""
    payload = json.dumps(update.to_dict(), ensure_ascii=False)
    if not await context.state.claim_update(update.update_id, payload):
        log.info("dropping duplicate update %s", update.update_id)
        raise ApplicationHandlerStop


async def finish_update(update: Update, context: HotlineContext) -> None:
    """Records the update as handled, so that a second delivery of it is dropped."""
    await context.state.finish_update(update.update_id)


async def limit_rate(update: Update, context: HotlineContext) -> None:
    """A person sending more than the per-minute limit is told once and then ignored for a
    while; staff are never limited.
    """
    user = update.effective_user
    if user is None:
        return
    allowed, tell = await context.bot_data.limiter.check(user.id)
    if allowed or await context.roles.has(user.id, *STAFF_ROLES):
        return
    log.warning("user %s is over the rate limit; update %s dropped", user.id, update.update_id)
    if update.callback_query is not None:
        with contextlib.suppress(TelegramError):
            await update.callback_query.answer(texts.SLOW_DOWN[:200])
    elif tell and update.effective_chat is not None:
        with contextlib.suppress(TelegramError):
            await context.bot.send_message(update.effective_chat.id, texts.SLOW_DOWN)
    # Dropped on purpose is handled: a redelivery, here or in another process, is dropped
    # too, and is not left looking as if this process were still at it.
    await context.state.finish_update(update.update_id)
    raise ApplicationHandlerStop


async def on_error(update: object, context: HotlineContext) -> None:
    """Logs the error with its traceback and tells the citizen something true and kind."""
    log.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await context.bot.send_message(update.effective_chat.id, texts.ERROR)
        except Exception:
            log.exception("could not tell chat %s about the error", update.effective_chat.id)


# The nightly retraining of the case classifier on the agents' confirmed cases (China time).
RETRAIN_AT = dt_time(2, 30, tzinfo=CHINA)


async def retrain(context: HotlineContext) -> None:
    """`make retrain`, in Rasa's environment (the classifier is pickled with its
    scikit-learn): a candidate promoted only if not worse; the actions pick it up."""
    python = ROOT / ".venv-rasa" / "bin" / "python"
    if not python.exists():
        log.warning("nightly retraining skipped: %s is missing", python)
        return
    output, code = await _run_nightly(context.bot_data.settings, python, "bot.nlp.learning",
                                      "retrain")
    lines = [line for line in output.splitlines()
             if line.startswith(("candidate", "  before", "  after", "skipped"))]
    log.info("nightly retraining (exit %s): %s", code, " | ".join(lines))


# The nightly knowledge drafts (make kb-drafts), after the retraining.
KB_DRAFTS_AT = dt_time(2, 45, tzinfo=CHINA)


async def kb_drafts(context: HotlineContext) -> None:
    """`make kb-drafts`: questions the knowledge base left to agents, grouped into drafts in
    the review file for a maintainer (`make kb-report` lists them)."""
    output, code = await _run_nightly(context.bot_data.settings, Path(sys.executable),
                                      "bot.knowledge.drafts", "write")
    log.info("nightly knowledge drafts (exit %s): %s", code, output.strip()[-300:])


async def _run_nightly(settings: Settings, python: Path, module: str,
                       command: str) -> tuple[str, int | None]:
    """Runs `python -m module command` on this process's store; (its output, exit code)."""
    env = {**os.environ, "HOTLINE_DATA_DIR": str(settings.data_dir),
           "HOTLINE_DB_PATH": str(settings.db_path),
           "HOTLINE_DATABASE_URL": settings.database_url, "PYTHONPATH": str(ROOT)}
    process = await asyncio.create_subprocess_exec(
        str(python), "-m", module, command, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    output, _ = await process.communicate()
    return output.decode(errors="replace"), process.returncode


# The weekly bulletin to every supervisor: Monday 08:30 China time (PTB counts 0 as Sunday).
BULLETIN_AT = dt_time(8, 30, tzinfo=CHINA)
BULLETIN_DAYS = (1,)


async def weekly_bulletin(context: HotlineContext) -> None:
    """Sends last week's bulletin (charts and caption) to every supervisor."""
    services = context.bot_data
    bulletin = await staff.make_bulletin(services)
    for chat_id in sorted(await services.roles.members(Role.SUPERVISOR)):
        try:
            await staff.send_bulletin(context.bot, chat_id, bulletin)
        except TelegramError as exc:  # never opened a chat with the bot, or blocked it
            log.warning("could not send the weekly bulletin to %s: %s", chat_id, exc)
    log.info("weekly bulletin %s sent", bulletin.period)


# Several bot processes may share the store (webhook mode): each job runs in the process
# that holds its lease. A repeating job's holder renews it at every run and keeps it while
# it lives; another process takes it over once it has lapsed. A daily or weekly job's
# lease outlasts its run on purpose, so that the others' firing of the same schedule,
# moments later by their clocks, finds it held; it has lapsed long before the next one.
SUPERVISION = "job:supervision"
SCHEDULED_LEASE = timedelta(hours=1)

Job = Callable[[HotlineContext], Awaitable[None]]


def leased(job: Job, name: str, ttl: timedelta) -> Job:
    """`job`, run only by the process that holds (or can take) the lease `name`."""

    @functools.wraps(job)
    async def run_if_held(context: HotlineContext) -> None:
        if await context.bot_data.leases.hold(name, ttl):
            await job(context)
        else:
            log.debug("%s: another process holds the lease", name)

    return run_if_held


async def heartbeat(context: HotlineContext) -> None:
    """Renews this run's lease: the updates it has started are its own while it lives."""
    await context.bot_data.state.heartbeat()


async def supervise(context: HotlineContext) -> None:
    """The periodic 督办 pass and the hot-spot pass; what they enqueue goes out at once."""
    await context.bot_data.supervision.run_once()
    try:
        await context.bot_data.hotspots.run_once()
    except Exception:  # a failed hot-spot pass must not stop the 督办 reminders
        log.exception("hot-spot pass failed")
    context.bot_data.delivery.wake()


def build_application(
    settings: Settings,
    request: BaseRequest | None = None,
    updates_request: BaseRequest | None = None,
) -> HotlineApp:
    """The Application with its resources opened in post_init and closed in post_shutdown.

    `request` replaces the HTTP transport to the Bot API (the local console mode and
    offline tests use an in-process one); otherwise `settings.telegram_base_url` is used.
    """

    async def post_init(app: HotlineApp) -> None:
        db = await open_database(settings.database)
        services = app.bot_data
        services.settings = settings
        services.db = db
        services.leases = Leases(db, holder=uuid.uuid4().hex)
        services.cases = CaseStore(db, agents_chat_id=settings.agents_chat_id,
                                   supervisor_ids=settings.supervisor_ids)
        services.state = TelegramState(db, services.leases)
        # Long polling has one process take the updates; a webhook may have several.
        await services.state.start(exclusive=not settings.webhook_mode)
        services.rasa = RasaClient(settings.rasa_url, settings.rasa_timeout)
        services.emergencies = EmergencyLog(db)
        # The emergency classifier is trained once per process, before the first message.
        await asyncio.to_thread(emergency.model)
        services.limiter = CitizenLimiter(settings.citizen_rate_per_minute)
        services.roles = Roles(db, settings)
        services.departments = load_directory()
        notices = Notices(services.roles, agents_chat_id=settings.agents_chat_id)
        services.handoffs = Handoffs(db, idle=timedelta(minutes=settings.handoff_idle_minutes))
        services.desk = CaseDesk(db, notices, services.handoffs)
        services.callbacks = Callbacks(db, notices)
        services.reports = Reports(db)
        services.outbox = Outbox(db)
        # Delivery runs in every process: each claims a chat's next row (Outbox.claim).
        services.delivery = DeliveryWorker(services.outbox, app.bot)
        services.supervision = Supervision(db, notices, services.handoffs)
        services.hotspots = HotSpots(db, services.roles)
        await services.state.forget_old_updates()
        # A webhook update cut off by a crash was never answered, so Telegram sends it
        # again; one fetched by getUpdates was acknowledged and is replayed from the store.
        for data in [] if settings.webhook_mode else await services.state.unfinished():
            log.warning("handling update %s again: the last run stopped mid-turn",
                        data.get("update_id"))
            await app.update_queue.put(Update.de_json(data, app.bot))
        await app.bot.set_my_commands([BotCommand(name, desc) for name, desc in texts.COMMANDS])
        await staff.set_menus(app.bot, services.roles, settings.agents_chat_id)
        # Both survive restarts: what to send and what was acted on are in the database.
        services.delivery.start()
        if app.job_queue is not None:
            app.job_queue.run_repeating(heartbeat, interval=HEARTBEAT, name="heartbeat")
            app.job_queue.run_repeating(
                leased(supervise, SUPERVISION,
                       timedelta(seconds=3 * settings.supervision_seconds)),
                interval=settings.supervision_seconds, first=1.0, name="supervision")
            app.job_queue.run_daily(leased(retrain, "job:retrain", SCHEDULED_LEASE),
                                    RETRAIN_AT, name="retrain")
            app.job_queue.run_daily(leased(kb_drafts, "job:kb-drafts", SCHEDULED_LEASE),
                                    KB_DRAFTS_AT, name="kb-drafts")
            app.job_queue.run_daily(leased(weekly_bulletin, "job:bulletin", SCHEDULED_LEASE),
                                    BULLETIN_AT, days=BULLETIN_DAYS, name="bulletin")

    async def post_stop(app: HotlineApp) -> None:
        if app.bot_data.delivery is not None:
            await app.bot_data.delivery.stop()

    async def post_shutdown(app: HotlineApp) -> None:
        services = app.bot_data
        await post_stop(app)
        if services.rasa is not None:
            await services.rasa.close()
        if services.state is not None:
            # Hand over at once what this process held: its updates and the supervision.
            await services.leases.release(SUPERVISION)
            await services.state.stop()
        if services.db is not None:
            await services.db.close()

    builder = (
        ApplicationBuilder()
        .token(settings.telegram_token or "0:local")
        .context_types(ContextTypes(context=HotlineContext, bot_data=Services))
        .concurrent_updates(PerChatUpdateProcessor())
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
    )
    if settings.webhook_mode:
        builder = builder.updater(None)  # updates come from bot/telegram/webhook.py
    if request is not None:
        builder = builder.request(request)
        if not settings.webhook_mode:
            builder = builder.get_updates_request(updates_request or request)
    else:
        builder = builder.base_url(settings.telegram_base_url).base_file_url(
            settings.telegram_base_file_url)
        if settings.telegram_rate_limit > 0:
            # Telegram's limits: about 30 messages a second overall, 20 a minute per group.
            builder = builder.rate_limiter(AIORateLimiter(
                overall_max_rate=settings.telegram_rate_limit, max_retries=3))
    app = builder.build()
    register_handlers(app)
    return app


def register_handlers(app: HotlineApp) -> None:
    # These groups run before every other: a duplicate update stops first, then an update
    # over the sender's rate limit.
    app.add_handler(TypeHandler(Update, drop_duplicate_update), group=-2)
    app.add_handler(TypeHandler(Update, limit_rate), group=-1)
    # This group runs after every other, also after a handler raised (PTB goes on to the
    # next group once the error handler has answered): only then is the update handled.
    # An update the rate limit stops is recorded as handled there.
    app.add_handler(TypeHandler(Update, finish_update), group=FINISH_GROUP)

    app.add_handler(CommandHandler("start", staff.start))
    app.add_handler(CommandHandler("help", citizen.help_command))
    app.add_handler(CommandHandler("status", citizen.status_command))
    app.add_handler(CommandHandler("mycases", citizen.my_cases_command))
    app.add_handler(CommandHandler("cancel", citizen.cancel_command))
    for command in staff.COMMANDS.values():
        app.add_handler(CommandHandler(command.name, command.handler))
    app.add_handler(CallbackQueryHandler(staff.staff_button, pattern=f"^{render.STAFF_PREFIX}"))
    app.add_handler(CallbackQueryHandler(citizen.rating_press, pattern=f"^{render.RATING_PREFIX}"))
    app.add_handler(CallbackQueryHandler(citizen.button_press))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, citizen.text_message))
    # After every known command: anything else starting with "/" is unknown.
    app.add_handler(MessageHandler(filters.COMMAND, citizen.unknown_command))
    app.add_handler(MessageHandler(filters.PHOTO, citizen.photo))
    app.add_handler(
        MessageHandler(
            filters.VOICE
            | filters.AUDIO
            | filters.VIDEO
            | filters.VIDEO_NOTE
            | filters.Sticker.ALL
            | filters.LOCATION
            | filters.VENUE
            | filters.CONTACT
            | filters.Document.ALL
            | filters.ANIMATION,
            citizen.unsupported_media,
        )
    )
    app.add_error_handler(on_error)

