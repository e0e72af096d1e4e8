"""Commands every user has (/start, /help), group-chat handling and the error handler."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.constants import ChatType
from telegram.error import Forbidden, TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from handlers.context import BotContext

log = logging.getLogger(__name__)


async def language_of(update: Update, context: BotContext) -> str:
    """The member's chosen language, else Telegram's hint for a newcomer, else the default."""
    user = update.effective_user
    services = context.services
    if user is None:
        return services.catalogue.default
    member = await services.members.by_telegram_id(user.id)
    if member is not None:
        return member.language
    if user.language_code and user.language_code.startswith("en"):
        return "en"
    return services.catalogue.default


async def reply(update: Update, context: BotContext, key: str, /, **params: Any) -> None:
    message = update.effective_message
    if message is None:
        return
    language = await language_of(update, context)
    await message.reply_text(context.services.catalogue.text(language, key, **params))


async def start(update: Update, context: BotContext) -> None:
    user = update.effective_user
    await reply(update, context, "start.welcome", name=user.first_name if user else "")


async def help_command(update: Update, context: BotContext) -> None:
    await reply(update, context, "help.text")


async def outside_private_chat(update: Update, context: BotContext) -> None:
    """The bot works in private chats only: answer commands in groups once, ignore the rest."""
    chat = update.effective_chat
    if chat is None or chat.type == ChatType.PRIVATE:
        return
    message = update.effective_message
    is_command = bool(message and message.text and message.text.startswith("/"))
    if is_command and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP):
        bot_username = context.bot.username
        link = f"https://t.me/{bot_username}"
        try:
            await reply(update, context, "group.private_only", link=link)
        except TelegramError:
            log.info("could not answer in group chat %s", chat.id)
    raise ApplicationHandlerStop


async def unknown_command(update: Update, context: BotContext) -> None:
    await reply(update, context, "common.unknown_command")


async def on_error(update: object, context: BotContext) -> None:
    """Log with context (never the token or message text) and apologise to the user."""
    error = context.error
    if isinstance(update, Update):
        user_id = update.effective_user.id if update.effective_user else None
        log.error(
            "error while handling update %s from user %s: %r",
            update.update_id,
            user_id,
            error,
            exc_info=error,
            extra={"update_id": update.update_id, "user_id": user_id},
        )
        if isinstance(error, Forbidden):
            return
        chat = update.effective_chat
        if chat is not None and chat.type == ChatType.PRIVATE:
            try:
                await reply(update, context, "common.error")
            except Exception:  # the apology itself failing must not loop back here
                log.warning("could not send the apology for update %s", update.update_id)
    else:
        log.error("error outside an update: %r", error, exc_info=error)


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    app.add_handler(TypeHandler(Update, outside_private_chat), group=-10)
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("help", help_command))
    app.add_handler(MessageHandler(filters.COMMAND, unknown_command), group=10)
    app.add_error_handler(on_error)
