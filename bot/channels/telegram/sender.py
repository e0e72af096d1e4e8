"""Telegram's side of the messenger: a message to a member's private chat, and the command
menu of their role."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from telegram import BotCommandScopeChat
from telegram.error import TelegramError
from telegram.ext import ExtBot

from bot.channels.telegram.commands import commands_for
from bot.channels.telegram.conversation import TelegramConversation
from bot.channels.vault import FileVault
from bot.domain.members import Member, Person, Role
from bot.i18n import Catalogue
from handlers.dialog import Reply, Unreachable

log = logging.getLogger(__name__)


class TelegramSender:
    def __init__(
        self,
        bot: ExtBot[None],
        catalogue: Catalogue,
        role_of: Callable[[Member], Awaitable[Role]],
        mark_unreachable: Callable[[Person], Awaitable[None]],
        vault: FileVault | None = None,
    ) -> None:
        self._bot = bot
        self._vault = vault
        self._catalogue = catalogue
        self._role_of = role_of
        self._mark_unreachable = mark_unreachable

    async def send(self, address: str, reply: Reply, language: str | None = None) -> bool:
        try:
            await TelegramConversation(self._bot, int(address), None, vault=self._vault).send(reply)
        except Unreachable:
            await self._mark_unreachable(Person.telegram(int(address)))
            return False
        except TelegramError as exc:
            log.warning("could not message a member on Telegram: %s", exc)
            return False
        return True

    async def role_changed(self, member: Member) -> None:
        """Give the person the command menu of their role (best effort: the chat may be new)."""
        if member.telegram_id is None:
            return
        role = await self._role_of(member)
        try:
            await self._bot.set_my_commands(
                commands_for(self._catalogue, role, member.language),
                scope=BotCommandScopeChat(member.telegram_id),
            )
        except TelegramError as exc:
            log.info("could not set the command menu for a chat: %s", exc)
