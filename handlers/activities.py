"""Volunteer activities (SPEC 2.2): browse and register (with questions), my registrations and
calendar file; for cadres and admins: create (guided or imported), edit, cancel, and the
registrant list with its attendance buttons (handled in ``handlers.attendance``, with check-in).

Written once for every channel. Where the channel has deep links (Telegram) a cadre shares the
activity as a ``t.me/<bot>?start=act_<id>`` link; elsewhere (Zalo) as its short reference
(``#12``), which the activity list shows beside each title there.

Buttons: ``act:`` member actions, ``acm:`` management, ``acn:`` the creation flow, ``att:``
attendance. Each press re-checks role, unit and state through the services.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

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
from handlers.dialog import Attachment, Button, FileKind, Reply, Rows, Turn, Upload
from handlers.dispatch import Routes
from handlers.notices import when_text

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

FLOW_NEW = "act_new"
FLOW_REG = "act_reg"
FLOW_EDIT = "act_edit"
FLOW_IMPORT = "act_import"
ERRORS_SHOWN = 15
MY_UPCOMING_SHOWN = 10
SHORT_TEXT = 300  # long user text is cut in lists so a message stays under 4,096 chars
ICS_FILENAME = "nhipcau-hoat-dong.ics"
TEMPLATE_FILENAME = "mau-nhap-hoat-dong.csv"
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
# Steps whose typed answer may be a bare number: on channels that answer choices by number,
# "30" there is the answer, not choice 30.
NUMERIC_STEPS = frozenset({"capacity", "hours"})
SUMMARY_EDITS = ("title", "description", "place", "start", "capacity", "hours", "questions")
END_CHOICES = (120, 180, 240, 480)  # minutes after the start
DEADLINE_CHOICES = (0, 120, 1440, 2880)  # minutes before the start


# --- small helpers ----------------------------------------------------------------------------


async def member_or_refuse(turn: Turn) -> Actor | None:
    actor = await turn.actor()
    if actor.member is None:
        await turn.refuse("access.not_member")
        return None
    return actor


async def manager_or_refuse(turn: Turn) -> Actor | None:
    actor = await turn.actor()
    if not (actor.is_admin or actor.is_cadre):
        await turn.refuse("access.denied")
        return None
    if actor.member is None and not actor.is_admin:
        await turn.refuse("access.not_member")
        return None
    return actor


async def refuse_error(turn: Turn, error: InvalidInput | NotAllowed) -> None:
    """A service's refusal as the person's reply (an alert on a press, else a message)."""
    if isinstance(error, InvalidInput):
        await turn.refuse(error.key, **error.params)
    else:
        await turn.refuse(error.reason)


def local_time(services: Services, moment: datetime) -> str:
    return moment.astimezone(services.config.bot.tz).strftime("%H:%M %d/%m/%Y")


def _when(services: Services, language: str, activity: Activity) -> str:
    return when_text(
        services.catalogue, services.config.bot.tz, language, activity.starts_at, activity.ends_at
    )


def seats_text(services: Services, language: str, activity: Activity) -> str:
    catalogue = services.catalogue
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


def hours_text(services: Services, language: str, hours: float) -> str:
    return services.catalogue.plain(
        language,
        "activities.hours_value",
        hours=format_figure(hours, language),
        days=format_figure(services.activities.person_days(hours), language),
    )


def _my_status(services: Services, language: str, registration: Registration | None) -> str:
    catalogue = services.catalogue
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


def _share_link(turn: Turn, activity_id: int) -> str | None:
    """The link that opens the activity's card, where this channel has such links."""
    if not turn.chat.capabilities.deep_links:
        return None
    return turn.routes.links.start(f"act_{activity_id}")


async def _reply(turn: Turn, key: str, /, *, edit: bool, buttons: Rows = (), **params: Any) -> None:
    """Replace the pressed message (``edit``) or send a new one."""
    if edit:
        await turn.show(key, buttons=buttons, **params)
    else:
        await turn.say(key, buttons=buttons, **params)


class _HasServices(Protocol):
    @property
    def services(self) -> Services: ...


async def tell_promoted(holder: _HasServices, promotions: Sequence[Promotion]) -> None:
    """The promoted hear the good news through the notice outbox: their notices are written
    with the promotion itself (restart-safe, at the shared pace), and the service wakes the
    outbox when it promotes (``ActivityService.cancel_registration``); this only says "look
    now" once more. Takes a ``Turn`` or anything else with ``services``."""
    if promotions:
        holder.services.activities.notices_queued()


# --- browsing ---------------------------------------------------------------------------------


async def show_activities(turn: Turn) -> None:
    """The "🙋 Hoạt động" menu entry: upcoming activities I may join."""
    await _show_page(turn, scope="a", page=0, edit=False)


async def _show_page(
    turn: Turn, *, scope: str, page: int, campaign_id: int | None = None, edit: bool
) -> None:
    actor = await member_or_refuse(turn)
    if actor is None:
        return
    services = turn.services
    language = await turn.language()
    service = services.activities
    scope_name = {"u": "unit", "a": "all", "c": "campaign"}.get(scope, "all")
    result = await service.browse(actor, scope=scope_name, campaign_id=campaign_id, page=page)
    catalogue = services.catalogue
    # Without deep links, members find a shared activity by its reference in this list.
    show_reference = not turn.chat.capabilities.deep_links
    items: list[str] = []
    rows: list[list[Button]] = []
    for number, card in enumerate(result.cards, start=page * 5 + 1):
        activity = card.activity
        reference = (
            catalogue.text(language, "activities.list_reference", ref=activity.id)
            if show_reference
            else ""
        )
        items.append(
            catalogue.text(
                language,
                "activities.list_item",
                number=number,
                title=activity.title,
                ref=Raw(reference),
                when=_when(services, language, activity),
                place=activity.place,
                seats=seats_text(services, language, activity),
                deadline=local_time(services, activity.deadline_at),
                status=Raw(_my_status(services, language, card.registration)),
            )
        )
        row = [
            await turn.button(
                "activities.button_details",
                callbacks.pack("act", "v", activity.id),
                number=number,
            )
        ]
        if card.registered:
            row.append(
                await turn.button(
                    "activities.button_cancel_short",
                    callbacks.pack("act", "can", activity.id),
                    number=number,
                )
            )
        elif card.refusal is None:
            row.append(
                await turn.button(
                    "activities.button_register_short",
                    callbacks.pack("act", "reg", activity.id),
                    number=number,
                )
            )
        rows.append(row)
    tail = (campaign_id,) if scope == "c" and campaign_id else ()

    def to_page(n: int) -> str:
        return callbacks.pack("act", "ls", scope, n, *tail)

    nav = await turn.page_row(result.page, result.pages, to_page, counter=to_page(result.page))
    if nav:
        rows.append(nav)
    filters_row = []
    for code, key in (("u", "activities.filter_unit"), ("a", "activities.filter_all")):
        label = await turn.label(key)
        filters_row.append(
            Button(("✓ " if scope == code else "") + label, callbacks.pack("act", "ls", code, 0))
        )
    campaign_label = await turn.label("activities.filter_campaign")
    filters_row.append(
        Button(("✓ " if scope == "c" else "") + campaign_label, callbacks.pack("act", "cmp"))
    )
    rows.append(filters_row)
    if actor.is_admin or actor.is_cadre:
        rows.append(
            [
                await turn.button("activities.button_new", callbacks.pack("acm", "new")),
                await turn.button("activities.button_manage", callbacks.pack("acm", "ls", 0)),
            ]
        )
    filter_name = await turn.label(f"activities.filter_name_{scope_name}")
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
    await _reply(turn, key, edit=edit, buttons=rows, **params)


async def _show_campaigns(turn: Turn) -> None:
    actor = await member_or_refuse(turn)
    if actor is None:
        return
    campaigns = await turn.services.activities.browse_campaigns(actor)
    rows = [[Button(c.name, callbacks.pack("act", "ls", "c", 0, c.id))] for c in campaigns]
    rows.append([await turn.button("activities.filter_all", callbacks.pack("act", "ls", "a", 0))])
    key = "activities.campaigns_pick" if campaigns else "activities.campaigns_none"
    await turn.show(key, buttons=rows)


def _card_text(services: Services, language: str, card: ActivityCard) -> str:
    activity = card.activity
    catalogue = services.catalogue
    extra: list[str] = []
    if card.campaign_name:
        extra.append(catalogue.text(language, "activities.card_campaign", name=card.campaign_name))
    if activity.description:
        extra.append(
            catalogue.text(language, "activities.card_description", text=activity.description)
        )
    status = _my_status(services, language, card.registration)
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
        when=_when(services, language, activity),
        place=activity.place,
        seats=seats_text(services, language, activity),
        deadline=local_time(services, activity.deadline_at),
        hours=hours_text(services, language, activity.hours),
        extra=Raw("\n".join(extra)),
    )


async def _card_buttons(turn: Turn, card: ActivityCard) -> list[list[Button]]:
    activity_id = card.activity.id
    rows: list[list[Button]] = []
    checked_in = card.registration is not None and card.registration.attended_at is not None
    if card.registered and not checked_in:
        rows.append(
            [
                await turn.button(
                    "activities.button_cancel", callbacks.pack("act", "can", activity_id)
                )
            ]
        )
    elif card.refusal is None:
        rows.append(
            [
                await turn.button(
                    "activities.button_register", callbacks.pack("act", "reg", activity_id)
                )
            ]
        )
    if card.can_manage:
        rows.append(
            [
                await turn.button(
                    "activities.button_manage_one", callbacks.pack("acm", "m", activity_id)
                )
            ]
        )
    rows.append(
        [await turn.button("activities.button_back_to_list", callbacks.pack("act", "ls", "a", 0))]
    )
    return rows


async def show_card(turn: Turn, activity_id: int) -> None:
    """The activity's card, as a new message."""
    actor = await member_or_refuse(turn)
    if actor is None:
        return
    try:
        card = await turn.services.activities.card(actor, activity_id)
    except InvalidInput as exc:
        await turn.refuse(exc.key, **exc.params)
        return
    language = await turn.language()
    text = _card_text(turn.services, language, card)
    await turn.send(Reply(text, buttons=await _card_buttons(turn, card)))


# --- registering ------------------------------------------------------------------------------


async def _start_registration(turn: Turn, activity_id: int) -> None:
    actor = await member_or_refuse(turn)
    if actor is None:
        return
    services = turn.services
    try:
        card = await services.activities.start_registration(actor, activity_id)
    except InvalidInput as exc:
        await turn.refuse(exc.key, **exc.params)
        return
    if card.registered:
        await turn.answer("activities.already_registered")
        return
    questions = card.activity.questions
    await turn.answer()
    if not questions:
        await _register(turn, actor, activity_id, {})
        return
    state = await services.flows.get(turn.person)
    if state is None or state.flow != FLOW_REG or state.data.get("activity_id") != activity_id:
        state = await services.flows.start(
            turn.person, FLOW_REG, "answer", activity_id=activity_id, index=0, answers={}
        )
        await turn.say(
            "activities.questions_intro", title=card.activity.title, count=len(questions)
        )
    await _ask_question(turn, state, questions)


async def _ask_question(turn: Turn, state: FlowState, questions: Sequence[Question]) -> None:
    index = int(state.data.get("index", 0))
    question = questions[index]
    activity_id = int(state.data["activity_id"])
    rows: list[list[Button]] = []
    if question.choices is not None:
        rows = [
            [Button(choice, callbacks.pack("act", "ans", activity_id, n))]
            for n, choice in enumerate(question.choices)
        ]
    if not question.required:
        rows.append([await turn.button("common.skip", callbacks.pack("act", "skip", activity_id))])
    key = "activities.question_choice" if question.choices else "activities.question_text"
    optional = await turn.text("activities.question_optional") if not question.required else ""
    await turn.say(
        key,
        buttons=rows,
        number=index + 1,
        count=len(questions),
        prompt=question.prompt,
        optional=Raw(optional),
    )


async def _answer_question(turn: Turn, state: FlowState, text: str) -> None:
    """Store one answer (already matched to the current question), then ask the next."""
    actor = await member_or_refuse(turn)
    if actor is None:
        return
    services = turn.services
    activity_id = int(state.data["activity_id"])
    activity = await services.activities.get(activity_id)
    if activity is None or not activity.questions:
        await services.flows.clear(turn.person)
        await turn.refuse("activities.not_found")
        return
    index = int(state.data.get("index", 0))
    if index >= len(activity.questions):
        index = len(activity.questions) - 1
    question = activity.questions[index]
    try:
        value = parse_answer(question, text)
    except InvalidInput as exc:
        await turn.say(exc.key, **exc.params)
        return
    answers = dict(state.data.get("answers") or {})
    if value:
        answers[str(question.position)] = value
    if index + 1 < len(activity.questions):
        moved = await services.flows.move(
            turn.person, state, "answer", index=index + 1, answers=answers
        )
        await _ask_question(turn, moved, activity.questions)
        return
    await services.flows.clear(turn.person)
    await _register(turn, actor, activity_id, answers)


async def on_answer_text(turn: Turn, state: FlowState) -> None:
    activity = await turn.services.activities.get(int(state.data.get("activity_id", 0)))
    index = int(state.data.get("index", 0))
    if (
        activity is not None
        and index < len(activity.questions)
        and activity.questions[index].choices
    ):
        await turn.say("activities.answer_use_buttons")
        return
    await _answer_question(turn, state, turn.typed or "")


async def _register(turn: Turn, actor: Actor, activity_id: int, answers: dict[str, str]) -> None:
    try:
        result = await turn.services.activities.register(actor, activity_id, answers)
    except (InvalidInput, NotAllowed) as exc:
        await refuse_error(turn, exc)
        return
    activity = result.activity
    language = await turn.language()
    cancel = [
        [await turn.button("activities.button_cancel", callbacks.pack("act", "can", activity_id))]
    ]
    if result.outcome is RegisterOutcome.ALREADY:
        await turn.refuse("activities.already_registered")
        return
    if result.outcome is RegisterOutcome.WAITLISTED:
        assert result.registration is not None
        await turn.say(
            "activities.registered_waitlist",
            buttons=cancel,
            title=activity.title,
            position=result.registration.waitlist_position,
        )
        return
    await turn.say(
        "activities.registered",
        buttons=cancel,
        title=activity.title,
        when=_when(turn.services, language, activity),
        place=activity.place,
    )


async def _ask_cancel(turn: Turn, activity_id: int) -> None:
    actor = await member_or_refuse(turn)
    if actor is None:
        return
    try:
        card: ActivityCard | None = await turn.services.activities.card(actor, activity_id)
    except InvalidInput:
        card = None
    if card is None or not card.registered or card.registration is None:
        await turn.refuse("activities.not_registered")
        return
    if card.registration.attended_at is not None:
        await turn.refuse(
            "activities.cancel_checked_in",
            time=local_time(turn.services, card.registration.attended_at),
        )
        return
    await turn.answer()
    await turn.ask_to_confirm(
        "activities.cancel_ask",
        yes=("activities.cancel_confirm", callbacks.pack("act", "cy", activity_id)),
        no=("activities.cancel_keep", callbacks.pack("act", "v", activity_id)),
        title=card.activity.title,
    )


async def _cancel(turn: Turn, activity_id: int) -> None:
    actor = await member_or_refuse(turn)
    if actor is None:
        return
    try:
        result = await turn.services.activities.cancel_registration(actor, activity_id)
    except InvalidInput as exc:
        await turn.refuse(exc.key, **exc.params)
        return
    await turn.answer()
    await turn.show("activities.cancelled_registration", title=result.activity.title)
    await tell_promoted(turn, result.promoted)


# --- my registrations -------------------------------------------------------------------------


async def show_my_registrations(turn: Turn) -> None:
    actor = await member_or_refuse(turn)
    if actor is None or actor.member is None:
        return
    services = turn.services
    language = await turn.language()
    catalogue = services.catalogue
    mine = await services.activities.my_registrations(actor.member)
    upcoming: list[str] = []
    rows: list[list[Button]] = []
    for number, (registration, activity) in enumerate(mine.upcoming[:MY_UPCOMING_SHOWN], start=1):
        upcoming.append(
            catalogue.text(
                language,
                "activities.my_item",
                number=number,
                title=activity.title,
                when=_when(services, language, activity),
                place=activity.place,
                status=Raw(_my_status(services, language, registration)),
            )
        )
        row = [
            await turn.button(
                "activities.button_details", callbacks.pack("act", "v", activity.id), number=number
            )
        ]
        if registration.attended_at is None:  # once present, there is nothing to cancel
            row.insert(
                0,
                await turn.button(
                    "activities.button_cancel_short",
                    callbacks.pack("act", "can", activity.id),
                    number=number,
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
                    date=local_time(services, activity.starts_at),
                    hours=hours_text(services, language, registration.hours_credited),
                )
            )
        else:
            past.append(
                catalogue.text(
                    language,
                    "activities.past_absent",
                    title=activity.title,
                    date=local_time(services, activity.starts_at),
                )
            )
    if mine.upcoming:
        rows.append([await turn.button("activities.button_ics", callbacks.pack("act", "ics"))])
    rows.append(
        [await turn.button("activities.button_browse", callbacks.pack("act", "ls", "a", 0))]
    )
    none = await turn.text("activities.my_none")
    await turn.say(
        "activities.my",
        buttons=rows,
        upcoming=Raw("\n\n".join(upcoming) if upcoming else none),
        past=Raw("\n".join(past) if past else none),
        attended=mine.attended,
        hours=hours_text(services, language, mine.hours),
    )


async def _send_calendar(turn: Turn) -> None:
    actor = await member_or_refuse(turn)
    if actor is None or actor.member is None:
        return
    data = await turn.services.activities.calendar_file(actor.member)
    if data is None:
        await turn.refuse("activities.ics_nothing")
        return
    await turn.answer()
    await turn.document(
        Attachment(ICS_FILENAME, content=data, mime="text/calendar", for_member=actor.member.id),
        "activities.ics_caption",
    )


# --- member button presses --------------------------------------------------------------------

_MEMBER_ARITY = {
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


async def on_member_press(turn: Turn) -> None:
    parsed = turn.pressed
    if parsed is None:
        await turn.answer("common.button_expired")
        return
    action, args = parsed.action, parsed.args
    if (
        action not in _MEMBER_ARITY
        or len(args) not in _MEMBER_ARITY[action]
        or not all(a.isdigit() or a in ("u", "a", "c") for a in args)
    ):
        await turn.answer("common.button_expired")
        return
    first = parsed.int_arg(0)
    if action == "ls":
        scope = parsed.arg(0) or "a"
        if scope not in ("u", "a", "c"):
            await turn.answer("common.button_expired")
            return
        await turn.answer()
        await _show_page(
            turn,
            scope=scope,
            page=parsed.int_arg(1) or 0,
            campaign_id=parsed.int_arg(2),
            edit=True,
        )
    elif action == "cmp":
        await turn.answer()
        await _show_campaigns(turn)
    elif action == "ics":
        await _send_calendar(turn)
    elif first is None:
        await turn.answer("common.button_expired")
    elif action == "v":
        await turn.answer()
        await show_card(turn, first)
    elif action == "reg":
        await _start_registration(turn, first)
    elif action == "can":
        await _ask_cancel(turn, first)
    elif action == "cy":
        await _cancel(turn, first)
    elif action in ("ans", "skip"):
        await _on_answer_button(turn, first, parsed.int_arg(1), skip=action == "skip")


async def _on_answer_button(
    turn: Turn, activity_id: int, choice: int | None, *, skip: bool
) -> None:
    services = turn.services
    state = await services.flows.get(turn.person)
    if state is None or state.flow != FLOW_REG or state.data.get("activity_id") != activity_id:
        await turn.answer("common.button_expired")
        return
    activity = await services.activities.get(activity_id)
    index = int(state.data.get("index", 0))
    if activity is None or index >= len(activity.questions):
        await turn.answer("common.button_expired")
        return
    question = activity.questions[index]
    if skip:
        if question.required:
            await turn.answer("activities.answer_required", alert=True)
            return
        text = ""
    else:
        if question.choices is None or choice is None or choice >= len(question.choices):
            await turn.answer("common.button_expired")
            return
        text = question.choices[choice]
    await turn.answer()
    await turn.show("activities.answer_chosen", prompt=question.prompt, answer=text or "—")
    await _answer_question(turn, state, text)


# --- deep links -------------------------------------------------------------------------------


async def open_from_link(turn: Turn, argument: str) -> None:
    """``/start act_<id>``: the activity card (new users arrive here after onboarding)."""
    if not argument.isdigit() or len(argument) > 12:
        await turn.say("activities.not_found")
        return
    await show_card(turn, int(argument))


# --- creating: the guided flow ----------------------------------------------------------------


async def new_activity(turn: Turn) -> None:
    """``/newactivity`` (or the "➕" button): start the guided creation flow."""
    actor = await manager_or_refuse(turn)
    if actor is None:
        return
    await turn.answer()
    data: dict[str, Any] = {"questions": []}
    if not actor.is_admin:
        data["unit_id"] = actor.cadre_unit_id
    state = await turn.services.flows.start(turn.person, FLOW_NEW, "title", **data)
    await turn.say("activities.new_intro")
    await _ask_new(turn, state)


def _next_step(state: FlowState, actor: Actor) -> str:
    if state.data.get("reviewing") and state.step not in ("start", "end"):
        return "summary"
    index = NEW_STEPS.index(state.step) if state.step in NEW_STEPS else len(NEW_STEPS) - 2
    step = NEW_STEPS[index + 1]
    if step == "unit" and not actor.is_admin:
        step = NEW_STEPS[index + 2]
    return step


async def _advance(turn: Turn, state: FlowState, **changes: Any) -> None:
    actor = await turn.actor()
    moved = await turn.services.flows.move(turn.person, state, _next_step(state, actor), **changes)
    await _ask_new(turn, moved)


async def _ask_new(turn: Turn, state: FlowState) -> None:
    step = state.step
    language = await turn.language()
    rows: list[list[Button]] = []
    params: dict[str, Any] = {}
    key = f"activities.ask_{step}"
    if step == "description":
        rows = [[await turn.button("common.skip", callbacks.pack("acn", "skip"))]]
    elif step == "kind":
        rows = [
            [
                await turn.button(
                    f"activities.kind_{kind.value}", callbacks.pack("acn", "kind", kind.value)
                )
            ]
            for kind in KIND_ORDER
        ]
    elif step == "unit":
        await _ask_unit(turn, state, page=0)
        return
    elif step == "open_to":
        rows = [
            [
                await turn.button(
                    f"activities.open_to_{a.value}", callbacks.pack("acn", "open", a.value)
                )
            ]
            for a in (Audience.UNIT, Audience.ALL)
        ]
    elif step == "end":
        rows = [
            [
                await turn.button(
                    "activities.end_after",
                    callbacks.pack("acn", "end", m),
                    hours=format_figure(m / 60, language),
                )
                for m in END_CHOICES
            ]
        ]
    elif step == "deadline":
        rows = [
            [await turn.button("activities.deadline_at_start", callbacks.pack("acn", "dl", 0))],
            [
                await turn.button(
                    "activities.deadline_before",
                    callbacks.pack("acn", "dl", m),
                    hours=format_figure(m / 60, language),
                )
                for m in DEADLINE_CHOICES[1:]
            ],
        ]
    elif step == "capacity":
        rows = [[await turn.button("activities.capacity_unlimited", callbacks.pack("acn", "cap"))]]
    elif step == "hours":
        starts = datetime.fromisoformat(str(state.data["starts_at"]))
        ends = datetime.fromisoformat(str(state.data["ends_at"]))
        rows = [
            [
                await turn.button(
                    "activities.hours_as_duration",
                    callbacks.pack("acn", "hrs"),
                    hours=format_figure(_duration_hours(starts, ends), language),
                )
            ]
        ]
    elif step == "campaign":
        await _ask_campaign(turn, state)
        return
    elif step == "questions":
        await _ask_questions(turn, state)
        return
    elif step == "q_type":
        rows = [
            [await turn.button("activities.q_type_text", callbacks.pack("acn", "qt", "text"))],
            [await turn.button("activities.q_type_choice", callbacks.pack("acn", "qt", "choice"))],
        ]
    elif step == "q_required":
        rows = [
            [
                await turn.button("activities.q_required_yes", callbacks.pack("acn", "qr", "y")),
                await turn.button("activities.q_required_no", callbacks.pack("acn", "qr", "n")),
            ]
        ]
    elif step == "reminders":
        default = ", ".join(_offset(m) for m in turn.services.activities.default_reminders)
        params["default"] = default
        rows = [
            [
                await turn.button(
                    "activities.reminders_default", callbacks.pack("acn", "rem"), default=default
                )
            ]
        ]
    elif step == "summary":
        await _show_summary(turn, state)
        return
    await turn.say(key, buttons=rows, numeric_answer=step in NUMERIC_STEPS, **params)


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


async def _ask_unit(turn: Turn, state: FlowState, *, page: int, edit: bool = False) -> None:
    query = str(state.data.get("unit_query", ""))
    result = await turn.services.member_service.unit_page(query, page)
    rows = [[Button(unit.name, callbacks.pack("acn", "unit", unit.id))] for unit in result.units]
    nav = await turn.page_row(result.page, result.pages, lambda n: callbacks.pack("acn", "up", n))
    if nav:
        rows.append(nav)
    await _reply(turn, "activities.ask_unit", edit=edit, buttons=rows)


async def _ask_campaign(turn: Turn, state: FlowState) -> None:
    actor = await turn.actor()
    unit_id = int(state.data.get("unit_id") or 0)
    campaigns = await turn.services.activities.campaigns_for(actor, unit_id)
    rows = [[Button(c.name, callbacks.pack("acn", "cmp", c.id))] for c in campaigns]
    rows.append([await turn.button("activities.campaign_new", callbacks.pack("acn", "cmp", "new"))])
    rows.append(
        [await turn.button("activities.campaign_none", callbacks.pack("acn", "cmp", "none"))]
    )
    await turn.say("activities.ask_campaign", buttons=rows)


async def _ask_questions(turn: Turn, state: FlowState) -> None:
    questions = list(state.data.get("questions") or [])
    rows = []
    if len(questions) < QUESTIONS_MAX:
        rows.append([await turn.button("activities.q_add", callbacks.pack("acn", "q", "add"))])
    rows.append([await turn.button("activities.q_done", callbacks.pack("acn", "q", "done"))])
    listed = await _questions_text(turn, questions)
    await turn.say(
        "activities.ask_questions", buttons=rows, questions=Raw(listed), max=QUESTIONS_MAX
    )


async def _questions_text(turn: Turn, questions: Sequence[dict[str, Any]]) -> str:
    if not questions:
        return await turn.text("activities.q_none")
    lines = []
    for number, q in enumerate(questions, start=1):
        choices = q.get("choices")
        mark = "activities.q_required_mark" if q.get("required") else "activities.q_optional_mark"
        lines.append(
            await turn.text(
                "activities.q_line",
                number=number,
                prompt=q["prompt"],
                choices=" / ".join(choices)
                if choices
                else await turn.label("activities.q_free_text"),
                required=await turn.label(mark),
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


async def _show_summary(turn: Turn, state: FlowState) -> None:
    data = state.data
    services = turn.services
    language = await turn.language()
    service = services.activities
    draft = _draft(data)
    unit = await service.unit(draft.unit_id)
    campaign = await service.campaign(draft.campaign_id) if draft.campaign_id else None
    none = await turn.label("activities.none")
    preview = draft.preview(created_by=(await turn.actor()).actor_id)
    reminders = draft.reminder_offsets or service.default_reminders
    if not data.get("reviewing"):
        state = await services.flows.move(turn.person, state, "summary", reviewing=True)
    rows: list[list[Button]] = [
        [await turn.button("activities.create_confirm", callbacks.pack("acn", "ok"))]
    ]
    edits = [
        await turn.button(f"activities.edit_{step}", callbacks.pack("acn", "ed", step))
        for step in SUMMARY_EDITS
    ]
    rows.extend(edits[i : i + 2] for i in range(0, len(edits), 2))
    rows.append([await turn.button("activities.create_abort", callbacks.pack("acn", "no"))])
    await turn.say(
        "activities.summary",
        buttons=rows,
        title=draft.title,
        description=_short(draft.description, SHORT_TEXT) or none,
        kind=await turn.label(f"activities.kind_{draft.kind.value}"),
        unit=unit.name if unit else none,
        audience=await turn.label(f"activities.open_to_{draft.open_to.value}"),
        place=draft.place,
        when=_when(services, language, preview),
        deadline=local_time(services, draft.deadline_at),
        capacity=draft.capacity
        if draft.capacity is not None
        else await turn.label("activities.capacity_unlimited"),
        hours=hours_text(services, language, draft.hours),
        campaign=campaign.name if campaign else none,
        questions=Raw(await _questions_text(turn, data.get("questions") or [])),
        reminders=", ".join(_offset(m) for m in reminders),
    )


async def on_new_text(turn: Turn, state: FlowState) -> None:
    """A typed answer in the creation flow, checked for its step."""
    text = turn.typed or ""
    services = turn.services
    service = services.activities
    flows = services.flows
    step = state.step
    try:
        if step == "title":
            await _advance(turn, state, title=parse_title(text))
        elif step == "description":
            await _advance(turn, state, description=parse_description(text))
        elif step == "place":
            await _advance(turn, state, place=parse_place(text))
        elif step == "start":
            starts = service.read_start(text)
            await _advance(turn, state, starts_at=starts.isoformat())
        elif step == "end":
            starts = datetime.fromisoformat(str(state.data["starts_at"]))
            ends = service.read_end(starts, text)
            await _after_end(turn, state, ends)
        elif step == "deadline":
            starts = datetime.fromisoformat(str(state.data["starts_at"]))
            deadline = service.read_deadline(starts, text)
            await _advance(turn, state, deadline_at=deadline.isoformat())
        elif step == "capacity":
            await _advance(turn, state, capacity=_required_capacity(text))
        elif step == "hours":
            await _advance(turn, state, hours=parse_hours(text))
        elif step == "reminders":
            reminders = parse_reminders(text)
            await _advance(turn, state, reminders=list(reminders) if reminders else None)
        elif step == "unit":
            query = " ".join(text.split())[:60]
            moved = await flows.move(turn.person, state, "unit", unit_query=query)
            await _ask_unit(turn, moved, page=0)
        elif step == "camp_name":
            name = " ".join(text.split())
            if not 3 <= len(name) <= CAMPAIGN_NAME_MAX:
                raise InvalidInput("activities.campaign_name_invalid", max=CAMPAIGN_NAME_MAX)
            await flows.move(turn.person, state, "camp_dates", campaign_name=name)
            await turn.say("activities.ask_camp_dates")
        elif step == "camp_dates":
            starts_on, ends_on = service.read_campaign_dates(text)
            actor = await turn.actor()
            try:
                campaign = await service.create_campaign(
                    actor,
                    int(state.data.get("unit_id") or 0),
                    str(state.data.get("campaign_name", "")),
                    starts_on,
                    ends_on,
                )
            except NotAllowed as exc:
                await turn.say(exc.reason)
                return
            await turn.say("activities.campaign_created", name=campaign.name)
            moved = await flows.move(turn.person, state, "campaign", campaign_id=campaign.id)
            await _advance(turn, moved)
        elif step == "q_prompt":
            prompt = parse_prompt(text)
            moved = await flows.move(turn.person, state, "q_type", q_prompt=prompt)
            await _ask_new(turn, moved)
        elif step == "q_choices":
            choices = parse_choices(text)
            moved = await flows.move(turn.person, state, "q_required", q_choices=list(choices))
            await _ask_new(turn, moved)
        else:
            await turn.say("flow.use_buttons")
    except InvalidInput as exc:
        # The step is still waiting for its answer: a bare number stays an answer.
        await turn.say(exc.key, numeric_answer=step in NUMERIC_STEPS, **exc.params)


async def _after_end(turn: Turn, state: FlowState, ends: datetime) -> None:
    """After the end time, keep the deadline when editing unless it no longer fits."""
    data = state.data
    if data.get("reviewing") and data.get("deadline_at"):
        starts = datetime.fromisoformat(str(data["starts_at"]))
        deadline = datetime.fromisoformat(str(data["deadline_at"]))
        try:
            turn.services.activities.check_deadline(starts, deadline)
        except InvalidInput:
            pass
        else:
            moved = await turn.services.flows.move(
                turn.person, state, "summary", ends_at=ends.isoformat()
            )
            await _ask_new(turn, moved)
            return
    await _advance(turn, state, ends_at=ends.isoformat())


async def on_new_press(turn: Turn) -> None:
    parsed = turn.pressed
    if parsed is None:
        await turn.answer("common.button_expired")
        return
    actor = await manager_or_refuse(turn)
    if actor is None:
        return
    services = turn.services
    state = await services.flows.get(turn.person)
    if state is None or state.flow != FLOW_NEW:
        await turn.answer("common.button_expired")
        return
    action, arg = parsed.action, parsed.arg()
    step = state.step
    flows = services.flows
    service = services.activities
    person = turn.person
    try:
        if action == "skip" and step == "description":
            await turn.answer()
            await _advance(turn, state, description="")
        elif action == "kind" and step == "kind" and arg in {k.value for k in ActivityKind}:
            await turn.answer()
            await turn.show("activities.chosen", value=await turn.label(f"activities.kind_{arg}"))
            await _advance(turn, state, kind=arg)
        elif action == "up" and step == "unit":
            await turn.answer()
            await _ask_unit(turn, state, page=parsed.int_arg() or 0, edit=True)
        elif action == "unit" and step == "unit" and actor.is_admin:
            unit = await service.unit(parsed.int_arg() or 0)
            if unit is None:
                await turn.answer("common.button_expired")
                return
            await turn.answer()
            await turn.show("activities.chosen", value=unit.name)
            await _advance(turn, state, unit_id=unit.id)
        elif action == "open" and step == "open_to" and arg in ("unit", "all"):
            await turn.answer()
            await turn.show(
                "activities.chosen", value=await turn.label(f"activities.open_to_{arg}")
            )
            await _advance(turn, state, open_to=arg)
        elif action == "end" and step == "end" and parsed.int_arg() in END_CHOICES:
            await turn.answer()
            starts = datetime.fromisoformat(str(state.data["starts_at"]))
            await _after_end(turn, state, starts + timedelta(minutes=parsed.int_arg() or 0))
        elif action == "dl" and step == "deadline" and parsed.int_arg() in DEADLINE_CHOICES:
            starts = datetime.fromisoformat(str(state.data["starts_at"]))
            deadline = service.check_deadline(
                starts, starts - timedelta(minutes=parsed.int_arg() or 0)
            )
            await turn.answer()
            await _advance(turn, state, deadline_at=deadline.isoformat())
        elif action == "cap" and step == "capacity":
            await turn.answer()
            await _advance(turn, state, capacity=None)
        elif action == "hrs" and step == "hours":
            starts = datetime.fromisoformat(str(state.data["starts_at"]))
            ends = datetime.fromisoformat(str(state.data["ends_at"]))
            await turn.answer()
            await _advance(turn, state, hours=_duration_hours(starts, ends))
        elif action == "cmp" and step == "campaign":
            await turn.answer()
            if arg == "none":
                await _advance(turn, state, campaign_id=None)
            elif arg == "new":
                await flows.move(person, state, "camp_name")
                await turn.say("activities.ask_camp_name")
            else:
                campaign = await service.campaign(parsed.int_arg() or 0)
                if campaign is None:
                    await turn.answer("common.button_expired")
                    return
                await turn.show("activities.chosen", value=campaign.name)
                await _advance(turn, state, campaign_id=campaign.id)
        elif action == "q" and step == "questions":
            await turn.answer()
            if arg == "add" and len(state.data.get("questions") or []) < QUESTIONS_MAX:
                await flows.move(person, state, "q_prompt")
                await turn.say("activities.ask_q_prompt")
            else:
                await _advance(turn, state)
        elif action == "qt" and step == "q_type" and arg in ("text", "choice"):
            await turn.answer()
            if arg == "choice":
                await flows.move(person, state, "q_choices")
                await turn.say("activities.ask_q_choices")
            else:
                moved = await flows.move(person, state, "q_required", q_choices=None)
                await _ask_new(turn, moved)
        elif action == "qr" and step == "q_required" and arg in ("y", "n"):
            await turn.answer()
            questions = list(state.data.get("questions") or [])
            questions.append(
                {
                    "prompt": state.data.get("q_prompt", ""),
                    "choices": state.data.get("q_choices"),
                    "required": arg == "y",
                }
            )
            moved = await flows.move(
                person,
                state,
                "questions",
                questions=questions[:QUESTIONS_MAX],
                q_prompt=None,
                q_choices=None,
            )
            await _ask_new(turn, moved)
        elif action == "rem" and step == "reminders":
            await turn.answer()
            await _advance(turn, state, reminders=None)
        elif action == "ed" and step == "summary" and arg in SUMMARY_EDITS:
            await turn.answer()
            moved = await flows.move(person, state, arg, reviewing=True)
            await _ask_new(turn, moved)
        elif action == "ok" and step == "summary":
            await turn.answer()
            await _create(turn, actor, state)
        elif action == "no":
            await turn.answer()
            await flows.clear(person)
            await turn.show("activities.create_aborted")
        else:
            await turn.answer("common.button_expired")
    except InvalidInput as exc:
        await turn.refuse(exc.key, **exc.params)


async def _create(turn: Turn, actor: Actor, state: FlowState) -> None:
    try:
        activity = await turn.services.activities.create(actor, _draft(state.data))
    except InvalidInput as exc:
        await turn.say(exc.key, **exc.params)
        await turn.say("activities.create_fix")
        return
    except NotAllowed as exc:
        await turn.say(exc.reason)
        return
    await turn.services.flows.clear(turn.person)
    link = _share_link(turn, activity.id)
    if link is not None:
        await turn.show("activities.created", title=activity.title, link=link)
    else:
        await turn.show("activities.created_reference", title=activity.title, ref=activity.id)
    await _show_manage(turn, activity.id, edit=False)


# --- importing --------------------------------------------------------------------------------


async def import_command(turn: Turn) -> None:
    actor = await manager_or_refuse(turn)
    if actor is None:
        return
    await turn.answer()
    # Where the person can send images only (Zalo), no table can arrive: say what works.
    # (``Capabilities.documents`` arrives with the core's next commit; read it where it is.)
    if not turn.chat.capabilities.documents:
        await turn.say("activities.import_no_documents")
        return
    await turn.services.flows.start(turn.person, FLOW_IMPORT, "file")
    await turn.say("activities.import_ask", rows=IMPORT_ROWS_MAX)


async def template_command(turn: Turn) -> None:
    actor = await manager_or_refuse(turn)
    if actor is None:
        return
    await turn.answer()
    await turn.document(
        Attachment(
            TEMPLATE_FILENAME, content=turn.services.activities.template_csv(), mime="text/csv"
        ),
        "activities.template_caption",
        rows=IMPORT_ROWS_MAX,
    )


async def on_import_file(turn: Turn, state: FlowState) -> None:
    actor = await manager_or_refuse(turn)
    upload = turn.input
    if actor is None or not isinstance(upload, Upload):
        return
    if upload.kind is not FileKind.DOCUMENT:
        await turn.say("activities.import_wrong_type")
        return
    too_big: dict[str, Any] = {"max": IMPORT_BYTES_MAX // 1_000_000, "rows": IMPORT_ROWS_MAX}
    if upload.size is not None and upload.size > IMPORT_BYTES_MAX:
        await turn.say("activities.import_too_big", **too_big)
        return
    try:
        content = await turn.chat.download(upload.file, limit=IMPORT_BYTES_MAX)
    except ValueError:  # larger than it declared
        await turn.say("activities.import_too_big", **too_big)
        return
    try:
        report = await turn.services.activities.import_file(actor, content, upload.name)
    except InvalidInput as exc:
        await turn.say(exc.key, **{"rows": IMPORT_ROWS_MAX, **exc.params})
        return
    except NotAllowed as exc:
        await turn.say(exc.reason)
        return
    if report.errors:
        language = await turn.language()
        catalogue = turn.services.catalogue
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
        await turn.say(
            "activities.import_failed", count=len(report.errors), errors=Raw("\n".join(lines))
        )
        return
    await turn.services.flows.clear(turn.person)
    await turn.say("activities.import_done", count=len(report.created))


async def on_import_text(turn: Turn, state: FlowState) -> None:
    await turn.say("activities.import_send_file")


# --- managing ---------------------------------------------------------------------------------


async def manage_command(turn: Turn) -> None:
    await _show_managed(turn, page=0, edit=False)


async def _show_managed(turn: Turn, *, page: int, edit: bool) -> None:
    actor = await manager_or_refuse(turn)
    if actor is None:
        return
    services = turn.services
    try:
        result = await services.activities.managed_page(actor, page)
    except NotAllowed as exc:
        await turn.refuse(exc.reason)
        return
    await turn.answer()
    language = await turn.language()
    rows: list[list[Button]] = []
    lines = []
    for number, card in enumerate(result.cards, start=result.page * 5 + 1):
        activity = card.activity
        status = await turn.label(f"activities.status_{activity.status.value}")
        lines.append(
            await turn.text(
                "activities.manage_item",
                number=number,
                title=activity.title,
                when=_when(services, language, activity),
                status=status,
                seats=seats_text(services, language, activity),
            )
        )
        rows.append(
            [Button(f"⚙️ {number}. {activity.title[:40]}", callbacks.pack("acm", "m", activity.id))]
        )
    nav = await turn.page_row(result.page, result.pages, lambda n: callbacks.pack("acm", "ls", n))
    if nav:
        rows.append(nav)
    rows.append(
        [
            await turn.button("activities.button_new", callbacks.pack("acm", "new")),
            await turn.button("activities.button_import", callbacks.pack("acm", "imp")),
        ]
    )
    key = "activities.manage_list" if result.cards else "activities.manage_list_empty"
    params = {"items": Raw("\n\n".join(lines)), "page": result.page + 1, "pages": result.pages}
    await _reply(turn, key, edit=edit, buttons=rows, **params)


async def _share_line(turn: Turn, activity_id: int) -> str:
    """How a cadre shares the activity: its link, or its reference where there are none."""
    link = _share_link(turn, activity_id)
    if link is not None:
        return await turn.text("activities.share_link", link=link)
    return await turn.text("activities.share_reference", ref=activity_id)


async def _show_manage(turn: Turn, activity_id: int, *, edit: bool) -> None:
    actor = await turn.actor()
    services = turn.services
    try:
        activity = await services.activities.manageable(actor, activity_id)
    except (InvalidInput, NotAllowed) as exc:
        await refuse_error(turn, exc)
        return
    await turn.answer()
    language = await turn.language()
    rows: list[list[Button]] = [
        [
            await turn.button(
                "activities.button_registrants", callbacks.pack("acm", "rl", activity_id, 0)
            ),
            await turn.button("activities.button_qr", callbacks.pack("att", "qr", activity_id)),
        ]
    ]
    if activity.status is not ActivityStatus.CANCELLED:
        rows.append(
            [
                await turn.button(
                    "activities.edit_time", callbacks.pack("acm", "ed", activity_id, "start")
                ),
                await turn.button(
                    "activities.edit_place", callbacks.pack("acm", "ed", activity_id, "place")
                ),
            ]
        )
        rows.append(
            [
                await turn.button(
                    "activities.edit_capacity",
                    callbacks.pack("acm", "ed", activity_id, "capacity"),
                ),
                await turn.button(
                    "activities.edit_description",
                    callbacks.pack("acm", "ed", activity_id, "description"),
                ),
            ]
        )
        toggle = "cl" if activity.status is ActivityStatus.OPEN else "op"
        rows.append(
            [
                await turn.button(
                    f"activities.button_{toggle}", callbacks.pack("acm", toggle, activity_id)
                ),
                await turn.button(
                    "activities.button_cancel_activity", callbacks.pack("acm", "x", activity_id)
                ),
            ]
        )
    await _reply(
        turn,
        "activities.manage",
        edit=edit,
        buttons=rows,
        title=activity.title,
        when=_when(services, language, activity),
        place=activity.place,
        status=await turn.label(f"activities.status_{activity.status.value}"),
        seats=seats_text(services, language, activity),
        confirmed=activity.confirmed,
        waitlist=activity.waitlisted,
        attended=activity.attended,
        share=Raw(await _share_line(turn, activity.id)),
    )


async def show_registrants(turn: Turn, activity_id: int, page: int, *, edit: bool) -> None:
    """The registrant list: each confirmed registrant's attendance and a button that sets the
    state its label names (so a double tap or an old copy can never flip it back), then the
    walk-ins waiting for a cadre."""
    actor = await turn.actor()
    services = turn.services
    try:
        result = await services.activities.registrants(actor, activity_id, page)
        walk_ins, waiting = await services.attendance.pending_walk_ins(actor, activity_id)
    except (InvalidInput, NotAllowed) as exc:
        await refuse_error(turn, exc)
        return
    await turn.answer()
    catalogue = services.catalogue
    language = await turn.language()
    questions = {str(q.position): q.prompt for q in result.activity.questions}
    lines: list[str] = []
    ticks: list[Button] = []
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
                    time=local_time(services, registration.attended_at),
                )
                target, label = "a", "attendance.button_absent"
            elif registration.marked_absent:
                mark = catalogue.plain(language, "activities.reg_absent")
            else:
                mark = catalogue.plain(language, "activities.reg_confirmed")
            ticks.append(
                await turn.button(
                    label,
                    callbacks.pack("att", target, activity_id, registration.id, result.page),
                    number=number,
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
                time=local_time(services, request.requested_at),
            )
        )
        rows.append(
            [
                await turn.button(
                    "attendance.button_walk_in_yes",
                    callbacks.pack("att", "wy", activity_id, request.member_id, result.page),
                    letter=letter,
                ),
                await turn.button(
                    "attendance.button_walk_in_no",
                    callbacks.pack("att", "wn", activity_id, request.member_id, result.page),
                    letter=letter,
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
    nav = await turn.page_row(
        result.page, result.pages, lambda n: callbacks.pack("acm", "rl", activity_id, n)
    )
    if nav:
        rows.append(nav)
    rows.append(
        [
            await turn.button(
                "activities.button_back_manage", callbacks.pack("acm", "m", activity_id)
            )
        ]
    )
    key = "activities.registrants" if lines else "activities.registrants_empty"
    await _reply(
        turn,
        key,
        edit=edit,
        buttons=rows,
        title=result.activity.title,
        total=result.total,
        attended=result.activity.attended,
        lines=Raw("\n".join(lines)),
        walk_ins=Raw(walk_in_text),
        page=result.page + 1,
        pages=result.pages,
    )


async def _start_edit(turn: Turn, activity_id: int, field: str) -> None:
    actor = await turn.actor()
    services = turn.services
    try:
        activity = await services.activities.manageable(actor, activity_id)
    except (InvalidInput, NotAllowed) as exc:
        await refuse_error(turn, exc)
        return
    await turn.answer()
    await services.flows.start(turn.person, FLOW_EDIT, field, activity_id=activity_id)
    language = await turn.language()
    current = {
        "start": _when(services, language, activity),
        "place": activity.place,
        "capacity": str(activity.capacity)
        if activity.capacity
        else await turn.label("activities.capacity_unlimited"),
        "description": activity.description or await turn.label("activities.none"),
    }[field]
    await turn.say(
        f"activities.edit_ask_{field}",
        numeric_answer=field == "capacity",
        current=current[:500],
    )


async def on_edit_text(turn: Turn, state: FlowState) -> None:
    text = turn.typed or ""
    actor = await turn.actor()
    services = turn.services
    service = services.activities
    activity_id = int(state.data.get("activity_id") or 0)
    try:
        if state.step == "start":
            starts = service.read_start(text)
            await services.flows.move(turn.person, state, "end", starts_at=starts.isoformat())
            await turn.say("activities.edit_ask_end")
            return
        if state.step == "end":
            starts = datetime.fromisoformat(str(state.data["starts_at"]))
            await service.edit_schedule(actor, activity_id, starts, service.read_end(starts, text))
        elif state.step in ("place", "description"):
            await service.edit_text(actor, activity_id, state.step, text)
        elif state.step == "capacity":
            skip = services.catalogue.matches("activities.capacity_unlimited", text.strip())
            await service.edit_capacity(
                actor, activity_id, None if skip else _required_capacity(text)
            )
        else:
            await turn.say("flow.use_buttons")
            return
    except InvalidInput as exc:
        await turn.say(exc.key, numeric_answer=state.step == "capacity", **exc.params)
        return
    except NotAllowed as exc:
        await services.flows.clear(turn.person)
        await turn.say(exc.reason)
        return
    # Registrants hear what changed through the notice outbox: the notices were written with
    # the change, and the service woke the outbox.
    await services.flows.clear(turn.person)
    await turn.say("activities.edit_saved")
    await _show_manage(turn, activity_id, edit=False)


def _required_capacity(text: str) -> int:
    capacity = parse_capacity(text)
    if capacity is None:
        raise InvalidInput("activities.capacity_invalid", max=CAPACITY_MAX)
    return capacity


async def _ask_cancel_activity(turn: Turn, activity_id: int) -> None:
    actor = await turn.actor()
    try:
        activity = await turn.services.activities.manageable(actor, activity_id)
    except (InvalidInput, NotAllowed) as exc:
        await refuse_error(turn, exc)
        return
    await turn.answer()
    await turn.ask_to_confirm(
        "activities.cancel_activity_ask",
        yes=("activities.cancel_activity_confirm", callbacks.pack("acm", "xy", activity_id)),
        no=("activities.cancel_keep", callbacks.pack("acm", "m", activity_id)),
        title=activity.title,
        count=activity.confirmed + activity.waitlisted,
    )


async def _cancel_activity(turn: Turn, activity_id: int) -> None:
    actor = await turn.actor()
    try:
        result = await turn.services.activities.cancel_activity(actor, activity_id)
    except (InvalidInput, NotAllowed) as exc:
        await refuse_error(turn, exc)
        return
    await turn.answer()
    # Each registrant's notice was written with the cancellation; the notice outbox sends them.
    await turn.show(
        "activities.activity_cancelled", title=result.after.title, count=len(result.recipients)
    )


async def _set_open(turn: Turn, activity_id: int, open_: bool) -> None:
    """The button names the state it sets ("cl" closes, "op" reopens), so a double tap or an
    older card sets it again; a refusal (cancelled meanwhile) redraws the card as it is now."""
    actor = await turn.actor()
    try:
        await turn.services.activities.set_registration_open(actor, activity_id, open_)
    except InvalidInput as exc:
        await turn.refuse(exc.key, **exc.params)
        await _show_manage(turn, activity_id, edit=True)
        return
    except NotAllowed as exc:
        await turn.refuse(exc.reason)
        return
    await _show_manage(turn, activity_id, edit=True)


async def on_manage_press(turn: Turn) -> None:
    parsed = turn.pressed
    if parsed is None:
        await turn.answer("common.button_expired")
        return
    actor = await manager_or_refuse(turn)
    if actor is None:
        return
    action = parsed.action
    first = parsed.int_arg(0)
    if action == "new" and not parsed.args:
        await new_activity(turn)
    elif action == "imp" and not parsed.args:
        await import_command(turn)
    elif action == "ls" and len(parsed.args) == 1 and first is not None:
        await _show_managed(turn, page=first, edit=True)
    elif first is None:
        await turn.answer("common.button_expired")
    elif action == "m" and len(parsed.args) == 1:
        await _show_manage(turn, first, edit=False)
    elif action == "rl" and len(parsed.args) == 2:
        await show_registrants(turn, first, parsed.int_arg(1) or 0, edit=True)
    elif (
        action == "ed"
        and len(parsed.args) == 2
        and parsed.arg(1) in ("start", "place", "capacity", "description")
    ):
        await _start_edit(turn, first, str(parsed.arg(1)))
    elif action == "x" and len(parsed.args) == 1:
        await _ask_cancel_activity(turn, first)
    elif action == "xy" and len(parsed.args) == 1:
        await _cancel_activity(turn, first)
    elif action in ("cl", "op") and len(parsed.args) == 1:
        await _set_open(turn, first, action == "op")
    else:
        await turn.answer("common.button_expired")


def register(routes: Routes) -> None:
    routes.commands["newactivity"] = new_activity
    routes.commands["import"] = import_command
    routes.commands["template"] = template_command
    routes.commands["manage"] = manage_command
    routes.actions["act"] = on_member_press
    routes.actions["acm"] = on_manage_press
    routes.actions["acn"] = on_new_press
    routes.menu["menu.activities"] = show_activities
    routes.menu["menu.my_registrations"] = show_my_registrations
    routes.deep_links["act_"] = open_from_link
    routes.text_steps[(FLOW_REG, "answer")] = on_answer_text
    for step in (
        *NEW_STEPS,
        "camp_name",
        "camp_dates",
        "q_prompt",
        "q_type",
        "q_choices",
        "q_required",
    ):
        routes.text_steps[(FLOW_NEW, step)] = on_new_text
    for step in ("start", "end", "place", "capacity", "description"):
        routes.text_steps[(FLOW_EDIT, step)] = on_edit_text
    routes.text_steps[(FLOW_IMPORT, "file")] = on_import_text
    routes.file_steps[(FLOW_IMPORT, "file")] = on_import_file
    routes.flows.update({FLOW_NEW, FLOW_REG, FLOW_EDIT, FLOW_IMPORT})
