"""Telegram's "/" command menu per role, labels from the catalogue."""

from __future__ import annotations

from telegram import BotCommand

from bot.domain.members import Role
from bot.i18n import Catalogue
from handlers.menus import MENU_COMMANDS


def commands_for(catalogue: Catalogue, role: Role, language: str) -> list[BotCommand]:
    return [
        BotCommand(name, catalogue.plain(language, f"command.{name}"))
        for name in MENU_COMMANDS[role]
    ]
