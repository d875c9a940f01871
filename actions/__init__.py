"""Custom actions for Rasa; `rasa run actions --actions actions` registers every Action here."""

from bot.safety.logs import mask_every_handler

# rasa_sdk has set up its log handlers by the time it imports the actions: phone and ID
# numbers in anything the action server logs are masked, as in the bot.
mask_every_handler()
