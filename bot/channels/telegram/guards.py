"""Telegram's own checks around the journeys: the bot works in private chats only, a person
sending faster than anyone types is slowed down, and errors outside a turn are logged."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationHandlerStop, CallbackContext, TypeHandler

from bot.flood import FloodGuard, Verdict
from bot.services import Services

log = logging.getLogger(__name__)

PRIVATE_ONLY_GROUP = -10
FLOOD_GROUP = -5
Context = CallbackContext[Any, Any, Any, Any]


async def _text(update: Update, context: Context, key: str, **params: Any) -> str:
    """Catalogue text in the sender's language (theirs if a member, else Telegram's hint)."""
    services: Services = context.bot_data["services"]
    user = update.effective_user
    language = services.catalogue.default
    if user is not None:
        actor = await services.member_service.actor(user.id)
        if actor.language:
            language = actor.language
        elif (user.language_code or "").startswith("en"):
            language = "en"
    return services.catalogue.text(language, key, **params)


async def outside_private_chat(update: Update, context: Context) -> None:
    """Answer commands in groups with a pointer to the private chat; ignore the rest."""
    chat = update.effective_chat
    if chat is not None and chat.type == ChatType.PRIVATE:
        return
    message = update.effective_message
    is_command = bool(message and message.text and message.text.startswith("/"))
    try:
        if chat is not None and is_command and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP):
            link = f"https://t.me/{context.bot.username}"
            await context.bot.send_message(
                chat.id, await _text(update, context, "group.private_only", link=link)
            )
        elif update.callback_query is not None:
            await update.callback_query.answer()
    except TelegramError:
        log.info("could not answer outside a private chat")
    raise ApplicationHandlerStop


async def check_flood(update: Update, context: Context) -> None:
    user = update.effective_user
    if user is None:
        return
    guard: FloodGuard = context.bot_data["flood_guard"]
    verdict = guard.check(user.id)
    if verdict is Verdict.ALLOW:
        return
    if verdict is Verdict.WARN:
        try:
            slow_down = await _text(update, context, "common.slow_down")
            if update.callback_query is not None:
                await update.callback_query.answer(slow_down)
            elif update.effective_chat is not None:
                await context.bot.send_message(update.effective_chat.id, slow_down)
        except TelegramError as exc:
            log.info("could not ask a person to slow down: %s", exc)
    # Dropped presses are not answered either: each answer would be one more request.
    raise ApplicationHandlerStop


async def on_error(update: object, context: Context) -> None:
    """What escapes the journeys' own handling (which answers every refusal and apologises
    for every fault): PTB's polling and webhook machinery. Logged without the token or what
    anyone typed (the log filter redacts)."""
    update_id = update.update_id if isinstance(update, Update) else None
    log.error(
        "error outside a journey (update %s): %s",
        update_id,
        type(context.error).__name__,
        exc_info=context.error,
        extra={"update_id": update_id},
    )


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    services: Services = app.bot_data["services"]
    settings = services.config.flood
    app.bot_data["flood_guard"] = FloodGuard(settings.burst, settings.per_second)
    app.add_handler(TypeHandler(Update, outside_private_chat), group=PRIVATE_ONLY_GROUP)
    app.add_handler(TypeHandler(Update, check_flood), group=FLOOD_GROUP)
    app.add_error_handler(on_error)
