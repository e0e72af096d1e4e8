"""Broadcasts (SPEC 2.5), for every channel: the compose flow with an exact preview and count,
scheduling, /broadcasts with pause/resume/cancel. What members and the author receive from the
outbox is ``handlers.outbox_views``; each channel's outbox sends it."""

from __future__ import annotations

import html
import logging
from datetime import datetime

from bot.broadcasts import validate_text
from bot.domain.broadcasts import Audience, AudienceKind, BroadcastContent
from bot.domain.errors import InvalidInput, NotAllowed
from bot.domain.members import Actor, Channel, FlowState
from handlers import callbacks
from handlers.dialog import Button, FileKind, Turn, Typed, Upload
from handlers.dispatch import Routes
from handlers.outbox_views import (
    DATE_FORMAT,
    broadcast_reply,
    control_buttons,
    listed_reply,
    progress_reply,
)

log = logging.getLogger(__name__)

FLOW = "broadcast"
UNITS_PER_PAGE = 8


async def _sender_or_refuse(turn: Turn) -> Actor | None:
    actor = await turn.actor()
    if actor.is_admin or actor.is_cadre:
        return actor
    await turn.refuse("access.denied")
    return None


# --- the compose flow ----------------------------------------------------------------------


async def start_compose(turn: Turn) -> None:
    if await _sender_or_refuse(turn) is None:
        return
    await turn.services.flows.start(turn.person, FLOW, "text")
    await _ask_text(turn)


async def _ask_text(turn: Turn) -> None:
    # Where the channel has formatting, how to use it; elsewhere the text goes as typed.
    key = (
        "broadcasts.ask_text" if turn.chat.capabilities.formatting else "broadcasts.ask_text_plain"
    )
    await turn.say(key)


async def on_text(turn: Turn, state: FlowState) -> None:
    """The announcement: where the channel has formatting it arrives as HTML (Telegram's
    formatting as tags, HTML typed by hand as typed); elsewhere plain text, kept as typed."""
    typed = turn.input
    assert isinstance(typed, Typed)
    text_html = typed.html if typed.html is not None else html.escape(typed.text, quote=False)
    await _take_content(turn, state, text_html, media_kind=None, media_file_id=None)


async def on_file(turn: Turn, state: FlowState) -> None:
    """A photo or file with the announcement as its caption. Its Telegram file id is sent to
    every recipient, so it must come from Telegram."""
    upload = turn.input
    assert isinstance(upload, Upload)
    if upload.file.channel is not Channel.TELEGRAM:
        await turn.say("broadcasts.media_telegram_only")
        return
    caption = upload.caption_html
    if caption is None:
        caption = html.escape(upload.caption or "", quote=False)
    kind = "photo" if upload.kind is FileKind.PHOTO else "document"
    await _take_content(turn, state, caption, media_kind=kind, media_file_id=upload.file.ref)


async def _take_content(
    turn: Turn,
    state: FlowState,
    text_html: str,
    *,
    media_kind: str | None,
    media_file_id: str | None,
) -> None:
    try:
        validate_text(text_html, with_media=media_kind is not None)
    except InvalidInput as exc:
        await turn.say(exc.key, **exc.params)
        return
    await turn.services.flows.move(
        turn.person,
        state,
        "audience",
        text=text_html,
        media_kind=media_kind,
        media_file_id=media_file_id,
    )
    await _ask_audience(turn)


async def _ask_audience(turn: Turn) -> None:
    actor = await turn.actor()
    choices = (
        [("all", "audience_all"), ("units", "audience_units"), ("cadres", "audience_cadres")]
        if actor.is_admin
        else [("mine", "audience_my_unit")]
    )
    choices.append(("act", "audience_activity"))
    rows = [
        [await turn.button(f"broadcasts.{key}", callbacks.pack("bc", "aud", choice))]
        for choice, key in choices
    ]
    await turn.say("broadcasts.ask_audience", buttons=rows)


async def _show_unit_choice(turn: Turn, state: FlowState, page: int) -> None:
    chosen = set(state.data.get("units", []))
    units = await turn.services.units.all()
    pages = max(1, -(-len(units) // UNITS_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    # Each unit's button says whether it adds (1) or removes (0) the unit, as its tick shows:
    # a double tap or an older copy of this list cannot flip a choice back.
    rows: list[list[Button]] = [
        [
            Button(
                ("✓ " if u.id in chosen else "") + u.name,
                callbacks.pack("bc", "unit", u.id, page, 0 if u.id in chosen else 1),
            )
        ]
        for u in units[page * UNITS_PER_PAGE : (page + 1) * UNITS_PER_PAGE]
    ]
    nav = await turn.page_row(page, pages, lambda n: callbacks.pack("bc", "upage", n))
    if nav:
        rows.append(nav)
    rows.append(
        [
            await turn.button(
                "broadcasts.units_done", callbacks.pack("bc", "udone"), count=len(chosen)
            )
        ]
    )
    await turn.show("broadcasts.pick_units", buttons=rows)


async def _show_activity_choice(turn: Turn, actor: Actor) -> None:
    unit_id = None if actor.is_admin else actor.cadre_unit_id
    choices = await turn.services.broadcasts.activities_for_audience(unit_id)
    if not choices:
        await turn.show("broadcasts.no_activities")
        return
    rows = [
        [Button(title, callbacks.pack("bc", "act", activity_id))] for activity_id, title in choices
    ]
    await turn.show("broadcasts.pick_activity", buttons=rows)


def _audience_of(state: FlowState) -> Audience:
    kind = AudienceKind(state.data["audience"])
    return Audience(
        kind,
        unit_ids=tuple(int(u) for u in state.data.get("units", [])),
        activity_id=state.data.get("activity_id"),
    )


def _content_of(state: FlowState) -> BroadcastContent:
    return BroadcastContent(
        text_html=str(state.data["text"]),
        media_kind=state.data.get("media_kind"),
        media_file_id=state.data.get("media_file_id"),
        activity_id=state.data.get("activity_id") if state.data.get("button") else None,
    )


async def _preview(turn: Turn, state: FlowState) -> None:
    """Exactly what members will see, then the exact audience count and the choices."""
    actor = await turn.actor()
    services = turn.services
    audience = _audience_of(state)
    activity_unit = await services.broadcasts.activity_unit(audience.activity_id)
    try:
        count = await services.broadcasts.audience_size(actor, audience, activity_unit)
    except NotAllowed as exc:
        await turn.say(exc.reason)
        return
    await turn.say("broadcasts.preview_intro")
    await turn.send(broadcast_reply(_content_of(state), await turn.language(), services.catalogue))
    rows = [
        [await turn.button("broadcasts.send_now", callbacks.pack("bc", "send"))],
        [await turn.button("broadcasts.schedule", callbacks.pack("bc", "sched"))],
        [
            await turn.button("broadcasts.edit", callbacks.pack("bc", "edit")),
            await turn.button("broadcasts.discard", callbacks.pack("bc", "discard")),
        ],
    ]
    await turn.say("broadcasts.preview_count", buttons=rows, count=count)


async def _create(turn: Turn, state: FlowState, scheduled_at: datetime | None) -> None:
    actor = await turn.actor()
    services = turn.services
    audience = _audience_of(state)
    try:
        broadcast = await services.broadcasts.create(
            actor,
            _content_of(state),
            audience,
            activity_unit_id=await services.broadcasts.activity_unit(audience.activity_id),
            scheduled_at=scheduled_at,
            # Where the live progress is kept (a Telegram chat; elsewhere the outbox finds the
            # author by their member id).
            progress_chat_id=turn.person.telegram_id,
        )
    except NotAllowed as exc:
        await turn.say(exc.reason)
        return
    except InvalidInput as exc:
        await turn.say(exc.key, **exc.params)
        return
    await services.flows.clear(turn.person)
    language = await turn.language()
    catalogue = services.catalogue
    if scheduled_at is not None:
        await turn.say(
            "broadcasts.scheduled",
            buttons=control_buttons(catalogue, language, broadcast),
            id=broadcast.id,
            time=scheduled_at.astimezone(services.config.bot.tz).strftime(DATE_FORMAT),
        )
    else:
        counts = await services.broadcasts.counts(broadcast.id)
        posted = await turn.send(
            progress_reply(catalogue, language, broadcast, counts, None, final=False)
        )
        if posted is not None:  # the channel edits messages: the outbox keeps this one current
            await services.broadcasts.set_progress_message(
                broadcast.id, posted.chat_id, posted.message_id
            )
    sender = services.broadcasts.sender
    if sender is not None:
        sender.wake(broadcast.id)


async def on_schedule_time(turn: Turn, state: FlowState) -> None:
    tz = turn.services.config.bot.tz
    try:
        local = datetime.strptime(" ".join((turn.typed or "").split()), DATE_FORMAT)
    except ValueError:
        await turn.say("broadcasts.schedule_format")
        return
    try:
        moment = turn.services.broadcasts.check_schedule(local.replace(tzinfo=tz))
    except InvalidInput as exc:
        await turn.say(exc.key, **exc.params)
        return
    await _create(turn, state, moment)


async def on_press(turn: Turn) -> None:
    parsed = turn.pressed
    actor = await _sender_or_refuse(turn)
    if actor is None:
        return
    if parsed is None:
        await turn.answer("common.button_expired")
        return
    services = turn.services
    if parsed.action in ("pause", "resume", "cancel"):
        await _control(turn, actor, parsed)
        return
    state = await services.flows.get(turn.person)
    if state is None or state.flow != FLOW:
        await turn.answer("common.button_expired")
        return
    await turn.answer()
    action, step, person = parsed.action, state.step, turn.person
    if action == "aud" and step == "audience":
        await _on_audience(turn, actor, state, parsed.arg())
    elif action in ("unit", "upage") and step == "units" and actor.is_admin:
        page = parsed.int_arg(1 if action == "unit" else 0) or 0
        if action == "unit":
            unit_id = parsed.int_arg()
            if unit_id is None or await services.units.get(unit_id) is None:
                return
            chosen = set(state.data.get("units", []))
            if parsed.arg(2) == "1":
                chosen.add(unit_id)
            elif parsed.arg(2) == "0":
                chosen.discard(unit_id)
            # (a button without that argument, drawn before, only redraws the list)
            state = await services.flows.move(person, state, "units", units=sorted(chosen))
        await _show_unit_choice(turn, state, page)
    elif action == "udone" and step == "units":
        if not state.data.get("units"):
            await turn.say("broadcasts.pick_at_least_one")
            return
        await _preview(turn, await services.flows.move(person, state, "preview", audience="units"))
    elif action == "act" and step == "activity":
        await _on_activity(turn, actor, state, parsed.int_arg())
    elif action == "btn" and step == "button":
        state = await services.flows.move(person, state, "preview", button=parsed.arg() == "y")
        await _preview(turn, state)
    elif action == "send" and step == "preview":
        await _create(turn, state, None)
    elif action == "sched" and step == "preview":
        await services.flows.move(person, state, "schedule")
        await turn.say("broadcasts.ask_schedule")
    elif action == "edit" and step == "preview":
        await services.flows.start(person, FLOW, "text")
        await _ask_text(turn)
    elif action == "discard" and step in ("preview", "schedule"):
        await services.flows.clear(person)
        await turn.show("broadcasts.discarded")
    else:
        await turn.say("common.button_expired")


async def _on_audience(turn: Turn, actor: Actor, state: FlowState, choice: str | None) -> None:
    flows, person = turn.services.flows, turn.person
    if choice == "all" and actor.is_admin:
        await _preview(turn, await flows.move(person, state, "preview", audience="all", units=[]))
    elif choice == "cadres" and actor.is_admin:
        state = await flows.move(person, state, "preview", audience="cadres", units=[])
        await _preview(turn, state)
    elif choice == "mine" and actor.is_cadre:
        state = await flows.move(
            person, state, "preview", audience="units", units=[actor.cadre_unit_id]
        )
        await _preview(turn, state)
    elif choice == "units" and actor.is_admin:
        await _show_unit_choice(turn, await flows.move(person, state, "units", units=[]), 0)
    elif choice == "act":
        await flows.move(person, state, "activity")
        await _show_activity_choice(turn, actor)
    else:  # a choice this role does not have (a forged press): keep the real choices
        await turn.say("access.denied")


async def _on_activity(turn: Turn, actor: Actor, state: FlowState, activity_id: int | None) -> None:
    services = turn.services
    unit_of_activity = await services.broadcasts.activity_unit(activity_id)
    if activity_id is None or unit_of_activity is None:
        await turn.show("common.button_expired")
        return
    if not actor.is_admin and unit_of_activity != actor.cadre_unit_id:
        await turn.show("access.denied")
        return
    await services.flows.move(
        turn.person, state, "button", audience="activity", activity_id=activity_id, units=[]
    )
    rows = [
        [
            await turn.button("common.yes", callbacks.pack("bc", "btn", "y")),
            await turn.button("common.no", callbacks.pack("bc", "btn", "n")),
        ]
    ]
    await turn.show("broadcasts.ask_button", buttons=rows)


async def _control(turn: Turn, actor: Actor, parsed: callbacks.Callback) -> None:
    """Pause, resume or cancel from the progress message, which is then redrawn from the
    broadcast's current state: a refused press (an old copy, another admin was faster) leaves
    it showing only the choices that still apply."""
    services = turn.services
    broadcast_id = parsed.int_arg()
    try:
        if broadcast_id is None:
            raise InvalidInput("broadcasts.not_found")
        broadcast = await services.broadcasts.control(actor, broadcast_id, parsed.action)
    except NotAllowed as exc:
        await turn.answer(exc.reason, alert=True)
        return
    except InvalidInput as exc:
        await turn.answer(exc.key, alert=True)
        current = await services.broadcasts.get(broadcast_id) if broadcast_id else None
        if current is None:
            return
        broadcast = current
    else:
        done_key = {"pause": "paused", "resume": "resumed", "cancel": "cancelled"}[parsed.action]
        await turn.answer(f"broadcasts.{done_key}")
    counts = await services.broadcasts.counts(broadcast.id)
    language = await turn.language()
    await turn.chat.replace(
        progress_reply(services.catalogue, language, broadcast, counts, None, final=False)
    )


async def list_broadcasts(turn: Turn) -> None:
    actor = await _sender_or_refuse(turn)
    if actor is None:
        return
    services = turn.services
    recent = await services.broadcasts.recent(actor)
    if not recent:
        await turn.say("broadcasts.none_yet")
        return
    language = await turn.language()
    await turn.say("broadcasts.list_title")
    for broadcast in recent:
        counts = await services.broadcasts.counts(broadcast.id)
        await turn.send(listed_reply(services.catalogue, language, broadcast, counts))


def register(routes: Routes) -> None:
    routes.commands["broadcast"] = start_compose
    routes.commands["broadcasts"] = list_broadcasts
    routes.actions["bc"] = on_press
    routes.text_steps[(FLOW, "text")] = on_text
    routes.file_steps[(FLOW, "text")] = on_file
    routes.text_steps[(FLOW, "schedule")] = on_schedule_time
    routes.flows.add(FLOW)
