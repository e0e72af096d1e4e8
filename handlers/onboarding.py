"""Onboarding (SPEC 2.1): consent first, then name, unit, optional phone and email, a summary to
confirm; ``/start <payload>`` deep links run once the person is a member. ``/cancel`` leaves."""

from __future__ import annotations

import logging
from datetime import datetime

from telegram import KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.domain.errors import InvalidInput
from bot.domain.members import Person
from bot.flows import FlowState
from bot.members import ONBOARDING_FLOW, clean_email, clean_full_name, clean_phone
from handlers import callbacks
from handlers.context import BotContext
from handlers.router import Router, router_of, run_deep_link
from handlers.ui import answer, edit_or_send, inline, main_menu, page_row, say

log = logging.getLogger(__name__)

FLOW = ONBOARDING_FLOW
PENDING_PAYLOAD = "pending_payload"  # in user_data only until consent: refusing stores nothing
FIELDS = ("name", "unit", "phone", "email")


# --- entry --------------------------------------------------------------------------------


async def start(update: Update, context: BotContext) -> None:
    user = update.effective_user
    if user is None:
        return
    payload = context.args[0] if context.args else None
    actor = await context.actor(update)
    services = context.services
    if actor.member is not None:
        await services.member_service.remember_username(actor.member, user.username)
        if not actor.member.reachable:
            await services.member_service.mark_reachable(user.id, True)
        if payload:
            await run_deep_link(update, context, payload)
            return
        await say(
            update,
            context,
            "start.member",
            reply_markup=await main_menu(update, context),
            name=actor.member.full_name,
        )
        return
    state = await services.flows.get(user.id)
    if state is not None and state.flow == FLOW:
        if payload:
            state = await services.flows.move(user.id, state, state.step, payload=payload)
        await say(update, context, "onboarding.resume")
        await ask(update, context, state)
        return
    if payload:
        context.user_state[PENDING_PAYLOAD] = payload
    await say(
        update,
        context,
        "onboarding.consent",
        reply_markup=inline(
            [
                [
                    (
                        await context.label(update, "onboarding.consent_yes"),
                        callbacks.pack("ob", "consent", "y"),
                    )
                ],
                [
                    (
                        await context.label(update, "onboarding.consent_no"),
                        callbacks.pack("ob", "consent", "n"),
                    )
                ],
            ]
        ),
        name=user.first_name,
    )


async def cancel(update: Update, context: BotContext) -> None:
    user = update.effective_user
    if user is None:
        return
    state = await context.services.flows.get(user.id)
    await context.services.flows.clear(user.id)
    context.user_state.pop(PENDING_PAYLOAD, None)
    actor = await context.actor(update)
    if actor.is_member:
        key = "flow.cancelled" if state else "flow.nothing_to_cancel"
        await say(update, context, key, reply_markup=await main_menu(update, context))
    else:
        await say(update, context, "onboarding.cancelled", reply_markup=ReplyKeyboardRemove())


# --- asking each step ---------------------------------------------------------------------


async def ask(update: Update, context: BotContext, state: FlowState) -> None:
    """(Re-)ask the question of the step the person is at."""
    if state.step == "name":
        user = update.effective_user
        rows = []
        if user is not None:
            try:
                suggestion = clean_full_name(user.full_name)
                rows.append(
                    [
                        (
                            await context.label(
                                update, "onboarding.use_telegram_name", name=suggestion
                            ),
                            callbacks.pack("ob", "tgname"),
                        )
                    ]
                )
            except InvalidInput:
                pass
        await say(
            update,
            context,
            "onboarding.ask_name",
            reply_markup=inline(rows) if rows else ReplyKeyboardRemove(),
        )
    elif state.step == "unit":
        await show_units(update, context, state, page=0)
    elif state.step == "phone":
        await say(
            update,
            context,
            "onboarding.ask_phone",
            reply_markup=ReplyKeyboardMarkup(
                [
                    [
                        KeyboardButton(
                            await context.label(update, "onboarding.share_phone"),
                            request_contact=True,
                        )
                    ],
                    [KeyboardButton(await context.label(update, "common.skip"))],
                ],
                resize_keyboard=True,
                one_time_keyboard=True,
            ),
        )
    elif state.step == "email":
        await say(
            update,
            context,
            "onboarding.ask_email",
            reply_markup=ReplyKeyboardMarkup(
                [[KeyboardButton(await context.label(update, "common.skip"))]],
                resize_keyboard=True,
                one_time_keyboard=True,
            ),
        )
    else:
        await show_summary(update, context, state)


async def advance(update: Update, context: BotContext, state: FlowState, **changes: object) -> None:
    """Store the answer, then go to the next unanswered step (or back to the summary)."""
    user = update.effective_user
    assert user is not None
    data = {**state.data, **changes}
    if data.get("reviewing"):
        nxt = "summary"
    else:
        index = FIELDS.index(state.step) if state.step in FIELDS else len(FIELDS) - 1
        nxt = FIELDS[index + 1] if index + 1 < len(FIELDS) else "summary"
    moved = await context.services.flows.move(user.id, state, nxt, **changes)
    await ask(update, context, moved)


# --- unit picker --------------------------------------------------------------------------


async def show_units(
    update: Update, context: BotContext, state: FlowState, *, page: int, edit: bool = False
) -> None:
    query = str(state.data.get("unit_query", ""))
    result = await context.services.member_service.unit_page(query, page)
    rows = [[(unit.name, callbacks.pack("un", "pick", unit.id))] for unit in result.units]
    nav = await page_row(
        update,
        context,
        result.page,
        result.pages,
        lambda n: callbacks.pack("un", "page", n),
        counter=callbacks.pack("un", "page", result.page),
    )
    if nav:
        rows.append(nav)
    if query:
        rows.append([(await context.label(update, "units.show_all"), callbacks.pack("un", "all"))])
    params: dict[str, object] = {}
    if query and result.total == 0:
        key, params = "units.none_found", {"query": query}
    elif query:
        key, params = "units.found", {"query": query, "count": result.total}
    else:
        key = "units.pick"
    if edit:
        await edit_or_send(update, context, key, reply_markup=inline(rows), **params)
    else:
        await say(update, context, key, reply_markup=inline(rows), **params)


async def on_unit_callback(update: Update, context: BotContext) -> None:
    """Unit picker buttons, shared by onboarding and the profile's unit edit."""
    user = update.effective_user
    parsed = callbacks.parse(update.callback_query.data if update.callback_query else None)
    if user is None or parsed is None:
        await answer(update, context, "common.button_expired")
        return
    state = await context.services.flows.get(user.id)
    if state is None or state.step != "unit":
        await answer(update, context, "common.button_expired")
        return
    if parsed.action in ("page", "all"):
        if parsed.action == "all":
            state = await context.services.flows.move(user.id, state, "unit", unit_query="")
        await answer(update, context)
        await show_units(update, context, state, page=parsed.int_arg() or 0, edit=True)
        return
    unit_id = parsed.int_arg()
    unit = await context.services.member_service.unit(unit_id) if unit_id is not None else None
    if parsed.action != "pick" or unit is None:
        await answer(update, context, "common.button_expired")
        return
    await answer(update, context)
    await edit_or_send(update, context, "units.chosen", unit=unit.name)
    await router_of(context).unit_chosen[state.flow](update, context, state, unit.id)


async def on_unit_text(update: Update, context: BotContext, state: FlowState) -> None:
    """Typing in the unit step filters the list ("bo tu phap" finds "Bộ Tư pháp")."""
    user = update.effective_user
    message = update.effective_message
    assert user is not None and message is not None and message.text is not None
    query = " ".join(message.text.split())[:60]
    state = await context.services.flows.move(user.id, state, "unit", unit_query=query)
    await show_units(update, context, state, page=0)


# --- typed answers ------------------------------------------------------------------------


async def on_name(update: Update, context: BotContext, state: FlowState) -> None:
    message = update.effective_message
    assert message is not None and message.text is not None
    try:
        name = clean_full_name(message.text)
    except InvalidInput as exc:
        await say(update, context, exc.key, **exc.params)
        return
    await advance(update, context, state, full_name=name)


async def on_phone_text(update: Update, context: BotContext, state: FlowState) -> None:
    message = update.effective_message
    assert message is not None and message.text is not None
    if context.services.catalogue.matches("common.skip", message.text.strip()):
        await advance(update, context, state, phone=None)
    else:
        await say(update, context, "onboarding.phone_use_button")


async def own_phone(update: Update, context: BotContext) -> str | None:
    """The phone number of a shared contact card, if it is the sender's own (else say why)."""
    message = update.effective_message
    user = update.effective_user
    assert message is not None and user is not None
    contact = message.contact
    if contact is None or contact.user_id != user.id:
        await say(update, context, "onboarding.phone_not_own")
        return None
    try:
        return clean_phone(contact.phone_number)
    except InvalidInput as exc:
        await say(update, context, exc.key)
        return None


async def on_phone_contact(update: Update, context: BotContext, state: FlowState) -> None:
    phone = await own_phone(update, context)
    if phone is not None:
        await advance(update, context, state, phone=phone)


async def on_email(update: Update, context: BotContext, state: FlowState) -> None:
    message = update.effective_message
    assert message is not None and message.text is not None
    if context.services.catalogue.matches("common.skip", message.text.strip()):
        await advance(update, context, state, email=None)
        return
    try:
        email = clean_email(message.text)
    except InvalidInput as exc:
        await say(update, context, exc.key)
        return
    await advance(update, context, state, email=email)


# --- summary and confirmation ---------------------------------------------------------------


async def show_summary(update: Update, context: BotContext, state: FlowState) -> None:
    data = state.data
    unit = await context.services.member_service.unit(int(data.get("unit_id") or 0))
    none = await context.label(update, "common.not_provided")
    edit_label = "onboarding.edit_field"
    rows = [
        [(await context.label(update, "onboarding.confirm"), callbacks.pack("ob", "confirm"))],
        [
            (
                await context.label(
                    update, edit_label, field=await context.label(update, "field.name")
                ),
                callbacks.pack("ob", "edit", "name"),
            ),
            (
                await context.label(
                    update, edit_label, field=await context.label(update, "field.unit")
                ),
                callbacks.pack("ob", "edit", "unit"),
            ),
        ],
        [
            (
                await context.label(
                    update, edit_label, field=await context.label(update, "field.phone")
                ),
                callbacks.pack("ob", "edit", "phone"),
            ),
            (
                await context.label(
                    update, edit_label, field=await context.label(update, "field.email")
                ),
                callbacks.pack("ob", "edit", "email"),
            ),
        ],
    ]
    user = update.effective_user
    assert user is not None
    if state.step != "summary" or not data.get("reviewing"):
        state = await context.services.flows.move(user.id, state, "summary", reviewing=True)
    await say(
        update,
        context,
        "onboarding.summary",
        reply_markup=inline(rows),
        name=data.get("full_name", ""),
        unit=unit.name if unit else none,
        phone=data.get("phone") or none,
        email=data.get("email") or none,
    )


async def on_callback(update: Update, context: BotContext) -> None:
    user = update.effective_user
    parsed = callbacks.parse(update.callback_query.data if update.callback_query else None)
    if user is None or parsed is None:
        await answer(update, context, "common.button_expired")
        return
    services = context.services
    actor = await context.actor(update)
    if actor.is_member:
        await answer(update, context, "onboarding.already_member")
        return
    state = await services.flows.get(user.id)
    if parsed.action == "consent" and state is None:
        await answer(update, context)
        if parsed.arg() == "y":
            state, consent_at = await services.member_service.give_consent(
                Person.telegram(user.id),
                payload=context.user_state.pop(PENDING_PAYLOAD, None),
                language=await context.language(update),
            )
            await edit_or_send(
                update, context, "onboarding.consent_given", time=_local(context, consent_at)
            )
            await ask(update, context, state)
        else:
            context.user_state.pop(PENDING_PAYLOAD, None)
            await edit_or_send(update, context, "onboarding.consent_refused")
        return
    if state is None or state.flow != FLOW:
        await answer(update, context, "common.button_expired")
        return
    if parsed.action == "tgname" and state.step == "name":
        await answer(update, context)
        try:  # checked again: the press may be forged, or the name changed since it was shown
            full_name = clean_full_name(user.full_name)
        except InvalidInput as exc:
            await say(update, context, exc.key, **exc.params)
            return
        await advance(update, context, state, full_name=full_name)
    elif parsed.action == "edit" and state.step == "summary" and parsed.arg() in FIELDS:
        await answer(update, context)
        field = parsed.arg()
        assert field is not None
        moved = await services.flows.move(user.id, state, field, unit_query="")
        await ask(update, context, moved)
    elif parsed.action == "confirm" and state.step == "summary":
        await answer(update, context)
        await finish(update, context, state)
    else:
        await answer(update, context, "common.button_expired")


async def finish(update: Update, context: BotContext, state: FlowState) -> None:
    user = update.effective_user
    assert user is not None
    data = state.data
    try:
        member = await context.services.member_service.complete_onboarding(
            Person.telegram(user.id),
            full_name=str(data.get("full_name", "")),
            unit_id=int(data.get("unit_id") or 0),
            phone=data.get("phone"),
            email=data.get("email"),
            username=user.username,
            language=str(data.get("language", "vi")),
            consent_at=datetime.fromisoformat(str(data["consent_at"])),
        )
    except InvalidInput as exc:
        await say(update, context, exc.key, **exc.params)
        return
    context.forget_actor()
    await edit_or_send(update, context, "onboarding.saved")
    await say(
        update,
        context,
        "onboarding.welcome_member",
        reply_markup=await main_menu(update, context),
        name=member.full_name,
    )
    payload = data.get("payload")
    if payload:
        await run_deep_link(update, context, str(payload))


async def unit_chosen(update: Update, context: BotContext, state: FlowState, unit_id: int) -> None:
    await advance(update, context, state, unit_id=unit_id)


def _local(context: BotContext, moment: datetime) -> str:
    return moment.astimezone(context.services.config.bot.tz).strftime("%H:%M %d/%m/%Y")


def register(app: Application, router: Router) -> None:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("start", start, filters=private))
    app.add_handler(CommandHandler("cancel", cancel, filters=private))
    app.add_handler(CallbackQueryHandler(on_callback, pattern=r"^ob:"))
    app.add_handler(CallbackQueryHandler(on_unit_callback, pattern=r"^un:"))
    router.text_steps[(FLOW, "name")] = on_name
    router.text_steps[(FLOW, "unit")] = on_unit_text
    router.text_steps[(FLOW, "phone")] = on_phone_text
    router.text_steps[(FLOW, "email")] = on_email
    router.contact_steps[(FLOW, "phone")] = on_phone_contact
    router.unit_chosen[FLOW] = unit_chosen
