"""Admin commands (SPEC 1): /grant, /revoke and /roles; every call re-checks the caller's role."""

from __future__ import annotations

import logging

from telegram import BotCommandScopeChat, Update
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler, filters

from bot.access import NotAllowed
from bot.channels.telegram.commands import commands_for
from bot.members import InvalidInput
from bot.models import Role
from handlers.context import BotContext
from handlers.ui import say

log = logging.getLogger(__name__)


async def grant(update: Update, context: BotContext) -> None:
    actor = await context.actor(update)
    args = context.args or []
    service = context.services.member_service
    try:
        if not actor.is_admin:
            raise NotAllowed()
        if len(args) < 2 or args[1].lower() not in ("cadre", "admin"):
            raise InvalidInput("roles.usage")
        found = await service.find_person(args[0])
        if found is None:
            raise InvalidInput("roles.person_unknown", person=args[0])
        telegram_id, member = found
        role = Role(args[1].lower())
        unit = None
        if role is Role.CADRE:
            if len(args) < 3:
                raise InvalidInput("roles.usage")
            unit = await context.services.units.get_by_code(args[2].upper())
            if unit is None:
                raise InvalidInput("roles.unit_unknown")
        await service.grant(actor, telegram_id, role, unit.id if unit else None)
    except NotAllowed as exc:
        await say(update, context, exc.reason)
        return
    except InvalidInput as exc:
        await say(update, context, exc.key, **exc.params)
        return
    who = member.full_name if member and member.full_name else str(telegram_id)
    if unit is not None:
        await say(update, context, "roles.granted_cadre", person=who, unit=unit.name)
    else:
        await say(update, context, "roles.granted_admin", person=who)
    await refresh_menu(context, telegram_id, role, member.language if member else None)
    await notify(
        context,
        telegram_id,
        member.language if member else None,
        "roles.you_are_now",
        role=role,
        unit=unit.name if unit else "",
    )


async def revoke(update: Update, context: BotContext) -> None:
    actor = await context.actor(update)
    args = context.args or []
    service = context.services.member_service
    try:
        if not actor.is_admin:
            raise NotAllowed()
        if len(args) != 1:
            raise InvalidInput("roles.revoke_usage")
        found = await service.find_person(args[0])
        if found is None:
            raise InvalidInput("roles.person_unknown", person=args[0])
        telegram_id, member = found
        removed = await service.revoke(actor, telegram_id)
    except NotAllowed as exc:
        await say(update, context, exc.reason)
        return
    except InvalidInput as exc:
        await say(update, context, exc.key, **exc.params)
        return
    who = member.full_name if member and member.full_name else str(telegram_id)
    if not removed:
        await say(update, context, "roles.nothing_to_revoke", person=who)
        return
    await say(update, context, "roles.revoked", person=who)
    await refresh_menu(context, telegram_id, Role.MEMBER, member.language if member else None)


async def list_roles(update: Update, context: BotContext) -> None:
    actor = await context.actor(update)
    try:
        rows = await context.services.member_service.role_list(actor)
    except NotAllowed as exc:
        await say(update, context, exc.reason)
        return
    lines = []
    for role_grant, member, unit in rows:
        name = member.full_name if member and member.full_name else "—"
        role_label = await context.label(update, f"role.{role_grant.role.value}")
        lines.append(
            await context.text(
                update,
                "roles.line",
                name=name,
                telegram_id=role_grant.telegram_id,
                role=role_label,
                unit=unit.name if unit else "",
            )
        )
    await say(update, context, "roles.list", lines="\n".join(lines) if lines else "—")


async def refresh_menu(
    context: BotContext, telegram_id: int, role: Role, language: str | None
) -> None:
    """Give the person the command menu of their new role (best effort: the chat may be new)."""
    catalogue = context.services.catalogue
    try:
        await context.bot.set_my_commands(
            commands_for(catalogue, role, language or catalogue.default),
            scope=BotCommandScopeChat(telegram_id),
        )
    except TelegramError as exc:
        log.info("could not set the command menu for a chat: %s", exc)


async def notify(
    context: BotContext, telegram_id: int, language: str | None, key: str, *, role: Role, unit: str
) -> None:
    catalogue = context.services.catalogue
    role_label = catalogue.plain(language, f"role.{role.value}")
    text = catalogue.text(language, key, role=role_label, unit=unit)
    try:
        await context.bot.send_message(telegram_id, text)
    except TelegramError as exc:
        log.info("could not tell a person about their new role: %s", exc)


def register(app: Application) -> None:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("grant", grant, filters=private))
    app.add_handler(CommandHandler("revoke", revoke, filters=private))
    app.add_handler(CommandHandler("roles", list_roles, filters=private))
