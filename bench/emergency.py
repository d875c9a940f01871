"""The emergency check, measured: loading, memory, and the time it adds to each message.

It runs on every text a citizen sends, before anything else, so its cost is paid on
every turn. The messages are the held-out emergencies, look-alikes and ordinary
questions of testsets/, one at a time as the bot reads them.

usage: .venv/bin/python -m bench.emergency
"""

from __future__ import annotations

import os
import statistics
import time

from bench.local import percentile, report
from bot.nlp import emergency
from bot.nlp.evaluate_emergencies import SETS, _yaml, ordinary_heldout
from bot.rasa.stack import rss_mb_of_tree


def main() -> None:
    before = rss_mb_of_tree(os.getpid(), children=False)
    started = time.perf_counter()
    emergency.model()
    trained = time.perf_counter() - started
    texts = [item["text"] for files in SETS.values() for name in files for item in _yaml(name)]
    texts += ordinary_heldout()[:400]
    latencies = []
    for text in texts:
        began = time.perf_counter()
        emergency.assess(text)
        latencies.append((time.perf_counter() - began) * 1000)
    began = time.perf_counter()
    emergency.assess_many(texts)
    batch = time.perf_counter() - began
    report("emergency", {
        "load_s": round(trained, 1),
        "messages": len(texts),
        "per_message_ms_p50": round(statistics.median(latencies), 1),
        "per_message_ms_p95": round(percentile(latencies, 0.95), 1),
        "batch_per_message_ms": round(batch / len(texts) * 1000, 2),
        "rss_mb_added": round(rss_mb_of_tree(os.getpid(), children=False) - before, 0),
    })


if __name__ == "__main__":
    main()
