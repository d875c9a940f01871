"""The Telegram adapter: handlers, rendering, delivery, and the local Bot API for console and tests."""
