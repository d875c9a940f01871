"""Builds the python-telegram-bot Application and registers every handler."""

from __future__ import annotations

import logging

from telegram import BotCommand, Update
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

from bot.cases.store import CaseStore
from bot.config import Settings
from bot.db import Database
from bot.incidents import EmergencyLog
from bot.rasa import RasaClient
from bot.telegram import citizen, texts
from bot.telegram.context import HotlineApp, HotlineContext, Services
from bot.telegram.state import TelegramState
from bot.telegram.updates import PerChatUpdateProcessor

log = logging.getLogger(__name__)


async def drop_duplicate_update(update: Update, context: HotlineContext) -> None:
    """Stops an update that was already handled (Telegram can deliver one twice)."""
    if not await context.state.claim_update(update.update_id):
        log.info("dropping duplicate update %s", update.update_id)
        raise ApplicationHandlerStop


async def on_error(update: object, context: HotlineContext) -> None:
    """Logs the error with its traceback and tells the citizen something true and kind."""
    log.error("error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        try:
            await context.bot.send_message(update.effective_chat.id, texts.ERROR)
        except Exception:  # noqa: BLE001 - the error handler must not raise
            log.exception("could not tell chat %s about the error", update.effective_chat.id)


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
        db = await Database.open(settings.db_path)
        services = app.bot_data
        services.settings = settings
        services.db = db
        services.cases = CaseStore(db)
        services.state = TelegramState(db)
        services.rasa = RasaClient(settings.rasa_url, settings.rasa_timeout)
        services.emergencies = EmergencyLog(db)
        await services.state.forget_old_updates()
        await app.bot.set_my_commands([BotCommand(name, desc) for name, desc in texts.COMMANDS])

    async def post_shutdown(app: HotlineApp) -> None:
        services = app.bot_data
        if services.rasa is not None:
            await services.rasa.close()
        if services.db is not None:
            await services.db.close()

    builder = (
        ApplicationBuilder()
        .token(settings.telegram_token or "0:local")
        .context_types(ContextTypes(context=HotlineContext, bot_data=Services))
        .concurrent_updates(PerChatUpdateProcessor())
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(updates_request or request)
    else:
        builder = (
            builder.base_url(settings.telegram_base_url)
            .base_file_url(settings.telegram_base_file_url)
            .rate_limiter(AIORateLimiter(max_retries=3))
        )
    app = builder.build()
    register_handlers(app)
    return app


def register_handlers(app: HotlineApp) -> None:
    # Group -1 runs before every other group: a duplicate update stops here.
    app.add_handler(TypeHandler(Update, drop_duplicate_update), group=-1)

    app.add_handler(CommandHandler("start", citizen.start))
    app.add_handler(CommandHandler("help", citizen.help_command))
    app.add_handler(CommandHandler("status", citizen.status_command))
    app.add_handler(CommandHandler("mycases", citizen.my_cases_command))
    app.add_handler(CommandHandler("cancel", citizen.cancel_command))
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

