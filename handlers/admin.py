"""Admin commands (SPEC 1): /grant (shown and confirmed before anything is granted), /revoke and
/roles; every call and every press re-checks the caller's role."""

from __future__ import annotations

import logging
import secrets

from telegram import BotCommandScopeChat, Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.channels.telegram.commands import commands_for
from bot.domain.errors import InvalidInput, NotAllowed
from bot.domain.members import GrantCandidate, Role
from bot.i18n import Raw
from handlers import callbacks
from handlers.context import BotContext
from handlers.ui import answer, edit_or_send, inline, say

log = logging.getLogger(__name__)

GRANT_FLOW = "grant"


async def grant(update: Update, context: BotContext) -> None:
    """``/grant <id or @username> cadre <unit code>`` or ``… admin``: nothing is granted yet.
    The admin sees who that resolves to (a @username may point to someone who used it before)
    and confirms with a button naming the person, or cancels."""
    actor = await context.actor(update)
    user = update.effective_user
    args = context.args or []
    services = context.services
    try:
        if not actor.is_admin:
            raise NotAllowed()
        if len(args) < 2 or args[1].lower() not in ("cadre", "admin"):
            raise InvalidInput("roles.usage")
        role = Role(args[1].lower())
        unit = None
        if role is Role.CADRE:
            if len(args) < 3:
                raise InvalidInput("roles.usage")
            unit = await services.units.get_by_code(args[2].upper())
            if unit is None:
                raise InvalidInput("roles.unit_unknown")
        candidates = await services.member_service.grant_candidates(actor, args[0])
    except NotAllowed as exc:
        await say(update, context, exc.reason)
        return
    except InvalidInput as exc:
        await say(update, context, exc.key, **exc.params)
        return
    assert user is not None
    # The buttons carry the member's internal id (or the Telegram id typed) and a one-time
    # code kept in the flow: only this confirmation, once, can grant, and only to those shown.
    nonce = secrets.token_hex(4)
    await services.flows.start(
        user.id,
        GRANT_FLOW,
        "confirm",
        nonce=nonce,
        role=role.value,
        unit_id=unit.id if unit else None,
        members=[c.member.id for c in candidates],
    )
    by_username = not args[0].strip().isdigit()
    lines = [await _candidate_line(update, context, c, by_username) for c in candidates]
    rows: list[list[tuple[str, str]]] = []
    for candidate in candidates:
        label = await context.label(
            update,
            "roles.grant_to",
            name=candidate.member.full_name or "—",
            unit=candidate.unit.name if candidate.unit else "—",
        )
        rows.append([(label, callbacks.pack("rg", "ok", candidate.member.id, nonce))])
    rows.append(
        [(await context.label(update, "roles.grant_cancel"), callbacks.pack("rg", "no", nonce))]
    )
    what = (
        await context.text(update, "roles.what_cadre", unit=unit.name)
        if unit is not None
        else await context.text(update, "roles.what_admin")
    )
    await say(
        update,
        context,
        "roles.grant_pick" if len(candidates) > 1 else "roles.grant_confirm",
        reply_markup=inline(rows),
        what=Raw(what),
        people=Raw("\n".join(lines)),
        count=len(candidates),
        person=args[0].strip()[:40],
    )


async def _candidate_line(
    update: Update, context: BotContext, candidate: GrantCandidate, by_username: bool
) -> str:
    """One person as the admin needs to recognise them: name, unit, Telegram id and, for a
    @username, since when the bot has known them by it."""
    member = candidate.member
    seen = ""
    if by_username:
        if candidate.username_at is not None:
            local = candidate.username_at.astimezone(context.services.config.bot.tz)
            seen = await context.text(
                update,
                "roles.candidate_since",
                username=member.username or "",
                date=local.strftime("%d/%m/%Y"),
            )
        else:
            seen = await context.text(
                update, "roles.candidate_since_unknown", username=member.username or ""
            )
    return await context.text(
        update,
        "roles.candidate",
        name=member.full_name or "—",
        unit=candidate.unit.name if candidate.unit else "—",
        telegram_id=member.telegram_id or "—",
        seen=Raw(seen),
    )


async def on_grant_callback(update: Update, context: BotContext) -> None:
    """The confirmation of a /grant: checked again (admin, one-time code, one of the people
    shown), then the code is spent, so a double tap or an old copy grants nothing more."""
    parsed = callbacks.parse(update.callback_query.data if update.callback_query else None)
    actor = await context.actor(update)
    user = update.effective_user
    services = context.services
    if not actor.is_admin or user is None:
        await answer(update, context, "access.denied", alert=True)
        return
    state = await services.flows.get(user.id)
    nonce = parsed.args[-1] if parsed and parsed.args else None
    if (
        parsed is None
        or state is None
        or state.flow != GRANT_FLOW
        or nonce is None
        or state.data.get("nonce") != nonce
    ):
        await answer(update, context, "common.button_expired")
        return
    if parsed.action == "no" and len(parsed.args) == 1:
        await services.flows.clear(user.id)
        await answer(update, context)
        await edit_or_send(update, context, "roles.grant_cancelled")
        return
    target = parsed.int_arg(0) if len(parsed.args) == 2 else None
    role = Role(str(state.data["role"]))
    unit_id = state.data.get("unit_id")
    chosen = parsed.action == "ok" and target in state.data.get("members", [])
    if target is None or not chosen:
        await answer(update, context, "common.button_expired")
        return
    await services.flows.clear(user.id)
    try:
        _, member = await services.member_service.grant_to_member(actor, target, role, unit_id)
    except NotAllowed as exc:
        await answer(update, context, exc.reason, alert=True)
        return
    except InvalidInput as exc:
        await answer(update, context, exc.key, alert=True, **exc.params)
        return
    await answer(update, context)
    unit = await services.units.get(unit_id) if unit_id else None
    who = member.full_name or "—"
    if unit is not None:
        await edit_or_send(update, context, "roles.granted_cadre", person=who, unit=unit.name)
    else:
        await edit_or_send(update, context, "roles.granted_admin", person=who)
    if member.telegram_id is not None:
        await refresh_menu(context, member.telegram_id, role, member.language)
        await notify(
            context,
            member.telegram_id,
            member.language,
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
        member, removed = await service.revoke_by_reference(actor, args[0])
    except NotAllowed as exc:
        await say(update, context, exc.reason)
        return
    except InvalidInput as exc:
        await say(update, context, exc.key, **exc.params)
        return
    who = member.full_name or "—"
    if not removed:
        await say(update, context, "roles.nothing_to_revoke", person=who)
        return
    await say(update, context, "roles.revoked", person=who)
    if member.telegram_id is not None:
        await refresh_menu(context, member.telegram_id, Role.MEMBER, member.language)


async def list_roles(update: Update, context: BotContext) -> None:
    actor = await context.actor(update)
    try:
        rows = await context.services.member_service.role_list(actor)
    except NotAllowed as exc:
        await say(update, context, exc.reason)
        return
    lines = []
    for holder in rows:
        name = holder.member.full_name if holder.member and holder.member.full_name else "—"
        role_label = await context.label(update, f"role.{holder.role.value}")
        lines.append(
            await context.text(
                update,
                "roles.line",
                name=name,
                telegram_id=holder.telegram_id or "—",
                role=role_label,
                unit=holder.unit.name if holder.unit else "",
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
    app.add_handler(CallbackQueryHandler(on_grant_callback, pattern=r"^rg:"))
    app.add_handler(CommandHandler("revoke", revoke, filters=private))
    app.add_handler(CommandHandler("roles", list_roles, filters=private))
