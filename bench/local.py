"""Local mode, measured: start-up, memory and message latency through the console path.

Starts the action server and Rasa (fresh data folder, free ports), then sends messages
the way the console chat does (a Telegram update through the real Application, the
in-process Bot API, Rasa and the actions) one at a time, and prints the figures.

usage: .venv/bin/python -m bench.local [--messages N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from telegram import Update

from bot.config import ROOT, Settings
from bot.rasa.stack import rss_mb_of_tree, scratch_servers, train_model
from bot.telegram.app import build_application
from bot.telegram.local_api import LocalBotApi, LocalRequest

MESSAGES = [
    "你好", "异地就医怎么备案", "公积金租房怎么提取", "失业金怎么领", "谢谢",
    "个税汇算什么时候办", "讲个笑话", "居住证怎么办理", "低保申请条件", "工伤认定要多久",
]


def report(name: str, figures: dict) -> Path:
    """Prints the figures and writes them to bench/results/<name>.json for comparison."""
    text = json.dumps(figures, ensure_ascii=False, indent=2)
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    path.write_text(text + "\n", encoding="utf-8")
    print(text)
    print(f"written to {path.relative_to(ROOT)}")
    return path


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def chat(settings: Settings, count: int) -> tuple[list[float], float]:
    api = LocalBotApi()
    app = build_application(settings, request=LocalRequest(api))
    latencies = []
    async with app:
        await app.post_init(app)
        for i in range(count):
            user = 50_000 + i % 20
            update = await api.send_text(user, MESSAGES[i % len(MESSAGES)])
            started = time.perf_counter()
            await app.process_update(Update.de_json(update, app.bot))
            latencies.append((time.perf_counter() - started) * 1000)
        await app.post_shutdown(app)
    return latencies, rss_mb_of_tree(os.getpid(), children=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=200)
    args = parser.parse_args()
    model = train_model()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        with scratch_servers(Path(tmp), model) as (settings, actions, rasa):
            ready = time.monotonic() - started
            rss_after_start = {"rasa": rasa.rss_mb(), "actions": actions.rss_mb()}
            # One warm-up turn: the action server loads its classifiers on first use.
            asyncio.run(chat(settings, 1))
            latencies, bot_rss = asyncio.run(chat(settings, args.messages))
            figures = {
                "messages": len(latencies),
                "latency_ms_p50": round(statistics.median(latencies), 1),
                "latency_ms_p95": round(percentile(latencies, 0.95), 1),
                "latency_ms_max": round(max(latencies), 1),
                "start_to_ready_s": {"actions": round(actions.ready_after, 1),
                                     "rasa": round(rasa.ready_after, 1),
                                     "stack": round(ready, 1)},
                "rss_mb_after_start": {k: round(v, 0) for k, v in rss_after_start.items()},
                "rss_mb_after_run": {"rasa": round(rasa.rss_mb(), 0),
                                     "actions": round(actions.rss_mb(), 0),
                                     "bot": round(bot_rss, 0)},
            }
    report("local", figures)


if __name__ == "__main__":
    main()
