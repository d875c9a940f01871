"""Citizen-facing handlers: commands, text to Rasa, button presses, media."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatAction
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

from bot.cases import cards
from bot.cases.models import normalize_case_number
from bot.nlp import handover
from bot.nlp.emergency import assess
from bot.rasa.client import BotReply, RasaUnavailable
from bot.rasa.payloads import payload
from bot.safety.emergency import Assessment, Level
from bot.safety.text import clean_text, split_message
from bot.store.outbox import Button
from bot.telegram import render, texts
from bot.telegram.context import HotlineContext

log = logging.getLogger(__name__)

# Longest message passed on to Rasa. Telegram itself allows 4,096 characters.
MAX_TEXT = 3000
SEND_ATTEMPTS = 4
# Rasa answers most messages faster than this; only slower turns show 「正在输入」.
TYPING_DELAY = 0.4
# A message this short that holds a case number is a status query.
STATUS_QUERY_LENGTH = 30
CALLBACK_RE = re.compile(r"^k(\d{1,12}):(\d{1,2})$")


async def start(update: Update, context: HotlineContext) -> None:
    """Greets the citizen and says what the bot can do and how to reach a person."""
    await update.effective_message.reply_text(texts.START)


async def help_command(update: Update, context: HotlineContext) -> None:
    """Explains how to use the bot."""
    await update.effective_message.reply_text(texts.HELP)


async def unknown_command(update: Update, context: HotlineContext) -> None:
    """Answers a command the bot does not have."""
    await update.effective_message.reply_text(texts.UNKNOWN_COMMAND)


async def status_command(update: Update, context: HotlineContext) -> None:
    """Shows one case: /status NT202611280001."""
    number = normalize_case_number(" ".join(context.args or []))
    await converse(update, context, payload("check_status", case_number=number)
                   if number else payload("check_status"))


async def my_cases_command(update: Update, context: HotlineContext) -> None:
    """Lists the citizen's own cases, newest first."""
    await converse(update, context, payload("my_cases"))


async def cancel_command(update: Update, context: HotlineContext) -> None:
    """Leaves whatever form is being filled in."""
    await converse(update, context, payload("cancel"))


async def photo(update: Update, context: HotlineContext) -> None:
    """Passes a photo to Rasa by its Telegram file id (the case form keeps it)."""
    largest = update.effective_message.photo[-1]
    if await to_agent(update, context, clean_text(update.effective_message.caption or "")
                      or "（照片）", photo=largest.file_id):
        return
    await converse(update, context, payload("attach_photo", photo=largest.file_id))


async def to_agent(update: Update, context: HotlineContext, text: str,
                   photo: str | None = None, found: Assessment | None = None) -> bool:
    """During a live hand-off the citizen's words go to the agent, not to Rasa.

    Also: a comment after a satisfaction rating is taken here. An emergency the bot
    answered (`found`) reaches the agent as an alert before the message.
    """
    services = context.bot_data
    user = update.effective_user
    handoff = await services.handoffs.active(user.id)
    if handoff is not None:
        alert = texts.EMERGENCY_ALERT.format(
            label=found.label, numbers=found.numbers) if found and found.alarming else None
        message = update.effective_message
        case, first = await services.handoffs.citizen_says(
            handoff, text, photo, alert=alert,
            key=f"{message.chat_id}:{message.message_id}" if message else None)
        services.delivery.wake()
        if first:
            await update.effective_message.reply_text(
                texts.HANDOFF_RECEIPT.format(number=case.number))
        return True
    if photo is None and await services.callbacks.comment(user.id, text) is not None:
        await update.effective_message.reply_text(texts.COMMENT_SAVED)
        return True
    return False


async def unsupported_media(update: Update, context: HotlineContext) -> None:
    """Tells the citizen that only text is understood."""
    await update.effective_message.reply_text(texts.UNSUPPORTED_MEDIA)


async def text_message(update: Update, context: HotlineContext) -> None:
    """Passes the citizen's text to Rasa and sends back its replies."""
    message = update.effective_message
    text = clean_text(message.text or "")
    if not text:
        await message.reply_text(texts.EMPTY)
        return
    # Read for danger first: an emergency is answered even in a message too long for Rasa.
    found = await asyncio.to_thread(assess, text[:MAX_TEXT])  # tens of ms: off the event loop
    if found.level is not Level.NONE:
        await tell_of_danger(update, context, found, text)
    if found.level is Level.EMERGENCY:
        note_route(context, message.chat_id, "emergency")
        return
    if len(text) > MAX_TEXT:
        await message.reply_text(texts.TOO_LONG.format(limit=MAX_TEXT))
        return
    number = normalize_case_number(text)
    if number and len(text) <= STATUS_QUERY_LENGTH:
        # 「查询 NT…」 is answered by the bot, hand-off or not (the filing message tells
        # citizens to send exactly that).
        await converse(update, context, payload("check_status", case_number=number))
    elif not await to_agent(update, context, text, found=found):
        await converse(update, context, text)
    if found.alarming:  # the number came first, whatever followed
        note_route(context, message.chat_id, "emergency")


def note_route(context: HotlineContext, chat_id: int, route: str) -> None:
    """Keeps what this chat's turn did, where a caller asked for it (`Services.routes`)."""
    if context.bot_data.routes is not None:
        context.bot_data.routes[chat_id] = route


async def tell_of_danger(update: Update, context: HotlineContext, found: Assessment,
                         text: str) -> None:
    """Gives the emergency number at once, records the signal, and stops what was going on.

    An emergency is answered with its advice alone: during a hand-off the agent is
    alerted, and a half-filled case form is closed, so the message never becomes a case.
    A doubt gives the number first and lets the conversation carry on; a near miss says
    nothing and is only recorded.
    """
    user = update.effective_user
    if found.alarming:
        log.warning("emergency signal (%s, %s) from user %s", found.level, found.kind, user.id)
        await update.effective_message.reply_text(found.advice)
    services = context.bot_data
    handoff = await services.handoffs.active(user.id)
    await services.emergencies.record(user.id, found, text,
                                      during="handoff" if handoff else "chat")
    if found.level is not Level.EMERGENCY:
        return
    if handoff is not None:
        await to_agent(update, context, text, found=found)
        return
    try:  # the form, if one is open, is closed; nothing of the message is sent
        await context.rasa.send(str(user.id), payload("emergency_stop"),
                                {"update_id": update.update_id, "chat_id": update.effective_chat.id})
    except RasaUnavailable as exc:
        log.info("could not close a form after an emergency (Rasa unavailable: %s)", exc)


async def button_press(update: Update, context: HotlineContext) -> None:
    """Sends a pressed button's payload to Rasa, once, and removes the keyboard."""
    query = update.callback_query
    match = CALLBACK_RE.match(query.data or "")
    chat = query.message.chat if query.message else None
    # In a private chat only its owner can press; anything else is forged.
    foreign = chat is not None and chat.type == "private" and chat.id != query.from_user.id
    if match is None or chat is None or foreign:
        await query.answer(texts.BUTTON_STALE)
        return
    press = await context.state.press(chat.id, int(match[1]), int(match[2]))
    if press.status == "unknown":
        await query.answer(texts.BUTTON_STALE)
        await _remove_keyboard(query.message)
        return
    if press.status == "used":
        await query.answer(texts.BUTTON_USED)
        return
    await query.answer(f"已选择：{press.title}")
    await _remove_keyboard(query.message)
    await converse(update, context, press.payload)


RATING_TARGET = re.compile(r"^(\d{1,12}):([123cn])$")


async def rating_press(update: Update, context: HotlineContext) -> None:
    """满意 / 基本满意 / 不满意 after a case is resolved, then an optional comment."""
    query = update.callback_query
    pressed = render.parse(query.data)
    match = RATING_TARGET.match(pressed[1]) if pressed and pressed[0] == cards.RATE else None
    if match is None:
        await query.answer(texts.BUTTON_STALE)
        return
    callback_id, choice = int(match[1]), match[2]
    callbacks = context.bot_data.callbacks
    user = query.from_user.id
    if choice in "cn":
        if not await callbacks.owns_answered(callback_id, user):
            await query.answer(texts.BUTTON_STALE)
            return
        opened = choice == "c" and await callbacks.open_comment(callback_id, user)
        await query.answer()
        await _remove_keyboard(query.message)
        await update.effective_chat.send_message(
            texts.COMMENT_PROMPT if opened else texts.COMMENT_SKIPPED)
        return
    result = await callbacks.rate(callback_id, user, choice)
    if result.status == "unknown":
        await query.answer(texts.BUTTON_STALE)
        return
    if result.status == "used":
        await query.answer(texts.BUTTON_USED)
        return
    context.bot_data.delivery.wake()
    label = cards.RATINGS[choice]
    await query.answer(f"已选择：{label}")
    await _remove_keyboard(query.message)
    text = texts.RATED.format(label=label)
    if choice == cards.UNHAPPY:
        text += "\n" + texts.RATED_UNHAPPY
    await update.effective_chat.send_message(
        f"{text}\n{texts.RATE_MORE}",
        reply_markup=render.markup([[
            Button("写几句意见", render.COMMENT, f"{callback_id}:c"),
            Button("不用了", render.COMMENT, f"{callback_id}:n")]]))


async def _remove_keyboard(message: Message | None) -> None:
    if message is None or not getattr(message, "reply_markup", None):
        return
    with contextlib.suppress(BadRequest):  # already removed, or the message is too old
        await message.edit_reply_markup(reply_markup=None)


async def converse(update: Update, context: HotlineContext, text: str) -> None:
    """One turn with Rasa: typing indicator, the request, then every reply rendered."""
    chat = update.effective_chat
    user = update.effective_user
    metadata: dict[str, Any] = {"update_id": update.update_id, "chat_id": chat.id}
    if (vector := handover.offer(text)) is not None:  # embedded for the emergency reader
        metadata[handover.KEY] = vector
    async with typing(context, chat.id):
        try:
            replies = await context.rasa.send(str(user.id), text, metadata)
        except RasaUnavailable as exc:
            log.warning("Rasa unavailable for update %s: %s", update.update_id, exc)
            replies = []
    if not replies:
        note_route(context, chat.id, "unavailable")
        await send_text(context, chat.id, texts.APOLOGY)
        return
    # What the turn did, as the actions tag it (small talk when Rasa answered by itself).
    note_route(context, chat.id, next(
        (r.custom["route"] for r in replies if "route" in r.custom), "smalltalk"))
    for reply in replies:
        await send_reply(context, chat.id, reply)


async def send_reply(context: HotlineContext, chat_id: int, reply: BotReply) -> None:
    """Sends one of Rasa's messages; its buttons become a one-use inline keyboard."""
    text = reply.text.strip() or ("请选择：" if reply.buttons else "")
    if not text:
        return
    markup = None
    if reply.buttons:
        keyboard_id = await context.state.save_keyboard(
            chat_id, [(b.title, b.payload) for b in reply.buttons]
        )
        markup = keyboard_markup(keyboard_id, [b.title for b in reply.buttons])
    pieces = split_message(text)
    for i, piece in enumerate(pieces):
        last = i == len(pieces) - 1
        await send_text(context, chat_id, piece, markup if last else None)


def _worth_retrying(exc: BaseException) -> bool:
    """Telegram busy (429), a 5xx or the network: yes. A refused request (400, 403): no."""
    if isinstance(exc, RetryAfter):
        return True
    return isinstance(exc, NetworkError) and not isinstance(exc, BadRequest)


def _wait(retry_state: RetryCallState) -> float:
    """What Telegram asks for after a 429; otherwise 0.5 s, 1 s, 2 s."""
    exc = retry_state.outcome.exception() if retry_state.outcome else None
    if isinstance(exc, RetryAfter):
        after = exc.retry_after
        return after.total_seconds() if isinstance(after, timedelta) else float(after)
    return 0.5 * 2 ** (retry_state.attempt_number - 1)


async def send_text(context: HotlineContext, chat_id: int, text: str,
                    markup: InlineKeyboardMarkup | None = None) -> Message:
    """sendMessage, retried a few times when Telegram is busy or failing.

    A reply that Telegram accepted but whose answer was lost (a timeout) may arrive
    twice; one lost reply to a citizen would be worse.
    """
    async for attempt in AsyncRetrying(retry=retry_if_exception(_worth_retrying), wait=_wait,
                                       stop=stop_after_attempt(SEND_ATTEMPTS), reraise=True):
        with attempt:
            return await context.bot.send_message(chat_id, text, reply_markup=markup)
    raise AssertionError("unreachable")  # pragma: no cover


def keyboard_markup(keyboard_id: int, titles: list[str]) -> InlineKeyboardMarkup:
    """Short titles two to a row, long ones alone; callback data is `k<id>:<index>`."""
    rows: list[list[InlineKeyboardButton]] = []
    row: list[InlineKeyboardButton] = []
    for index, title in enumerate(titles):
        button = InlineKeyboardButton(title[:60], callback_data=f"k{keyboard_id}:{index}")
        if len(title) > 8:
            if row:
                rows.append(row)
                row = []
            rows.append([button])
            continue
        row.append(button)
        if len(row) == 2:
            rows.append(row)
            row = []
    if row:
        rows.append(row)
    return InlineKeyboardMarkup(rows)


@contextlib.asynccontextmanager
async def typing(context: HotlineContext, chat_id: int,
                 delay: float | None = None) -> AsyncIterator[None]:
    """Shows 「正在输入」 if the block takes longer than `delay`, until it ends.

    A quick answer needs no indicator, and skipping it halves the Bot API calls of a
    turn, which counts against Telegram's 30 messages a second. Telegram clears the
    indicator after about 5 s, so it is renewed every 4.5 s.
    """
    done = asyncio.Event()
    delay = TYPING_DELAY if delay is None else delay

    async def keep_typing() -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), timeout=delay)
        while not done.is_set():
            with contextlib.suppress(TelegramError):
                await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), timeout=4.5)

    task = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        done.set()
        await task
