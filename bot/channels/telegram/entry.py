"""Every Telegram update a journey answers enters here: it is read as a journey input, given a
``Turn`` with a Telegram conversation, and routed by ``handlers.dispatch``. The group filters
before it (private chats only, the flood guard) stay Telegram's own."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, CallbackContext, TypeHandler

from bot.channels.telegram.checkin_display import RenewingPhotos
from bot.channels.telegram.conversation import TelegramConversation, read_update
from bot.services import Services
from handlers.dialog import Press, Turn
from handlers.dispatch import Routes, run

log = logging.getLogger(__name__)

GROUP = 0
Context = CallbackContext[Any, Any, Any, Any]


def turn_of(update: Update, context: Context, routes: Routes) -> Turn | None:
    read = read_update(update)
    chat = update.effective_chat
    if read is None or chat is None:
        return None
    user, what = read
    services: Services = context.bot_data["services"]
    conversation = TelegramConversation(
        context.bot,
        chat.id,
        update.callback_query,
        context.bot_data.get("renewing_photos"),
        vault=context.bot_data.get("vault"),
    )
    return Turn(services, routes, conversation, user, what)


async def enter(update: Update, context: Context) -> None:
    routes: Routes = context.bot_data["routes"]
    turn = turn_of(update, context, routes)
    if turn is None:
        return
    await run(turn, await routes.route(turn))
    if isinstance(turn.input, Press) and not turn.answered:
        try:
            await turn.chat.toast(None)  # Telegram shows a spinner until a press is answered
        except Exception:
            log.info("could not answer a button press")
    raise ApplicationHandlerStop


def register(app: Application[Any, Any, Any, Any, Any, Any], routes: Routes) -> None:
    app.bot_data["routes"] = routes
    services: Services = app.bot_data["services"]
    app.bot_data["renewing_photos"] = RenewingPhotos(app, services.clock)
    app.add_handler(TypeHandler(Update, enter), group=GROUP)
