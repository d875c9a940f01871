"""Starts the action server, Rasa and the bot, and stops all of them on one Ctrl-C.

Each process logs to its own file under $HOTLINE_DATA_DIR/log (default var/log).
Without TELEGRAM_BOT_TOKEN the bot runs as a console chat in this terminal.

--scaled (make run-scaled) runs the scaled topology on this machine: the case store on
PostgreSQL and Rasa's conversations and locks in Redis, both from Debian's packages,
started here by scripts/pg.sh and scripts/redis.sh on 127.0.0.1 (and stopped on exit)
unless HOTLINE_DATABASE_URL or HOTLINE_REDIS_URL name servers already running; Rasa with
HOTLINE_RASA_WORKERS (default 2) Sanic workers and HOTLINE_ACTION_WORKERS (default 2)
action servers.

usage: .venv/bin/python scripts/run.py [--scaled]
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.config import ConfigError, Settings
from bot.rasa.stack import (
    StackError,
    action_server,
    bot_process,
    rasa_server,
    train_model,
)


def say(text: str) -> None:
    print(f"run: {text}", file=sys.stderr, flush=True)


ROOT = Path(__file__).resolve().parent.parent


def server(script: str, command: str, env: dict[str, str]) -> str:
    """Runs scripts/<script> <command>; returns the last line it prints (the URL)."""
    done = subprocess.run([str(ROOT / "scripts" / script), command], env=env, check=True,
                          capture_output=True, text=True)
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def scaled_env() -> tuple[dict[str, str], list[str]]:
    """The environment of the scaled topology, and the servers started here for it."""
    env = dict(os.environ)
    data = Path(env.get("HOTLINE_DATA_DIR") or ROOT / "var")
    started = []
    if not env.get("HOTLINE_DATABASE_URL"):
        env.setdefault("HOTLINE_PG_DIR", str(data / "postgres"))
        env.setdefault("HOTLINE_PG_PORT", "55433")  # the tests' server has 55432
        env["HOTLINE_DATABASE_URL"] = server("pg.sh", "start", env)
        started.append("pg.sh")
    if not env.get("HOTLINE_REDIS_URL"):
        env["HOTLINE_REDIS_URL"] = server("redis.sh", "start", env)
        started.append("redis.sh")
    env.setdefault("HOTLINE_RASA_WORKERS", "2")
    env.setdefault("HOTLINE_ACTION_WORKERS", "2")
    return env, started


def main() -> int:
    scaled = "--scaled" in sys.argv[1:]
    started: list[str] = []
    env = dict(os.environ)
    if scaled:
        try:
            env, started = scaled_env()
        except subprocess.CalledProcessError as exc:
            say(f"could not start {Path(exc.cmd[0]).name}: {exc.stderr.strip()}")
            return 1
    try:
        return run(env, scaled)
    finally:
        for script in reversed(started):
            server(script, "stop", env)
            say(f"{script} stop")


def run(env: dict[str, str], scaled: bool) -> int:
    try:
        settings = Settings.from_env(env)
    except ConfigError as exc:
        say(f"配置错误 / configuration error: {exc}")
        return 2
    if scaled:
        say(f"scaled: cases on {settings.database_shown}, conversations and locks on "
            f"{settings.redis_url}, {settings.rasa_workers} Rasa workers, "
            f"{settings.action_workers} action servers")
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    mode = "local console (no TELEGRAM_BOT_TOKEN)" if settings.local_mode else "Telegram long polling"
    say(f"mode: {mode}")
    conversations = settings.redis_url or settings.tracker_db_path
    say(f"cases: {settings.database_shown}; conversations: {conversations}; logs: {settings.log_dir}")

    try:
        model = train_model()
    except StackError as exc:
        say(str(exc))
        return 1
    actions = action_server(settings)
    rasas = [rasa_server(settings, model)]
    bot = bot_process(settings, console=settings.local_mode,
                      log_path=None if settings.local_mode else settings.log_dir / "bot.stderr.log")
    started = time.monotonic()
    try:
        actions.start()
        for rasa in rasas:
            rasa.start()
        say(f"action server on 127.0.0.1:{settings.action_port} (log {actions.log_path})")
        for i, rasa in enumerate(rasas):
            say(f"{rasa.name} on 127.0.0.1:{settings.rasa_port + i} with {model.name} "
                f"(log {rasa.log_path})")
        actions.wait_ready(120)
        say(f"action server ready after {actions.ready_after:.1f} s")
        for rasa in rasas:
            rasa.wait_ready(300)
            say(f"{rasa.name} ready after {rasa.ready_after:.1f} s")
        say(f"bot starting (log {settings.log_dir / 'bot.log'}); Ctrl-C stops everything")
        say(f"whole stack ready after {time.monotonic() - started:.1f} s")
        # In console mode the bot reads this terminal; Ctrl-C reaches it and us together.
        bot.start(stdin=None)
        last_restart = {service.name: 0.0 for service in (actions, *rasas)}
        while bot.alive():
            for service in (actions, *rasas):
                if not service.alive() and time.monotonic() - last_restart[service.name] > 10:
                    say(f"{service.name} stopped (see {service.log_path}); restarting it. "
                        "Until it is back the bot apologises and gives the 12345 number.")
                    last_restart[service.name] = time.monotonic()
                    service.stop()
                    service.start()
            time.sleep(0.5)
        bot.process.wait()
        return 0
    except KeyboardInterrupt:
        say("stopping…")
        return 0
    except StackError as exc:
        say(str(exc))
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut shutdown short
        bot.stop()
        for rasa in rasas:
            rasa.stop()
        actions.stop()
        say("stopped")


if __name__ == "__main__":
    sys.exit(main())
