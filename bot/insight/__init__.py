"""Insight for supervisors: the hotline's figures from the case history, the weekly
bulletin with its charts, and early warning (sensitive cases, repeat requests, hot spots).

Runs in the bot's environment: it may use numpy, scikit-learn and matplotlib, which the
core may not; the core and the store never import it.
"""
