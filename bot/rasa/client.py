"""The client for Rasa's REST channel."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import aiohttp

log = logging.getLogger(__name__)


# Concurrent requests to Rasa (measured with `make bench`).
PER_SERVER = 32


class RasaUnavailable(RuntimeError):
    """Rasa did not answer, or answered with something that is not a list of messages."""


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class BotReply:
    """One message of Rasa's answer."""

    text: str = ""
    buttons: tuple[Button, ...] = ()
    custom: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BotReply:
        buttons = tuple(
            Button(title=str(b.get("title", "")), payload=str(b.get("payload", "")))
            for b in data.get("buttons") or ()
            if b.get("payload")
        )
        custom = data.get("custom")
        return cls(
            text=str(data.get("text") or ""),
            buttons=buttons,
            custom=custom if isinstance(custom, dict) else {},
        )


class RasaClient:
    """Sends a citizen's message to Rasa and returns its replies.

    aiohttp rather than httpx: under load the bot spent half its CPU time inside httpx
    (py-spy, `make bench`); aiohttp does the same work for a fraction of it.
    """

    def __init__(self, base_url: str, timeout: float = 15.0) -> None:
        self.base_url = base_url.rstrip("/")
        # As long as Rasa keeps the connection busy answering; `timeout` between reads.
        # (sock_connect, not connect: waiting for a pooled connection under load is no failure.)
        self.timeout = aiohttp.ClientTimeout(total=None, sock_connect=3.0, sock_read=timeout)
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        # Created on first use, inside the running event loop, as aiohttp requires.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=self.timeout,
                # At most this many turns inside one Rasa at once; the rest wait here.
                # Past it Rasa only queues internally, each turn then risks the read
                # timeout, and work for citizens already given up on is wasted.
                connector=aiohttp.TCPConnector(limit=0, limit_per_host=PER_SERVER))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(
        self, sender: str, message: str, metadata: dict[str, Any] | None = None
    ) -> list[BotReply]:
        """Posts one message; raises `RasaUnavailable` when Rasa cannot be reached."""
        body = {"sender": sender, "message": message, "metadata": metadata or {}}
        try:
            url = f"{self.base_url}/webhooks/rest/webhook"
            async with self._http().post(url, json=body) as response:
                response.raise_for_status()
                data = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise RasaUnavailable(f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(data, list):
            raise RasaUnavailable(f"unexpected answer from Rasa: {str(data)[:200]}")
        return [BotReply.from_json(item) for item in data if isinstance(item, dict)]
