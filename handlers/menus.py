"""Telegram command menus per role (shown by the "/" button), labels from the catalogue."""

from __future__ import annotations

from telegram import BotCommand

from bot.i18n import Catalogue
from bot.models import Role

_MEMBER = ("start", "profile", "checkin", "settings", "mydata", "forgetme", "cancel", "help")
_CADRE = (
    *_MEMBER,
    "newactivity",
    "manage",
    "import",
    "template",
    "broadcast",
    "broadcasts",
    "review",
    "export",
    "stats",
)
MENU_COMMANDS: dict[Role, tuple[str, ...]] = {
    Role.MEMBER: _MEMBER,
    Role.CADRE: _CADRE,
    Role.ADMIN: (*_CADRE, "grant", "revoke", "roles"),
}


def commands_for(catalogue: Catalogue, role: Role, language: str) -> list[BotCommand]:
    return [
        BotCommand(name, catalogue.plain(language, f"command.{name}"))
        for name in MENU_COMMANDS[role]
    ]
