"""Admin commands (SPEC 1): /grant (shown and confirmed before anything is granted), /revoke and
/roles; every call and every press re-checks the caller's role."""

from __future__ import annotations

import logging
import secrets

from bot.domain.errors import InvalidInput, NotAllowed
from bot.domain.members import GrantCandidate, Role
from bot.i18n import Raw
from handlers import callbacks
from handlers.dialog import Button, Turn
from handlers.dispatch import Routes

log = logging.getLogger(__name__)

GRANT_FLOW = "grant"


async def grant(turn: Turn) -> None:
    """``/grant <id or @username> cadre <unit code>`` or ``… admin``: nothing is granted yet.
    The admin sees who that resolves to (a @username may point to someone who used it before)
    and confirms with a button naming the person, or cancels."""
    actor = await turn.actor()
    args = list(turn.command_args)
    services = turn.services
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
        await turn.say(exc.reason)
        return
    except InvalidInput as exc:
        await turn.say(exc.key, **exc.params)
        return
    # The buttons carry the member's internal id and a one-time code kept in the flow: only
    # this confirmation, once, can grant, and only to those shown.
    nonce = secrets.token_hex(4)
    await services.flows.start(
        turn.person,
        GRANT_FLOW,
        "confirm",
        nonce=nonce,
        role=role.value,
        unit_id=unit.id if unit else None,
        members=[c.member.id for c in candidates],
    )
    by_username = not args[0].strip().isdigit()
    lines = [await _candidate_line(turn, c, by_username) for c in candidates]
    rows: list[list[Button]] = [
        [
            await turn.button(
                "roles.grant_to",
                callbacks.pack("rg", "ok", candidate.member.id, nonce),
                name=candidate.member.full_name or "—",
                unit=candidate.unit.name if candidate.unit else "—",
            )
        ]
        for candidate in candidates
    ]
    rows.append([await turn.button("roles.grant_cancel", callbacks.pack("rg", "no", nonce))])
    what = (
        await turn.text("roles.what_cadre", unit=unit.name)
        if unit is not None
        else await turn.text("roles.what_admin")
    )
    await turn.say(
        "roles.grant_pick" if len(candidates) > 1 else "roles.grant_confirm",
        buttons=rows,
        what=Raw(what),
        people=Raw("\n".join(lines)),
        count=len(candidates),
        person=args[0].strip()[:40],
    )


async def _candidate_line(turn: Turn, candidate: GrantCandidate, by_username: bool) -> str:
    """One person as the admin needs to recognise them: name, unit, Telegram id and, for a
    @username, since when the bot has known them by it."""
    member = candidate.member
    seen = ""
    if by_username:
        if candidate.username_at is not None:
            local = candidate.username_at.astimezone(turn.services.config.bot.tz)
            seen = await turn.text(
                "roles.candidate_since",
                username=member.username or "",
                date=local.strftime("%d/%m/%Y"),
            )
        else:
            seen = await turn.text("roles.candidate_since_unknown", username=member.username or "")
    return await turn.text(
        "roles.candidate",
        name=member.full_name or "—",
        unit=candidate.unit.name if candidate.unit else "—",
        telegram_id=member.telegram_id or "—",
        seen=Raw(seen),
    )


async def on_grant_press(turn: Turn) -> None:
    """The confirmation of a /grant: checked again (admin, one-time code, one of the people
    shown), then the code is spent, so a double tap or an old copy grants nothing more."""
    parsed = turn.pressed
    actor = await turn.actor()
    services = turn.services
    if not actor.is_admin:
        await turn.answer("access.denied", alert=True)
        return
    state = await services.flows.get(turn.person)
    nonce = parsed.args[-1] if parsed and parsed.args else None
    if (
        parsed is None
        or state is None
        or state.flow != GRANT_FLOW
        or nonce is None
        or state.data.get("nonce") != nonce
    ):
        await turn.answer("common.button_expired")
        return
    if parsed.action == "no" and len(parsed.args) == 1:
        await services.flows.clear(turn.person)
        await turn.answer()
        await turn.show("roles.grant_cancelled")
        return
    target = parsed.int_arg(0) if len(parsed.args) == 2 else None
    role = Role(str(state.data["role"]))
    unit_id = state.data.get("unit_id")
    chosen = parsed.action == "ok" and target in state.data.get("members", [])
    if target is None or not chosen:
        await turn.answer("common.button_expired")
        return
    await services.flows.clear(turn.person)
    try:
        _, member = await services.member_service.grant_to_member(actor, target, role, unit_id)
    except NotAllowed as exc:
        await turn.answer(exc.reason, alert=True)
        return
    except InvalidInput as exc:
        await turn.answer(exc.key, alert=True, **exc.params)
        return
    await turn.answer()
    unit = await services.units.get(unit_id) if unit_id else None
    who = member.full_name or "—"
    if unit is not None:
        await turn.show("roles.granted_cadre", person=who, unit=unit.name)
    else:
        await turn.show("roles.granted_admin", person=who)
    await turn.routes.messenger.role_changed(member)
    await turn.tell(
        member,
        "roles.you_are_now",
        role=turn.label_for(member, f"role.{role.value}"),
        unit=unit.name if unit else "",
    )


async def revoke(turn: Turn) -> None:
    actor = await turn.actor()
    args = turn.command_args
    service = turn.services.member_service
    try:
        if not actor.is_admin:
            raise NotAllowed()
        if len(args) != 1:
            raise InvalidInput("roles.revoke_usage")
        member, removed = await service.revoke_by_reference(actor, args[0])
    except NotAllowed as exc:
        await turn.say(exc.reason)
        return
    except InvalidInput as exc:
        await turn.say(exc.key, **exc.params)
        return
    who = member.full_name or "—"
    if not removed:
        await turn.say("roles.nothing_to_revoke", person=who)
        return
    await turn.say("roles.revoked", person=who)
    await turn.routes.messenger.role_changed(member)


async def list_roles(turn: Turn) -> None:
    actor = await turn.actor()
    try:
        rows = await turn.services.member_service.role_list(actor)
    except NotAllowed as exc:
        await turn.say(exc.reason)
        return
    lines = []
    for holder in rows:
        name = holder.member.full_name if holder.member and holder.member.full_name else "—"
        lines.append(
            await turn.text(
                "roles.line",
                name=name,
                telegram_id=holder.telegram_id or "—",
                role=await turn.label(f"role.{holder.role.value}"),
                unit=holder.unit.name if holder.unit else "",
            )
        )
    await turn.say("roles.list", lines="\n".join(lines) if lines else "—")


def register(routes: Routes) -> None:
    routes.commands["grant"] = grant
    routes.actions["rg"] = on_grant_press
    routes.commands["revoke"] = revoke
    routes.commands["roles"] = list_roles
    routes.flows.add(GRANT_FLOW)
