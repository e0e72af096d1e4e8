"""The member's own data (SPEC 2.1, 2.7): /profile with edits, /settings, /mydata, /forgetme."""

from __future__ import annotations

import secrets
from datetime import datetime

from telegram import InputFile, KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.domain.errors import InvalidInput
from bot.domain.members import Member
from bot.figures import format_figure
from bot.flows import FlowState
from handlers import callbacks
from handlers.activities import tell_promoted
from handlers.context import BotContext
from handlers.onboarding import on_unit_text, own_phone, show_units
from handlers.router import Router
from handlers.ui import answer, ask_to_confirm, edit_or_send, inline, main_menu, say

FLOW = "profile"
PRIVACY_FLOW = "privacy"
EDITABLE = {"name": "full_name", "unit": "unit_id", "phone": "phone", "email": "email"}


async def _member_or_refuse(update: Update, context: BotContext) -> Member | None:
    actor = await context.actor(update)
    if actor.member is None:
        if update.callback_query:
            await answer(update, context, "access.not_member", alert=True)
        else:
            await say(update, context, "access.not_member")
        return None
    return actor.member


def _local(context: BotContext, moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(context.services.config.bot.tz).strftime("%H:%M %d/%m/%Y")


# --- profile ------------------------------------------------------------------------------


async def show_profile(update: Update, context: BotContext) -> None:
    member = await _member_or_refuse(update, context)
    if member is None:
        return
    profile = await context.services.member_service.profile(member)
    totals, person_days = await context.services.activities.totals(member)
    language = await context.language(update)
    none = await context.label(update, "common.not_provided")
    role = await context.label(update, f"role.{profile.role.value}")
    if profile.cadre_unit is not None:
        role = f"{role} — {profile.cadre_unit.name}"
    edit = "onboarding.edit_field"
    rows = [
        [
            (
                await context.label(update, edit, field=await context.label(update, "field.name")),
                callbacks.pack("pf", "edit", "name"),
            ),
            (
                await context.label(update, edit, field=await context.label(update, "field.unit")),
                callbacks.pack("pf", "edit", "unit"),
            ),
        ],
        [
            (
                await context.label(update, edit, field=await context.label(update, "field.phone")),
                callbacks.pack("pf", "edit", "phone"),
            ),
            (
                await context.label(update, edit, field=await context.label(update, "field.email")),
                callbacks.pack("pf", "edit", "email"),
            ),
        ],
        [(await context.label(update, "settings.open"), callbacks.pack("st", "show"))],
    ]
    await say(
        update,
        context,
        "profile.card",
        reply_markup=inline(rows),
        name=member.full_name,
        unit=profile.unit.name if profile.unit else none,
        phone=member.phone or none,
        email=member.email or none,
        role=role,
        consent=_local(context, member.consent_at),
        attended=totals.attended,
        hours=format_figure(totals.hours, language),
        days=format_figure(person_days, language),
    )


async def on_profile_callback(update: Update, context: BotContext) -> None:
    parsed = callbacks.parse(update.callback_query.data if update.callback_query else None)
    member = await _member_or_refuse(update, context)
    user = update.effective_user
    if member is None or user is None:
        return
    if parsed is None or parsed.action != "edit" or parsed.arg() not in EDITABLE:
        await answer(update, context, "common.button_expired")
        return
    await answer(update, context)
    field = parsed.arg()
    assert field is not None
    state = await context.services.flows.start(user.id, FLOW, field)
    await ask_field(update, context, state)


async def ask_field(update: Update, context: BotContext, state: FlowState) -> None:
    remove = await context.label(update, "profile.remove_value")
    keep = await context.label(update, "profile.keep_value")
    if state.step == "name":
        await say(update, context, "profile.ask_name", reply_markup=ReplyKeyboardRemove())
    elif state.step == "unit":
        await show_units(update, context, state, page=0)
    elif state.step == "phone":
        keyboard = [
            [
                KeyboardButton(
                    await context.label(update, "onboarding.share_phone"), request_contact=True
                )
            ],
            [KeyboardButton(remove), KeyboardButton(keep)],
        ]
        await say(
            update,
            context,
            "profile.ask_phone",
            reply_markup=ReplyKeyboardMarkup(
                keyboard, resize_keyboard=True, one_time_keyboard=True
            ),
        )
    elif state.step == "email":
        keyboard = [[KeyboardButton(remove), KeyboardButton(keep)]]
        await say(
            update,
            context,
            "profile.ask_email",
            reply_markup=ReplyKeyboardMarkup(
                keyboard, resize_keyboard=True, one_time_keyboard=True
            ),
        )


async def _save(update: Update, context: BotContext, field: str, value: str | int | None) -> None:
    member = await _member_or_refuse(update, context)
    user = update.effective_user
    if member is None or user is None:
        return
    try:
        await context.services.member_service.update_field(member, EDITABLE[field], value)
    except InvalidInput as exc:
        await say(update, context, exc.key, **exc.params)
        return
    await context.services.flows.clear(user.id)
    context.forget_actor()
    await say(update, context, "profile.updated", reply_markup=await main_menu(update, context))
    await show_profile(update, context)


async def _keep_or_remove(update: Update, context: BotContext, field: str) -> bool:
    """Handle the "remove" / "keep" buttons of optional fields; True when handled."""
    message = update.effective_message
    user = update.effective_user
    assert message is not None and message.text is not None and user is not None
    catalogue = context.services.catalogue
    text = message.text.strip()
    if catalogue.matches("profile.remove_value", text):
        await _save(update, context, field, None)
        return True
    if catalogue.matches("profile.keep_value", text):
        await context.services.flows.clear(user.id)
        await say(update, context, "flow.cancelled", reply_markup=await main_menu(update, context))
        return True
    return False


async def on_name(update: Update, context: BotContext, state: FlowState) -> None:
    message = update.effective_message
    assert message is not None and message.text is not None
    await _save(update, context, "name", message.text)


async def on_email(update: Update, context: BotContext, state: FlowState) -> None:
    message = update.effective_message
    assert message is not None and message.text is not None
    if not await _keep_or_remove(update, context, "email"):
        await _save(update, context, "email", message.text)


async def on_phone_text(update: Update, context: BotContext, state: FlowState) -> None:
    if not await _keep_or_remove(update, context, "phone"):
        await say(update, context, "onboarding.phone_use_button")


async def on_phone_contact(update: Update, context: BotContext, state: FlowState) -> None:
    phone = await own_phone(update, context)
    if phone is not None:
        await _save(update, context, "phone", phone)


async def unit_chosen(update: Update, context: BotContext, state: FlowState, unit_id: int) -> None:
    await _save(update, context, "unit", unit_id)


# --- settings -----------------------------------------------------------------------------


async def show_settings(update: Update, context: BotContext, *, edit: bool = False) -> None:
    member = await _member_or_refuse(update, context)
    if member is None:
        return
    on, off = (
        await context.label(update, "settings.on"),
        await context.label(update, "settings.off"),
    )
    rows = [
        [
            (
                ("✓ " if member.language == "vi" else "") + "Tiếng Việt",
                callbacks.pack("st", "lang", "vi"),
            ),
            (
                ("✓ " if member.language == "en" else "") + "English",
                callbacks.pack("st", "lang", "en"),
            ),
        ],
        [
            (
                await context.label(
                    update,
                    "settings.announcements",
                    state=off if member.announcements_muted else on,
                ),
                # Each switch carries the state it turns to (not "flip"): a double tap or an
                # old copy of this card sets that state again instead of undoing it.
                callbacks.pack("st", "ann", "on" if member.announcements_muted else "off"),
            )
        ],
        [
            (
                await context.label(
                    update, "settings.reminders", state=off if member.reminders_muted else on
                ),
                callbacks.pack("st", "rem", "on" if member.reminders_muted else "off"),
            )
        ],
    ]
    if edit:
        await edit_or_send(update, context, "settings.card", reply_markup=inline(rows))
    else:
        await say(update, context, "settings.card", reply_markup=inline(rows))


async def settings_command(update: Update, context: BotContext) -> None:
    await show_settings(update, context)


async def on_settings_callback(update: Update, context: BotContext) -> None:
    parsed = callbacks.parse(update.callback_query.data if update.callback_query else None)
    member = await _member_or_refuse(update, context)
    if member is None:
        return
    service = context.services.member_service
    if parsed is None:
        await answer(update, context, "common.button_expired")
        return
    if parsed.action == "show":
        await answer(update, context)
        await show_settings(update, context)
        return
    if parsed.action == "lang" and parsed.arg() in context.services.catalogue.languages:
        language = parsed.arg()
        assert language is not None
        changed = language != member.language
        await service.update_field(member, "language", language)
        context.forget_actor()
        await answer(update, context, "settings.saved")
        await show_settings(update, context, edit=True)
        if changed:
            await say(
                update,
                context,
                "settings.language_changed",
                reply_markup=await main_menu(update, context),
            )
        return
    switch_to = parsed.arg()
    if parsed.action == "ann" and switch_to in ("on", "off"):
        await service.set_muted(member, announcements=switch_to == "off")
    elif parsed.action == "rem" and switch_to in ("on", "off"):
        await service.set_muted(member, reminders=switch_to == "off")
    elif parsed.action in ("ann", "rem"):
        # A switch drawn before they carried their target state: show them as they are.
        await answer(update, context, "common.button_expired")
        await show_settings(update, context, edit=True)
        return
    else:
        await answer(update, context, "common.button_expired")
        return
    context.forget_actor()
    await answer(update, context, "settings.saved")
    await show_settings(update, context, edit=True)


# --- privacy ------------------------------------------------------------------------------


async def my_data(update: Update, context: BotContext) -> None:
    member = await _member_or_refuse(update, context)
    chat = update.effective_chat
    if member is None or chat is None:
        return
    data = await context.services.privacy.my_data(member)
    if data is None:  # erased between the look-up and now
        await say(update, context, "access.not_member")
        return
    language = await context.language(update)
    profile = await context.services.member_service.profile(member)
    none = await context.label(update, "common.not_provided")
    counts = data.summary
    await say(
        update,
        context,
        "privacy.mydata",
        name=member.full_name,
        unit=profile.unit.name if profile.unit else none,
        phone=member.phone or none,
        email=member.email or none,
        username=("@" + member.username) if member.username else none,
        language=member.language,
        consent=_local(context, member.consent_at),
        role=await context.label(update, f"role.{profile.role.value}"),
        registrations=counts.registrations,
        attended=counts.attended,
        hours=format_figure(counts.hours, language),
        days=format_figure(counts.person_days, language),
        initiatives=counts.initiatives,
        supports=counts.supports_given,
        announcements=counts.announcements,
    )
    await context.bot.send_document(
        chat.id,
        InputFile(data.to_json(), filename="nhipcau-du-lieu-cua-toi.json"),
        caption=await context.text(update, "privacy.mydata_file"),
    )


async def forget_me(update: Update, context: BotContext) -> None:
    member = await _member_or_refuse(update, context)
    user = update.effective_user
    if member is None or user is None:
        return
    # The "yes" button carries a one-time code kept in the flow state: an old or forged press
    # cannot erase an account, only the confirmation asked for just now can.
    code = secrets.token_hex(4)
    await context.services.flows.start(user.id, PRIVACY_FLOW, "confirm_forget", code=code)
    await ask_to_confirm(
        update,
        context,
        "privacy.forget_ask",
        yes=("privacy.forget_confirm", callbacks.pack("pv", "forget", "yes", code)),
        no=("privacy.forget_keep", callbacks.pack("pv", "forget", "no")),
    )


async def on_privacy_callback(update: Update, context: BotContext) -> None:
    parsed = callbacks.parse(update.callback_query.data if update.callback_query else None)
    member = await _member_or_refuse(update, context)
    if member is None:
        return
    user = update.effective_user
    if parsed is None or parsed.action != "forget" or parsed.arg() not in ("yes", "no"):
        await answer(update, context, "common.button_expired")
        return
    if parsed.arg() == "no":
        await answer(update, context)
        if user is not None:
            await context.services.flows.clear(user.id)
        await edit_or_send(update, context, "privacy.forget_kept")
        return
    state = await context.services.flows.get(user.id) if user else None
    if (
        state is None
        or state.flow != PRIVACY_FLOW
        or not parsed.arg(1)
        or state.data.get("code") != parsed.arg(1)
    ):
        await answer(update, context, "common.button_expired")
        return
    await answer(update, context)
    language = await context.language(update)
    result = await context.services.privacy.forget(member)
    context.forget_actor()
    context.use_language(language)
    await edit_or_send(update, context, "privacy.forgotten")
    await say(update, context, "privacy.forgotten_next", reply_markup=ReplyKeyboardRemove())
    await tell_promoted(context, result.promotions)


def register(app: Application, router: Router) -> None:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("profile", show_profile, filters=private))
    app.add_handler(CommandHandler("settings", settings_command, filters=private))
    app.add_handler(CommandHandler("mydata", my_data, filters=private))
    app.add_handler(CommandHandler("forgetme", forget_me, filters=private))
    app.add_handler(CallbackQueryHandler(on_profile_callback, pattern=r"^pf:"))
    app.add_handler(CallbackQueryHandler(on_settings_callback, pattern=r"^st:"))
    app.add_handler(CallbackQueryHandler(on_privacy_callback, pattern=r"^pv:"))
    router.text_steps[(FLOW, "name")] = on_name
    router.text_steps[(FLOW, "email")] = on_email
    router.text_steps[(FLOW, "phone")] = on_phone_text
    router.text_steps[(FLOW, "unit")] = on_unit_text
    router.contact_steps[(FLOW, "phone")] = on_phone_contact
    router.unit_chosen[FLOW] = unit_chosen
    router.menu["menu.profile"] = show_profile
