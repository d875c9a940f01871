"""Runs the bot: long-polls Telegram when TELEGRAM_BOT_TOKEN is set (or serves a webhook
when HOTLINE_WEBHOOK_URL is set too), else the console chat.

usage: python -m bot [--console]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from telegram import Update

from bot.config import ConfigError, Settings
from bot.safety.logs import setup_logging

log = logging.getLogger("bot")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    parser.add_argument("--console", action="store_true",
                        help="use the console chat even if a Telegram token is set")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"配置错误 / configuration error: {exc}", file=sys.stderr)
        return 2
    console = args.console or settings.local_mode
    setup_logging(settings.log_dir / "bot.log", to_stderr=not console)

    if console:
        from bot.telegram.console import run_console

        log.info("starting in local console mode; database %s", settings.database_shown)
        try:
            asyncio.run(run_console(settings))
        except KeyboardInterrupt:
            pass
        return 0

    from bot.telegram.app import build_application

    if settings.webhook_mode:
        from bot.telegram.webhook import ListenError, WebhookServer

        log.info("starting in webhook mode: %s, listening on %s:%s; database %s",
                 settings.webhook_url, settings.webhook_host, settings.webhook_port,
                 settings.db_path)
        print(f"Telegram 模式：Webhook {settings.webhook_url}，监听 {settings.webhook_host}:"
              f"{settings.webhook_port}；数据库 {settings.db_path}", file=sys.stderr, flush=True)
        try:
            asyncio.run(WebhookServer(build_application(settings), settings).run(
                handle_signals=True))
        except ListenError as exc:
            log.error("%s", exc)
            print(f"无法监听 / {exc} (HOTLINE_WEBHOOK_LISTEN)", file=sys.stderr)
            return 2
        return 0

    log.info("starting in Telegram mode (%s); database %s", settings.telegram_base_url,
             settings.database_shown)
    print(f"Telegram 模式：长轮询 {settings.telegram_base_url}；数据库 {settings.database_shown}",
          file=sys.stderr, flush=True)
    app = build_application(settings)
    app.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
