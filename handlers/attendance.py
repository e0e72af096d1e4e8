"""Attendance (SPEC 2.2), written once for every channel: check-in by QR deep link or typed
code (``/checkin``, or ``/checkin`` and then the six digits alone), the cadre's QR message,
walk-ins confirmed or declined by a cadre, and the registrant list's attendance buttons with a
reason for absence.

Buttons: ``att:`` — ``qr``/``qs`` show the QR (new message / this message again), ``p``/``a``
set present / ask why absent, ``rx``/``re`` absent with a quick reason, ``k`` keep as present,
``wy``/``wn`` confirm or decline a walk-in. Each names the state it sets, so a second press or
an old copy changes nothing; every press re-checks role, unit and state through
``AttendanceService``.

The QR message: where the channel can edit a photo it sent (``handlers.dialog.RenewsPhotos``,
Telegram) it renews its code every window for ``REFRESH_FOR`` — a display, not a promise: after
a restart its last code expires by itself and "🔄" shows it again. Elsewhere (Zalo) the QR goes
as a photo with the link and the six digits, and "🔄 Mã mới" sends a fresh one. A code is
accepted in its window and the next, however it was shown.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.attendance import (
    CODE_WINDOW_S,
    CheckinOutcome,
    CheckinQr,
    CheckinReply,
    CorrectionOutcome,
    DecisionOutcome,
    WalkInDecision,
)
from bot.domain.errors import InvalidInput, NotAllowed
from bot.domain.members import Actor
from bot.flows import FlowState
from handlers import callbacks
from handlers.activities import (
    hours_text,
    local_time,
    manager_or_refuse,
    member_or_refuse,
    refuse_error,
    seats_text,
    show_registrants,
)
from handlers.dialog import Attachment, Button, Frame, Press, Reply, Turn
from handlers.dispatch import Routes

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

FLOW_CODE = "att_code"
FLOW_REASON = "att_reason"
REFRESH_FOR = timedelta(minutes=15)  # since the last press: then the message pauses
QR_FILENAME = "diem-danh.png"
REASONS = {"rx": "attendance.reason_absent", "re": "attendance.reason_mistake"}


# --- the member checks in ---------------------------------------------------------------------


async def check_in_from_link(turn: Turn, payload: str) -> None:
    """``/start ci_<payload>``: the member scanned the QR code (new users onboard first)."""
    actor = await member_or_refuse(turn)
    if actor is None:
        return
    try:
        reply = await turn.services.attendance.check_in_link(actor, payload)
    except InvalidInput as exc:
        await turn.say(exc.key, **exc.params)
        return
    except NotAllowed as exc:
        await turn.say(exc.reason)
        return
    await _tell_checkin(turn, actor, reply)


async def checkin_command(turn: Turn) -> None:
    """``/checkin 123456``, or ``/checkin`` and then the six digits."""
    actor = await member_or_refuse(turn)
    if actor is None:
        return
    typed = " ".join(turn.command_args)
    if not typed.strip():
        await turn.services.flows.start(turn.person, FLOW_CODE, "code")
        await turn.say("attendance.ask_code", numeric_answer=True)
        return
    await _check_code(turn, actor, typed)


async def on_code_text(turn: Turn, state: FlowState) -> None:
    """The six digits typed alone, in the check-in step."""
    actor = await member_or_refuse(turn)
    if actor is None:
        return
    await _check_code(turn, actor, turn.typed or "")


async def _check_code(turn: Turn, actor: Actor, typed: str) -> None:
    flows = turn.services.flows
    try:
        reply = await turn.services.attendance.check_in_code(actor, typed)
    except InvalidInput as exc:
        retry = exc.key in ("attendance.code_wrong", "attendance.code_format")
        if retry:
            await flows.start(turn.person, FLOW_CODE, "code")  # the next typed text is tried too
        else:
            await flows.clear(turn.person)
        await turn.say(exc.key, numeric_answer=retry, **exc.params)
        return
    except NotAllowed as exc:
        await flows.clear(turn.person)
        await turn.say(exc.reason)
        return
    await flows.clear(turn.person)
    await _tell_checkin(turn, actor, reply)


async def _tell_checkin(turn: Turn, actor: Actor, reply: CheckinReply) -> None:
    services = turn.services
    language = await turn.language()
    title = reply.activity.title
    outcome = reply.outcome
    if outcome is CheckinOutcome.ATTENDED:
        credit = hours_text(services, language, reply.hours)
        await turn.say("activities.checked_in", title=title, credit=credit)
    elif outcome is CheckinOutcome.ALREADY:
        assert reply.attended_at is not None
        when = local_time(services, reply.attended_at)
        await turn.say("activities.checkin_already", title=title, time=when)
    elif outcome is CheckinOutcome.MARKED_ABSENT:
        await turn.say("attendance.checkin_marked_absent", title=title)
    elif outcome is CheckinOutcome.WALK_IN_REQUESTED:
        await turn.say("attendance.walk_in_waiting", title=title)
        await _tell_managers(turn, actor, reply)
    elif outcome is CheckinOutcome.WALK_IN_PENDING:
        await turn.say("attendance.walk_in_still_waiting", title=title)
    elif outcome is CheckinOutcome.WALK_IN_DECLINED:
        await turn.say("attendance.walk_in_was_declined", title=title)
    else:
        await turn.say("activities.checkin_not_open", title=title)


async def _tell_managers(turn: Turn, actor: Actor, reply: CheckinReply) -> None:
    """The activity's unit cadres get the walk-in with Confirm / Decline choices, each in their
    own language on their own channel."""
    walker = actor.member
    assert walker is not None
    services = turn.services
    unit = await services.units.get(walker.unit_id) if walker.unit_id else None
    activity = reply.activity
    for manager in reply.managers:
        cadre = await services.members.by_id(manager.member_id)
        if cadre is None or cadre.deleted_at is not None:
            continue
        language = cadre.language
        buttons = [
            [
                Button(
                    turn.label_for(cadre, "attendance.button_confirm"),
                    callbacks.pack("att", "wy", activity.id, walker.id),
                ),
                Button(
                    turn.label_for(cadre, "attendance.button_decline"),
                    callbacks.pack("att", "wn", activity.id, walker.id),
                ),
            ]
        ]
        await turn.tell(
            cadre,
            "attendance.walk_in_notice",
            buttons=buttons,
            name=walker.full_name,
            unit=unit.name if unit else "—",
            title=activity.title,
            credit=hours_text(services, language, activity.hours),
            seats=seats_text(services, language, activity),
        )


# --- the cadre's QR message -------------------------------------------------------------------


def _hhmm(services: Services, moment: datetime) -> str:
    return moment.astimezone(services.config.bot.tz).strftime("%H:%M")


def _frame(
    services: Services, language: str, qr: CheckinQr, until: datetime, again: Button
) -> Frame:
    """The QR message as a channel that renews it shows it: until the next window."""
    assert qr.png is not None
    caption = services.catalogue.text(
        language,
        "activities.qr_caption",
        title=qr.activity.title,
        code=qr.code,
        until=_hhmm(services, until),
        start=local_time(services, qr.valid_from),
        end=local_time(services, qr.valid_until),
        link=qr.link or "",
    )
    photo = Attachment(QR_FILENAME, content=qr.png, mime="image/png")
    return Frame(Reply(caption, buttons=[[again]], photo=photo), qr.next_change_at)


async def send_qr(turn: Turn, activity_id: int, *, again: bool) -> None:
    """The QR message: kept fresh where the channel can edit it (``again``: the pressed one,
    if it is a QR photo), else a photo of the current code with a choice for a fresh one."""
    actor = await turn.actor()
    services = turn.services
    username = turn.routes.links.telegram_username
    try:
        qr = await services.attendance.checkin_qr(actor, activity_id, username)
    except (InvalidInput, NotAllowed) as exc:
        await refuse_error(turn, exc)
        return
    await turn.answer()
    language = await turn.language()
    action = callbacks.pack("att", "qs", activity_id)
    renewing = turn.renewing
    if renewing is not None and qr.png is not None:
        until = services.clock.now() + REFRESH_FOR
        refresh = Button(services.catalogue.plain(language, "attendance.button_qr_again"), action)
        person = turn.person

        async def next_frame() -> Frame | None:
            # Each window re-checks who asked: a cadre who lost the role sees it pause.
            try:
                cadre = await services.member_service.actor_of(person)
                fresh = await services.attendance.checkin_qr(cadre, activity_id, username)
            except (InvalidInput, NotAllowed):
                return None
            return _frame(services, language, fresh, until, refresh)

        paused = Reply(
            services.catalogue.text(language, "attendance.qr_paused"), buttons=[[refresh]]
        )
        await renewing.send_renewing(
            _frame(services, language, qr, until, refresh),
            next_frame,
            until=until,
            paused=paused,
            in_place=again,
        )
        return
    buttons = [[await turn.button("attendance.button_qr_new", action)]]
    # A code is accepted in its window and the next one.
    expires = qr.next_change_at + timedelta(seconds=CODE_WINDOW_S)
    title, code = qr.activity.title, qr.code
    start, end = local_time(services, qr.valid_from), local_time(services, qr.valid_until)
    if qr.png is None:  # no channel with links runs: nothing to scan, the digits only
        await turn.say(
            "attendance.qr_code_only",
            buttons=buttons,
            title=title,
            code=code,
            expires=_hhmm(services, expires),
            start=start,
            end=end,
        )
        return
    await turn.photo(
        Attachment(QR_FILENAME, content=qr.png, mime="image/png"),
        "attendance.qr_caption_still",
        buttons=buttons,
        title=title,
        code=code,
        expires=_hhmm(services, expires),
        start=start,
        end=end,
        link=qr.link or "",
    )


# --- the cadre corrects attendance ------------------------------------------------------------


async def _clear_reason_step(turn: Turn) -> None:
    state = await turn.services.flows.get(turn.person)
    if state is not None and state.flow == FLOW_REASON:
        await turn.services.flows.clear(turn.person)


async def _set(
    turn: Turn,
    activity_id: int,
    registration_id: int,
    page: int,
    *,
    present: bool,
    reason: str | None = None,
) -> None:
    actor = await turn.actor()
    try:
        result = await turn.services.attendance.set_attendance(
            actor, activity_id, registration_id, present, reason
        )
    except (InvalidInput, NotAllowed) as exc:
        await refuse_error(turn, exc)
        return
    await _clear_reason_step(turn)
    unchanged = result.outcome is CorrectionOutcome.UNCHANGED
    key = {
        (True, True): "attendance.already_present",
        (True, False): "attendance.already_absent",
        (False, True): "attendance.saved_present",
        (False, False): "attendance.saved_absent",
    }[(unchanged, present)]
    if isinstance(turn.input, Press):
        await turn.answer(key)
    else:
        await turn.say(key)
    await show_registrants(turn, activity_id, page, edit=True)


async def _ask_reason(turn: Turn, activity_id: int, registration_id: int, page: int) -> None:
    actor = await turn.actor()
    try:
        activity, registrant = await turn.services.attendance.registrant(
            actor, activity_id, registration_id
        )
    except (InvalidInput, NotAllowed) as exc:
        await refuse_error(turn, exc)
        return
    if registrant.registration.attended_at is None:
        # An old copy of the list: this person is not recorded present (any more).
        await turn.answer("attendance.already_absent")
        await show_registrants(turn, activity_id, page, edit=True)
        return
    await turn.answer()
    await turn.services.flows.start(
        turn.person,
        FLOW_REASON,
        "reason",
        activity_id=activity_id,
        registration_id=registration_id,
        page=page,
    )
    picks = [
        await turn.button(key, callbacks.pack("att", code, activity_id, registration_id, page))
        for code, key in REASONS.items()
    ]
    keep = await turn.button(
        "attendance.button_keep_present", callbacks.pack("att", "k", activity_id, page)
    )
    await turn.say(
        "attendance.ask_reason",
        buttons=[picks, [keep]],
        name=registrant.full_name or "—",
        title=activity.title,
    )


async def _keep(turn: Turn, activity_id: int, page: int) -> None:
    """ "Keep as present": no correction; the typed-reason step ends too."""
    await _clear_reason_step(turn)
    await show_registrants(turn, activity_id, page, edit=True)


async def on_reason_text(turn: Turn, state: FlowState) -> None:
    data = state.data
    await _set(
        turn,
        int(data.get("activity_id") or 0),
        int(data.get("registration_id") or 0),
        int(data.get("page") or 0),
        present=False,
        reason=turn.typed or "",
    )


# --- walk-ins ---------------------------------------------------------------------------------


async def _decide(
    turn: Turn, activity_id: int, member_id: int, *, confirm: bool, page: int | None
) -> None:
    actor = await turn.actor()
    try:
        decision = await turn.services.attendance.decide_walk_in(
            actor, activity_id, member_id, confirm
        )
    except (InvalidInput, NotAllowed) as exc:
        await refuse_error(turn, exc)
        return
    verdict = await _verdict(turn, await turn.language(), decision)
    if decision.outcome is DecisionOutcome.ALREADY:
        await turn.answer("attendance.walk_in_already", alert=True, verdict=verdict)
    else:
        await turn.answer("attendance.walk_in_saved")
        await _tell_walk_in(turn, decision)
    if page is None:
        await turn.show(
            "attendance.walk_in_decided",
            name=decision.request.full_name or "—",
            title=decision.activity.title,
            verdict=verdict,
        )
    else:
        await show_registrants(turn, activity_id, page, edit=True)


async def _verdict(turn: Turn, language: str, decision: WalkInDecision) -> str:
    """ "đã xác nhận (4 giờ…) bởi Trần Thị Lan lúc 08:40 20/12/2026" and the like."""
    services = turn.services
    request = decision.request
    catalogue = services.catalogue
    cadre = None
    if request.decided_by is not None:
        cadre = await services.members.by_id(request.decided_by)
    by = cadre.full_name if cadre is not None and cadre.full_name else str(request.decided_by)
    when = local_time(services, request.decided_at) if request.decided_at is not None else ""
    if request.status.value == "confirmed":
        return catalogue.plain(
            language,
            "attendance.verdict_confirmed",
            credit=hours_text(services, language, decision.activity.hours),
            by=by,
            time=when,
        )
    return catalogue.plain(language, "attendance.verdict_declined", by=by, time=when)


async def _tell_walk_in(turn: Turn, decision: WalkInDecision) -> None:
    """The walk-in hears the decision, in their language, on their channel."""
    services = turn.services
    request = decision.request
    member = await services.members.by_id(request.member_id)
    if member is None or member.deleted_at is not None:
        return
    title = decision.activity.title
    if request.status.value == "confirmed":
        credit = hours_text(services, member.language, decision.hours)
        await turn.tell(member, "attendance.walk_in_confirmed_member", title=title, credit=credit)
    else:
        await turn.tell(member, "attendance.walk_in_declined_member", title=title)


# --- presses ----------------------------------------------------------------------------------


async def on_attendance_press(turn: Turn) -> None:
    parsed = turn.pressed
    if parsed is None or not all(a.isdigit() for a in parsed.args):
        await turn.answer("common.button_expired")
        return
    actor = await manager_or_refuse(turn)
    if actor is None:
        return
    action, count = parsed.action, len(parsed.args)
    first, second, third = parsed.int_arg(0), parsed.int_arg(1), parsed.int_arg(2)
    if first is None:
        await turn.answer("common.button_expired")
    elif action == "qr" and count == 1:
        await send_qr(turn, first, again=False)
    elif action == "qs" and count == 1:
        await send_qr(turn, first, again=True)
    elif action == "k" and count == 2:
        await _keep(turn, first, second or 0)
    elif action in ("p", "a", "rx", "re") and count == 3 and second is not None:
        page = third or 0
        if action == "p":
            await _set(turn, first, second, page, present=True)
        elif action == "a":
            await _ask_reason(turn, first, second, page)
        else:
            # The log keeps the reason in the source language, whoever picked it.
            catalogue = turn.services.catalogue
            reason = catalogue.plain(catalogue.default, REASONS[action])
            await _set(turn, first, second, page, present=False, reason=reason)
    elif action in ("wy", "wn") and count in (2, 3) and second is not None:
        await _decide(
            turn, first, second, confirm=action == "wy", page=third if count == 3 else None
        )
    else:
        await turn.answer("common.button_expired")


def register(routes: Routes) -> None:
    routes.commands["checkin"] = checkin_command
    routes.actions["att"] = on_attendance_press
    routes.deep_links["ci_"] = check_in_from_link
    routes.text_steps[(FLOW_CODE, "code")] = on_code_text
    routes.text_steps[(FLOW_REASON, "reason")] = on_reason_text
    routes.flows.update({FLOW_CODE, FLOW_REASON})
