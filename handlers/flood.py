"""The flood guard (group -5, right after the private-chat filter): one person sending faster
than anyone types gets one "slow down", and their surplus updates stop here, before any query."""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationHandlerStop, TypeHandler

from bot.flood import FloodGuard, Verdict
from bot.services import Services
from handlers.context import BotContext
from handlers.ui import answer, say

log = logging.getLogger(__name__)

GROUP = -5


def guard_of(context: BotContext) -> FloodGuard:
    guard: FloodGuard = context.bot_data["flood_guard"]
    return guard


async def check_flood(update: Update, context: BotContext) -> None:
    user = update.effective_user
    if user is None:
        return
    verdict = guard_of(context).check(user.id)
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


def register(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    services: Services = app.bot_data["services"]
    settings = services.config.flood
    app.bot_data["flood_guard"] = FloodGuard(settings.burst, settings.per_second)
    app.add_handler(TypeHandler(Update, check_flood), group=GROUP)
