"""Custom actions for Rasa; `rasa run actions --actions actions` registers every Action here."""
