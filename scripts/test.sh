#!/usr/bin/env bash
# Every check and every test. `make test` (the README's test command) runs this after
# setting up both environments and training the model if its inputs changed.
set -euo pipefail
cd "$(dirname "$0")/.."
export RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 PYTHONPATH="$PWD" PYTHONWARNINGS=ignore

echo "== ruff (pinned in requirements/bot.lock; rules in pyproject.toml)"
.venv/bin/ruff check .

echo "== import rules (import-linter; contracts in pyproject.toml)"
imports=$(.venv/bin/lint-imports --no-cache 2>&1) || { echo "$imports"; exit 1; }
echo "$imports" | grep -E "^Contracts:"

echo "== rasa data validate"
validated=0
validation=$(.venv-rasa/bin/rasa data validate --domain domain.yml --data nlu build/training 2>&1) \
    || validated=$?
echo "$validation" | grep -E "ERROR|error|conflict|Validating" || true
[ "$validated" = 0 ] || { echo "rasa data validate failed (exit $validated)"; exit 1; }

echo "== conversation tests (tests/stories: Rasa's e2e test, then replayed with the action server)"
.venv-rasa/bin/python scripts/test_stories.py

echo "== tests in the Rasa environment (actions, NLU, triage)"
.venv-rasa/bin/python -m pytest tests/rasa -p no:cacheprovider "$@"

echo "== tests in the bot environment (store, Telegram handlers, end to end)"
.venv/bin/python -m pytest tests --ignore=tests/rasa -p no:cacheprovider "$@"
