"""Load through the whole stack: many citizens at once, through a fake Bot API on 127.0.0.1
into the real bot process (long polling), Rasa, the action server and the SQLite store.

Each simulated citizen repeats: think (exponential, mean --think seconds), then one of
  70%  a policy question (one message),
  20%  filing a case through the whole form (eight messages and button presses; once
       per citizen, later picks become a status check),
  10%  a status check (「查询 NT…」 of their own case, or /mycases).
Latency is from the moment the update is queued at the fake Bot API to the moment the
bot's first reply reaches it. Afterwards the store is checked against what citizens were
told: every case number a citizen received must exist once, and no case may exist that
nobody was told about.

With --scaled the stack is the scaled topology: the case store on PostgreSQL (a fresh
database on scripts/pg.sh's server), Rasa's conversations and locks in a private Redis
(scripts/redis.sh), --rasa-workers Sanic workers and two action servers. --kill-actions-at
T kills the action server (SIGKILL, all its workers) T seconds into the run and starts it
again, as `make run` does; the store check then says whether anything was lost.

usage: .venv/bin/python -m bench.load [--citizens 200] [--duration 60] [--think 2]
       [--telegram-limit 0]   (Bot API calls/s the bot allows itself; 0 = limiter off)
       [--scaled] [--rasa-workers 2] [--kill-actions-at T]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import random
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.cpu import cpu_seconds_of_trees, pid_in_file
from bench.local import percentile, report
from bench.wording import varied
from bot.cases.models import CASE_NUMBER_RE
from bot.config import ROOT, Settings
from bot.rasa.stack import (
    Service,
    action_server,
    bot_process,
    free_port,
    private_redis,
    rasa_server,
    train_model,
)
from bot.store.db import open_database
from bot.telegram import texts
from bot.telegram.local_api import LocalBotApi, serve_http

TOKEN = "123456:BENCH"
AGENTS_CHAT = -100900
FIRST_CITIZEN = 3_000_000
REPLY_TIMEOUT = 30.0
QUIET = 0.12  # a turn's replies are complete after this long without another one

POLICY = [
    "异地就医怎么备案", "公积金租房怎么提取", "失业金怎么领", "个税汇算什么时候办",
    "居住证怎么办理", "低保申请条件是什么", "工伤认定要多久", "灵活就业怎么交医保",
    "养老保险断缴了能补吗", "生育津贴怎么申请", "社保卡丢了怎么补办", "新生儿怎么参加医保",
    "退休了公积金怎么取", "我妈的医保卡在外地能用吗", "离职了公积金能取出来吗", "你好",
]
COMPLAINTS = [
    "我要投诉，工农路和青年路路口的红绿灯坏了三天了，早高峰车辆乱成一团，很危险",
    "我要投诉，小区楼下的烧烤店每天半夜还在营业，油烟和噪音吵得老人孩子睡不着",
    "我要投诉，我们小区的电梯上个月坏了三次，物业一直拖着不修，老人上下楼很困难",
    "我要投诉，公司已经拖欠我们工资两个月了，老板一直说下个月发，一直不兑现",
]
NUMBER = CASE_NUMBER_RE
WEBHOOK_SECRET = "bench-webhook-secret"


@dataclass
class Figures:
    latencies: list[float] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    messages: int = 0
    errors: Counter = field(default_factory=Counter)
    told_numbers: list[str] = field(default_factory=list)
    filings_started: int = 0
    webhook_retries: int = 0  # posts a bot did not take at once (gone, or 503)

    def record(self, kind: str, ms: float) -> None:
        self.messages += 1
        self.latencies.append(ms)
        self.by_kind.setdefault(kind, []).append(ms)


class Citizen:
    def __init__(self, api: LocalBotApi, user: int, figures: Figures, rng: random.Random):
        self.api = api
        self.user = user
        self.figures = figures
        self.rng = rng
        self.case: str | None = None

    async def _turn(self, kind: str, send) -> list[dict]:
        """Sends one update; returns the replies once they stop coming."""
        after = self.api.last_message_id()
        await send()
        queued = time.monotonic()
        try:
            first = await self.api.chat_messages(self.user, after, 1, REPLY_TIMEOUT)
        except TimeoutError:
            self.figures.errors["no reply"] += 1
            raise
        arrived = self.api.received_at[(self.user, first[0]["message_id"])]
        self.figures.record(kind, (arrived - queued) * 1000)
        replies = first
        while True:
            try:
                replies = await self.api.chat_messages(self.user, after, len(replies) + 1, QUIET)
            except TimeoutError:
                break
        for reply in replies:
            if reply["text"] in (texts.APOLOGY, texts.ERROR):
                self.figures.errors["apology"] += 1
        return replies

    async def say(self, kind: str, text: str) -> list[dict]:
        return await self._turn(kind, lambda: self.api.send_text(self.user, text))

    async def press(self, kind: str, replies: list[dict], title: str) -> list[dict]:
        """Presses the button `title` of the last turn's replies. Under load a turn's last
        message (the one with the buttons) can come later than QUIET after the first, so
        it is waited for before the flow counts as broken.
        """
        deadline = time.monotonic() + REPLY_TIMEOUT
        after = replies[0]["message_id"] - 1 if replies else self.api.last_message_id()
        while True:
            found = self._button(self.api.sent_after(self.user, after), title)
            if found is not None:
                message, button = found
                return await self._turn(kind, lambda m=message, b=button: self.api.press_button(
                    self.user, m, b["callback_data"]))
            if time.monotonic() > deadline:
                self.figures.errors[f"flow: no 「{title}」 button"] += 1
                raise LookupError(title)
            await asyncio.sleep(0.05)

    @staticmethod
    def _button(messages: list[dict], title: str) -> tuple[dict, dict] | None:
        for message in reversed(messages):
            for row in message.get("reply_markup", {}).get("inline_keyboard", []):
                for button in row:
                    if button["text"] == title:
                        return message, button
        return None

    async def ask_policy(self) -> None:
        await self.say("policy", varied(self.rng, self.rng.choice(POLICY)))

    async def check_status(self) -> None:
        if self.case and self.rng.random() < 0.7:
            await self.say("status", f"查询 {self.case}")
        else:
            await self.say("status", "/mycases")

    async def file_case(self) -> None:
        self.figures.filings_started += 1
        replies = await self.say("filing", self.rng.choice(COMPLAINTS))
        replies = await self.press("filing", replies, "说完了")
        replies = await self.press("filing", replies, "崇川区")
        replies = await self.say("filing", "青年路工农路交叉口")
        replies = await self.press("filing", replies, "跳过")
        replies = await self.say("filing", f"139{self.user % 100_000_000:08d}")
        replies = await self.press("filing", replies, "没有照片/发完了")
        replies = await self.press("filing", replies, "确认提交")
        # The number may come in a later message of the turn than QUIET allows under load.
        after = replies[0]["message_id"] - 1
        deadline = time.monotonic() + REPLY_TIMEOUT
        numbers: set[str] = set()
        while not numbers and time.monotonic() < deadline:
            numbers = {n for r in self.api.sent_after(self.user, after)
                       for n in NUMBER.findall(r["text"])}
            if not numbers:
                await asyncio.sleep(0.05)
        if len(numbers) != 1:
            self.figures.errors["flow: no case number"] += 1
            return
        self.case = numbers.pop()
        self.figures.told_numbers.append(self.case)

    async def live(self, until: float, think: float) -> None:
        while time.monotonic() < until:
            if think:
                await asyncio.sleep(self.rng.expovariate(1 / think))
            pick = self.rng.random()
            try:
                if pick < 0.7:
                    await self.ask_policy()
                elif pick < 0.9 and self.case is None:
                    await self.file_case()
                else:
                    await self.check_status()
            except (TimeoutError, LookupError):
                await asyncio.sleep(1)


class WebhookPump:
    """Telegram's side of webhook mode: each update a simulated citizen sends is posted to
    one of the bot processes' webhooks, as Telegram's server would post it. A post that
    fails (the process is gone) or is refused (503: the update is in hand elsewhere) is
    tried again on the next process after a pause, so an update is delivered as long as
    one process lives. A citizen sends their next update only after the bot's reply, so
    one chat has one update in flight, as in Telegram's queues."""

    def __init__(self, api: LocalBotApi, urls: list[str], secret: str) -> None:
        self.api, self.urls, self.secret = api, urls, secret
        self.client = httpx.AsyncClient(timeout=120)
        self.tasks: set[asyncio.Task] = set()
        self.retries = 0

    def install(self) -> None:
        async def push(update: dict) -> dict:
            update.setdefault("update_id", next(self.api._update_ids))
            task = asyncio.create_task(self.deliver(update))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
            return update

        self.api.push_update = push

    async def deliver(self, update: dict) -> None:
        body = update.get("message") or update.get("callback_query", {}).get("message", {})
        first = abs(body.get("chat", {}).get("id", 0)) % len(self.urls)
        for attempt in itertools.count():
            url = self.urls[(first + attempt) % len(self.urls)]
            try:
                response = await self.client.post(
                    url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": self.secret})
                if response.status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            self.retries += 1
            await asyncio.sleep(min(5.0, 0.5 * (attempt + 1)))

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await self.client.aclose()


async def drive(settings: Settings, citizens: int, duration: float, think: float,
                telegram_limit: float, actions: Service | None = None,
                kill_actions_at: float | None = None, bots: int = 1,
                kill_bot_at: float | None = None,
                cpu_parts: dict[str, Callable[[], list[int]]] | None = None) -> dict:
    """`bots` above 1 runs that many bot processes in webhook mode behind `WebhookPump`;
    one bot long-polls. `kill_bot_at`: SIGKILL the first bot that many seconds in."""
    api = LocalBotApi()
    api.add_chat(AGENTS_CHAT, title="坐席群")
    runner, port = await serve_http(api)
    env = {"TELEGRAM_BOT_TOKEN": TOKEN,
           "TELEGRAM_BASE_URL": f"http://127.0.0.1:{port}/bot",
           "TELEGRAM_BASE_FILE_URL": f"http://127.0.0.1:{port}/file/bot",
           "TELEGRAM_RATE_LIMIT": str(telegram_limit)}
    processes, pump = [], None
    if bots > 1:
        ports = [free_port() for _ in range(bots)]
        for number, listen in enumerate(ports):
            processes.append(bot_process(settings, console=False, extra_env={
                **env, "HOTLINE_WEBHOOK_URL": "https://hotline.example/telegram",
                "HOTLINE_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "HOTLINE_WEBHOOK_LISTEN": f"127.0.0.1:{listen}",
                "HOTLINE_WEBHOOK_REGISTER": "1" if number == 0 else "0"},
                log_path=settings.log_dir / f"bot-{number}.stderr.log"))
        pump = WebhookPump(api, [f"http://127.0.0.1:{p}/telegram" for p in ports],
                           WEBHOOK_SECRET)
        pump.install()
    else:
        processes.append(bot_process(settings, console=False, extra_env=env,
                                     log_path=settings.log_dir / "bot.stderr.log"))
    for bot in processes:
        bot.start()
    figures = Figures()
    try:
        if pump is None:
            await api.wait_for(lambda: api.get_updates_calls > 0, 60)
        else:
            await wait_healthy(pump)
        # Warm-up (not measured): the action server loads its classifiers on first use.
        warm = Citizen(api, FIRST_CITIZEN - 1, Figures(), random.Random(0))
        for text in ("你好", "公积金怎么提取", "/mycases"):
            await warm.say("warm", text)
        people = [Citizen(api, FIRST_CITIZEN + i, figures, random.Random(i))
                  for i in range(citizens)]
        meter = CpuMeter({**(cpu_parts or {}),
                          "bot": lambda: [b.process.pid for b in processes if b.alive()]})
        meter.begin()
        started = time.monotonic()
        until = started + duration
        living = asyncio.gather(*(p.live(until, think) for p in people))
        kills = []
        if actions is not None and kill_actions_at is not None:
            kills.append((kill_actions_at, "actions"))
        if kill_bot_at is not None:
            kills.append((kill_bot_at, "bot"))
        for at, what in sorted(kills):
            await asyncio.sleep(max(0.0, started + at - time.monotonic()))
            if what == "bot":
                processes[0].kill()  # a crash: not restarted, the others carry on
            else:
                actions.kill()
                actions.start()
                await asyncio.to_thread(actions.wait_ready, 180)
        await living
        elapsed = time.monotonic() - started
        cpu = meter.end(figures.messages)
        rss = {f"bot-{i}": bot.rss_mb() for i, bot in enumerate(processes)}
        await asyncio.sleep(3)  # the last new-case cards leave the outbox
        cards_received = len(api.sent(AGENTS_CHAT))
        if pump is not None:
            figures.webhook_retries = pump.retries
    finally:
        for bot in processes:
            bot.stop()
        if pump is not None:
            await pump.close()
        await runner.cleanup()
    return {"figures": figures, "elapsed": elapsed, "rss": rss, "cpu": cpu,
            "cards_received": cards_received}


async def wait_healthy(pump: WebhookPump, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    for url in pump.urls:
        health = url.rsplit("/", 1)[0] + "/healthz"
        while True:
            try:
                response = await pump.client.get(
                    health, headers={"X-Telegram-Bot-Api-Secret-Token": pump.secret})
                if response.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"no bot answered at {health}")
            await asyncio.sleep(0.3)


async def store_check(settings: Settings, told: list[str], cards_received: int) -> dict:
    db = await open_database(settings.database)
    try:
        rows = await db.fetchall("SELECT number FROM cases WHERE citizen_id >= ?",
                                 (FIRST_CITIZEN,))
        cards = await db.fetchone(
            "SELECT count(*) AS n, count(sent_at) AS sent FROM outbox WHERE chat_id = ?",
            (AGENTS_CHAT,))
    finally:
        await db.close()
    stored = Counter(r["number"] for r in rows)
    told_set = set(told)
    return {
        "cases_told_to_citizens": len(told),
        "cases_in_store": sum(stored.values()),
        "lost": len(told_set - set(stored)),
        "duplicated_numbers_told": len(told) - len(told_set),
        "in_store_but_never_told": len(set(stored) - told_set),
        # The agents' group: outbox rows for it, marked sent, and messages it received
        # (more received than sent rows would be a row sent twice).
        "agent_cards_in_outbox": cards["n"], "agent_cards_marked_sent": cards["sent"],
        "agent_cards_received": cards_received,
    }


def scaled_stores(servers: contextlib.ExitStack, data: Path) -> dict:
    """A fresh PostgreSQL database and a private Redis, dropped and stopped on exit."""
    import psycopg

    url = subprocess.run([str(ROOT / "scripts" / "pg.sh"), "start"], check=True,
                         capture_output=True, text=True).stdout.strip().splitlines()[-1]
    admin, name = url.rsplit("/", 1)[0] + "/postgres", f"bench_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0 LC_COLLATE "C" LC_CTYPE "C"')

    def drop() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    servers.callback(drop)
    redis = servers.enter_context(private_redis(data))
    return {"database_url": url.rsplit("/", 1)[0] + "/" + name, "redis_url": redis}


def server_pid_files(data: Path) -> dict[str, Path]:
    """The pid files of the scaled topology's PostgreSQL and Redis (scripts/pg.sh, redis.sh)."""
    pg = subprocess.run([str(ROOT / "scripts" / "pg.sh"), "pidfile"], check=True,
                        capture_output=True, text=True).stdout.strip()
    return {"postgresql": Path(pg), "redis": data / "redis" / "redis.pid"}


class CpuMeter:
    """CPU seconds of each part of the stack over the measured window, from /proc: the bot
    processes, Rasa and its workers, the action servers, PostgreSQL and Redis, and this
    process (the simulated citizens, the fake Bot API and, with several bots, the pump)."""

    def __init__(self, parts: dict[str, Callable[[], list[int]]]) -> None:
        self.parts = parts
        self.start: dict[str, float] = {}

    def _read(self) -> dict[str, float]:
        read = {name: cpu_seconds_of_trees(pids()) for name, pids in self.parts.items()}
        read["load generator and fake Bot API"] = time.process_time()
        return read

    def begin(self) -> None:
        self.start = self._read()

    def end(self, messages: int) -> dict:
        """Milliseconds of CPU per message for each part, their total, and cores kept busy."""
        spent = {name: seconds - self.start[name] for name, seconds in self._read().items()}
        per_message = {name: round(seconds * 1000 / max(messages, 1), 1)
                       for name, seconds in spent.items()}
        per_message["total"] = round(sum(spent.values()) * 1000 / max(messages, 1), 1)
        return per_message


def summary(values: list[float]) -> dict:
    if not values:
        return {"count": 0}
    return {"count": len(values), "p50": round(statistics.median(values), 1),
            "p95": round(percentile(values, 0.95), 1), "p99": round(percentile(values, 0.99), 1),
            "max": round(max(values), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--citizens", type=int, default=200)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--think", type=float, default=2.0,
                        help="mean seconds a citizen waits between turns (0: none)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="keep the databases and logs here (default: a temporary folder)")
    parser.add_argument("--telegram-limit", type=float, default=0.0,
                        help="TELEGRAM_RATE_LIMIT for the bot (30 = Telegram's; 0 = off)")
    parser.add_argument("--scaled", action="store_true",
                        help="PostgreSQL store, Redis tracker and lock stores, Rasa workers")
    parser.add_argument("--rasa-workers", type=int, default=2)
    parser.add_argument("--kill-actions-at", type=float, default=None,
                        help="seconds into the run to SIGKILL and restart the action server")
    parser.add_argument("--bots", type=int, default=1,
                        help="bot processes; above 1 they run in webhook mode behind a pump "
                             "that posts each update as Telegram would")
    parser.add_argument("--kill-bot-at", type=float, default=None,
                        help="seconds into the run to SIGKILL the first bot (not restarted)")
    args = parser.parse_args()
    model = train_model()
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as servers:
        data = args.data_dir.resolve() if args.data_dir else Path(tmp)
        scaled = scaled_stores(servers, data) if args.scaled else {}
        if args.scaled:
            scaled.update(rasa_workers=args.rasa_workers, action_workers=2)
        action_port = free_port()
        rasa_port = free_port()
        settings = Settings(**scaled, data_dir=data,
                            db_path=data / "hotline.db", rasa_port=rasa_port,
                            action_port=action_port, rasa_url=f"http://127.0.0.1:{rasa_port}",
                            agents_chat_id=AGENTS_CHAT, telegram_rate_limit=args.telegram_limit,
                            # The stack's capacity is measured, not the per-citizen limit.
                            citizen_rate_per_minute=0)
        actions, rasas = action_server(settings), [rasa_server(settings, model)]
        actions.start()
        for rasa in rasas:
            rasa.start()
        try:
            actions.wait_ready(120)
            for rasa in rasas:
                rasa.wait_ready(300)
            pid_files = server_pid_files(data) if args.scaled else {}
            cpu_parts = {
                "rasa": lambda: [r.process.pid for r in rasas if r.alive()],
                "actions": lambda: [actions.process.pid] if actions.alive() else [],
                **{name: (lambda path=path: [p] if (p := pid_in_file(path)) else [])
                   for name, path in pid_files.items()},
            }
            run = asyncio.run(drive(settings, args.citizens, args.duration, args.think,
                                    args.telegram_limit, actions, args.kill_actions_at,
                                    args.bots, args.kill_bot_at, cpu_parts))
            rss = {**{r.name: r.rss_mb() for r in rasas}, "actions": actions.rss_mb(),
                   **run["rss"]}
            check = asyncio.run(store_check(settings, run["figures"].told_numbers,
                                            run["cards_received"]))
        finally:
            for rasa in rasas:
                rasa.stop()
            actions.stop()
    f: Figures = run["figures"]
    result = {
        "citizens": args.citizens, "duration_s": round(run["elapsed"], 1),
        "think_s": args.think, "telegram_rate_limit": args.telegram_limit,
        "scaled": ({"store": "postgresql", "tracker_and_locks": "redis",
                    "rasa_workers": args.rasa_workers, "action_servers": 2}
                   if args.scaled else None),
        "action_server_killed_at_s": args.kill_actions_at,
        "bots": args.bots, "bot_killed_at_s": args.kill_bot_at,
        "messages": f.messages,
        "messages_per_s": round(f.messages / run["elapsed"], 1),
        "latency_ms": summary(f.latencies),
        "latency_ms_by_kind": {k: summary(v) for k, v in sorted(f.by_kind.items())},
        "errors": sum(f.errors.values()), "error_kinds": dict(f.errors),
        "filings_started": f.filings_started,
        "webhook_posts_retried": f.webhook_retries,
        **check,
        "rss_mb": {k: round(v or 0) for k, v in rss.items()},
        # Not comparable across a kill: a killed process's CPU leaves the count with it.
        "cpu_ms_per_message": run["cpu"],
        "cores_busy": round(run["cpu"]["total"] * f.messages / 1000 / run["elapsed"], 2),
    }
    report(f"load-{time.strftime('%Y%m%d-%H%M%S')}", result)


if __name__ == "__main__":
    main()
