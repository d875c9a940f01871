"""Webhook mode: Telegram posts each update to an ASGI app (Starlette, served by uvicorn).

The Application is built without an Updater; this module feeds it. Every request must
carry the secret given to `setWebhook` in `X-Telegram-Bot-Api-Secret-Token`, compared in
constant time, or it is refused with 403 before anything else is read. An update is
answered only once it has been handled, through the same update processor (one chat at a
time, in order) and handlers as long polling: Telegram sends a chat's next update only
after the previous one was answered, so several processes behind one webhook still see
each chat's updates one after another (see the README, "Deployment").
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import signal
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from telegram import Update

from bot.config import Settings
from bot.telegram.context import HotlineApp

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HEALTH_PATH = "/healthz"
# Another process has started this update and is alive: Telegram should try again later,
# by when it is done (and dropped here) or its process is gone (and it is handled here).
BUSY_RETRY_SECONDS = 5


class SecretTokenMiddleware:
    """Refuses every HTTP request without the webhook's secret token, whatever its path."""

    def __init__(self, app: ASGIApp, secret: str) -> None:
        self.app = app
        self.secret = secret.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            given = Headers(scope=scope).get(SECRET_HEADER, "").encode("latin-1")
            if not hmac.compare_digest(given, self.secret):
                log.warning("webhook request to %s refused: wrong or missing secret token",
                            scope.get("path"))
                await PlainTextResponse("forbidden", status_code=403)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def webhook_path(url: str) -> str:
    """The path Telegram posts to: the webhook URL's, which the proxy passes on unchanged."""
    return urlsplit(url).path or "/"


def webhook_app(application: HotlineApp, secret: str, path: str) -> Starlette:
    """The ASGI app: `POST path` takes an update, `GET /healthz` says the process is up."""
    # Updates this process is handling: the same one posted again meanwhile (Telegram
    # retries a request that timed out) is answered when the first is done.
    in_hand: dict[int, asyncio.Event] = {}

    async def receive_update(request: Request) -> Response:
        """Handles one update and answers when it is done."""
        try:
            data = json.loads(await request.body())
        except ValueError:
            return PlainTextResponse("malformed JSON", status_code=400)
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            return PlainTextResponse("not an update", status_code=400)
        try:
            update = Update.de_json(data, application.bot)
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("webhook: update %s does not parse: %s", data["update_id"], exc)
            return PlainTextResponse("not an update", status_code=400)
        first = in_hand.get(update.update_id)
        if first is not None:
            await first.wait()
        else:
            in_hand[update.update_id] = asyncio.Event()
            try:
                # As the Application does with an update from its queue: through the update
                # processor (one chat at a time), then every handler group.
                await application.update_processor.process_update(
                    update, application.process_update(update))
            finally:
                in_hand.pop(update.update_id).set()
        if await application.bot_data.state.started_elsewhere(update.update_id):
            return PlainTextResponse("being handled by another process", status_code=503,
                                     headers={"Retry-After": str(BUSY_RETRY_SECONDS)})
        return Response(status_code=200)

    async def health(request: Request) -> Response:
        """Says the process is up and its Application running."""
        if not application.running:
            return PlainTextResponse("stopping", status_code=503)
        return PlainTextResponse("ok")

    return Starlette(
        routes=[Route(path, receive_update, methods=["POST"]),
                Route(HEALTH_PATH, health, methods=["GET"])],
        middleware=[Middleware(SecretTokenMiddleware, secret=secret)],
    )


class ListenError(OSError):
    """The webhook server cannot bind its address (in use, not this machine's, …)."""


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to host:port, before anything else starts: a second process on the
    same address fails here, with a message, rather than inside uvicorn."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return sock


class _Server(uvicorn.Server):
    """uvicorn's server, leaving signals to `WebhookServer.run`: uvicorn raises a SIGTERM
    again once it has served, which would end the process before the Application stops
    and gives back its leases."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class WebhookServer:
    """One bot process in webhook mode: the Application and uvicorn, started and stopped
    together. `run()` returns when uvicorn is told to stop (SIGINT, SIGTERM or `stop()`)."""

    def __init__(self, application: HotlineApp, settings: Settings, *,
                 host: str | None = None, port: int | None = None) -> None:
        if settings.webhook_url is None or settings.webhook_secret is None:
            raise ValueError("webhook mode needs settings.webhook_url and webhook_secret")
        self.application = application
        self.settings = settings
        app = webhook_app(application, settings.webhook_secret, webhook_path(settings.webhook_url))
        self.host = host or settings.webhook_host
        self.requested_port = settings.webhook_port if port is None else port
        self.socket: socket.socket | None = None
        self.server = _Server(uvicorn.Config(
            app, host=self.host, port=self.requested_port,
            lifespan="off", log_config=None, access_log=False,
            # Let an update being handled finish (Rasa's timeout and a reply or two).
            timeout_graceful_shutdown=int(settings.rasa_timeout) + 15,
        ))
        self.started = asyncio.Event()

    @property
    def port(self) -> int:
        """The port bound (useful when 0 asked for a free one)."""
        if self.socket is None:
            raise RuntimeError("the webhook server is not listening")
        return self.socket.getsockname()[1]

    async def register(self) -> None:
        """Tells Telegram where to post updates, with the secret to send with each."""
        settings = self.settings
        await self.application.bot.set_webhook(
            settings.webhook_url, secret_token=settings.webhook_secret,
            allowed_updates=Update.ALL_TYPES,
            max_connections=settings.webhook_max_connections)
        log.info("webhook set to %s (max %s connections)", settings.webhook_url,
                 settings.webhook_max_connections)

    async def run(self, *, handle_signals: bool = False) -> None:
        """Starts the Application, serves until told to stop, then stops the Application.

        `handle_signals`: SIGINT and SIGTERM stop it (the process's main entry point).
        The webhook is left in place when this process stops: other processes may still
        be serving it, and Telegram keeps what it cannot deliver until one answers.
        """
        app = self.application
        self.socket = listen(self.host, self.requested_port)
        loop = asyncio.get_running_loop()
        signals = (signal.SIGINT, signal.SIGTERM) if handle_signals else ()
        for signum in signals:
            loop.add_signal_handler(signum, self.stop)
        try:
            await self._run(app, self.socket)
        finally:
            for signum in signals:
                loop.remove_signal_handler(signum)
            self.socket.close()

    async def _run(self, app: HotlineApp, sock: socket.socket) -> None:
        await app.initialize()
        try:
            # run_polling() would call these hooks; here this method drives the Application.
            if app.post_init is not None:
                await app.post_init(app)
            if self.settings.webhook_register:
                await self.register()
            await app.start()
            try:
                serving = asyncio.create_task(self.server.serve(sockets=[sock]))
                while not (self.server.started or serving.done()):
                    await asyncio.sleep(0.01)
                if self.server.started:
                    self.started.set()
                await serving
            finally:
                await app.stop()
                if app.post_stop is not None:
                    await app.post_stop(app)
        finally:
            await app.shutdown()
            if app.post_shutdown is not None:
                await app.post_shutdown(app)

    def stop(self) -> None:
        """Asks uvicorn to finish the requests in hand and return from `run()`."""
        self.server.should_exit = True
