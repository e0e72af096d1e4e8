"""Telegram's own checks around the journeys: the bot works in private chats only, a person
sending faster than anyone types is slowed down, and errors outside a turn are logged."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from telegram import Update
from telegram.constants import ChatType
from telegram.error import Forbidden, TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CallbackQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.domain.errors import InvalidInput, NotAllowed
from bot.flood import FloodGuard, Verdict
from bot.services import Services
from handlers.context import BotContext
from handlers.ui import answer, say

log = logging.getLogger(__name__)

PRIVATE_ONLY_GROUP = -10
FLOOD_GROUP = -5


async def outside_private_chat(update: Update, context: BotContext) -> None:
    """Answer commands in groups with a pointer to the private chat; ignore the rest."""
    chat = update.effective_chat
    if chat is not None and chat.type == ChatType.PRIVATE:
        return
    message = update.effective_message
    is_command = bool(message and message.text and message.text.startswith("/"))
    if chat is not None and is_command and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP):
        try:
            await context.bot.send_message(
                chat.id,
                await context.text(
                    update, "group.private_only", link=f"https://t.me/{context.bot.username}"
                ),
            )
        except TelegramError:
            log.info("could not answer in group chat %s", chat.id)
    elif update.callback_query is not None:
        await answer(update, context)
    raise ApplicationHandlerStop


async def check_flood(update: Update, context: BotContext) -> None:
    user = update.effective_user
    if user is None:
        return
    guard: FloodGuard = context.bot_data["flood_guard"]
    verdict = guard.check(user.id)
    if verdict is Verdict.ALLOW:
        return
    if verdict is Verdict.WARN:
        try:
            if update.callback_query is not None:
                await answer(update, context, "common.slow_down")
            else:
                await say(update, context, "common.slow_down")
        except TelegramError as exc:
            log.info("could not ask user %s to slow down: %s", user.id, exc)
    # Dropped presses are not answered either: each answer would be one more request.
    raise ApplicationHandlerStop


async def stale_button(update: Update, context: BotContext) -> None:
    await answer(update, context, "common.button_expired")


async def unknown_command(update: Update, context: BotContext) -> None:
    await say(update, context, "common.unknown_command")


async def on_error(update: object, context: BotContext) -> None:
    """Log with context (never the token or what the person typed) and apologise.

    A refusal from a service (bad input, a role or unit that does not allow the action) that
    a handler did not catch is still a refusal, not a fault: it gets its own catalogue reply
    instead of the apology, and is logged as a bug in that handler."""
    error = context.error
    if not isinstance(update, Update):
        log.error("error outside an update: %r", error, exc_info=error)
        return
    user_id = update.effective_user.id if update.effective_user else None
    if isinstance(error, InvalidInput | NotAllowed):
        log.error(
            "handler let a refusal through for update %s: %s",
            update.update_id,
            type(error).__name__,
            extra={"update_id": update.update_id, "user_id": user_id},
        )
        key = error.key if isinstance(error, InvalidInput) else error.reason
        params = error.params if isinstance(error, InvalidInput) else {}
        with contextlib.suppress(TelegramError):
            if update.callback_query is not None and not context.query_answered:
                await answer(update, context, key, alert=True, **params)
            elif update.effective_chat is not None:
                await say(update, context, key, **params)
        return
    log.error(
        "error while handling update %s from user %s: %s",
        update.update_id,
        user_id,
        type(error).__name__,
        exc_info=error,
        extra={"update_id": update.update_id, "user_id": user_id},
    )
    if isinstance(error, Forbidden):
        return
    chat = update.effective_chat
    if chat is not None and chat.type == ChatType.PRIVATE:
        try:
            await context.bot.send_message(chat.id, await context.text(update, "common.error"))
        except Exception:  # the apology failing must not loop back into the error handler
            log.warning("could not send the apology for update %s", update.update_id)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    services: Services = app.bot_data["services"]
    settings = services.config.flood
    app.bot_data["flood_guard"] = FloodGuard(settings.burst, settings.per_second)
    app.add_handler(TypeHandler(Update, outside_private_chat), group=PRIVATE_ONLY_GROUP)
    app.add_handler(TypeHandler(Update, check_flood), group=FLOOD_GROUP)
    app.add_error_handler(on_error)


def register_fallbacks(app: Application[Any, Any, Any, Any, Any, Any], group: int) -> None:
    app.add_handler(CallbackQueryHandler(stale_button), group=group)
    app.add_handler(
        MessageHandler(filters.COMMAND & filters.ChatType.PRIVATE, unknown_command), group=group
    )
