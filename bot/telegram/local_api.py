"""A small Bot API of our own, for the local console mode, tests and benchmarks.

`LocalBotApi` keeps chats, messages and an update queue in memory and answers
the Bot API methods this bot uses, as strictly as Telegram does (empty or
over-long texts, callback data over 64 bytes, any parse mode (the bot sends plain text),
edits that change nothing, a callback query answered twice and unknown chats
are all refused; so are photos that are not PNG or JPEG, captions over 1,024 characters
and media groups of fewer than 2 or more than 10). Uploaded files reach it as `_files`
(part name to bytes); what it accepted is kept in `uploads`. It is reached in two ways:

* `LocalRequest`, a python-telegram-bot request object, calls it in-process;
* `serve_http` puts it on 127.0.0.1 so the real HTTP stack talks to it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT_USER = {
    "id": 777000001,
    "is_bot": True,
    "first_name": "12345热线",
    "username": "hotline12345_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
CHAT_ACTIONS = {
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
}
# Form fields that stay strings even when they look like JSON (a message "42").
STRING_FIELDS = {"text", "caption", "callback_query_id", "data", "query", "description",
                 "url", "inline_message_id", "file_id", "emoji", "secret_token"}


class ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.code,
                                "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


def check_caption(params: dict[str, Any]) -> str | None:
    """A photo's caption, refused as Telegram refuses it: over 1,024 characters, or with a
    parse mode (plain text only, as for messages)."""
    caption = params.get("caption")
    if caption is not None and len(str(caption)) > 1024:
        raise ApiError(400, "Bad Request: message caption is too long")
    if params.get("parse_mode"):
        raise ApiError(400, "Bad Request: the hotline bot sends plain text only (no parse_mode)")
    return str(caption) if caption else None


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) of a PNG or JPEG upload; anything else is refused as Telegram does."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if data.startswith(b"\xff\xd8\xff"):
        return 1, 1  # a JPEG's size sits in a later segment; no test needs it
    raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")


def check_text(params: dict[str, Any]) -> str:
    """The text of a sent or edited message, refused as Telegram refuses it: empty, over
    4,096 characters, or with a parse mode (this bot sends plain text only, so nothing a
    citizen typed can become markup; a parse mode here is a defect)."""
    text = params.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    if len(text) > 4096:
        raise ApiError(400, "Bad Request: message is too long")
    if params.get("parse_mode"):
        raise ApiError(400, "Bad Request: the hotline bot sends plain text only (no parse_mode)")
    return text


class LocalBotApi:
    """The Bot API in memory. Every call is recorded in `calls`."""

    def __init__(self, bot_user: dict[str, Any] | None = None) -> None:
        self.bot_user = dict(bot_user or BOT_USER)
        self.calls: list[Call] = []
        self.chats: dict[int, dict[str, Any]] = {}
        self.menus: dict[str, list[str]] = {}  # setMyCommands: "default" or "chat:<id>" -> names
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.uploads: dict[str, bytes] = {}  # file_id -> the photo the bot uploaded
        self.blocked: set[int] = set()
        self.webhook: dict[str, Any] | None = None  # setWebhook's parameters, if set
        # Update ids only grow, across runs too, like Telegram's: the bot remembers handled ids.
        self._update_ids = itertools.count(int(time.time() * 1000))
        self._message_ids = itertools.count(1)
        self._last_id = 0
        self._query_ids = itertools.count(1)
        self._pending: list[dict[str, Any]] = []
        self._redeliver: list[dict[str, Any]] = []
        self._answered: set[str] = set()
        self._queries: set[str] = set()
        self._failures: dict[str, list[ApiError]] = {}
        self._changed = asyncio.Condition()
        self.get_updates_calls = 0
        # Per chat: the bot's messages and when they arrived (monotonic), for waiting on one
        # chat without scanning every message (the load benchmark has hundreds of chats).
        self.received_at: dict[tuple[int, int], float] = {}
        self._outgoing: dict[int, list[dict[str, Any]]] = {}
        self._chat_signals: dict[int, asyncio.Event] = {}

    def _next_message_id(self) -> int:
        self._last_id = next(self._message_ids)
        return self._last_id

    # ---- what users do -------------------------------------------------------------

    def add_chat(self, chat_id: int, *, title: str | None = None, user: dict | None = None) -> None:
        if chat_id < 0:
            self.chats[chat_id] = {"id": chat_id, "type": "supergroup", "title": title or "坐席群"}
        else:
            user = user or {}
            self.chats[chat_id] = {"id": chat_id, "type": "private",
                                   "first_name": user.get("first_name", f"市民{chat_id}")}

    def _user(self, user_id: int) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": f"市民{user_id}",
                "language_code": "zh-hans"}

    def _incoming(self, user_id: int, chat_id: int | None, **content: Any) -> dict[str, Any]:
        chat_id = user_id if chat_id is None else chat_id
        if chat_id not in self.chats:
            self.add_chat(chat_id)
        message = {
            "message_id": self._next_message_id(),
            "date": int(time.time()),
            "chat": self.chats[chat_id],
            "from": self._user(user_id),
            **content,
        }
        self.messages[(chat_id, message["message_id"])] = message
        return message

    async def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        update.setdefault("update_id", next(self._update_ids))
        async with self._changed:
            self._pending.append(update)
            self._changed.notify_all()
        return update

    async def send_text(self, user_id: int, text: str, chat_id: int | None = None) -> dict:
        """A citizen (or agent) types `text`; commands get their bot_command entity."""
        content: dict[str, Any] = {"text": text}
        command = re.match(r"/[A-Za-z0-9_]+(@\w+)?", text)
        if command:
            content["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": len(command.group(0))}]
        return await self.push_update({"message": self._incoming(user_id, chat_id, **content)})

    async def send_media(self, user_id: int, kind: str, chat_id: int | None = None) -> dict:
        """A photo, voice note, sticker, location or document arrives."""
        content: dict[str, Any] = {
            "photo": {"photo": [{"file_id": f"photo{next(self._query_ids)}",
                                 "file_unique_id": "u1", "width": 90, "height": 90}]},
            "voice": {"voice": {"file_id": "voice1", "file_unique_id": "v1", "duration": 3}},
            "sticker": {"sticker": {"file_id": "st1", "file_unique_id": "s1", "type": "regular",
                                    "width": 512, "height": 512, "is_animated": False,
                                    "is_video": False}},
            "location": {"location": {"latitude": 32.0, "longitude": 120.9}},
            "document": {"document": {"file_id": "doc1", "file_unique_id": "d1"}},
        }[kind]
        return await self.push_update({"message": self._incoming(user_id, chat_id, **content)})

    async def press_button(self, user_id: int, message: dict[str, Any], data: str) -> dict:
        """Presses a button of a message the bot sent (any data: forged data is allowed)."""
        query_id = str(next(self._query_ids))
        self._queries.add(query_id)
        current = self.messages.get((message["chat"]["id"], message["message_id"]), message)
        return await self.push_update({"callback_query": {
            "id": query_id,
            "from": self._user(user_id),
            "chat_instance": str(message["chat"]["id"]),
            "message": current,
            "data": data,
        }})

    async def redeliver(self, update: dict[str, Any]) -> None:
        """Delivers an update again, first in the next batch, as Telegram may."""
        async with self._changed:
            self._redeliver.append(update)
            self._changed.notify_all()

    def fail_next(self, method: str, error: ApiError, times: int = 1) -> None:
        """Makes the next `times` calls of `method` fail with `error`."""
        self._failures.setdefault(method, []).extend([error] * times)

    # ---- what the bot sent -------------------------------------------------------------

    def sent(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """Messages the bot sent, oldest first (as they are now, after edits)."""
        found = [m for m in self.messages.values()
                 if m["from"]["id"] == self.bot_user["id"]
                 and (chat_id is None or m["chat"]["id"] == chat_id)]
        return sorted(found, key=lambda m: m["message_id"])

    def calls_of(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Waits until `predicate()` is truthy and returns its value."""
        async def until() -> Any:
            async with self._changed:
                while True:
                    value = predicate()
                    if value:
                        return value
                    await self._changed.wait()
        return await asyncio.wait_for(until(), timeout)

    async def wait_for_messages(self, chat_id: int, count: int, after: int = 0,
                                timeout: float = 10.0) -> list[dict[str, Any]]:
        """Waits for `count` bot messages in `chat_id` with message_id above `after`."""
        def ready() -> list[dict[str, Any]] | None:
            found = [m for m in self.sent(chat_id) if m["message_id"] > after]
            return found if len(found) >= count else None
        return await self.wait_for(ready, timeout)

    def sent_after(self, chat_id: int, after: int) -> list[dict[str, Any]]:
        """The bot's messages in one chat with message_id above `after` (as first sent)."""
        return [m for m in self._outgoing.get(chat_id, ()) if m["message_id"] > after]

    async def chat_messages(self, chat_id: int, after: int, count: int = 1,
                            timeout: float = 30.0) -> list[dict[str, Any]]:
        """Like `wait_for_messages` for one chat, without waking on other chats' traffic."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.sent_after(chat_id, after)
            if len(found) >= count:
                return found
            signal = self._chat_signals.setdefault(chat_id, asyncio.Event())
            signal.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            await asyncio.wait_for(signal.wait(), remaining)

    def last_message_id(self) -> int:
        return self._last_id

    # ---- the Bot API -------------------------------------------------------------------

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        """Answers one Bot API call: returns its `result` or raises `ApiError`."""
        self.calls.append(Call(method, params))
        try:
            failures = self._failures.get(method)
            if failures:
                raise failures.pop(0)
            handler = getattr(self, f"_api_{method}", None)
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            return await handler(params)
        finally:
            async with self._changed:
                self._changed.notify_all()

    def _chat(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            chat_id = int(params["chat_id"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ApiError(400, "Bad Request: chat_id is empty") from exc
        if chat_id not in self.chats:
            raise ApiError(400, "Bad Request: chat not found")
        if chat_id in self.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return self.chats[chat_id]

    def _check_markup(self, markup: Any) -> dict[str, Any] | None:
        if markup in (None, "", {}):
            return None
        if isinstance(markup, str):
            markup = json.loads(markup)
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if not button.get("text"):
                    raise ApiError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup

    async def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.bot_user

    async def _api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        return True

    async def _api_setWebhook(self, params: dict[str, Any]) -> bool:
        url = params.get("url", "")
        if not url.startswith("https://"):
            raise ApiError(400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook")
        self.webhook = dict(params)
        return True

    async def _api_getWebhookInfo(self, params: dict[str, Any]) -> dict[str, Any]:
        webhook = self.webhook or {}
        return {"url": webhook.get("url", ""), "has_custom_certificate": False,
                "pending_update_count": 0}

    async def _api_setMyCommands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if isinstance(commands, str):
            commands = json.loads(commands)
        for command in commands or []:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", command.get("command", "")):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(command.get("description", "")) <= 256:
                raise ApiError(400, "Bad Request: command description is invalid")
        self.menus[self._scope(params)] = [c["command"] for c in commands or []]
        return True

    async def _api_deleteMyCommands(self, params: dict[str, Any]) -> bool:
        self.menus.pop(self._scope(params), None)
        return True

    def _scope(self, params: dict[str, Any]) -> str:
        """"default", or "chat:<id>" for a menu scoped to one chat (unknown chats refused)."""
        scope = params.get("scope") or {}
        if isinstance(scope, str):
            scope = json.loads(scope)
        if scope.get("type") == "chat":
            chat_id = int(scope["chat_id"])
            if chat_id not in self.chats:
                raise ApiError(400, "Bad Request: chat not found")
            return f"chat:{chat_id}"
        return scope.get("type", "default")

    async def _api_getUpdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        self.get_updates_calls += 1
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = float(params.get("timeout") or 0)

        def batch() -> list[dict[str, Any]]:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
            found = self._redeliver + self._pending
            return found[:limit]

        async with self._changed:
            self._changed.notify_all()
        deadline = time.monotonic() + timeout
        async with self._changed:
            while not batch() and time.monotonic() < deadline:
                try:
                    await asyncio.wait_for(self._changed.wait(), deadline - time.monotonic())
                except TimeoutError:
                    break
            result = batch()
            self._redeliver.clear()
        return result

    async def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        text = check_text(params)
        markup = self._check_markup(params.get("reply_markup"))
        message = {
            "message_id": self._next_message_id(),
            "date": int(time.time()),
            "chat": chat,
            "from": self.bot_user,
            "text": text,
        }
        if markup:
            message["reply_markup"] = markup
        return self._deliver(chat, message)

    def _photo(self, ref: Any, params: dict[str, Any], part: str) -> list[dict[str, Any]]:
        """The PhotoSize list of a photo sent as an upload (`attach://name`, or the part
        itself) or as the file_id of one uploaded before."""
        files = params.get("_files") or {}
        if isinstance(ref, str) and ref.startswith("attach://"):
            data = files.get(ref.removeprefix("attach://"))
        elif isinstance(ref, str) and ref in self.uploads:
            data = self.uploads[ref]
        else:
            data = files.get(part)
        if not data:
            raise ApiError(400, "Bad Request: there is no photo in the request")
        if len(data) > 10 * 1024 * 1024:
            raise ApiError(400, "Bad Request: PHOTO_SAVE_FILE_INVALID")
        width, height = image_size(data)
        if width + height > 10_000 or max(width, height) > 20 * min(width, height):
            raise ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
        file_id = f"photo-{len(self.uploads) + 1}"
        self.uploads[file_id] = data
        return [{"file_id": file_id, "file_unique_id": f"u{file_id}", "width": width,
                 "height": height, "file_size": len(data)}]

    def _photo_message(self, chat: dict[str, Any], photo: list[dict[str, Any]],
                       caption: str | None, group: str | None = None) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": self._next_message_id(),
            "date": int(time.time()),
            "chat": chat,
            "from": self.bot_user,
            "photo": photo,
        }
        if caption:
            message["caption"] = caption
        if group:
            message["media_group_id"] = group
        return self._deliver(chat, message)

    async def _api_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        caption = check_caption(params)
        return self._photo_message(chat, self._photo(params.get("photo"), params, "photo"),
                                   caption)

    async def _api_sendMediaGroup(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        chat = self._chat(params)
        media = params.get("media")
        if isinstance(media, str):
            media = json.loads(media)
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise ApiError(400, "Bad Request: MEDIA_GROUP_COUNT_INVALID")
        items = []
        for item in media:
            if item.get("type") != "photo":
                raise ApiError(400, "Bad Request: the hotline bot sends photo albums only")
            items.append((self._photo(item.get("media"), params, ""), check_caption(item)))
        group = f"album-{self._last_id + 1}"
        return [self._photo_message(chat, photo, caption, group) for photo, caption in items]

    def _deliver(self, chat: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
        """Keeps a message the bot sent and wakes whoever waits on its chat."""
        self.messages[(chat["id"], message["message_id"])] = message
        self.received_at[(chat["id"], message["message_id"])] = time.monotonic()
        self._outgoing.setdefault(chat["id"], []).append(message)
        signal = self._chat_signals.get(chat["id"])
        if signal is not None:
            signal.set()
        return message

    def _message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        key = (chat["id"], int(params.get("message_id") or 0))
        if key not in self.messages:
            raise ApiError(400, "Bad Request: message to edit not found")
        return self.messages[key]

    async def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._message(params)
        markup = self._check_markup(params.get("reply_markup"))
        if markup == message.get("reply_markup"):
            raise ApiError(400, "Bad Request: message is not modified")
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        return message

    async def _api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._message(params)
        text = check_text(params)
        markup = self._check_markup(params.get("reply_markup"))
        if text == message["text"] and markup == message.get("reply_markup"):
            raise ApiError(400, "Bad Request: message is not modified")
        message["text"] = text
        if markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        return message

    async def _api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id"))
        if query_id not in self._queries or query_id in self._answered:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired "
                                "or query ID is invalid")
        if len(str(params.get("text") or "")) > 200:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self._answered.add(query_id)
        return True

    async def _api_sendChatAction(self, params: dict[str, Any]) -> bool:
        self._chat(params)
        if params.get("action") not in CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    async def _api_getChat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params)
        return {**chat, "accent_color_id": 0, "max_reaction_count": 11,
                "accepted_gift_types": {"unlimited_gifts": False, "limited_gifts": False,
                                        "unique_gifts": False, "premium_subscription": False}}

    async def _api_close(self, params: dict[str, Any]) -> bool:
        return True

    async def _api_logOut(self, params: dict[str, Any]) -> bool:
        return True


def _response(result: Any = None, error: ApiError | None = None) -> tuple[int, bytes]:
    if error is not None:
        return error.code, json.dumps(error.to_json()).encode()
    return 200, json.dumps({"ok": True, "result": result}, ensure_ascii=False).encode()


class LocalRequest(BaseRequest):
    """A python-telegram-bot request object that calls a `LocalBotApi` in-process."""

    def __init__(self, api: LocalBotApi) -> None:
        self.api = api

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = None, write_timeout: Any = None,
                         connect_timeout: Any = None, pool_timeout: Any = None,
                         ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data is not None else {}
        files = request_data.multipart_data if request_data is not None else {}
        if files:
            params["_files"] = {name: content if isinstance(content, bytes) else content.read()
                                for name, (_, content, *_) in files.items()}
        try:
            return _response(await self.api.call(api_method, params))
        except ApiError as error:
            return _response(error=error)


def decode_form(fields: dict[str, str]) -> dict[str, Any]:
    """PTB sends every non-string value JSON-encoded inside its form field."""
    params: dict[str, Any] = {}
    for key, value in fields.items():
        if key in STRING_FIELDS:
            params[key] = value
            continue
        try:
            params[key] = json.loads(value)
        except (ValueError, TypeError):
            params[key] = value
    return params


async def serve_http(api: LocalBotApi, host: str = "127.0.0.1", port: int = 0):
    """Serves `api` over HTTP at http://host:port/bot<token>/<method>; returns (runner, port)."""
    from aiohttp import web

    async def handle(request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.content_type == "application/json":
            params = await request.json()
        else:
            form = await request.post()
            params = decode_form({k: v for k, v in form.items() if isinstance(v, str)})
            files = {k: v.file.read() for k, v in form.items() if isinstance(v, web.FileField)}
            if files:
                params["_files"] = files
        try:
            status, body = _response(await api.call(method, params))
        except ApiError as error:
            status, body = _response(error=error)
        return web.Response(status=status, body=body, content_type="application/json")

    app = web.Application()
    app.router.add_post(r"/bot{token}/{method}", handle)
    app.router.add_get(r"/bot{token}/{method}", handle)
    # A request whose client went away is cancelled, as a real server drops it: else a
    # stopped bot's long poll held the shutdown (runner.cleanup) for its full timeout.
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner, runner.addresses[0][1]
