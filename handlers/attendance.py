"""Attendance in Telegram (SPEC 2.2): check-in by QR deep link or typed code (``/checkin``), the
cadre's QR message that renews its code every minute while it is kept open, walk-ins confirmed
or declined by a cadre, and the registrant list's attendance buttons with a reason for absence.

Buttons: ``att:`` — ``qr``/``qs`` show the QR (new message / this message again), ``p``/``a``
set present / ask why absent, ``rx``/``re`` absent with a quick reason, ``k`` keep as present,
``wy``/``wn`` confirm or decline a walk-in. Each names the state it sets, so a second press or
an old copy changes nothing; every press re-checks role, unit and state through
``AttendanceService``.

The QR refresher is a task in memory (a display, not a promise): after a restart the message
keeps its last code, which expires by itself within two minutes; "🔄" shows it again.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from telegram import InlineKeyboardMarkup, InputFile, InputMediaPhoto, Message, Update
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.attendance import (
    CheckinOutcome,
    CheckinQr,
    CheckinReply,
    CorrectionOutcome,
    DecisionOutcome,
    WalkInDecision,
    window_of,
)
from bot.domain.errors import InvalidInput, NotAllowed
from bot.domain.members import Actor
from bot.flows import FlowState
from bot.services import Services
from handlers import callbacks
from handlers.activities import (
    _local,
    _manager,
    _member,
    _refuse,
    _seats,
    _send_to,
    hours_text,
    show_registrants,
)
from handlers.context import BotContext
from handlers.router import Router
from handlers.ui import answer, edit_or_send, inline, say

log = logging.getLogger(__name__)

FLOW_CODE = "att_code"
FLOW_REASON = "att_reason"
REFRESH_FOR = timedelta(minutes=15)  # since the last press: then the message pauses
POLL_S = 0.5  # how often a shown QR looks at the clock (a new code each minute)
QR_FILENAME = "diem-danh.png"
REASONS = {"rx": "attendance.reason_absent", "re": "attendance.reason_mistake"}

BotApplication = Application[Any, Any, Any, Any, Any, Any]


def _callback(update: Update) -> callbacks.Callback | None:
    return callbacks.parse(update.callback_query.data if update.callback_query else None)


def _services(app: BotApplication) -> Services:
    services: Services = app.bot_data["services"]
    return services


# --- the member checks in ---------------------------------------------------------------------


async def check_in_from_link(update: Update, context: BotContext, payload: str) -> None:
    """``/start ci_<payload>``: the member scanned the QR code (new users onboard first)."""
    actor = await _member(update, context)
    if actor is None:
        return
    try:
        reply = await context.services.attendance.check_in_link(actor, payload)
    except InvalidInput as exc:
        await say(update, context, exc.key, **exc.params)
        return
    except NotAllowed as exc:
        await say(update, context, exc.reason)
        return
    await _tell_checkin(update, context, actor, reply)


async def checkin_command(update: Update, context: BotContext) -> None:
    """``/checkin 123456``, or ``/checkin`` and then the six digits."""
    actor = await _member(update, context)
    user = update.effective_user
    if actor is None or user is None:
        return
    typed = " ".join(context.args or [])
    if not typed.strip():
        await context.services.flows.start(user.id, FLOW_CODE, "code")
        await say(update, context, "attendance.ask_code")
        return
    await _check_code(update, context, actor, typed)


async def on_code_text(update: Update, context: BotContext, state: FlowState) -> None:
    actor = await _member(update, context)
    message = update.effective_message
    if actor is None or message is None:
        return
    await _check_code(update, context, actor, message.text or "")


async def _check_code(update: Update, context: BotContext, actor: Actor, typed: str) -> None:
    user = update.effective_user
    assert user is not None
    flows = context.services.flows
    try:
        reply = await context.services.attendance.check_in_code(actor, typed)
    except InvalidInput as exc:
        if exc.key in ("attendance.code_wrong", "attendance.code_format"):
            await flows.start(user.id, FLOW_CODE, "code")  # the next typed text is tried too
        else:
            await flows.clear(user.id)
        await say(update, context, exc.key, **exc.params)
        return
    except NotAllowed as exc:
        await flows.clear(user.id)
        await say(update, context, exc.reason)
        return
    await flows.clear(user.id)
    await _tell_checkin(update, context, actor, reply)


async def _tell_checkin(
    update: Update, context: BotContext, actor: Actor, reply: CheckinReply
) -> None:
    language = await context.language(update)
    title = reply.activity.title
    outcome = reply.outcome
    if outcome is CheckinOutcome.ATTENDED:
        credit = hours_text(context, language, reply.hours)
        await say(update, context, "activities.checked_in", title=title, credit=credit)
    elif outcome is CheckinOutcome.ALREADY:
        assert reply.attended_at is not None
        when = _local(context, reply.attended_at)
        await say(update, context, "activities.checkin_already", title=title, time=when)
    elif outcome is CheckinOutcome.MARKED_ABSENT:
        await say(update, context, "attendance.checkin_marked_absent", title=title)
    elif outcome is CheckinOutcome.WALK_IN_REQUESTED:
        await say(update, context, "attendance.walk_in_waiting", title=title)
        await _tell_managers(context, actor, reply)
    elif outcome is CheckinOutcome.WALK_IN_PENDING:
        await say(update, context, "attendance.walk_in_still_waiting", title=title)
    elif outcome is CheckinOutcome.WALK_IN_DECLINED:
        await say(update, context, "attendance.walk_in_was_declined", title=title)
    else:
        await say(update, context, "activities.checkin_not_open", title=title)


async def _tell_managers(context: BotContext, actor: Actor, reply: CheckinReply) -> None:
    """The activity's unit cadres get the walk-in with Confirm / Decline buttons."""
    member = actor.member
    assert member is not None
    unit = await context.services.units.get(member.unit_id) if member.unit_id else None
    activity = reply.activity
    catalogue = context.services.catalogue
    for manager in reply.managers:
        language = manager.language
        text = catalogue.text(
            language,
            "attendance.walk_in_notice",
            name=member.full_name,
            unit=unit.name if unit else "—",
            title=activity.title,
            credit=hours_text(context, language, activity.hours),
            seats=_seats(context, language, activity),
        )
        markup = inline(
            [
                [
                    (
                        catalogue.plain(language, "attendance.button_confirm"),
                        callbacks.pack("att", "wy", activity.id, member.id),
                    ),
                    (
                        catalogue.plain(language, "attendance.button_decline"),
                        callbacks.pack("att", "wn", activity.id, member.id),
                    ),
                ]
            ]
        )
        if manager.telegram_id is not None:
            await _send_to(context, manager.telegram_id, text, markup)


# --- the cadre's QR message -------------------------------------------------------------------


@dataclass
class _Display:
    """A QR message being kept fresh: which, for whom, the window it shows, until when."""

    chat_id: int
    message_id: int
    activity_id: int
    cadre_id: int
    language: str
    window: int
    until: datetime


def _displays(app: BotApplication) -> dict[tuple[int, int], _Display]:
    displays: dict[tuple[int, int], _Display] = app.bot_data.setdefault("qr_displays", {})
    return displays


def _qr_caption(services: Services, language: str, qr: CheckinQr, until: datetime) -> str:
    tz = services.config.bot.tz
    return services.catalogue.text(
        language,
        "activities.qr_caption",
        title=qr.activity.title,
        code=qr.code,
        until=until.astimezone(tz).strftime("%H:%M"),
        start=qr.valid_from.astimezone(tz).strftime("%H:%M %d/%m/%Y"),
        end=qr.valid_until.astimezone(tz).strftime("%H:%M %d/%m/%Y"),
        link=qr.link,
    )


def _qr_markup(services: Services, language: str, activity_id: int) -> InlineKeyboardMarkup:
    label = services.catalogue.plain(language, "attendance.button_qr_again")
    return inline([[(label, callbacks.pack("att", "qs", activity_id))]])


async def send_qr(update: Update, context: BotContext, activity_id: int) -> None:
    """A new QR message, kept fresh for ``REFRESH_FOR``."""
    actor = await context.actor(update)
    chat = update.effective_chat
    if chat is None:
        return
    try:
        qr = await context.services.attendance.checkin_qr(actor, activity_id, context.bot.username)
    except InvalidInput as exc:
        await _refuse(update, context, exc.key, **exc.params)
        return
    except NotAllowed as exc:
        await _refuse(update, context, exc.reason)
        return
    await answer(update, context)
    language = await context.language(update)
    until = context.services.clock.now() + REFRESH_FOR
    message = await context.bot.send_photo(
        chat.id,
        InputFile(qr.png, filename=QR_FILENAME),
        caption=_qr_caption(context.services, language, qr, until),
        reply_markup=_qr_markup(context.services, language, activity_id),
    )
    _keep_fresh(
        context.application,
        _Display(
            message.chat_id,
            message.message_id,
            activity_id,
            message.chat_id,  # the cadre's private chat: their Telegram id
            language,
            qr.window,
            until,
        ),
    )


async def show_qr_again(update: Update, context: BotContext, activity_id: int) -> None:
    """ "🔄" on a QR message: the current code in the same message, kept fresh again."""
    query = update.callback_query
    message = query.message if query is not None else None
    if not isinstance(message, Message) or message.photo is None or not message.photo:
        await send_qr(update, context, activity_id)
        return
    actor = await context.actor(update)
    try:
        qr = await context.services.attendance.checkin_qr(actor, activity_id, context.bot.username)
    except InvalidInput as exc:
        await _refuse(update, context, exc.key, **exc.params)
        return
    except NotAllowed as exc:
        await _refuse(update, context, exc.reason)
        return
    await answer(update, context)
    language = await context.language(update)
    until = context.services.clock.now() + REFRESH_FOR
    display = _Display(
        message.chat_id, message.message_id, activity_id, message.chat_id, language, -1, until
    )
    if await _show(context.application, display, qr):
        _keep_fresh(context.application, display)


def _keep_fresh(app: BotApplication, display: _Display) -> None:
    """Refresh ``display`` until its time is up; a newer press on the same message takes
    over (the older loop sees it is no longer the registered one and ends)."""
    _displays(app)[(display.chat_id, display.message_id)] = display
    app.create_task(_refresh(app, display), name=f"qr-{display.chat_id}-{display.message_id}")


async def _refresh(app: BotApplication, display: _Display) -> None:
    services = _services(app)
    key = (display.chat_id, display.message_id)
    # Stops within POLL_S when the bot stops (Application.stop waits for its tasks).
    while app.running and _displays(app).get(key) is display:
        now = services.clock.now()
        if now >= display.until:
            _displays(app).pop(key, None)
            await _pause(app, display)
            return
        if window_of(now) != display.window:
            try:
                actor = await services.member_service.actor(display.cadre_id)
                qr = await services.attendance.checkin_qr(
                    actor, display.activity_id, app.bot.username
                )
            except (InvalidInput, NotAllowed):
                _displays(app).pop(key, None)
                await _pause(app, display)
                return
            if not await _show(app, display, qr):
                _displays(app).pop(key, None)
                return
        await asyncio.sleep(POLL_S)


async def _show(app: BotApplication, display: _Display, qr: CheckinQr) -> bool:
    """Put ``qr`` in the message; False when the message cannot be edited any more."""
    services = _services(app)
    try:
        await app.bot.edit_message_media(
            InputMediaPhoto(
                qr.png,
                caption=_qr_caption(services, display.language, qr, display.until),
                filename=QR_FILENAME,
            ),
            chat_id=display.chat_id,
            message_id=display.message_id,
            reply_markup=_qr_markup(services, display.language, display.activity_id),
        )
    except RetryAfter as exc:
        wait = exc.retry_after
        await asyncio.sleep(wait.total_seconds() if isinstance(wait, timedelta) else float(wait))
        return True  # the window is still the old one: the next look tries again
    except BadRequest as exc:
        if "not modified" not in exc.message:
            log.info("QR message %s can no longer be refreshed: %s", display.message_id, exc)
            return False
    except Forbidden:
        return False
    except TelegramError as exc:
        log.warning("could not refresh QR message %s: %s", display.message_id, exc)
        return True
    display.window = qr.window
    return True


async def _pause(app: BotApplication, display: _Display) -> None:
    """Time is up: say so on the message (its last code expires by itself) and offer "🔄"."""
    services = _services(app)
    try:
        await app.bot.edit_message_caption(
            chat_id=display.chat_id,
            message_id=display.message_id,
            caption=services.catalogue.text(display.language, "attendance.qr_paused"),
            reply_markup=_qr_markup(services, display.language, display.activity_id),
        )
    except TelegramError as exc:
        log.info("could not pause QR message %s: %s", display.message_id, exc)


# --- the cadre corrects attendance ------------------------------------------------------------


async def _set(
    update: Update,
    context: BotContext,
    activity_id: int,
    registration_id: int,
    page: int,
    *,
    present: bool,
    reason: str | None = None,
) -> None:
    actor = await context.actor(update)
    user = update.effective_user
    assert user is not None
    try:
        result = await context.services.attendance.set_attendance(
            actor, activity_id, registration_id, present, reason
        )
    except InvalidInput as exc:
        await _refuse(update, context, exc.key, **exc.params)
        return
    except NotAllowed as exc:
        await _refuse(update, context, exc.reason)
        return
    state = await context.services.flows.get(user.id)
    if state is not None and state.flow == FLOW_REASON:
        await context.services.flows.clear(user.id)
    unchanged = result.outcome is CorrectionOutcome.UNCHANGED
    key = {
        (True, True): "attendance.already_present",
        (True, False): "attendance.already_absent",
        (False, True): "attendance.saved_present",
        (False, False): "attendance.saved_absent",
    }[(unchanged, present)]
    if update.callback_query is not None:
        await answer(update, context, key)
        await show_registrants(update, context, activity_id, page, edit=True)
    else:
        await say(update, context, key)
        await show_registrants(update, context, activity_id, page, edit=False)


async def _ask_reason(
    update: Update, context: BotContext, activity_id: int, registration_id: int, page: int
) -> None:
    actor = await context.actor(update)
    user = update.effective_user
    assert user is not None
    try:
        activity, registrant = await context.services.attendance.registrant(
            actor, activity_id, registration_id
        )
    except InvalidInput as exc:
        await _refuse(update, context, exc.key, **exc.params)
        return
    except NotAllowed as exc:
        await _refuse(update, context, exc.reason)
        return
    if registrant.registration.attended_at is None:
        # An old copy of the list: this person is not recorded present (any more).
        await answer(update, context, "attendance.already_absent")
        await show_registrants(update, context, activity_id, page, edit=True)
        return
    await answer(update, context)
    await context.services.flows.start(
        user.id,
        FLOW_REASON,
        "reason",
        activity_id=activity_id,
        registration_id=registration_id,
        page=page,
    )
    picks = [
        (
            await context.label(update, key),
            callbacks.pack("att", code, activity_id, registration_id, page),
        )
        for code, key in REASONS.items()
    ]
    keep = (
        await context.label(update, "attendance.button_keep_present"),
        callbacks.pack("att", "k", activity_id, page),
    )
    rows = [picks, [keep]]
    await say(
        update,
        context,
        "attendance.ask_reason",
        reply_markup=inline(rows),
        name=registrant.full_name or "—",
        title=activity.title,
    )


async def _keep(update: Update, context: BotContext, activity_id: int, page: int) -> None:
    """ "Keep as present": no correction; the typed-reason step ends too."""
    user = update.effective_user
    assert user is not None
    state = await context.services.flows.get(user.id)
    if state is not None and state.flow == FLOW_REASON:
        await context.services.flows.clear(user.id)
    await show_registrants(update, context, activity_id, page, edit=True)


async def on_reason_text(update: Update, context: BotContext, state: FlowState) -> None:
    message = update.effective_message
    if message is None:
        return
    data = state.data
    await _set(
        update,
        context,
        int(data.get("activity_id") or 0),
        int(data.get("registration_id") or 0),
        int(data.get("page") or 0),
        present=False,
        reason=message.text or "",
    )


# --- walk-ins ---------------------------------------------------------------------------------


async def _decide(
    update: Update,
    context: BotContext,
    activity_id: int,
    member_id: int,
    *,
    confirm: bool,
    page: int | None,
) -> None:
    actor = await context.actor(update)
    try:
        decision = await context.services.attendance.decide_walk_in(
            actor, activity_id, member_id, confirm
        )
    except InvalidInput as exc:
        await _refuse(update, context, exc.key, **exc.params)
        return
    except NotAllowed as exc:
        await _refuse(update, context, exc.reason)
        return
    language = await context.language(update)
    verdict = await _verdict(context, language, decision)
    if decision.outcome is DecisionOutcome.ALREADY:
        await answer(update, context, "attendance.walk_in_already", alert=True, verdict=verdict)
    else:
        await answer(update, context, "attendance.walk_in_saved")
        await _tell_walk_in(context, decision)
    if page is None:
        await edit_or_send(
            update,
            context,
            "attendance.walk_in_decided",
            name=decision.request.full_name or "—",
            title=decision.activity.title,
            verdict=verdict,
        )
    else:
        await show_registrants(update, context, activity_id, page, edit=True)


async def _verdict(context: BotContext, language: str, decision: WalkInDecision) -> str:
    """ "đã xác nhận (4 giờ…) bởi Trần Thị Lan lúc 08:40 20/12/2026" and the like."""
    request = decision.request
    catalogue = context.services.catalogue
    cadre = None
    if request.decided_by is not None:
        cadre = await context.services.members.by_id(request.decided_by)
    by = cadre.full_name if cadre is not None and cadre.full_name else str(request.decided_by)
    when = _local(context, request.decided_at) if request.decided_at is not None else ""
    if request.status.value == "confirmed":
        return catalogue.plain(
            language,
            "attendance.verdict_confirmed",
            credit=hours_text(context, language, decision.activity.hours),
            by=by,
            time=when,
        )
    return catalogue.plain(language, "attendance.verdict_declined", by=by, time=when)


async def _tell_walk_in(context: BotContext, decision: WalkInDecision) -> None:
    request = decision.request
    if request.telegram_id is None:
        return
    language = request.language
    catalogue = context.services.catalogue
    if request.status.value == "confirmed":
        text = catalogue.text(
            language,
            "attendance.walk_in_confirmed_member",
            title=decision.activity.title,
            credit=hours_text(context, language, decision.hours),
        )
    else:
        text = catalogue.text(
            language, "attendance.walk_in_declined_member", title=decision.activity.title
        )
    await _send_to(context, request.telegram_id, text)


# --- buttons ----------------------------------------------------------------------------------


async def on_attendance_callback(update: Update, context: BotContext) -> None:
    parsed = _callback(update)
    if parsed is None or not all(a.isdigit() for a in parsed.args):
        await answer(update, context, "common.button_expired")
        return
    actor = await _manager(update, context)
    if actor is None:
        return
    action, count = parsed.action, len(parsed.args)
    first, second, third = parsed.int_arg(0), parsed.int_arg(1), parsed.int_arg(2)
    if first is None:
        await answer(update, context, "common.button_expired")
    elif action == "qr" and count == 1:
        await send_qr(update, context, first)
    elif action == "qs" and count == 1:
        await show_qr_again(update, context, first)
    elif action == "k" and count == 2:
        await _keep(update, context, first, second or 0)
    elif action in ("p", "a", "rx", "re") and count == 3 and second is not None:
        page = third or 0
        if action == "p":
            await _set(update, context, first, second, page, present=True)
        elif action == "a":
            await _ask_reason(update, context, first, second, page)
        else:
            # The log keeps the reason in the source language, whoever picked it.
            catalogue = context.services.catalogue
            reason = catalogue.plain(catalogue.default, REASONS[action])
            await _set(update, context, first, second, page, present=False, reason=reason)
    elif action in ("wy", "wn") and count in (2, 3) and second is not None:
        await _decide(
            update,
            context,
            first,
            second,
            confirm=action == "wy",
            page=third if count == 3 else None,
        )
    else:
        await answer(update, context, "common.button_expired")


def register(app: Application, router: Router) -> None:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("checkin", checkin_command, filters=private))
    app.add_handler(CallbackQueryHandler(on_attendance_callback, pattern=r"^att:"))
    router.deep_links["ci_"] = check_in_from_link
    router.text_steps[(FLOW_CODE, "code")] = on_code_text
    router.text_steps[(FLOW_REASON, "reason")] = on_reason_text
