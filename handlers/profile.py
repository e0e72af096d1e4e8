"""The member's own data (SPEC 2.1, 2.7): /profile with edits, /settings, /mydata, /forgetme."""

from __future__ import annotations

import secrets
from datetime import datetime

from bot.domain.errors import InvalidInput
from bot.domain.members import FlowState, Member
from bot.figures import format_figure
from handlers import callbacks, linking
from handlers.dialog import REMOVE_KEYBOARD, Attachment, Button, Keyboard, KeyboardKind, Turn
from handlers.dispatch import Routes
from handlers.onboarding import (
    edit_buttons,
    on_unit_text,
    own_phone,
    phone_keyboard,
    show_units,
    typed_phone,
)

FLOW = "profile"
PRIVACY_FLOW = "privacy"
EDITABLE = {"name": "full_name", "unit": "unit_id", "phone": "phone", "email": "email"}
LANGUAGE_NAMES = {"vi": "Tiếng Việt", "en": "English"}  # each in its own language


async def _member_or_refuse(turn: Turn) -> Member | None:
    actor = await turn.actor()
    if actor.member is None:
        await turn.refuse("access.not_member")
        return None
    return actor.member


def _local(turn: Turn, moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(turn.services.config.bot.tz).strftime("%H:%M %d/%m/%Y")


# --- profile ------------------------------------------------------------------------------


async def show_profile(turn: Turn) -> None:
    member = await _member_or_refuse(turn)
    if member is None:
        return
    profile = await turn.services.member_service.profile(member)
    totals, person_days = await turn.services.activities.totals(member)
    language = await turn.language()
    none = await turn.label("common.not_provided")
    role = await turn.label(f"role.{profile.role.value}")
    if profile.cadre_unit is not None:
        role = f"{role} — {profile.cadre_unit.name}"
    rows = [
        *await edit_buttons(turn, "pf"),
        [await turn.button("settings.open", callbacks.pack("st", "show"))],
    ]
    await turn.say(
        "profile.card",
        buttons=rows,
        name=member.full_name,
        unit=profile.unit.name if profile.unit else none,
        phone=member.phone or none,
        email=member.email or none,
        role=role,
        consent=_local(turn, member.consent_at),
        attended=totals.attended,
        hours=format_figure(totals.hours, language),
        days=format_figure(person_days, language),
    )


async def on_profile_press(turn: Turn) -> None:
    parsed = turn.pressed
    member = await _member_or_refuse(turn)
    if member is None:
        return
    if parsed is None or parsed.action != "edit" or parsed.arg() not in EDITABLE:
        await turn.answer("common.button_expired")
        return
    await turn.answer()
    field = parsed.arg()
    assert field is not None
    state = await turn.services.flows.start(turn.person, FLOW, field)
    await ask_field(turn, state)


async def ask_field(turn: Turn, state: FlowState) -> None:
    remove = await turn.label("profile.remove_value")
    keep = await turn.label("profile.keep_value")
    if state.step == "name":
        await turn.say("profile.ask_name", keyboard=REMOVE_KEYBOARD)
    elif state.step == "unit":
        await show_units(turn, state, page=0)
    elif state.step == "phone":
        share = turn.chat.capabilities.share_contact
        await turn.say(
            "profile.ask_phone" if share else "profile.ask_phone_typed",
            keyboard=phone_keyboard(turn, await turn.label("onboarding.share_phone"), remove, keep),
            numeric_answer=True,
        )
    elif state.step == "email":
        await turn.say(
            "profile.ask_email", keyboard=Keyboard(KeyboardKind.SUGGESTIONS, ((remove, keep),))
        )


async def _save(turn: Turn, field: str, value: str | int | None) -> None:
    member = await _member_or_refuse(turn)
    if member is None:
        return
    try:
        await turn.services.member_service.update_field(member, EDITABLE[field], value)
    except InvalidInput as exc:
        await turn.say(exc.key, **exc.params)
        return
    await turn.services.flows.clear(turn.person)
    turn.forget_actor()
    await turn.say("profile.updated", keyboard=await turn.main_menu())
    await show_profile(turn)


def _is(turn: Turn, key: str) -> bool:
    return turn.services.catalogue.matches(key, (turn.typed or "").strip())


async def _keep_or_remove(turn: Turn, field: str) -> bool:
    """Handle the "remove" / "keep" answers of optional fields; True when handled."""
    if _is(turn, "profile.remove_value"):
        await _save(turn, field, None)
        return True
    if _is(turn, "profile.keep_value"):
        await turn.services.flows.clear(turn.person)
        await turn.say("flow.cancelled", keyboard=await turn.main_menu())
        return True
    return False


async def on_name(turn: Turn, state: FlowState) -> None:
    await _save(turn, "name", turn.typed or "")


async def on_email(turn: Turn, state: FlowState) -> None:
    if not await _keep_or_remove(turn, "email"):
        await _save(turn, "email", turn.typed or "")


async def on_phone_text(turn: Turn, state: FlowState) -> None:
    if await _keep_or_remove(turn, "phone"):
        return
    if turn.chat.capabilities.share_contact:
        await turn.say("onboarding.phone_use_button")
    elif (phone := await typed_phone(turn)) is not None:
        await _save(turn, "phone", phone)


async def on_phone_contact(turn: Turn, state: FlowState) -> None:
    phone = await own_phone(turn)
    if phone is not None:
        await _save(turn, "phone", phone)


async def unit_chosen(turn: Turn, state: FlowState, unit_id: int) -> None:
    await _save(turn, "unit", unit_id)


# --- settings -----------------------------------------------------------------------------


async def show_settings(turn: Turn, *, replace: bool = True) -> None:
    """The settings card; a press on it redraws it in place (where the channel can)."""
    member = await _member_or_refuse(turn)
    if member is None:
        return
    on, off = await turn.label("settings.on"), await turn.label("settings.off")
    languages = [
        Button(("✓ " if member.language == code else "") + name, callbacks.pack("st", "lang", code))
        for code, name in LANGUAGE_NAMES.items()
    ]
    rows = [
        languages,
        [
            # Each switch carries the state it turns to (not "flip"): a double tap or an old
            # copy of this card sets that state again instead of undoing it.
            await turn.button(
                "settings.announcements",
                callbacks.pack("st", "ann", "on" if member.announcements_muted else "off"),
                state=off if member.announcements_muted else on,
            )
        ],
        [
            await turn.button(
                "settings.reminders",
                callbacks.pack("st", "rem", "on" if member.reminders_muted else "off"),
                state=off if member.reminders_muted else on,
            )
        ],
        # Another channel's account: link it, choose where announcements go, unlink.
        *await linking.settings_rows(turn, member),
    ]
    if replace:
        await turn.show("settings.card", buttons=rows)
    else:
        await turn.say("settings.card", buttons=rows)


async def on_settings_press(turn: Turn) -> None:
    parsed = turn.pressed
    member = await _member_or_refuse(turn)
    if member is None:
        return
    service = turn.services.member_service
    if parsed is None:
        await turn.answer("common.button_expired")
        return
    if parsed.action == "show":
        await turn.answer()
        await show_settings(turn, replace=False)
        return
    if parsed.action == "lang" and parsed.arg() in turn.services.catalogue.languages:
        language = parsed.arg()
        assert language is not None
        changed = language != member.language
        await service.update_field(member, "language", language)
        turn.forget_actor()
        await turn.answer("settings.saved")
        await show_settings(turn)
        if changed:
            await turn.say("settings.language_changed", keyboard=await turn.main_menu())
        return
    switch_to = parsed.arg()
    if parsed.action == "ann" and switch_to in ("on", "off"):
        await service.set_muted(member, announcements=switch_to == "off")
    elif parsed.action == "rem" and switch_to in ("on", "off"):
        await service.set_muted(member, reminders=switch_to == "off")
    elif parsed.action in ("ann", "rem"):
        # A switch drawn before they carried their target state: show them as they are.
        await turn.answer("common.button_expired")
        await show_settings(turn)
        return
    else:
        await turn.answer("common.button_expired")
        return
    turn.forget_actor()
    await turn.answer("settings.saved")
    await show_settings(turn)


# --- privacy ------------------------------------------------------------------------------


async def my_data(turn: Turn) -> None:
    member = await _member_or_refuse(turn)
    if member is None:
        return
    data = await turn.services.privacy.my_data(member)
    if data is None:  # erased between the look-up and now
        await turn.say("access.not_member")
        return
    language = await turn.language()
    profile = await turn.services.member_service.profile(member)
    none = await turn.label("common.not_provided")
    counts = data.summary
    await turn.say(
        "privacy.mydata",
        name=member.full_name,
        unit=profile.unit.name if profile.unit else none,
        phone=member.phone or none,
        email=member.email or none,
        username=("@" + member.username) if member.username else none,
        accounts=", ".join(
            [
                await turn.label(
                    "privacy.account", channel=c.platform_name, account=member.address(c)
                )
                for c in member.channels
            ]
        ),
        language=LANGUAGE_NAMES.get(member.language, member.language),
        consent=_local(turn, member.consent_at),
        role=await turn.label(f"role.{profile.role.value}"),
        registrations=counts.registrations,
        attended=counts.attended,
        hours=format_figure(counts.hours, language),
        days=format_figure(counts.person_days, language),
        initiatives=counts.initiatives,
        supports=counts.supports_given,
        announcements=counts.announcements,
    )
    await turn.document(
        Attachment(
            "nhipcau-du-lieu-cua-toi.json",
            content=data.to_json(),
            mime="application/json",
            for_member=member.id,
        ),
        "privacy.mydata_file",
    )


async def forget_me(turn: Turn) -> None:
    member = await _member_or_refuse(turn)
    if member is None:
        return
    # The "yes" button carries a one-time code kept in the flow state: an old or forged press
    # cannot erase an account, only the confirmation asked for just now can.
    code = secrets.token_hex(4)
    await turn.services.flows.start(turn.person, PRIVACY_FLOW, "confirm_forget", code=code)
    await turn.ask_to_confirm(
        "privacy.forget_ask",
        yes=("privacy.forget_confirm", callbacks.pack("pv", "forget", "yes", code)),
        no=("privacy.forget_keep", callbacks.pack("pv", "forget", "no")),
    )


async def on_privacy_press(turn: Turn) -> None:
    parsed = turn.pressed
    member = await _member_or_refuse(turn)
    if member is None:
        return
    if parsed is None or parsed.action != "forget" or parsed.arg() not in ("yes", "no"):
        await turn.answer("common.button_expired")
        return
    if parsed.arg() == "no":
        await turn.answer()
        await turn.services.flows.clear(turn.person)
        await turn.show("privacy.forget_kept")
        return
    state = await turn.services.flows.get(turn.person)
    if (
        state is None
        or state.flow != PRIVACY_FLOW
        or not parsed.arg(1)
        or state.data.get("code") != parsed.arg(1)
    ):
        await turn.answer("common.button_expired")
        return
    await turn.answer()
    language = await turn.language()
    await turn.services.privacy.forget(member)
    turn.forget_actor()
    turn.use_language(language)
    await turn.show("privacy.forgotten")
    await turn.say("privacy.forgotten_next", keyboard=REMOVE_KEYBOARD)


def register(routes: Routes) -> None:
    routes.commands["profile"] = show_profile
    routes.commands["settings"] = show_settings
    routes.commands["mydata"] = my_data
    routes.commands["forgetme"] = forget_me
    routes.actions["pf"] = on_profile_press
    routes.actions["st"] = on_settings_press
    routes.actions["pv"] = on_privacy_press
    routes.text_steps[(FLOW, "name")] = on_name
    routes.text_steps[(FLOW, "email")] = on_email
    routes.text_steps[(FLOW, "phone")] = on_phone_text
    routes.text_steps[(FLOW, "unit")] = on_unit_text
    routes.contact_steps[(FLOW, "phone")] = on_phone_contact
    routes.unit_chosen[FLOW] = unit_chosen
    routes.menu["menu.profile"] = show_profile
    routes.flows.update({FLOW, PRIVACY_FLOW})
