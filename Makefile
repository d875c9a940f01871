# The project's commands. Each one sets up what it needs first (fast when nothing changed).
.DEFAULT_GOAL := help
.PHONY: help setup train run run-scaled test triage ask eval bench bulletin kb-report kb-drafts kb-accept kb-dismiss retrain learn rollback

BOT_PY := .venv/bin/python
RASA_PY := .venv-rasa/bin/python

help:
	@echo "make run     set up, train if needed, start action server + Rasa + bot (console without a token)"
	@echo "make run-scaled  the same on the scaled topology: PostgreSQL and Redis (Debian's, started here), 2 Rasa workers, 2 action servers"
	@echo "make test    set up, train if needed, validate the data and run every test"
	@echo "make triage  JSON lines {id, text} on stdin -> one triage JSON line each on stdout"
	@echo "make ask     JSON lines {id, text} on stdin -> {id, reply, route}: each a new citizen through the live bot"
	@echo "make eval    Rasa's report on the held-out test split + scores on ../shared/eval"
	@echo "make bench   benchmarks (load through the whole stack, store throughput)"
	@echo "make bulletin [WEEK=2026-11-30 | FROM=2026-11-01 TO=2026-11-30]  the weekly bulletin: Markdown + PNG charts in build/bulletin/"
	@echo "make kb-report  knowledge entries marked unhelpful, questions that found nothing, open drafts"
	@echo "make kb-drafts  draft knowledge entries from agents' replies to questions that found nothing"
	@echo "make kb-accept DRAFT=kd-...  validate an edited draft and add it to knowledge/"
	@echo "make kb-dismiss DRAFT=kd-... close a draft not worth an entry"
	@echo "make retrain  train a case classifier on the agents' confirmed cases; promote it if not worse"
	@echo "make learn    JSON lines {id, text, category, department?} on stdin -> recorded as confirmed, then retrain"
	@echo "make rollback back to the case classifier in use before the last promotion"

setup:
	@bash scripts/setup.sh

train: setup
	@$(RASA_PY) scripts/train.py > /dev/null
	@$(BOT_PY) -m bot.nlp.emergency > /dev/null

run: setup
	@$(BOT_PY) scripts/run.py

run-scaled: setup
	@$(BOT_PY) scripts/run.py --scaled

test: train
	@bash scripts/test.sh

triage: train
	@$(RASA_PY) -m bot.nlp.triage

ask: train
	@$(BOT_PY) -m bot.telegram.ask

eval: train
	@bash scripts/eval.sh

bench: train
	@$(BOT_PY) -m bench

# The last full week (Monday to Sunday, China time) unless WEEK (any day of it) or FROM and TO.
bulletin: setup
	@$(BOT_PY) -m bot.insight.bulletin $(if $(WEEK),--week $(WEEK)) $(if $(FROM),--from $(FROM)) $(if $(TO),--to $(TO))

kb-report: setup
	@$(BOT_PY) -m bot.knowledge.report

kb-drafts: setup
	@$(BOT_PY) -m bot.knowledge.drafts write

kb-accept: setup
	@test -n "$(DRAFT)" || { echo "usage: make kb-accept DRAFT=kd-..."; exit 2; }
	@$(BOT_PY) -m bot.knowledge.drafts accept "$(DRAFT)"

kb-dismiss: setup
	@test -n "$(DRAFT)" || { echo "usage: make kb-dismiss DRAFT=kd-... [REASON=...]"; exit 2; }
	@$(BOT_PY) -m bot.knowledge.drafts dismiss "$(DRAFT)" --reason "$(REASON)"

retrain: train
	@$(RASA_PY) -m bot.nlp.learning retrain

learn: train
	@$(RASA_PY) -m bot.nlp.learning learn

rollback: setup
	@$(RASA_PY) -m bot.nlp.learning rollback
