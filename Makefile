# The project's commands. Each one sets up what it needs first (fast when nothing changed).
.DEFAULT_GOAL := help
.PHONY: help setup train run test triage ask eval bench kb-report retrain learn rollback

BOT_PY := .venv/bin/python
RASA_PY := .venv-rasa/bin/python

help:
	@echo "make run     set up, train if needed, start action server + Rasa + bot (console without a token)"
	@echo "make test    set up, train if needed, validate the data and run every test"
	@echo "make triage  JSON lines {id, text} on stdin -> one triage JSON line each on stdout"
	@echo "make ask     JSON lines {id, text} on stdin -> {id, reply, route}: each a new citizen through the live bot"
	@echo "make eval    Rasa's report on the held-out test split + scores on ../shared/eval"
	@echo "make bench   benchmarks (load through the whole stack, store throughput)"
	@echo "make kb-report  knowledge entries marked unhelpful and questions that found nothing"
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

kb-report: setup
	@$(BOT_PY) -m bot.knowledge.report

retrain: train
	@$(RASA_PY) -m bot.nlp.learning retrain

learn: train
	@$(RASA_PY) -m bot.nlp.learning learn

rollback: setup
	@$(RASA_PY) -m bot.nlp.learning rollback
