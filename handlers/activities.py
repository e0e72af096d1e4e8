"""Volunteer activities (SPEC 2.2): browse and register (with questions), my registrations and
calendar file; for cadres and admins: create (guided or imported), edit, cancel, and the
registrant list with its attendance buttons (handled in ``handlers.attendance``, with check-in).

Buttons: ``act:`` member actions, ``acm:`` management, ``acn:`` the creation flow, ``att:``
attendance. Each press re-checks role, unit and state through the services.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from telegram import InlineKeyboardMarkup, InputFile, Message, Update
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.activities import (
    CAMPAIGN_NAME_MAX,
    CAPACITY_MAX,
    HOURS_MAX,
    IMPORT_BYTES_MAX,
    IMPORT_ROWS_MAX,
    QUESTIONS_MAX,
    Activity,
    ActivityCard,
    ActivityDraft,
    ActivityKind,
    ActivityStatus,
    Audience,
    EditResult,
    Promotion,
    Question,
    RegisterOutcome,
    Registration,
    RegistrationStatus,
    parse_answer,
    parse_capacity,
    parse_choices,
    parse_description,
    parse_hours,
    parse_place,
    parse_prompt,
    parse_reminders,
    parse_title,
)
from bot.domain.errors import InvalidInput, NotAllowed
from bot.domain.members import Actor
from bot.figures import format_figure
from bot.flows import FlowState
from bot.i18n import Raw
from handlers import callbacks
from handlers.context import BotContext
from handlers.notices import when_text
from handlers.router import Router
from handlers.ui import answer, ask_to_confirm, edit_or_send, inline, page_row, say

log = logging.getLogger(__name__)

FLOW_NEW = "act_new"
FLOW_REG = "act_reg"
FLOW_EDIT = "act_edit"
FLOW_IMPORT = "act_import"
ERRORS_SHOWN = 15
MY_UPCOMING_SHOWN = 10
SHORT_TEXT = 300  # long user text is cut in lists so a message stays under 4,096 chars
KIND_ORDER = (
    ActivityKind.REGULAR,
    ActivityKind.ON_THE_SPOT,
    ActivityKind.CAMPAIGN,
    ActivityKind.YOUTH_PROJECT,
)
# Steps of the creation flow, in order ("unit" only for admins, who may pick any unit).
NEW_STEPS = (
    "title",
    "description",
    "kind",
    "unit",
    "open_to",
    "place",
    "start",
    "end",
    "deadline",
    "capacity",
    "hours",
    "campaign",
    "questions",
    "reminders",
    "summary",
)
SUMMARY_EDITS = ("title", "description", "place", "start", "capacity", "hours", "questions")
END_CHOICES = (120, 180, 240, 480)  # minutes after the start
DEADLINE_CHOICES = (0, 120, 1440, 2880)  # minutes before the start


# --- small helpers ----------------------------------------------------------------------------


def _callback(update: Update) -> callbacks.Callback | None:
    return callbacks.parse(update.callback_query.data if update.callback_query else None)


async def _refuse(update: Update, context: BotContext, key: str, **params: Any) -> None:
    """A refusal: an alert on the pressed button, or a message for typed input and links."""
    if update.callback_query is not None:
        await answer(update, context, key, alert=True, **params)
    else:
        await say(update, context, key, **params)


async def _member(update: Update, context: BotContext) -> Actor | None:
    actor = await context.actor(update)
    if actor.member is None:
        await _refuse(update, context, "access.not_member")
        return None
    return actor


def _local(context: BotContext, moment: datetime) -> str:
    return moment.astimezone(context.services.config.bot.tz).strftime("%H:%M %d/%m/%Y")


def _when(context: BotContext, language: str, activity: Activity) -> str:
    services = context.services
    return when_text(
        services.catalogue, services.config.bot.tz, language, activity.starts_at, activity.ends_at
    )


def _seats(context: BotContext, language: str, activity: Activity) -> str:
    catalogue = context.services.catalogue
    if activity.capacity is None:
        return catalogue.plain(language, "activities.seats_unlimited", count=activity.confirmed)
    if activity.is_full:
        return catalogue.plain(
            language,
            "activities.seats_full",
            capacity=activity.capacity,
            waitlist=activity.waitlisted,
        )
    return catalogue.plain(
        language,
        "activities.seats_left",
        left=activity.seats_left,
        capacity=activity.capacity,
    )


def hours_text(context: BotContext, language: str, hours: float) -> str:
    return context.services.catalogue.plain(
        language,
        "activities.hours_value",
        hours=format_figure(hours, language),
        days=format_figure(context.services.activities.person_days(hours), language),
    )


def _my_status(context: BotContext, language: str, registration: Registration | None) -> str:
    catalogue = context.services.catalogue
    if registration is None or not registration.active:
        return ""
    if registration.status is RegistrationStatus.WAITLISTED:
        return catalogue.text(
            language, "activities.status_waitlisted", position=registration.waitlist_position
        )
    if registration.attended_at is not None:
        return catalogue.text(language, "activities.status_attended")
    return catalogue.text(language, "activities.status_confirmed")


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _share_link(context: BotContext, activity_id: int) -> str:
    return f"https://t.me/{context.bot.username}?start=act_{activity_id}"


async def _send_to(
    context: BotContext,
    telegram_id: int,
    text: str,
    reply_markup: InlineKeyboardMarkup | None = None,
) -> bool:
    """Message someone other than the presser; a blocked bot marks them unreachable."""
    try:
        await context.bot.send_message(telegram_id, text, reply_markup=reply_markup)
    except Forbidden:
        await context.services.member_service.mark_reachable(telegram_id, False)
        return False
    except TelegramError as exc:
        log.warning("could not notify %s: %s", telegram_id, exc)
        return False
    return True


# --- browsing ---------------------------------------------------------------------------------


async def show_activities(update: Update, context: BotContext) -> None:
    """The "🙋 Hoạt động" menu entry: upcoming activities I may join."""
    await _show_page(update, context, scope="a", page=0, edit=False)


async def _show_page(
    update: Update,
    context: BotContext,
    *,
    scope: str,
    page: int,
    campaign_id: int | None = None,
    edit: bool,
) -> None:
    actor = await _member(update, context)
    if actor is None:
        return
    language = await context.language(update)
    service = context.services.activities
    scope_name = {"u": "unit", "a": "all", "c": "campaign"}.get(scope, "all")
    result = await service.browse(actor, scope=scope_name, campaign_id=campaign_id, page=page)
    catalogue = context.services.catalogue
    items: list[str] = []
    rows: list[list[tuple[str, str]]] = []
    for number, card in enumerate(result.cards, start=page * 5 + 1):
        activity = card.activity
        items.append(
            catalogue.text(
                language,
                "activities.list_item",
                number=number,
                title=activity.title,
                when=_when(context, language, activity),
                place=activity.place,
                seats=_seats(context, language, activity),
                deadline=_local(context, activity.deadline_at),
                status=Raw(_my_status(context, language, card.registration)),
            )
        )
        row = [
            (
                await context.label(update, "activities.button_details", number=number),
                callbacks.pack("act", "v", activity.id),
            )
        ]
        if card.registered:
            row.append(
                (
                    await context.label(update, "activities.button_cancel_short", number=number),
                    callbacks.pack("act", "can", activity.id),
                )
            )
        elif card.refusal is None:
            row.append(
                (
                    await context.label(update, "activities.button_register_short", number=number),
                    callbacks.pack("act", "reg", activity.id),
                )
            )
        rows.append(row)
    tail = (campaign_id,) if scope == "c" and campaign_id else ()

    def to_page(n: int) -> str:
        return callbacks.pack("act", "ls", scope, n, *tail)

    nav = await page_row(
        update, context, result.page, result.pages, to_page, counter=to_page(result.page)
    )
    if nav:
        rows.append(nav)
    filters_row = []
    for code, key in (("u", "activities.filter_unit"), ("a", "activities.filter_all")):
        label = await context.label(update, key)
        filters_row.append(
            (("✓ " if scope == code else "") + label, callbacks.pack("act", "ls", code, 0))
        )
    campaign_label = await context.label(update, "activities.filter_campaign")
    filters_row.append(
        (("✓ " if scope == "c" else "") + campaign_label, callbacks.pack("act", "cmp"))
    )
    rows.append(filters_row)
    if actor.is_admin or actor.is_cadre:
        rows.append(
            [
                (
                    await context.label(update, "activities.button_new"),
                    callbacks.pack("acm", "new"),
                ),
                (
                    await context.label(update, "activities.button_manage"),
                    callbacks.pack("acm", "ls", 0),
                ),
            ]
        )
    filter_name = await context.label(update, f"activities.filter_name_{scope_name}")
    if scope == "c" and campaign_id:
        campaign = await service.campaign(campaign_id)
        filter_name = campaign.name if campaign else filter_name
    if not result.cards:
        key = "activities.list_empty"
        params: dict[str, Any] = {"filter": filter_name}
    else:
        key = "activities.list"
        params = {
            "filter": filter_name,
            "page": result.page + 1,
            "pages": result.pages,
            "total": result.total,
            "items": Raw("\n\n".join(items)),
        }
    if edit:
        await edit_or_send(update, context, key, reply_markup=inline(rows), **params)
    else:
        await say(update, context, key, reply_markup=inline(rows), **params)


async def _show_campaigns(update: Update, context: BotContext) -> None:
    actor = await _member(update, context)
    if actor is None:
        return
    campaigns = await context.services.activities.browse_campaigns(actor)
    rows = [[(c.name, callbacks.pack("act", "ls", "c", 0, c.id))] for c in campaigns]
    rows.append(
        [
            (
                await context.label(update, "activities.filter_all"),
                callbacks.pack("act", "ls", "a", 0),
            )
        ]
    )
    key = "activities.campaigns_pick" if campaigns else "activities.campaigns_none"
    await edit_or_send(update, context, key, reply_markup=inline(rows))


async def _card_text(context: BotContext, language: str, card: ActivityCard) -> str:
    activity = card.activity
    catalogue = context.services.catalogue
    extra: list[str] = []
    if card.campaign_name:
        extra.append(catalogue.text(language, "activities.card_campaign", name=card.campaign_name))
    if activity.description:
        extra.append(
            catalogue.text(language, "activities.card_description", text=activity.description)
        )
    status = _my_status(context, language, card.registration)
    if status:
        extra.append(status)
    elif card.refusal is not None and card.refusal != "access.not_member":
        extra.append(
            catalogue.text(
                language,
                "activities.card_refusal",
                reason=Raw(catalogue.text(language, card.refusal)),
            )
        )
    audience = catalogue.plain(language, f"activities.open_to_{activity.open_to.value}")
    return catalogue.text(
        language,
        "activities.card",
        title=activity.title,
        kind=catalogue.plain(language, f"activities.kind_{activity.kind.value}"),
        unit=card.unit_name,
        audience=audience,
        when=_when(context, language, activity),
        place=activity.place,
        seats=_seats(context, language, activity),
        deadline=_local(context, activity.deadline_at),
        hours=hours_text(context, language, activity.hours),
        extra=Raw("\n".join(extra)),
    )


async def _card_buttons(
    update: Update, context: BotContext, card: ActivityCard
) -> InlineKeyboardMarkup:
    activity_id = card.activity.id
    rows: list[list[tuple[str, str]]] = []
    checked_in = card.registration is not None and card.registration.attended_at is not None
    if card.registered and not checked_in:
        rows.append(
            [
                (
                    await context.label(update, "activities.button_cancel"),
                    callbacks.pack("act", "can", activity_id),
                )
            ]
        )
    elif card.refusal is None:
        rows.append(
            [
                (
                    await context.label(update, "activities.button_register"),
                    callbacks.pack("act", "reg", activity_id),
                )
            ]
        )
    if card.can_manage:
        rows.append(
            [
                (
                    await context.label(update, "activities.button_manage_one"),
                    callbacks.pack("acm", "m", activity_id),
                )
            ]
        )
    rows.append(
        [
            (
                await context.label(update, "activities.button_back_to_list"),
                callbacks.pack("act", "ls", "a", 0),
            )
        ]
    )
    return inline(rows)


async def show_card(
    update: Update, context: BotContext, activity_id: int, *, edit: bool = False
) -> None:
    actor = await _member(update, context)
    if actor is None:
        return
    try:
        card = await context.services.activities.card(actor, activity_id)
    except InvalidInput as exc:
        await _refuse(update, context, exc.key, **exc.params)
        return
    language = await context.language(update)
    text = await _card_text(context, language, card)
    markup = await _card_buttons(update, context, card)
    query = update.callback_query
    if edit and query is not None and isinstance(query.message, Message):
        try:
            await query.message.edit_text(text, reply_markup=markup)
        except BadRequest as exc:
            if "not modified" not in exc.message:
                raise
        return
    chat = update.effective_chat
    if chat is not None:
        await context.bot.send_message(chat.id, text, reply_markup=markup)


# --- registering ------------------------------------------------------------------------------


async def _start_registration(update: Update, context: BotContext, activity_id: int) -> None:
    actor = await _member(update, context)
    user = update.effective_user
    if actor is None or user is None:
        return
    service = context.services.activities
    try:
        card = await service.start_registration(actor, activity_id)
    except InvalidInput as exc:
        await _refuse(update, context, exc.key, **exc.params)
        return
    if card.registered:
        await answer(update, context, "activities.already_registered")
        return
    questions = card.activity.questions
    if not questions:
        await answer(update, context)
        await _register(update, context, actor, activity_id, {})
        return
    await answer(update, context)
    state = await context.services.flows.get(user.id)
    if state is None or state.flow != FLOW_REG or state.data.get("activity_id") != activity_id:
        state = await context.services.flows.start(
            user.id, FLOW_REG, "answer", activity_id=activity_id, index=0, answers={}
        )
        await say(
            update,
            context,
            "activities.questions_intro",
            title=card.activity.title,
            count=len(questions),
        )
    await _ask_question(update, context, state, questions)


async def _ask_question(
    update: Update, context: BotContext, state: FlowState, questions: Sequence[Question]
) -> None:
    index = int(state.data.get("index", 0))
    question = questions[index]
    activity_id = int(state.data["activity_id"])
    rows: list[list[tuple[str, str]]] = []
    if question.choices is not None:
        rows = [
            [(choice, callbacks.pack("act", "ans", activity_id, n))]
            for n, choice in enumerate(question.choices)
        ]
    if not question.required:
        rows.append(
            [
                (
                    await context.label(update, "common.skip"),
                    callbacks.pack("act", "skip", activity_id),
                )
            ]
        )
    key = "activities.question_choice" if question.choices else "activities.question_text"
    await say(
        update,
        context,
        key,
        reply_markup=inline(rows) if rows else None,
        number=index + 1,
        count=len(questions),
        prompt=question.prompt,
        optional=Raw(
            await context.text(update, "activities.question_optional")
            if not question.required
            else ""
        ),
    )


async def _answer_question(
    update: Update, context: BotContext, state: FlowState, text: str
) -> None:
    """Store one answer (already matched to the current question), then ask the next."""
    user = update.effective_user
    actor = await _member(update, context)
    if user is None or actor is None:
        return
    activity_id = int(state.data["activity_id"])
    activity = await context.services.activities.get(activity_id)
    if activity is None or not activity.questions:
        await context.services.flows.clear(user.id)
        await _refuse(update, context, "activities.not_found")
        return
    index = int(state.data.get("index", 0))
    if index >= len(activity.questions):
        index = len(activity.questions) - 1
    question = activity.questions[index]
    try:
        value = parse_answer(question, text)
    except InvalidInput as exc:
        await say(update, context, exc.key, **exc.params)
        return
    answers = dict(state.data.get("answers") or {})
    if value:
        answers[str(question.position)] = value
    if index + 1 < len(activity.questions):
        moved = await context.services.flows.move(
            user.id, state, "answer", index=index + 1, answers=answers
        )
        await _ask_question(update, context, moved, activity.questions)
        return
    await context.services.flows.clear(user.id)
    await _register(update, context, actor, activity_id, answers)


async def on_answer_text(update: Update, context: BotContext, state: FlowState) -> None:
    message = update.effective_message
    assert message is not None and message.text is not None
    activity = await context.services.activities.get(int(state.data.get("activity_id", 0)))
    index = int(state.data.get("index", 0))
    if (
        activity is not None
        and index < len(activity.questions)
        and activity.questions[index].choices
    ):
        await say(update, context, "activities.answer_use_buttons")
        return
    await _answer_question(update, context, state, message.text)


async def _register(
    update: Update, context: BotContext, actor: Actor, activity_id: int, answers: dict[str, str]
) -> None:
    try:
        result = await context.services.activities.register(actor, activity_id, answers)
    except InvalidInput as exc:
        await _refuse(update, context, exc.key, **exc.params)
        return
    except NotAllowed as exc:
        await _refuse(update, context, exc.reason)
        return
    activity = result.activity
    language = await context.language(update)
    cancel = inline(
        [
            [
                (
                    await context.label(update, "activities.button_cancel"),
                    callbacks.pack("act", "can", activity_id),
                )
            ]
        ]
    )
    if result.outcome is RegisterOutcome.ALREADY:
        await _refuse(update, context, "activities.already_registered")
        return
    if result.outcome is RegisterOutcome.WAITLISTED:
        assert result.registration is not None
        await say(
            update,
            context,
            "activities.registered_waitlist",
            reply_markup=cancel,
            title=activity.title,
            position=result.registration.waitlist_position,
        )
        return
    await say(
        update,
        context,
        "activities.registered",
        reply_markup=cancel,
        title=activity.title,
        when=_when(context, language, activity),
        place=activity.place,
    )


async def _ask_cancel(update: Update, context: BotContext, activity_id: int) -> None:
    actor = await _member(update, context)
    if actor is None:
        return
    try:
        card = await context.services.activities.card(actor, activity_id)
    except InvalidInput:
        card = None
    if card is None or not card.registered or card.registration is None:
        await _refuse(update, context, "activities.not_registered")
        return
    if card.registration.attended_at is not None:
        await _refuse(
            update,
            context,
            "activities.cancel_checked_in",
            time=_local(context, card.registration.attended_at),
        )
        return
    await answer(update, context)
    await ask_to_confirm(
        update,
        context,
        "activities.cancel_ask",
        yes=("activities.cancel_confirm", callbacks.pack("act", "cy", activity_id)),
        no=("activities.cancel_keep", callbacks.pack("act", "v", activity_id)),
        title=card.activity.title,
    )


async def _cancel(update: Update, context: BotContext, activity_id: int) -> None:
    actor = await _member(update, context)
    if actor is None:
        return
    try:
        result = await context.services.activities.cancel_registration(actor, activity_id)
    except InvalidInput as exc:
        await _refuse(update, context, exc.key, **exc.params)
        return
    await answer(update, context)
    await edit_or_send(
        update, context, "activities.cancelled_registration", title=result.activity.title
    )
    await tell_promoted(context, result.promoted)


async def tell_promoted(context: BotContext, promotions: Sequence[Promotion]) -> None:
    """The promoted hear the good news through the notice outbox: their notices were written
    with the promotion itself (restart-safe, at the shared pace); this only says "look now"."""
    if promotions:
        context.services.activities.notices_queued()


# --- my registrations -------------------------------------------------------------------------


async def show_my_registrations(update: Update, context: BotContext) -> None:
    actor = await _member(update, context)
    if actor is None or actor.member is None:
        return
    language = await context.language(update)
    catalogue = context.services.catalogue
    mine = await context.services.activities.my_registrations(actor.member)
    upcoming: list[str] = []
    rows: list[list[tuple[str, str]]] = []
    for number, (registration, activity) in enumerate(mine.upcoming[:MY_UPCOMING_SHOWN], start=1):
        upcoming.append(
            catalogue.text(
                language,
                "activities.my_item",
                number=number,
                title=activity.title,
                when=_when(context, language, activity),
                place=activity.place,
                status=Raw(_my_status(context, language, registration)),
            )
        )
        row = [
            (
                await context.label(update, "activities.button_details", number=number),
                callbacks.pack("act", "v", activity.id),
            )
        ]
        if registration.attended_at is None:  # once present, there is nothing to cancel
            row.insert(
                0,
                (
                    await context.label(update, "activities.button_cancel_short", number=number),
                    callbacks.pack("act", "can", activity.id),
                ),
            )
        rows.append(row)
    past: list[str] = []
    for registration, activity in mine.past:
        if registration.attended_at is not None:
            past.append(
                catalogue.text(
                    language,
                    "activities.past_attended",
                    title=activity.title,
                    date=_local(context, activity.starts_at),
                    hours=hours_text(context, language, registration.hours_credited),
                )
            )
        else:
            past.append(
                catalogue.text(
                    language,
                    "activities.past_absent",
                    title=activity.title,
                    date=_local(context, activity.starts_at),
                )
            )
    if mine.upcoming:
        rows.append(
            [(await context.label(update, "activities.button_ics"), callbacks.pack("act", "ics"))]
        )
    rows.append(
        [
            (
                await context.label(update, "activities.button_browse"),
                callbacks.pack("act", "ls", "a", 0),
            )
        ]
    )
    none = await context.text(update, "activities.my_none")
    await say(
        update,
        context,
        "activities.my",
        reply_markup=inline(rows),
        upcoming=Raw("\n\n".join(upcoming) if upcoming else none),
        past=Raw("\n".join(past) if past else none),
        attended=mine.attended,
        hours=hours_text(context, language, mine.hours),
    )


async def _send_calendar(update: Update, context: BotContext) -> None:
    actor = await _member(update, context)
    chat = update.effective_chat
    if actor is None or actor.member is None or chat is None:
        return
    data = await context.services.activities.calendar_file(actor.member)
    if data is None:
        await _refuse(update, context, "activities.ics_nothing")
        return
    await answer(update, context)
    await context.bot.send_document(
        chat.id,
        InputFile(data, filename="nhipcau-hoat-dong.ics"),
        caption=await context.text(update, "activities.ics_caption"),
    )


# --- member button presses --------------------------------------------------------------------


async def on_member_callback(update: Update, context: BotContext) -> None:
    parsed = _callback(update)
    user = update.effective_user
    if parsed is None or user is None:
        await answer(update, context, "common.button_expired")
        return
    action, args = parsed.action, parsed.args
    arity = {
        "ls": (2, 3),
        "cmp": (0,),
        "v": (1,),
        "reg": (1,),
        "can": (1,),
        "cy": (1,),
        "ans": (2,),
        "skip": (1,),
        "ics": (0,),
    }
    if (
        action not in arity
        or len(args) not in arity[action]
        or not all(a.isdigit() or a in ("u", "a", "c") for a in args)
    ):
        await answer(update, context, "common.button_expired")
        return
    first = parsed.int_arg(0)
    if action == "ls":
        scope = parsed.arg(0) or "a"
        if scope not in ("u", "a", "c"):
            await answer(update, context, "common.button_expired")
            return
        await answer(update, context)
        await _show_page(
            update,
            context,
            scope=scope,
            page=parsed.int_arg(1) or 0,
            campaign_id=parsed.int_arg(2),
            edit=True,
        )
    elif action == "cmp":
        await answer(update, context)
        await _show_campaigns(update, context)
    elif action == "ics":
        await _send_calendar(update, context)
    elif first is None:
        await answer(update, context, "common.button_expired")
    elif action == "v":
        await answer(update, context)
        await show_card(update, context, first)
    elif action == "reg":
        await _start_registration(update, context, first)
    elif action == "can":
        await _ask_cancel(update, context, first)
    elif action == "cy":
        await _cancel(update, context, first)
    elif action in ("ans", "skip"):
        await _on_answer_button(update, context, first, parsed.int_arg(1), skip=action == "skip")


async def _on_answer_button(
    update: Update, context: BotContext, activity_id: int, choice: int | None, *, skip: bool
) -> None:
    user = update.effective_user
    assert user is not None
    state = await context.services.flows.get(user.id)
    if state is None or state.flow != FLOW_REG or state.data.get("activity_id") != activity_id:
        await answer(update, context, "common.button_expired")
        return
    activity = await context.services.activities.get(activity_id)
    index = int(state.data.get("index", 0))
    if activity is None or index >= len(activity.questions):
        await answer(update, context, "common.button_expired")
        return
    question = activity.questions[index]
    if skip:
        if question.required:
            await answer(update, context, "activities.answer_required", alert=True)
            return
        text = ""
    else:
        if question.choices is None or choice is None or choice >= len(question.choices):
            await answer(update, context, "common.button_expired")
            return
        text = question.choices[choice]
    await answer(update, context)
    await edit_or_send(
        update, context, "activities.answer_chosen", prompt=question.prompt, answer=text or "—"
    )
    await _answer_question(update, context, state, text)


# --- deep links -------------------------------------------------------------------------------


async def open_from_link(update: Update, context: BotContext, argument: str) -> None:
    """``/start act_<id>``: the activity card (new users arrive here after onboarding)."""
    if not argument.isdigit() or len(argument) > 12:
        await say(update, context, "activities.not_found")
        return
    await show_card(update, context, int(argument))


# --- creating: the guided flow ----------------------------------------------------------------


async def _manager(update: Update, context: BotContext) -> Actor | None:
    actor = await context.actor(update)
    if not (actor.is_admin or actor.is_cadre):
        await _refuse(update, context, "access.denied")
        return None
    if actor.member is None and not actor.is_admin:
        await _refuse(update, context, "access.not_member")
        return None
    return actor


async def new_activity(update: Update, context: BotContext) -> None:
    """``/newactivity`` (or the "➕" button): start the guided creation flow."""
    actor = await _manager(update, context)
    user = update.effective_user
    if actor is None or user is None:
        return
    await answer(update, context)
    data: dict[str, Any] = {"questions": []}
    if not actor.is_admin:
        data["unit_id"] = actor.cadre_unit_id
    state = await context.services.flows.start(user.id, FLOW_NEW, "title", **data)
    await say(update, context, "activities.new_intro")
    await _ask_new(update, context, state)


def _next_step(state: FlowState, actor: Actor) -> str:
    if state.data.get("reviewing") and state.step not in ("start", "end"):
        return "summary"
    index = NEW_STEPS.index(state.step) if state.step in NEW_STEPS else len(NEW_STEPS) - 2
    step = NEW_STEPS[index + 1]
    if step == "unit" and not actor.is_admin:
        step = NEW_STEPS[index + 2]
    return step


async def _advance(update: Update, context: BotContext, state: FlowState, **changes: Any) -> None:
    user = update.effective_user
    actor = await context.actor(update)
    assert user is not None
    moved = await context.services.flows.move(user.id, state, _next_step(state, actor), **changes)
    await _ask_new(update, context, moved)


async def _ask_new(update: Update, context: BotContext, state: FlowState) -> None:
    step = state.step
    language = await context.language(update)
    rows: list[list[tuple[str, str]]] = []
    params: dict[str, Any] = {}
    key = f"activities.ask_{step}"
    if step == "description":
        rows = [[(await context.label(update, "common.skip"), callbacks.pack("acn", "skip"))]]
    elif step == "kind":
        rows = [
            [
                (
                    await context.label(update, f"activities.kind_{kind.value}"),
                    callbacks.pack("acn", "kind", kind.value),
                )
            ]
            for kind in KIND_ORDER
        ]
    elif step == "unit":
        await _ask_unit(update, context, state, page=0)
        return
    elif step == "open_to":
        rows = [
            [
                (
                    await context.label(update, f"activities.open_to_{a.value}"),
                    callbacks.pack("acn", "open", a.value),
                )
            ]
            for a in (Audience.UNIT, Audience.ALL)
        ]
    elif step == "end":
        rows = [
            [
                (
                    await context.label(
                        update, "activities.end_after", hours=format_figure(m / 60, language)
                    ),
                    callbacks.pack("acn", "end", m),
                )
                for m in END_CHOICES
            ]
        ]
    elif step == "deadline":
        rows = [
            [
                (
                    await context.label(update, "activities.deadline_at_start"),
                    callbacks.pack("acn", "dl", 0),
                )
            ],
            [
                (
                    await context.label(
                        update, "activities.deadline_before", hours=format_figure(m / 60, language)
                    ),
                    callbacks.pack("acn", "dl", m),
                )
                for m in DEADLINE_CHOICES[1:]
            ],
        ]
    elif step == "capacity":
        rows = [
            [
                (
                    await context.label(update, "activities.capacity_unlimited"),
                    callbacks.pack("acn", "cap"),
                )
            ]
        ]
    elif step == "hours":
        starts = datetime.fromisoformat(str(state.data["starts_at"]))
        ends = datetime.fromisoformat(str(state.data["ends_at"]))
        rows = [
            [
                (
                    await context.label(
                        update,
                        "activities.hours_as_duration",
                        hours=format_figure(_duration_hours(starts, ends), language),
                    ),
                    callbacks.pack("acn", "hrs"),
                )
            ]
        ]
    elif step == "campaign":
        await _ask_campaign(update, context, state)
        return
    elif step == "questions":
        await _ask_questions(update, context, state)
        return
    elif step == "q_type":
        rows = [
            [
                (
                    await context.label(update, "activities.q_type_text"),
                    callbacks.pack("acn", "qt", "text"),
                )
            ],
            [
                (
                    await context.label(update, "activities.q_type_choice"),
                    callbacks.pack("acn", "qt", "choice"),
                )
            ],
        ]
    elif step == "q_required":
        rows = [
            [
                (
                    await context.label(update, "activities.q_required_yes"),
                    callbacks.pack("acn", "qr", "y"),
                ),
                (
                    await context.label(update, "activities.q_required_no"),
                    callbacks.pack("acn", "qr", "n"),
                ),
            ]
        ]
    elif step == "reminders":
        default = ", ".join(_offset(m) for m in context.services.activities.default_reminders)
        params["default"] = default
        rows = [
            [
                (
                    await context.label(update, "activities.reminders_default", default=default),
                    callbacks.pack("acn", "rem"),
                )
            ]
        ]
    elif step == "summary":
        await _show_summary(update, context, state)
        return
    await say(update, context, key, reply_markup=inline(rows) if rows else None, **params)


def _duration_hours(starts: datetime, ends: datetime) -> float:
    """The activity's length rounded to half hours: the usual number of hours credited."""
    hours = round((ends - starts).total_seconds() / 1800) / 2
    return min(max(hours, 0.5), HOURS_MAX)


def _offset(minutes: int) -> str:
    """Minutes as typed in the flow: ``24h``, ``90m``, ``3d``."""
    if minutes % 60 == 0 and minutes <= 48 * 60:
        return f"{minutes // 60}h"
    if minutes % 1440 == 0:
        return f"{minutes // 1440}d"
    return f"{minutes}m"


async def _ask_unit(
    update: Update, context: BotContext, state: FlowState, *, page: int, edit: bool = False
) -> None:
    query = str(state.data.get("unit_query", ""))
    result = await context.services.member_service.unit_page(query, page)
    rows = [[(unit.name, callbacks.pack("acn", "unit", unit.id))] for unit in result.units]
    nav = await page_row(
        update,
        context,
        result.page,
        result.pages,
        lambda n: callbacks.pack("acn", "up", n),
    )
    if nav:
        rows.append(nav)
    if edit:
        await edit_or_send(update, context, "activities.ask_unit", reply_markup=inline(rows))
    else:
        await say(update, context, "activities.ask_unit", reply_markup=inline(rows))


async def _ask_campaign(update: Update, context: BotContext, state: FlowState) -> None:
    actor = await context.actor(update)
    unit_id = int(state.data.get("unit_id") or 0)
    campaigns = await context.services.activities.campaigns_for(actor, unit_id)
    rows = [[(c.name, callbacks.pack("acn", "cmp", c.id))] for c in campaigns]
    rows.append(
        [
            (
                await context.label(update, "activities.campaign_new"),
                callbacks.pack("acn", "cmp", "new"),
            )
        ]
    )
    rows.append(
        [
            (
                await context.label(update, "activities.campaign_none"),
                callbacks.pack("acn", "cmp", "none"),
            )
        ]
    )
    await say(update, context, "activities.ask_campaign", reply_markup=inline(rows))


async def _ask_questions(update: Update, context: BotContext, state: FlowState) -> None:
    questions = list(state.data.get("questions") or [])
    rows = []
    if len(questions) < QUESTIONS_MAX:
        rows.append(
            [(await context.label(update, "activities.q_add"), callbacks.pack("acn", "q", "add"))]
        )
    rows.append(
        [(await context.label(update, "activities.q_done"), callbacks.pack("acn", "q", "done"))]
    )
    listed = await _questions_text(update, context, questions)
    await say(
        update,
        context,
        "activities.ask_questions",
        reply_markup=inline(rows),
        questions=Raw(listed),
        max=QUESTIONS_MAX,
    )


async def _questions_text(
    update: Update, context: BotContext, questions: Sequence[dict[str, Any]]
) -> str:
    if not questions:
        return await context.text(update, "activities.q_none")
    lines = []
    for number, q in enumerate(questions, start=1):
        choices = q.get("choices")
        lines.append(
            await context.text(
                update,
                "activities.q_line",
                number=number,
                prompt=q["prompt"],
                choices=" / ".join(choices)
                if choices
                else await context.label(update, "activities.q_free_text"),
                required=await context.label(
                    update,
                    "activities.q_required_mark"
                    if q.get("required")
                    else "activities.q_optional_mark",
                ),
            )
        )
    return "\n".join(lines)


def _draft(data: dict[str, Any]) -> ActivityDraft:
    """The flow's stored answers as a draft (the service re-validates every field)."""
    return ActivityDraft(
        title=str(data.get("title", "")),
        description=str(data.get("description", "")),
        kind=ActivityKind(str(data.get("kind", "regular"))),
        unit_id=int(data.get("unit_id") or 0),
        open_to=Audience(str(data.get("open_to", "unit"))),
        place=str(data.get("place", "")),
        starts_at=datetime.fromisoformat(str(data["starts_at"])),
        ends_at=datetime.fromisoformat(str(data["ends_at"])),
        deadline_at=datetime.fromisoformat(str(data["deadline_at"])),
        capacity=None if data.get("capacity") is None else int(data["capacity"]),
        hours=float(data.get("hours", 0)),
        campaign_id=None if data.get("campaign_id") is None else int(data["campaign_id"]),
        questions=tuple(
            Question(
                position=n,
                prompt=str(q["prompt"]),
                choices=tuple(q["choices"]) if q.get("choices") else None,
                required=bool(q.get("required")),
            )
            for n, q in enumerate(data.get("questions") or [], start=1)
        ),
        reminder_offsets=None
        if data.get("reminders") is None
        else tuple(int(m) for m in data["reminders"]),
    )


async def _show_summary(update: Update, context: BotContext, state: FlowState) -> None:
    user = update.effective_user
    assert user is not None
    data = state.data
    language = await context.language(update)
    service = context.services.activities
    draft = _draft(data)
    unit = await service.unit(draft.unit_id)
    campaign = await service.campaign(draft.campaign_id) if draft.campaign_id else None
    none = await context.label(update, "activities.none")
    preview = draft.preview(created_by=user.id)
    reminders = draft.reminder_offsets or service.default_reminders
    if not data.get("reviewing"):
        state = await context.services.flows.move(user.id, state, "summary", reviewing=True)
    rows: list[list[tuple[str, str]]] = [
        [(await context.label(update, "activities.create_confirm"), callbacks.pack("acn", "ok"))]
    ]
    edits = []
    for step in SUMMARY_EDITS:
        edits.append(
            (
                await context.label(update, f"activities.edit_{step}"),
                callbacks.pack("acn", "ed", step),
            )
        )
    rows.extend(edits[i : i + 2] for i in range(0, len(edits), 2))
    rows.append(
        [(await context.label(update, "activities.create_abort"), callbacks.pack("acn", "no"))]
    )
    await say(
        update,
        context,
        "activities.summary",
        reply_markup=inline(rows),
        title=draft.title,
        description=_short(draft.description, SHORT_TEXT) or none,
        kind=await context.label(update, f"activities.kind_{draft.kind.value}"),
        unit=unit.name if unit else none,
        audience=await context.label(update, f"activities.open_to_{draft.open_to.value}"),
        place=draft.place,
        when=_when(context, language, preview),
        deadline=_local(context, draft.deadline_at),
        capacity=draft.capacity
        if draft.capacity is not None
        else await context.label(update, "activities.capacity_unlimited"),
        hours=hours_text(context, language, draft.hours),
        campaign=campaign.name if campaign else none,
        questions=Raw(await _questions_text(update, context, data.get("questions") or [])),
        reminders=", ".join(_offset(m) for m in reminders),
    )


async def _typed(update: Update) -> str:
    message = update.effective_message
    assert message is not None and message.text is not None
    return message.text


async def on_new_text(update: Update, context: BotContext, state: FlowState) -> None:
    """A typed answer in the creation flow, checked for its step."""
    text = await _typed(update)
    user = update.effective_user
    assert user is not None
    service = context.services.activities
    step = state.step
    try:
        if step == "title":
            await _advance(update, context, state, title=parse_title(text))
        elif step == "description":
            await _advance(update, context, state, description=parse_description(text))
        elif step == "place":
            await _advance(update, context, state, place=parse_place(text))
        elif step == "start":
            starts = service.read_start(text)
            await _advance(update, context, state, starts_at=starts.isoformat())
        elif step == "end":
            starts = datetime.fromisoformat(str(state.data["starts_at"]))
            ends = service.read_end(starts, text)
            await _after_end(update, context, state, ends)
        elif step == "deadline":
            starts = datetime.fromisoformat(str(state.data["starts_at"]))
            deadline = service.read_deadline(starts, text)
            await _advance(update, context, state, deadline_at=deadline.isoformat())
        elif step == "capacity":
            capacity = parse_capacity(text)
            if capacity is None:
                raise InvalidInput("activities.capacity_invalid", max=CAPACITY_MAX)
            await _advance(update, context, state, capacity=capacity)
        elif step == "hours":
            await _advance(update, context, state, hours=parse_hours(text))
        elif step == "reminders":
            reminders = parse_reminders(text)
            await _advance(update, context, state, reminders=list(reminders) if reminders else None)
        elif step == "unit":
            query = " ".join(text.split())[:60]
            moved = await context.services.flows.move(user.id, state, "unit", unit_query=query)
            await _ask_unit(update, context, moved, page=0)
        elif step == "camp_name":
            name = " ".join(text.split())
            if not 3 <= len(name) <= CAMPAIGN_NAME_MAX:
                raise InvalidInput("activities.campaign_name_invalid", max=CAMPAIGN_NAME_MAX)
            moved = await context.services.flows.move(
                user.id, state, "camp_dates", campaign_name=name
            )
            await say(update, context, "activities.ask_camp_dates")
        elif step == "camp_dates":
            starts_on, ends_on = service.read_campaign_dates(text)
            actor = await context.actor(update)
            try:
                campaign = await service.create_campaign(
                    actor,
                    int(state.data.get("unit_id") or 0),
                    str(state.data.get("campaign_name", "")),
                    starts_on,
                    ends_on,
                )
            except NotAllowed as exc:
                await say(update, context, exc.reason)
                return
            await say(update, context, "activities.campaign_created", name=campaign.name)
            moved = await context.services.flows.move(
                user.id, state, "campaign", campaign_id=campaign.id
            )
            await _advance(update, context, moved)
        elif step == "q_prompt":
            prompt = parse_prompt(text)
            moved = await context.services.flows.move(user.id, state, "q_type", q_prompt=prompt)
            await _ask_new(update, context, moved)
        elif step == "q_choices":
            choices = parse_choices(text)
            moved = await context.services.flows.move(
                user.id, state, "q_required", q_choices=list(choices)
            )
            await _ask_new(update, context, moved)
        else:
            await say(update, context, "flow.use_buttons")
    except InvalidInput as exc:
        await say(update, context, exc.key, **exc.params)


async def _after_end(update: Update, context: BotContext, state: FlowState, ends: datetime) -> None:
    """After the end time, keep the deadline when editing unless it no longer fits."""
    data = state.data
    if data.get("reviewing") and data.get("deadline_at"):
        starts = datetime.fromisoformat(str(data["starts_at"]))
        deadline = datetime.fromisoformat(str(data["deadline_at"]))
        try:
            context.services.activities.check_deadline(starts, deadline)
        except InvalidInput:
            pass
        else:
            user = update.effective_user
            assert user is not None
            moved = await context.services.flows.move(
                user.id, state, "summary", ends_at=ends.isoformat()
            )
            await _ask_new(update, context, moved)
            return
    await _advance(update, context, state, ends_at=ends.isoformat())


async def on_new_callback(update: Update, context: BotContext) -> None:
    parsed = _callback(update)
    user = update.effective_user
    if parsed is None or user is None:
        await answer(update, context, "common.button_expired")
        return
    actor = await _manager(update, context)
    if actor is None:
        return
    state = await context.services.flows.get(user.id)
    if state is None or state.flow != FLOW_NEW:
        await answer(update, context, "common.button_expired")
        return
    action, arg = parsed.action, parsed.arg()
    step = state.step
    flows = context.services.flows
    service = context.services.activities
    try:
        if action == "skip" and step == "description":
            await answer(update, context)
            await _advance(update, context, state, description="")
        elif action == "kind" and step == "kind" and arg in {k.value for k in ActivityKind}:
            await answer(update, context)
            await edit_or_send(
                update,
                context,
                "activities.chosen",
                value=await context.label(update, f"activities.kind_{arg}"),
            )
            await _advance(update, context, state, kind=arg)
        elif action == "up" and step == "unit":
            await answer(update, context)
            await _ask_unit(update, context, state, page=parsed.int_arg() or 0, edit=True)
        elif action == "unit" and step == "unit" and actor.is_admin:
            unit = await service.unit(parsed.int_arg() or 0)
            if unit is None:
                await answer(update, context, "common.button_expired")
                return
            await answer(update, context)
            await edit_or_send(update, context, "activities.chosen", value=unit.name)
            await _advance(update, context, state, unit_id=unit.id)
        elif action == "open" and step == "open_to" and arg in ("unit", "all"):
            await answer(update, context)
            await edit_or_send(
                update,
                context,
                "activities.chosen",
                value=await context.label(update, f"activities.open_to_{arg}"),
            )
            await _advance(update, context, state, open_to=arg)
        elif action == "end" and step == "end" and parsed.int_arg() in END_CHOICES:
            await answer(update, context)
            starts = datetime.fromisoformat(str(state.data["starts_at"]))
            await _after_end(
                update, context, state, starts + timedelta(minutes=parsed.int_arg() or 0)
            )
        elif action == "dl" and step == "deadline" and parsed.int_arg() in DEADLINE_CHOICES:
            starts = datetime.fromisoformat(str(state.data["starts_at"]))
            deadline = service.check_deadline(
                starts, starts - timedelta(minutes=parsed.int_arg() or 0)
            )
            await answer(update, context)
            await _advance(update, context, state, deadline_at=deadline.isoformat())
        elif action == "cap" and step == "capacity":
            await answer(update, context)
            await _advance(update, context, state, capacity=None)
        elif action == "hrs" and step == "hours":
            starts = datetime.fromisoformat(str(state.data["starts_at"]))
            ends = datetime.fromisoformat(str(state.data["ends_at"]))
            hours = _duration_hours(starts, ends)
            await answer(update, context)
            await _advance(update, context, state, hours=hours)
        elif action == "cmp" and step == "campaign":
            await answer(update, context)
            if arg == "none":
                await _advance(update, context, state, campaign_id=None)
            elif arg == "new":
                await flows.move(user.id, state, "camp_name")
                await say(update, context, "activities.ask_camp_name")
            else:
                campaign = await service.campaign(parsed.int_arg() or 0)
                if campaign is None:
                    await answer(update, context, "common.button_expired")
                    return
                await edit_or_send(update, context, "activities.chosen", value=campaign.name)
                await _advance(update, context, state, campaign_id=campaign.id)
        elif action == "q" and step == "questions":
            await answer(update, context)
            if arg == "add" and len(state.data.get("questions") or []) < QUESTIONS_MAX:
                await flows.move(user.id, state, "q_prompt")
                await say(update, context, "activities.ask_q_prompt")
            else:
                await _advance(update, context, state)
        elif action == "qt" and step == "q_type" and arg in ("text", "choice"):
            await answer(update, context)
            if arg == "choice":
                await flows.move(user.id, state, "q_choices")
                await say(update, context, "activities.ask_q_choices")
            else:
                moved = await flows.move(user.id, state, "q_required", q_choices=None)
                await _ask_new(update, context, moved)
        elif action == "qr" and step == "q_required" and arg in ("y", "n"):
            await answer(update, context)
            questions = list(state.data.get("questions") or [])
            questions.append(
                {
                    "prompt": state.data.get("q_prompt", ""),
                    "choices": state.data.get("q_choices"),
                    "required": arg == "y",
                }
            )
            moved = await flows.move(
                user.id,
                state,
                "questions",
                questions=questions[:QUESTIONS_MAX],
                q_prompt=None,
                q_choices=None,
            )
            await _ask_new(update, context, moved)
        elif action == "rem" and step == "reminders":
            await answer(update, context)
            await _advance(update, context, state, reminders=None)
        elif action == "ed" and step == "summary" and arg in SUMMARY_EDITS:
            await answer(update, context)
            moved = await flows.move(user.id, state, arg, reviewing=True)
            await _ask_new(update, context, moved)
        elif action == "ok" and step == "summary":
            await answer(update, context)
            await _create(update, context, actor, state)
        elif action == "no":
            await answer(update, context)
            await flows.clear(user.id)
            await edit_or_send(update, context, "activities.create_aborted")
        else:
            await answer(update, context, "common.button_expired")
    except InvalidInput as exc:
        await _refuse(update, context, exc.key, **exc.params)


async def _create(update: Update, context: BotContext, actor: Actor, state: FlowState) -> None:
    user = update.effective_user
    assert user is not None
    try:
        activity = await context.services.activities.create(actor, _draft(state.data))
    except InvalidInput as exc:
        await say(update, context, exc.key, **exc.params)
        await say(update, context, "activities.create_fix")
        return
    except NotAllowed as exc:
        await say(update, context, exc.reason)
        return
    await context.services.flows.clear(user.id)
    await edit_or_send(
        update,
        context,
        "activities.created",
        title=activity.title,
        link=_share_link(context, activity.id),
    )
    await _show_manage(update, context, activity.id, edit=False)


# --- importing --------------------------------------------------------------------------------


async def import_command(update: Update, context: BotContext) -> None:
    actor = await _manager(update, context)
    user = update.effective_user
    if actor is None or user is None:
        return
    await answer(update, context)
    await context.services.flows.start(user.id, FLOW_IMPORT, "file")
    await say(update, context, "activities.import_ask", rows=IMPORT_ROWS_MAX)


async def template_command(update: Update, context: BotContext) -> None:
    actor = await _manager(update, context)
    chat = update.effective_chat
    if actor is None or chat is None:
        return
    await answer(update, context)
    await context.bot.send_document(
        chat.id,
        InputFile(context.services.activities.template_csv(), filename="mau-nhap-hoat-dong.csv"),
        caption=await context.text(update, "activities.template_caption", rows=IMPORT_ROWS_MAX),
    )


async def on_import_file(update: Update, context: BotContext, state: FlowState) -> None:
    message = update.effective_message
    user = update.effective_user
    actor = await _manager(update, context)
    if message is None or user is None or actor is None:
        return
    document = message.document
    if document is None:
        await say(update, context, "activities.import_wrong_type")
        return
    if document.file_size is not None and document.file_size > IMPORT_BYTES_MAX:
        await say(
            update,
            context,
            "activities.import_too_big",
            max=IMPORT_BYTES_MAX // 1_000_000,
            rows=IMPORT_ROWS_MAX,
        )
        return
    telegram_file = await context.bot.get_file(document.file_id)
    content = bytes(await telegram_file.download_as_bytearray())
    try:
        report = await context.services.activities.import_file(actor, content, document.file_name)
    except InvalidInput as exc:
        await say(update, context, exc.key, **{"rows": IMPORT_ROWS_MAX, **exc.params})
        return
    except NotAllowed as exc:
        await say(update, context, exc.reason)
        return
    if report.errors:
        language = await context.language(update)
        catalogue = context.services.catalogue
        lines = [
            catalogue.text(
                language,
                "activities.import_error_line",
                row=error.row,
                column=error.column,
                reason=Raw(catalogue.text(language, error.key, **error.params)),
            )
            for error in report.errors[:ERRORS_SHOWN]
        ]
        if len(report.errors) > ERRORS_SHOWN:
            lines.append(
                catalogue.text(
                    language,
                    "activities.import_more_errors",
                    count=len(report.errors) - ERRORS_SHOWN,
                )
            )
        await say(
            update,
            context,
            "activities.import_failed",
            count=len(report.errors),
            errors=Raw("\n".join(lines)),
        )
        return
    await context.services.flows.clear(user.id)
    await say(update, context, "activities.import_done", count=len(report.created))


async def on_import_text(update: Update, context: BotContext, state: FlowState) -> None:
    await say(update, context, "activities.import_send_file")


# --- managing ---------------------------------------------------------------------------------


async def manage_command(update: Update, context: BotContext) -> None:
    await _show_managed(update, context, page=0, edit=False)


async def _show_managed(update: Update, context: BotContext, *, page: int, edit: bool) -> None:
    actor = await _manager(update, context)
    if actor is None:
        return
    try:
        result = await context.services.activities.managed_page(actor, page)
    except NotAllowed as exc:
        await _refuse(update, context, exc.reason)
        return
    await answer(update, context)
    language = await context.language(update)
    rows: list[list[tuple[str, str]]] = []
    lines = []
    for number, card in enumerate(result.cards, start=result.page * 5 + 1):
        activity = card.activity
        status = await context.label(update, f"activities.status_{activity.status.value}")
        lines.append(
            await context.text(
                update,
                "activities.manage_item",
                number=number,
                title=activity.title,
                when=_when(context, language, activity),
                status=status,
                seats=_seats(context, language, activity),
            )
        )
        rows.append(
            [(f"⚙️ {number}. {activity.title[:40]}", callbacks.pack("acm", "m", activity.id))]
        )
    nav = await page_row(
        update,
        context,
        result.page,
        result.pages,
        lambda n: callbacks.pack("acm", "ls", n),
    )
    if nav:
        rows.append(nav)
    rows.append(
        [
            (await context.label(update, "activities.button_new"), callbacks.pack("acm", "new")),
            (await context.label(update, "activities.button_import"), callbacks.pack("acm", "imp")),
        ]
    )
    key = "activities.manage_list" if result.cards else "activities.manage_list_empty"
    params = {"items": Raw("\n\n".join(lines)), "page": result.page + 1, "pages": result.pages}
    if edit:
        await edit_or_send(update, context, key, reply_markup=inline(rows), **params)
    else:
        await say(update, context, key, reply_markup=inline(rows), **params)


async def _show_manage(
    update: Update, context: BotContext, activity_id: int, *, edit: bool
) -> None:
    actor = await context.actor(update)
    try:
        activity = await context.services.activities.manageable(actor, activity_id)
    except (InvalidInput, NotAllowed) as exc:
        await _refuse(update, context, exc.key if isinstance(exc, InvalidInput) else exc.reason)
        return
    await answer(update, context)
    language = await context.language(update)
    rows: list[list[tuple[str, str]]] = [
        [
            (
                await context.label(update, "activities.button_registrants"),
                callbacks.pack("acm", "rl", activity_id, 0),
            ),
            (
                await context.label(update, "activities.button_qr"),
                callbacks.pack("att", "qr", activity_id),
            ),
        ]
    ]
    if activity.status is not ActivityStatus.CANCELLED:
        rows.append(
            [
                (
                    await context.label(update, "activities.edit_time"),
                    callbacks.pack("acm", "ed", activity_id, "start"),
                ),
                (
                    await context.label(update, "activities.edit_place"),
                    callbacks.pack("acm", "ed", activity_id, "place"),
                ),
            ]
        )
        rows.append(
            [
                (
                    await context.label(update, "activities.edit_capacity"),
                    callbacks.pack("acm", "ed", activity_id, "capacity"),
                ),
                (
                    await context.label(update, "activities.edit_description"),
                    callbacks.pack("acm", "ed", activity_id, "description"),
                ),
            ]
        )
        toggle = "cl" if activity.status is ActivityStatus.OPEN else "op"
        rows.append(
            [
                (
                    await context.label(update, f"activities.button_{toggle}"),
                    callbacks.pack("acm", toggle, activity_id),
                ),
                (
                    await context.label(update, "activities.button_cancel_activity"),
                    callbacks.pack("acm", "x", activity_id),
                ),
            ]
        )
    key = "activities.manage"
    params = {
        "title": activity.title,
        "when": _when(context, language, activity),
        "place": activity.place,
        "status": await context.label(update, f"activities.status_{activity.status.value}"),
        "seats": _seats(context, language, activity),
        "confirmed": activity.confirmed,
        "waitlist": activity.waitlisted,
        "attended": activity.attended,
        "link": _share_link(context, activity.id),
    }
    if edit:
        await edit_or_send(update, context, key, reply_markup=inline(rows), **params)
    else:
        await say(update, context, key, reply_markup=inline(rows), **params)


async def show_registrants(
    update: Update, context: BotContext, activity_id: int, page: int, *, edit: bool
) -> None:
    """The registrant list: each confirmed registrant's attendance and a button that sets the
    state its label names (so a double tap or an old copy can never flip it back), then the
    walk-ins waiting for a cadre."""
    actor = await context.actor(update)
    try:
        result = await context.services.activities.registrants(actor, activity_id, page)
        walk_ins, waiting = await context.services.attendance.pending_walk_ins(actor, activity_id)
    except (InvalidInput, NotAllowed) as exc:
        await _refuse(update, context, exc.key if isinstance(exc, InvalidInput) else exc.reason)
        return
    await answer(update, context)
    catalogue = context.services.catalogue
    language = await context.language(update)
    questions = {str(q.position): q.prompt for q in result.activity.questions}
    lines: list[str] = []
    ticks: list[tuple[str, str]] = []
    for number, registrant in enumerate(result.registrants, start=result.page * 10 + 1):
        registration = registrant.registration
        if registration.status is RegistrationStatus.WAITLISTED:
            mark = catalogue.plain(
                language, "activities.reg_waitlisted", position=registration.waitlist_position
            )
        else:
            target, label = "p", "attendance.button_present"
            if registration.attended_at is not None:
                mark = catalogue.plain(
                    language,
                    "activities.reg_attended",
                    time=_local(context, registration.attended_at),
                )
                target, label = "a", "attendance.button_absent"
            elif registration.marked_absent:
                mark = catalogue.plain(language, "activities.reg_absent")
            else:
                mark = catalogue.plain(language, "activities.reg_confirmed")
            ticks.append(
                (
                    await context.label(update, label, number=number),
                    callbacks.pack("att", target, activity_id, registration.id, result.page),
                )
            )
        answers = _short(
            "; ".join(f"{questions.get(k, k)}: {v}" for k, v in registration.answers.items()), 150
        )
        lines.append(
            catalogue.text(
                language,
                "activities.registrant_line",
                number=number,
                name=registrant.full_name or "—",
                mark=mark,
                answers=f" — {answers}" if answers else "",
            )
        )
    rows = [ticks[i : i + 2] for i in range(0, len(ticks), 2)]
    walk_in_lines: list[str] = []
    for letter, request in zip("ABCDEFGHIJ", walk_ins, strict=False):
        walk_in_lines.append(
            catalogue.text(
                language,
                "attendance.walk_in_line",
                letter=letter,
                name=request.full_name or "—",
                time=_local(context, request.requested_at),
            )
        )
        rows.append(
            [
                (
                    await context.label(update, "attendance.button_walk_in_yes", letter=letter),
                    callbacks.pack("att", "wy", activity_id, request.member_id, result.page),
                ),
                (
                    await context.label(update, "attendance.button_walk_in_no", letter=letter),
                    callbacks.pack("att", "wn", activity_id, request.member_id, result.page),
                ),
            ]
        )
    if waiting > len(walk_in_lines):
        more = waiting - len(walk_in_lines)
        walk_in_lines.append(catalogue.text(language, "attendance.walk_ins_more", count=more))
    walk_in_text = ""
    if walk_in_lines:
        walk_in_text = catalogue.text(
            language, "attendance.walk_ins", count=waiting, lines=Raw("\n".join(walk_in_lines))
        )
    nav = await page_row(
        update,
        context,
        result.page,
        result.pages,
        lambda n: callbacks.pack("acm", "rl", activity_id, n),
    )
    if nav:
        rows.append(nav)
    rows.append(
        [
            (
                await context.label(update, "activities.button_back_manage"),
                callbacks.pack("acm", "m", activity_id),
            )
        ]
    )
    key = "activities.registrants" if lines else "activities.registrants_empty"
    params = {
        "title": result.activity.title,
        "total": result.total,
        "attended": result.activity.attended,
        "lines": Raw("\n".join(lines)),
        "walk_ins": Raw(walk_in_text),
        "page": result.page + 1,
        "pages": result.pages,
    }
    if edit:
        await edit_or_send(update, context, key, reply_markup=inline(rows), **params)
    else:
        await say(update, context, key, reply_markup=inline(rows), **params)


async def _start_edit(update: Update, context: BotContext, activity_id: int, field: str) -> None:
    actor = await context.actor(update)
    user = update.effective_user
    assert user is not None
    try:
        activity = await context.services.activities.manageable(actor, activity_id)
    except (InvalidInput, NotAllowed) as exc:
        await _refuse(update, context, exc.key if isinstance(exc, InvalidInput) else exc.reason)
        return
    await answer(update, context)
    await context.services.flows.start(user.id, FLOW_EDIT, field, activity_id=activity_id)
    language = await context.language(update)
    current = {
        "start": _when(context, language, activity),
        "place": activity.place,
        "capacity": str(activity.capacity)
        if activity.capacity
        else await context.label(update, "activities.capacity_unlimited"),
        "description": activity.description or await context.label(update, "activities.none"),
    }[field]
    await say(update, context, f"activities.edit_ask_{field}", current=current[:500])


async def on_edit_text(update: Update, context: BotContext, state: FlowState) -> None:
    text = await _typed(update)
    user = update.effective_user
    assert user is not None
    actor = await context.actor(update)
    service = context.services.activities
    activity_id = int(state.data.get("activity_id") or 0)
    try:
        if state.step == "start":
            starts = service.read_start(text)
            await context.services.flows.move(user.id, state, "end", starts_at=starts.isoformat())
            await say(update, context, "activities.edit_ask_end")
            return
        if state.step == "end":
            starts = datetime.fromisoformat(str(state.data["starts_at"]))
            result = await service.edit_schedule(
                actor, activity_id, starts, service.read_end(starts, text)
            )
        elif state.step in ("place", "description"):
            result = await service.edit_text(actor, activity_id, state.step, text)
        elif state.step == "capacity":
            skip = context.services.catalogue.matches("activities.capacity_unlimited", text.strip())
            result = await service.edit_capacity(
                actor, activity_id, None if skip else _required_capacity(text)
            )
        else:
            await say(update, context, "flow.use_buttons")
            return
    except InvalidInput as exc:
        await say(update, context, exc.key, **exc.params)
        return
    except NotAllowed as exc:
        await context.services.flows.clear(user.id)
        await say(update, context, exc.reason)
        return
    await context.services.flows.clear(user.id)
    await say(update, context, "activities.edit_saved")
    await _show_manage(update, context, activity_id, edit=False)
    await _tell_changes(context, result)


def _required_capacity(text: str) -> int:
    capacity = parse_capacity(text)
    if capacity is None:
        raise InvalidInput("activities.capacity_invalid", max=CAPACITY_MAX)
    return capacity


async def _tell_changes(context: BotContext, result: EditResult) -> None:
    """Registrants hear what changed, each in their language, and the promoted the good news:
    the notices were written with the change (storage.notices) and go out through the notice
    outbox, restart-safe and at the pace shared with broadcasts; this only says "look now"."""
    context.services.activities.notices_queued()


async def _ask_cancel_activity(update: Update, context: BotContext, activity_id: int) -> None:
    actor = await context.actor(update)
    try:
        activity = await context.services.activities.manageable(actor, activity_id)
    except (InvalidInput, NotAllowed) as exc:
        await _refuse(update, context, exc.key if isinstance(exc, InvalidInput) else exc.reason)
        return
    await answer(update, context)
    await ask_to_confirm(
        update,
        context,
        "activities.cancel_activity_ask",
        yes=("activities.cancel_activity_confirm", callbacks.pack("acm", "xy", activity_id)),
        no=("activities.cancel_keep", callbacks.pack("acm", "m", activity_id)),
        title=activity.title,
        count=activity.confirmed + activity.waitlisted,
    )


async def _cancel_activity(update: Update, context: BotContext, activity_id: int) -> None:
    actor = await context.actor(update)
    try:
        result = await context.services.activities.cancel_activity(actor, activity_id)
    except InvalidInput as exc:
        await _refuse(update, context, exc.key, **exc.params)
        return
    except NotAllowed as exc:
        await _refuse(update, context, exc.reason)
        return
    await answer(update, context)
    await edit_or_send(
        update,
        context,
        "activities.activity_cancelled",
        title=result.after.title,
        count=len(result.recipients),
    )
    # Each registrant's notice was written with the cancellation; the notice outbox sends them.
    await _tell_changes(context, result)


async def _set_open(update: Update, context: BotContext, activity_id: int, open_: bool) -> None:
    """The button names the state it sets ("cl" closes, "op" reopens), so a double tap or an
    older card sets it again; a refusal (cancelled meanwhile) redraws the card as it is now."""
    actor = await context.actor(update)
    try:
        await context.services.activities.set_registration_open(actor, activity_id, open_)
    except InvalidInput as exc:
        await _refuse(update, context, exc.key, **exc.params)
        await _show_manage(update, context, activity_id, edit=True)
        return
    except NotAllowed as exc:
        await _refuse(update, context, exc.reason)
        return
    await _show_manage(update, context, activity_id, edit=True)


async def on_manage_callback(update: Update, context: BotContext) -> None:
    parsed = _callback(update)
    if parsed is None:
        await answer(update, context, "common.button_expired")
        return
    actor = await _manager(update, context)
    if actor is None:
        return
    action = parsed.action
    first = parsed.int_arg(0)
    if action == "new" and not parsed.args:
        await new_activity(update, context)
    elif action == "imp" and not parsed.args:
        await import_command(update, context)
    elif action == "ls" and len(parsed.args) == 1 and first is not None:
        await _show_managed(update, context, page=first, edit=True)
    elif first is None:
        await answer(update, context, "common.button_expired")
    elif action == "m" and len(parsed.args) == 1:
        await _show_manage(update, context, first, edit=False)
    elif action == "rl" and len(parsed.args) == 2:
        await show_registrants(update, context, first, parsed.int_arg(1) or 0, edit=True)
    elif (
        action == "ed"
        and len(parsed.args) == 2
        and parsed.arg(1) in ("start", "place", "capacity", "description")
    ):
        await _start_edit(update, context, first, str(parsed.arg(1)))
    elif action == "x" and len(parsed.args) == 1:
        await _ask_cancel_activity(update, context, first)
    elif action == "xy" and len(parsed.args) == 1:
        await _cancel_activity(update, context, first)
    elif action in ("cl", "op") and len(parsed.args) == 1:
        await _set_open(update, context, first, action == "op")
    else:
        await answer(update, context, "common.button_expired")


def register(app: Application, router: Router) -> None:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("newactivity", new_activity, filters=private))
    app.add_handler(CommandHandler("import", import_command, filters=private))
    app.add_handler(CommandHandler("template", template_command, filters=private))
    app.add_handler(CommandHandler("manage", manage_command, filters=private))
    app.add_handler(CallbackQueryHandler(on_member_callback, pattern=r"^act:"))
    app.add_handler(CallbackQueryHandler(on_manage_callback, pattern=r"^acm:"))
    app.add_handler(CallbackQueryHandler(on_new_callback, pattern=r"^acn:"))
    router.menu["menu.activities"] = show_activities
    router.menu["menu.my_registrations"] = show_my_registrations
    router.deep_links["act_"] = open_from_link
    router.text_steps[(FLOW_REG, "answer")] = on_answer_text
    for step in (
        *NEW_STEPS,
        "camp_name",
        "camp_dates",
        "q_prompt",
        "q_type",
        "q_choices",
        "q_required",
    ):
        router.text_steps[(FLOW_NEW, step)] = on_new_text
    for step in ("start", "end", "place", "capacity", "description"):
        router.text_steps[(FLOW_EDIT, step)] = on_edit_text
    router.text_steps[(FLOW_IMPORT, "file")] = on_import_text
    router.file_steps[(FLOW_IMPORT, "file")] = on_import_file
