"""The Telegram room: parse updates, check the role, call one service, render from the catalogue."""

from __future__ import annotations

from telegram.ext import Application

from handlers import common
from handlers.context import BotContext


def register_handlers(app: Application) -> None:  # type: ignore[type-arg]
    """Wire every journey's handlers; order matters (groups first, then flows)."""
    common.register(app)


__all__ = ["BotContext", "register_handlers"]
