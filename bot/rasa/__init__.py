"""Rasa from the outside: its REST client, NLU-skipping payloads and the server launcher."""
