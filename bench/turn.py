"""What a Rasa turn costs: CPU per message of Rasa and of the action server, throughput and
latency, for one model served in several ways, at the same concurrency.

Each way is started fresh on free ports with its data in a scratch folder:

  alone      Rasa alone: in-memory tracker store, no action server (custom actions fail
             fast and the turn ends with what the policies and responses give)
  memory     in-memory tracker store, with the action server
  sqlite     the SQL tracker store on SQLite, with the action server (`make run` today)
  redis      Rasa's Redis tracker store and the Redis lock store, with the action server
  append     the project's append-only Redis tracker store (bot/rasa/tracker_store.py)
             and the Redis lock store, with the action server
  postgres   the SQL tracker store on PostgreSQL and the Redis lock store, with the
             action server

Clients post straight to Rasa's REST channel (no bot, no Telegram) so that the figures are
Rasa's and the actions' own. Every client is a citizen with their own conversation, sending
its next message when the last one is answered (closed loop).

usage: .venv/bin/python -m bench.turn [--ways alone,sqlite,redis] [--citizens 50]
       [--messages 1500] [--workers 1] [--redis-url redis://127.0.0.1:P]
       [--postgres-url postgresql://…]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from bench.cpu import cpu_seconds_of_tree
from bench.local import percentile, report
from bench.wording import varied
from bot.config import Settings
from bot.rasa.stack import (
    RASA_VENV,
    Service,
    _get_json,
    action_server,
    free_port,
    hotline_env,
    private_redis,
    train_model,
)

MESSAGES = [
    "异地就医怎么备案", "公积金租房怎么提取", "失业金怎么领", "个税汇算什么时候办",
    "居住证怎么办理", "低保申请条件是什么", "工伤认定要多久", "灵活就业怎么交医保",
    "养老保险断缴了能补吗", "生育津贴怎么申请", "你好", "谢谢", "我的案件办得怎么样了",
    "退休了公积金怎么取", "离职了公积金能取出来吗", "好的",
]


def endpoints(way: str, action_port: int, data: Path, redis: str | None,
              postgres: str | None, selective: bool) -> str:
    lines = []
    if way != "alone":
        lines += ["action_endpoint:", f"  url: http://127.0.0.1:{action_port}/webhook",
                  f"  enable_selective_domain: {str(selective).lower()}"]
    if way == "sqlite":
        lines += ["tracker_store:", "  type: SQL", "  dialect: sqlite",
                  f"  db: {data / 'tracker.db'}"]
    if way in ("redis", "append", "postgres"):
        host, port, db = _redis_parts(redis)
        lines += ["lock_store:", "  type: redis", f"  url: {host}", f"  port: {port}",
                  f"  db: {db + 1}", "  key_prefix: bench"]
    if way == "redis":
        host, port, db = _redis_parts(redis)
        lines += ["tracker_store:", "  type: redis", f"  url: {host}", f"  port: {port}",
                  f"  db: {db}", "  key_prefix: bench"]
    if way == "append":
        host, port, db = _redis_parts(redis)
        lines += ["tracker_store:", "  type: bot.rasa.tracker_store.AppendOnlyRedisTrackerStore",
                  f"  url: {host}", f"  port: {port}", f"  db: {db}", "  key_prefix: bench"]
    if way == "postgres":
        lines += ["tracker_store:", "  type: SQL", "  dialect: postgresql",
                  *_postgres_lines(postgres)]
    return "\n".join(lines) + "\n"


def _redis_parts(url: str | None) -> tuple[str, int, int]:
    if not url:
        raise SystemExit("--redis-url is needed for this way")
    parsed = urlsplit(url)
    return parsed.hostname, parsed.port or 6379, int(parsed.path.strip("/") or 0)


def _postgres_lines(url: str | None) -> list[str]:
    if not url:
        raise SystemExit("--postgres-url is needed for this way")
    parsed = urlsplit(url)
    lines = [f"  url: {parsed.hostname}", f"  port: {parsed.port or 5432}",
             f"  db: {parsed.path.strip('/')}"]
    if parsed.username:
        lines.append(f"  username: {parsed.username}")
    if parsed.password:
        lines.append(f"  password: {parsed.password}")
    return lines


async def drive(url: str, citizens: int, messages: int, first_sender: int) -> dict:
    latencies: list[float] = []
    errors = 0
    remaining = messages

    async def citizen(client: httpx.AsyncClient, sender: int, rng: random.Random) -> None:
        nonlocal remaining, errors
        while remaining > 0:
            remaining -= 1
            start = time.perf_counter()
            try:
                response = await client.post(url, json={"sender": str(sender),
                                                        "message": varied(rng, rng.choice(MESSAGES))})
                if response.status_code != 200:
                    errors += 1
            except httpx.HTTPError:
                errors += 1
            latencies.append((time.perf_counter() - start) * 1000)

    limits = httpx.Limits(max_connections=citizens, max_keepalive_connections=citizens)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        start = time.perf_counter()
        await asyncio.gather(*(citizen(client, first_sender + i, random.Random(i))
                               for i in range(citizens)))
        elapsed = time.perf_counter() - start
    return {"messages": len(latencies), "errors": errors, "seconds": round(elapsed, 2),
            "per_second": round(len(latencies) / elapsed, 1),
            "p50_ms": round(statistics.median(latencies), 1),
            "p95_ms": round(percentile(latencies, 0.95), 1)}


def run_way(way: str, model: Path, args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch)
        rasa_port = free_port()
        settings = Settings(data_dir=data, db_path=data / "hotline.db", rasa_port=rasa_port,
                            action_port=free_port(), rasa_url=f"http://127.0.0.1:{rasa_port}")
        (data / "endpoints.yml").write_text(
            endpoints(way, settings.action_port, data, args.redis_url, args.postgres_url,
                      args.selective_domain))
        rasa = Service(
            name=f"Rasa ({way})",
            argv=[str(RASA_VENV / "bin" / "python"), "-m", "bot.rasa.server", "run",
                  "--enable-api", "-i", "127.0.0.1", "-p", str(rasa_port), "-m", str(model),
                  "--endpoints", str(data / "endpoints.yml"),
                  "--credentials", "credentials.yml"],
            log_path=data / "rasa.log",
            env={**hotline_env(settings), "SANIC_WORKERS": str(args.workers)},
            ready=lambda: bool((_get_json(f"http://127.0.0.1:{rasa_port}/status") or {})
                               .get("model_file")),
        )
        actions = None if way == "alone" else action_server(settings, data)
        services = [s for s in (actions, rasa) if s is not None]
        for service in services:
            service.start()
        try:
            for service in services:
                service.wait_ready(300)
            url = f"{settings.rasa_url}/webhooks/rest/webhook"
            asyncio.run(drive(url, args.citizens, args.citizens * 2, 9_000_000))  # warm up
            rasa_cpu = cpu_seconds_of_tree(rasa.process.pid)
            action_cpu = cpu_seconds_of_tree(actions.process.pid) if actions else 0.0
            figures = asyncio.run(drive(url, args.citizens, args.messages, 1_000_000))
            rasa_cpu = cpu_seconds_of_tree(rasa.process.pid) - rasa_cpu
            action_cpu = (cpu_seconds_of_tree(actions.process.pid) - action_cpu
                          if actions else 0.0)
        finally:
            for service in reversed(services):
                service.stop()
        figures["rasa_cpu_ms_per_turn"] = round(rasa_cpu * 1000 / figures["messages"], 1)
        figures["actions_cpu_ms_per_turn"] = round(action_cpu * 1000 / figures["messages"], 1)
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ways", default="alone,memory,sqlite,append")
    parser.add_argument("--citizens", type=int, default=50)
    parser.add_argument("--messages", type=int, default=1500)
    parser.add_argument("--workers", type=int, default=1, help="SANIC_WORKERS for Rasa")
    parser.add_argument("--redis-url", default=os.environ.get("HOTLINE_REDIS_URL"),
                        help="default: a private Redis started by scripts/redis.sh")
    parser.add_argument("--postgres-url", default=os.environ.get("HOTLINE_TRACKER_URL"))
    parser.add_argument("--selective-domain", action="store_true",
                        help="send the actions the domain only when they need it (measured: "
                             "no gain here)")
    parser.add_argument("--save", default="turn")
    args = parser.parse_args()
    model = train_model()
    results = {}
    ways = args.ways.split(",")
    with tempfile.TemporaryDirectory() as scratch, contextlib.ExitStack() as servers:
        if not args.redis_url and {"redis", "append", "postgres"} & set(ways):
            args.redis_url = servers.enter_context(private_redis(Path(scratch)))
        for way in ways:
            results[way] = run_way(way, model, args)
            print(f"{way:9} {json.dumps(results[way], ensure_ascii=False)}", flush=True)
    if "alone" in results:
        base = results["alone"]["rasa_cpu_ms_per_turn"]
        for figures in results.values():
            figures["rasa_cpu_vs_alone"] = round(figures["rasa_cpu_ms_per_turn"] / base, 2)
    report(args.save, {"citizens": args.citizens, "messages": args.messages,
                       "workers": args.workers, "selective_domain": args.selective_domain,
                       "ways": results})


if __name__ == "__main__":
    main()
