"""Onboarding (SPEC 2.1): consent first, then name, unit, optional phone and email, a summary to
confirm; ``/start <payload>`` deep links run once the person is a member. ``/cancel`` leaves.

Written once for every channel: where the person can share their phone with one tap
(Telegram) they are offered the button; elsewhere (Zalo) they type it and it is checked as a
Vietnamese number."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from bot.domain.errors import InvalidInput
from bot.domain.members import FlowState
from bot.members import ONBOARDING_FLOW, clean_email, clean_full_name, clean_phone
from handlers import callbacks, linking
from handlers.dialog import (
    REMOVE_KEYBOARD,
    Button,
    Keyboard,
    KeyboardKind,
    Rows,
    SharedContact,
    Turn,
)
from handlers.dispatch import Routes

log = logging.getLogger(__name__)

FLOW = ONBOARDING_FLOW
PENDING_PAYLOAD = "pending_payload"  # kept in memory only until consent: refusing stores nothing
FIELDS = ("name", "unit", "phone", "email")


# --- entry --------------------------------------------------------------------------------


async def start(turn: Turn) -> None:
    payload = _payload(turn)
    actor = await turn.actor()
    services = turn.services
    if actor.member is not None:
        await services.member_service.remember_account(actor.member, turn.user)
        if payload:
            await run_deep_link(turn, payload)
            return
        await turn.say("start.member", keyboard=await turn.main_menu(), name=actor.member.full_name)
        return
    state = await services.flows.get(turn.person)
    if state is not None and state.flow == FLOW:
        if payload:
            state = await services.flows.move(turn.person, state, state.step, payload=payload)
        await turn.say("onboarding.resume")
        await ask(turn, state)
        return
    if payload:
        turn.memory[PENDING_PAYLOAD] = payload
    await turn.say(
        "onboarding.consent",
        buttons=[
            [await turn.button("onboarding.consent_yes", callbacks.pack("ob", "consent", "y"))],
            [await turn.button("onboarding.consent_no", callbacks.pack("ob", "consent", "n"))],
            # Someone who is a member on another channel links this account instead.
            *await linking.consent_rows(turn),
        ],
        name=_first_name(turn),
    )


def _payload(turn: Turn) -> str | None:
    args = turn.command_args
    return args[0] if args else None


def _first_name(turn: Turn) -> str:
    return turn.user.first_name or turn.user.display_name


async def cancel(turn: Turn) -> None:
    state = await turn.services.flows.get(turn.person)
    await turn.services.flows.clear(turn.person)
    turn.memory.pop(PENDING_PAYLOAD, None)
    actor = await turn.actor()
    if actor.is_member:
        key = "flow.cancelled" if state else "flow.nothing_to_cancel"
        await turn.say(key, keyboard=await turn.main_menu())
    else:
        await turn.say("onboarding.cancelled", keyboard=REMOVE_KEYBOARD)


async def run_deep_link(turn: Turn, payload: str) -> None:
    route = turn.routes.deep_link_for(payload)
    if route is not None:
        handler, argument = route
        await handler(turn, argument)
        return
    await turn.say("deeplink.invalid", keyboard=await turn.main_menu())


# --- asking each step ---------------------------------------------------------------------


def phone_keyboard(turn: Turn, share: str, *labels: str) -> Keyboard:
    """The phone step's answers: a one-tap "share my phone" where the channel has one."""
    return Keyboard(
        KeyboardKind.SUGGESTIONS,
        (labels,),
        share_contact=share if turn.chat.capabilities.share_contact else None,
    )


async def ask(turn: Turn, state: FlowState) -> None:
    """(Re-)ask the question of the step the person is at."""
    if state.step == "name":
        rows: Rows = []
        try:
            suggestion = clean_full_name(turn.user.display_name)
            rows = [
                [
                    await turn.button(
                        "onboarding.use_telegram_name",
                        callbacks.pack("ob", "tgname"),
                        name=suggestion,
                    )
                ]
            ]
        except InvalidInput:
            pass
        await turn.say(
            "onboarding.ask_name", buttons=rows, keyboard=None if rows else REMOVE_KEYBOARD
        )
    elif state.step == "unit":
        await show_units(turn, state, page=0)
    elif state.step == "phone":
        share = turn.chat.capabilities.share_contact
        await turn.say(
            "onboarding.ask_phone" if share else "onboarding.ask_phone_typed",
            keyboard=phone_keyboard(
                turn, await turn.label("onboarding.share_phone"), await turn.label("common.skip")
            ),
            numeric_answer=True,
        )
    elif state.step == "email":
        await turn.say(
            "onboarding.ask_email",
            keyboard=Keyboard(KeyboardKind.SUGGESTIONS, ((await turn.label("common.skip"),),)),
        )
    else:
        await show_summary(turn, state)


async def advance(turn: Turn, state: FlowState, **changes: object) -> None:
    """Store the answer, then go to the next unanswered step (or back to the summary)."""
    data = {**state.data, **changes}
    if data.get("reviewing"):
        nxt = "summary"
    else:
        index = FIELDS.index(state.step) if state.step in FIELDS else len(FIELDS) - 1
        nxt = FIELDS[index + 1] if index + 1 < len(FIELDS) else "summary"
    moved = await turn.services.flows.move(turn.person, state, nxt, **changes)
    await ask(turn, moved)


# --- unit picker (shared with the profile) --------------------------------------------------


async def show_units(turn: Turn, state: FlowState, *, page: int) -> None:
    query = str(state.data.get("unit_query", ""))
    result = await turn.services.member_service.unit_page(query, page)
    rows: list[list[Button]] = [
        [Button(unit.name, callbacks.pack("un", "pick", unit.id))] for unit in result.units
    ]
    nav = await turn.page_row(
        result.page,
        result.pages,
        lambda n: callbacks.pack("un", "page", n),
        counter=callbacks.pack("un", "page", result.page),
    )
    if nav:
        rows.append(nav)
    if query:
        rows.append([await turn.button("units.show_all", callbacks.pack("un", "all"))])
    params: dict[str, Any] = {}
    if query and result.total == 0:
        key, params = "units.none_found", {"query": query}
    elif query:
        key, params = "units.found", {"query": query, "count": result.total}
    else:
        key = "units.pick"
    await turn.show(key, buttons=rows, **params)


async def on_unit_press(turn: Turn) -> None:
    """Unit picker buttons, shared by onboarding and the profile's unit edit."""
    parsed = turn.pressed
    state = await turn.services.flows.get(turn.person)
    if parsed is None or state is None or state.step != "unit":
        await turn.answer("common.button_expired")
        return
    if parsed.action in ("page", "all"):
        if parsed.action == "all":
            state = await turn.services.flows.move(turn.person, state, "unit", unit_query="")
        await turn.answer()
        await show_units(turn, state, page=parsed.int_arg() or 0)
        return
    unit_id = parsed.int_arg()
    unit = await turn.services.member_service.unit(unit_id) if unit_id is not None else None
    chosen = turn.routes.unit_chosen.get(state.flow)
    if parsed.action != "pick" or unit is None or chosen is None:
        await turn.answer("common.button_expired")
        return
    await turn.answer()
    await turn.show("units.chosen", unit=unit.name)
    await chosen(turn, state, unit.id)


async def on_unit_text(turn: Turn, state: FlowState) -> None:
    """Typing in the unit step filters the list ("bo tu phap" finds "Bộ Tư pháp")."""
    query = " ".join((turn.typed or "").split())[:60]
    state = await turn.services.flows.move(turn.person, state, "unit", unit_query=query)
    await show_units(turn, state, page=0)


# --- typed answers ------------------------------------------------------------------------


async def on_name(turn: Turn, state: FlowState) -> None:
    try:
        name = clean_full_name(turn.typed or "")
    except InvalidInput as exc:
        await turn.say(exc.key, **exc.params)
        return
    await advance(turn, state, full_name=name)


def _is(turn: Turn, key: str) -> bool:
    return turn.services.catalogue.matches(key, (turn.typed or "").strip())


async def typed_phone(turn: Turn) -> str | None:
    """A phone typed by hand, where sharing is not possible (Zalo); None after saying why."""
    try:
        return clean_phone(turn.typed or "", typed=True)
    except InvalidInput as exc:
        await turn.say(exc.key, **exc.params)
        return None


async def on_phone_text(turn: Turn, state: FlowState) -> None:
    if _is(turn, "common.skip"):
        await advance(turn, state, phone=None)
    elif turn.chat.capabilities.share_contact:
        await turn.say("onboarding.phone_use_button")
    elif (phone := await typed_phone(turn)) is not None:
        await advance(turn, state, phone=phone)


async def own_phone(turn: Turn) -> str | None:
    """The phone number of a shared contact card, if it is the sender's own (else say why)."""
    contact = turn.input
    if not isinstance(contact, SharedContact) or not contact.own:
        await turn.say("onboarding.phone_not_own")
        return None
    try:
        return clean_phone(contact.phone)
    except InvalidInput as exc:
        await turn.say(exc.key)
        return None


async def on_phone_contact(turn: Turn, state: FlowState) -> None:
    phone = await own_phone(turn)
    if phone is not None:
        await advance(turn, state, phone=phone)


async def on_email(turn: Turn, state: FlowState) -> None:
    if _is(turn, "common.skip"):
        await advance(turn, state, email=None)
        return
    try:
        email = clean_email(turn.typed or "")
    except InvalidInput as exc:
        await turn.say(exc.key)
        return
    await advance(turn, state, email=email)


# --- summary and confirmation ---------------------------------------------------------------


async def edit_buttons(turn: Turn, action: str) -> list[list[Button]]:
    """ "✏️ Sửa <field>" for each field, two a row (the onboarding summary and the profile)."""

    async def edit(field: str) -> Button:
        name = await turn.label(f"field.{field}")
        return await turn.button(
            "onboarding.edit_field", callbacks.pack(action, "edit", field), field=name
        )

    return [
        [await edit("name"), await edit("unit")],
        [await edit("phone"), await edit("email")],
    ]


async def show_summary(turn: Turn, state: FlowState) -> None:
    data = state.data
    unit = await turn.services.member_service.unit(int(data.get("unit_id") or 0))
    none = await turn.label("common.not_provided")
    rows = [
        [await turn.button("onboarding.confirm", callbacks.pack("ob", "confirm"))],
        *await edit_buttons(turn, "ob"),
    ]
    if state.step != "summary" or not data.get("reviewing"):
        state = await turn.services.flows.move(turn.person, state, "summary", reviewing=True)
    await turn.say(
        "onboarding.summary",
        buttons=rows,
        name=data.get("full_name", ""),
        unit=unit.name if unit else none,
        phone=data.get("phone") or none,
        email=data.get("email") or none,
    )


async def on_press(turn: Turn) -> None:
    parsed = turn.pressed
    if parsed is None:
        await turn.answer("common.button_expired")
        return
    services = turn.services
    actor = await turn.actor()
    if actor.is_member:
        await turn.answer("onboarding.already_member")
        return
    state = await services.flows.get(turn.person)
    if parsed.action == "consent" and state is None:
        await turn.answer()
        if parsed.arg() == "y":
            state, consent_at = await services.member_service.give_consent(
                turn.person,
                payload=turn.memory.pop(PENDING_PAYLOAD, None),
                language=await turn.language(),
            )
            await turn.show("onboarding.consent_given", time=_local(turn, consent_at))
            await ask(turn, state)
        else:
            turn.memory.pop(PENDING_PAYLOAD, None)
            await turn.show("onboarding.consent_refused")
        return
    if state is None or state.flow != FLOW:
        await turn.answer("common.button_expired")
        return
    if parsed.action == "tgname" and state.step == "name":
        await turn.answer()
        try:  # checked again: the press may be forged, or the name changed since it was shown
            full_name = clean_full_name(turn.user.display_name)
        except InvalidInput as exc:
            await turn.say(exc.key, **exc.params)
            return
        await advance(turn, state, full_name=full_name)
    elif parsed.action == "edit" and state.step == "summary" and parsed.arg() in FIELDS:
        await turn.answer()
        field = parsed.arg()
        assert field is not None
        moved = await services.flows.move(turn.person, state, field, unit_query="")
        await ask(turn, moved)
    elif parsed.action == "confirm" and state.step == "summary":
        await turn.answer()
        await finish(turn, state)
    else:
        await turn.answer("common.button_expired")


async def finish(turn: Turn, state: FlowState) -> None:
    data = state.data
    try:
        member = await turn.services.member_service.complete_onboarding(
            turn.person,
            full_name=str(data.get("full_name", "")),
            unit_id=int(data.get("unit_id") or 0),
            phone=data.get("phone"),
            email=data.get("email"),
            username=turn.user.username,
            language=str(data.get("language", "vi")),
            consent_at=datetime.fromisoformat(str(data["consent_at"])),
        )
    except InvalidInput as exc:
        await turn.say(exc.key, **exc.params)
        return
    turn.forget_actor()
    await turn.show("onboarding.saved")
    await turn.say(
        "onboarding.welcome_member", keyboard=await turn.main_menu(), name=member.full_name
    )
    payload = data.get("payload")
    if payload:
        await run_deep_link(turn, str(payload))


async def unit_chosen(turn: Turn, state: FlowState, unit_id: int) -> None:
    await advance(turn, state, unit_id=unit_id)


def _local(turn: Turn, moment: datetime) -> str:
    return moment.astimezone(turn.services.config.bot.tz).strftime("%H:%M %d/%m/%Y")


def register(routes: Routes) -> None:
    routes.commands["start"] = start
    routes.commands["cancel"] = cancel
    routes.actions["ob"] = on_press
    routes.actions["un"] = on_unit_press
    routes.text_steps[(FLOW, "name")] = on_name
    routes.text_steps[(FLOW, "unit")] = on_unit_text
    routes.text_steps[(FLOW, "phone")] = on_phone_text
    routes.text_steps[(FLOW, "email")] = on_email
    routes.contact_steps[(FLOW, "phone")] = on_phone_contact
    routes.unit_chosen[FLOW] = unit_chosen
    routes.flows.add(FLOW)
