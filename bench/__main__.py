"""make bench: every benchmark, one after another; each prints its figures and writes JSON
to bench/results/ so runs can be compared.

    store   filings per second through the full transaction (bench/store.py)
    load    200 citizens through the fake Bot API, the bot, Rasa and the actions (bench/load.py)
    local   start-up, memory and one-at-a-time latency in local mode (bench/local.py)
    emergency  the emergency check: training, memory, time added to each message
    turn    CPU per message of Rasa and of the action server, for the model served alone and
            with each tracker store, at the same concurrency (bench/turn.py)
    insight the hot-spot pass (and the figures) over 100,000 synthetic cases with planted
            clusters: time, clusters found, false alerts (bench/insight.py)
"""

import sys

from bench import emergency, insight, load, local, store, turn

if __name__ == "__main__":
    for name, module in (("store", store), ("load", load), ("local", local),
                         ("emergency", emergency), ("turn", turn), ("insight", insight)):
        print(f"== {name} ==", flush=True)
        sys.argv = [f"bench.{name}"]
        module.main()
