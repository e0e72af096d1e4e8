"""Broadcasts (SPEC 2.5) on Telegram: the compose flow with an exact preview, /broadcasts with
pause/resume/cancel, and the Telegram side of the outbox (transport and progress messages)."""

from __future__ import annotations

import logging
import warnings
from datetime import datetime
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters
from telegram.warnings import PTBUserWarning

from bot.broadcasts import eta_text, validate_text
from bot.delivery import Outcome
from bot.domain.broadcasts import (
    Audience,
    AudienceKind,
    Broadcast,
    BroadcastContent,
    BroadcastStatus,
    DeliveryCounts,
    Recipient,
)
from bot.domain.errors import InvalidInput, NotAllowed
from bot.domain.members import Actor
from bot.flows import FlowState
from bot.i18n import Catalogue
from handlers import callbacks
from handlers.bulk_api import BulkBotApi
from handlers.context import BotContext
from handlers.router import Router
from handlers.ui import answer, edit_or_send, inline, page_row, say

log = logging.getLogger(__name__)

FLOW = "broadcast"
UNITS_PER_PAGE = 8
DATE_FORMAT = "%d/%m/%Y %H:%M"


# --- what members receive (shared by the preview and the transport) ------------------------


def render_markup(
    content: BroadcastContent, language: str, catalogue: Catalogue, bot_username: str
) -> InlineKeyboardMarkup | None:
    if content.activity_id is None:
        return None
    label = catalogue.plain(language, "broadcasts.open_activity")
    url = f"https://t.me/{bot_username}?start=act_{content.activity_id}"
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, url=url)]])


def content_call(
    chat_id: int,
    content: BroadcastContent,
    markup: InlineKeyboardMarkup | None,
    *,
    paid: bool = False,
) -> tuple[str, dict[str, Any]]:
    """The Bot API method and parameters of an announcement: one place, so the preview is
    exactly what members receive."""
    payload: dict[str, Any] = {"chat_id": chat_id, "parse_mode": ParseMode.HTML.value}
    if content.media_kind in ("photo", "document") and content.media_file_id:
        method = "sendPhoto" if content.media_kind == "photo" else "sendDocument"
        payload[str(content.media_kind)] = content.media_file_id
        payload["caption"] = content.text_html
    else:
        method = "sendMessage"
        payload["text"] = content.text_html
        payload["link_preview_options"] = {"is_disabled": True}
    if markup is not None:
        payload["reply_markup"] = markup.to_dict()
    if paid:
        payload["allow_paid_broadcast"] = True
    return method, payload


async def send_preview(
    bot: Bot, chat_id: int, content: BroadcastContent, markup: InlineKeyboardMarkup | None
) -> None:
    method, payload = content_call(chat_id, content, markup)
    with warnings.catch_warnings():
        # PTB suggests its typed method; the raw call keeps the very parameters members get.
        warnings.simplefilter("ignore", PTBUserWarning)
        await bot.do_api_request(method, api_kwargs=payload)


class TelegramTransport:
    """Sends one broadcast message through the bulk API."""

    def __init__(
        self, api: BulkBotApi, catalogue: Catalogue, bot_username: str, *, paid: bool
    ) -> None:
        self._api = api
        self._catalogue = catalogue
        self._bot_username = bot_username
        self._paid = paid

    async def deliver(self, broadcast: Broadcast, recipient: Recipient) -> Outcome:
        markup = render_markup(
            broadcast.content, recipient.language, self._catalogue, self._bot_username
        )
        method, payload = content_call(
            recipient.telegram_id, broadcast.content, markup, paid=self._paid
        )
        return await self._api.send(method, payload)


class TelegramProgress:
    """Edits the sender's progress message; sends a final report when a broadcast ends."""

    def __init__(
        self, bot: Bot, catalogue: Catalogue, language_of: Any, tz: Any | None = None
    ) -> None:
        self._bot = bot
        self._catalogue = catalogue
        self._language_of = language_of
        self._tz = tz

    async def cancelled_by_bot(self, broadcast: Broadcast) -> None:
        """The author hears why their scheduled broadcast did not go out (if they can be
        reached: a blocked bot or an unknown chat is only logged)."""
        chat_id = broadcast.progress_chat_id or broadcast.created_by
        language = await self._language_of(broadcast.created_by)
        scheduled = broadcast.scheduled_at
        shown = scheduled.astimezone(self._tz) if scheduled and self._tz else scheduled
        try:
            await self._bot.send_message(
                chat_id,
                self._catalogue.text(
                    language,
                    "broadcasts.cancelled_author_not_allowed",
                    id=broadcast.id,
                    time=shown.strftime(DATE_FORMAT) if shown else "",
                ),
                parse_mode=ParseMode.HTML,
            )
        except TelegramError as exc:
            log.info("could not tell a broadcast's author why it was cancelled: %s", exc)

    async def progress(
        self, broadcast: Broadcast, counts: DeliveryCounts, eta: float | None, *, final: bool
    ) -> None:
        if broadcast.progress_chat_id is None:
            return
        language = await self._language_of(broadcast.created_by)
        text = progress_text(self._catalogue, language, broadcast, counts, eta, final=final)
        markup = None if final else control_markup(self._catalogue, language, broadcast)
        if broadcast.progress_message_id is not None:
            try:
                await self._bot.edit_message_text(
                    text,
                    chat_id=broadcast.progress_chat_id,
                    message_id=broadcast.progress_message_id,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                )
            except BadRequest as exc:
                if "not modified" not in exc.message:
                    raise
        if final:
            key = (
                "broadcasts.final_cancelled"
                if broadcast.status is BroadcastStatus.CANCELLED
                else "broadcasts.final_done"
            )
            await self._bot.send_message(
                broadcast.progress_chat_id,
                self._catalogue.text(
                    language,
                    key,
                    id=broadcast.id,
                    sent=counts.sent,
                    failed=counts.failed,
                    blocked=counts.blocked,
                    pending=counts.pending,
                    total=broadcast.total,
                ),
                parse_mode=ParseMode.HTML,
            )


def progress_text(
    catalogue: Catalogue,
    language: str,
    broadcast: Broadcast,
    counts: DeliveryCounts,
    eta: float | None,
    *,
    final: bool,
) -> str:
    state = broadcast.status.value
    if broadcast.status is BroadcastStatus.CANCELLED and broadcast.cancel_reason:
        state = f"cancelled_{broadcast.cancel_reason}"  # the bot cancelled it: say why
    status = catalogue.plain(language, f"broadcasts.status.{state}")
    return catalogue.text(
        language,
        "broadcasts.progress",
        id=broadcast.id,
        status=status,
        sent=counts.sent,
        failed=counts.failed,
        blocked=counts.blocked,
        pending=counts.pending,
        total=broadcast.total,
        eta="—" if final or counts.pending == 0 else eta_text(eta),
    )


def control_markup(
    catalogue: Catalogue, language: str, broadcast: Broadcast
) -> InlineKeyboardMarkup | None:
    buttons: list[tuple[str, str]] = []
    if broadcast.status is BroadcastStatus.SENDING:
        buttons.append(
            (
                catalogue.plain(language, "broadcasts.pause"),
                callbacks.pack("bc", "pause", broadcast.id),
            )
        )
    if broadcast.status is BroadcastStatus.PAUSED:
        buttons.append(
            (
                catalogue.plain(language, "broadcasts.resume"),
                callbacks.pack("bc", "resume", broadcast.id),
            )
        )
    if broadcast.status in (
        BroadcastStatus.SENDING,
        BroadcastStatus.PAUSED,
        BroadcastStatus.SCHEDULED,
    ):
        buttons.append(
            (
                catalogue.plain(language, "broadcasts.cancel"),
                callbacks.pack("bc", "cancel", broadcast.id),
            )
        )
    return inline([buttons]) if buttons else None


# --- the compose flow ----------------------------------------------------------------------


async def _sender_or_refuse(update: Update, context: BotContext) -> Actor | None:
    actor = await context.actor(update)
    if actor.is_admin or actor.is_cadre:
        return actor
    if update.callback_query:
        await answer(update, context, "access.denied", alert=True)
    else:
        await say(update, context, "access.denied")
    return None


async def start_compose(update: Update, context: BotContext) -> None:
    actor = await _sender_or_refuse(update, context)
    user = update.effective_user
    if actor is None or user is None:
        return
    await context.services.flows.start(user.id, FLOW, "text")
    await say(update, context, "broadcasts.ask_text")


async def on_text(update: Update, context: BotContext, state: FlowState) -> None:
    """The announcement: Telegram formatting becomes HTML; typed HTML is taken as HTML."""
    message = update.effective_message
    assert message is not None
    await _take_content(update, context, state, message, media_kind=None, media_file_id=None)


async def on_file(update: Update, context: BotContext, state: FlowState) -> None:
    message = update.effective_message
    assert message is not None
    if message.photo:
        kind, file_id = "photo", message.photo[-1].file_id
    elif message.document:
        kind, file_id = "document", message.document.file_id
    else:
        await say(update, context, "flow.file_unexpected")
        return
    await _take_content(update, context, state, message, media_kind=kind, media_file_id=file_id)


def _html_of(message: Message) -> str:
    text = message.text or message.caption or ""
    entities = message.entities or message.caption_entities
    if entities:
        return message.text_html if message.text else (message.caption_html or "")
    return text


async def _take_content(
    update: Update,
    context: BotContext,
    state: FlowState,
    message: Message,
    *,
    media_kind: str | None,
    media_file_id: str | None,
) -> None:
    user = update.effective_user
    assert user is not None
    html_text = _html_of(message)
    try:
        validate_text(html_text, with_media=media_kind is not None)
    except InvalidInput as exc:
        await say(update, context, exc.key, **exc.params)
        return
    state = await context.services.flows.move(
        user.id,
        state,
        "audience",
        text=html_text,
        media_kind=media_kind,
        media_file_id=media_file_id,
    )
    await ask_audience(update, context)


async def ask_audience(update: Update, context: BotContext) -> None:
    actor = await context.actor(update)
    rows: list[list[tuple[str, str]]] = []
    if actor.is_admin:
        rows.append(
            [
                (
                    await context.label(update, "broadcasts.audience_all"),
                    callbacks.pack("bc", "aud", "all"),
                )
            ]
        )
        rows.append(
            [
                (
                    await context.label(update, "broadcasts.audience_units"),
                    callbacks.pack("bc", "aud", "units"),
                )
            ]
        )
        rows.append(
            [
                (
                    await context.label(update, "broadcasts.audience_cadres"),
                    callbacks.pack("bc", "aud", "cadres"),
                )
            ]
        )
    else:
        rows.append(
            [
                (
                    await context.label(update, "broadcasts.audience_my_unit"),
                    callbacks.pack("bc", "aud", "mine"),
                )
            ]
        )
    rows.append(
        [
            (
                await context.label(update, "broadcasts.audience_activity"),
                callbacks.pack("bc", "aud", "act"),
            )
        ]
    )
    await say(update, context, "broadcasts.ask_audience", reply_markup=inline(rows))


async def _show_unit_choice(
    update: Update, context: BotContext, state: FlowState, page: int
) -> None:
    chosen = set(state.data.get("units", []))
    units = await context.services.units.all()
    pages = max(1, -(-len(units) // UNITS_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    # Each unit's button says whether it adds (1) or removes (0) the unit, as its tick shows:
    # a double tap or an older copy of this list cannot flip a choice back.
    rows = [
        [
            (
                ("✓ " if u.id in chosen else "") + u.name,
                callbacks.pack("bc", "unit", u.id, page, 0 if u.id in chosen else 1),
            )
        ]
        for u in units[page * UNITS_PER_PAGE : (page + 1) * UNITS_PER_PAGE]
    ]
    nav = await page_row(update, context, page, pages, lambda n: callbacks.pack("bc", "upage", n))
    if nav:
        rows.append(nav)
    rows.append(
        [
            (
                await context.label(update, "broadcasts.units_done", count=len(chosen)),
                callbacks.pack("bc", "udone"),
            )
        ]
    )
    await edit_or_send(update, context, "broadcasts.pick_units", reply_markup=inline(rows))


async def _show_activity_choice(update: Update, context: BotContext, actor: Actor) -> None:
    unit_id = None if actor.is_admin else actor.cadre_unit_id
    choices = await context.services.broadcasts.activities_for_audience(unit_id)
    if not choices:
        await edit_or_send(update, context, "broadcasts.no_activities")
        return
    rows = [[(title, callbacks.pack("bc", "act", activity_id))] for activity_id, title in choices]
    await edit_or_send(update, context, "broadcasts.pick_activity", reply_markup=inline(rows))


def _audience_of(state: FlowState) -> Audience:
    kind = AudienceKind(state.data["audience"])
    return Audience(
        kind,
        unit_ids=tuple(int(u) for u in state.data.get("units", [])),
        activity_id=state.data.get("activity_id"),
    )


async def _preview(update: Update, context: BotContext, state: FlowState) -> None:
    """Exactly what members will see, then the exact audience count and the choices."""
    actor = await context.actor(update)
    chat = update.effective_chat
    assert chat is not None
    services = context.services
    audience = _audience_of(state)
    activity_unit = await services.broadcasts.activity_unit(audience.activity_id)
    try:
        count = await services.broadcasts.audience_size(actor, audience, activity_unit)
    except NotAllowed as exc:
        await say(update, context, exc.reason)
        return
    content = _content_of(state)
    language = await context.language(update)
    await say(update, context, "broadcasts.preview_intro")
    await send_preview(
        context.bot,
        chat.id,
        content,
        render_markup(content, language, services.catalogue, context.bot.username),
    )
    rows = [
        [(await context.label(update, "broadcasts.send_now"), callbacks.pack("bc", "send"))],
        [(await context.label(update, "broadcasts.schedule"), callbacks.pack("bc", "sched"))],
        [
            (await context.label(update, "broadcasts.edit"), callbacks.pack("bc", "edit")),
            (await context.label(update, "broadcasts.discard"), callbacks.pack("bc", "discard")),
        ],
    ]
    await say(update, context, "broadcasts.preview_count", reply_markup=inline(rows), count=count)


def _content_of(state: FlowState) -> BroadcastContent:
    return BroadcastContent(
        text_html=str(state.data["text"]),
        media_kind=state.data.get("media_kind"),
        media_file_id=state.data.get("media_file_id"),
        activity_id=state.data.get("activity_id") if state.data.get("button") else None,
    )


async def _create(
    update: Update, context: BotContext, state: FlowState, scheduled_at: datetime | None
) -> None:
    actor = await context.actor(update)
    chat = update.effective_chat
    user = update.effective_user
    assert chat is not None and user is not None
    services = context.services
    audience = _audience_of(state)
    try:
        broadcast = await services.broadcasts.create(
            actor,
            _content_of(state),
            audience,
            activity_unit_id=await services.broadcasts.activity_unit(audience.activity_id),
            scheduled_at=scheduled_at,
            progress_chat_id=chat.id,
        )
    except NotAllowed as exc:
        await say(update, context, exc.reason)
        return
    except InvalidInput as exc:
        await say(update, context, exc.key, **exc.params)
        return
    await services.flows.clear(user.id)
    language = await context.language(update)
    if scheduled_at is not None:
        await say(
            update,
            context,
            "broadcasts.scheduled",
            reply_markup=control_markup(services.catalogue, language, broadcast),
            id=broadcast.id,
            time=scheduled_at.astimezone(services.config.bot.tz).strftime(DATE_FORMAT),
        )
    else:
        counts = await services.broadcasts.counts(broadcast.id)
        message = await context.bot.send_message(
            chat.id,
            progress_text(services.catalogue, language, broadcast, counts, None, final=False),
            reply_markup=control_markup(services.catalogue, language, broadcast),
        )
        await services.broadcasts.set_progress_message(broadcast.id, chat.id, message.message_id)
    sender = services.broadcasts.sender
    if sender is not None:
        sender.wake(broadcast.id)


async def on_schedule_time(update: Update, context: BotContext, state: FlowState) -> None:
    message = update.effective_message
    assert message is not None and message.text is not None
    tz = context.services.config.bot.tz
    try:
        local = datetime.strptime(" ".join(message.text.split()), DATE_FORMAT)
    except ValueError:
        await say(update, context, "broadcasts.schedule_format")
        return
    try:
        moment = context.services.broadcasts.check_schedule(local.replace(tzinfo=tz))
    except InvalidInput as exc:
        await say(update, context, exc.key, **exc.params)
        return
    await _create(update, context, state, moment)


async def on_callback(update: Update, context: BotContext) -> None:
    parsed = callbacks.parse(update.callback_query.data if update.callback_query else None)
    user = update.effective_user
    actor = await _sender_or_refuse(update, context)
    if actor is None or user is None:
        return
    if parsed is None:
        await answer(update, context, "common.button_expired")
        return
    services = context.services
    if parsed.action in ("pause", "resume", "cancel"):
        await _control(update, context, actor, parsed)
        return
    state = await services.flows.get(user.id)
    if state is None or state.flow != FLOW:
        await answer(update, context, "common.button_expired")
        return
    await answer(update, context)
    if parsed.action == "aud" and state.step == "audience":
        choice = parsed.arg()
        if choice == "all" and actor.is_admin:
            await _preview(
                update,
                context,
                await services.flows.move(user.id, state, "preview", audience="all", units=[]),
            )
        elif choice == "cadres" and actor.is_admin:
            await _preview(
                update,
                context,
                await services.flows.move(user.id, state, "preview", audience="cadres", units=[]),
            )
        elif choice == "mine" and actor.is_cadre:
            await _preview(
                update,
                context,
                await services.flows.move(
                    user.id, state, "preview", audience="units", units=[actor.cadre_unit_id]
                ),
            )
        elif choice == "units" and actor.is_admin:
            await _show_unit_choice(
                update, context, await services.flows.move(user.id, state, "units", units=[]), 0
            )
        elif choice == "act":
            await services.flows.move(user.id, state, "activity")
            await _show_activity_choice(update, context, actor)
        else:  # a choice this role does not have (a forged press): keep the real choices
            await say(update, context, "access.denied")
    elif parsed.action in ("unit", "upage") and state.step == "units" and actor.is_admin:
        page = parsed.int_arg(1 if parsed.action == "unit" else 0) or 0
        if parsed.action == "unit":
            unit_id = parsed.int_arg()
            if unit_id is None or await services.units.get(unit_id) is None:
                return
            chosen = set(state.data.get("units", []))
            if parsed.arg(2) == "1":
                chosen.add(unit_id)
            elif parsed.arg(2) == "0":
                chosen.discard(unit_id)
            # (a button without that argument, drawn before, only redraws the list)
            state = await services.flows.move(user.id, state, "units", units=sorted(chosen))
        await _show_unit_choice(update, context, state, page)
    elif parsed.action == "udone" and state.step == "units":
        if not state.data.get("units"):
            await say(update, context, "broadcasts.pick_at_least_one")
            return
        await _preview(
            update, context, await services.flows.move(user.id, state, "preview", audience="units")
        )
    elif parsed.action == "act" and state.step == "activity":
        activity_id = parsed.int_arg()
        unit_of_activity = await services.broadcasts.activity_unit(activity_id)
        if activity_id is None or unit_of_activity is None:
            await edit_or_send(update, context, "common.button_expired")
            return
        if not actor.is_admin and unit_of_activity != actor.cadre_unit_id:
            await edit_or_send(update, context, "access.denied")
            return
        state = await services.flows.move(
            user.id, state, "button", audience="activity", activity_id=activity_id, units=[]
        )
        rows = [
            [
                (await context.label(update, "common.yes"), callbacks.pack("bc", "btn", "y")),
                (await context.label(update, "common.no"), callbacks.pack("bc", "btn", "n")),
            ]
        ]
        await edit_or_send(update, context, "broadcasts.ask_button", reply_markup=inline(rows))
    elif parsed.action == "btn" and state.step == "button":
        await _preview(
            update,
            context,
            await services.flows.move(user.id, state, "preview", button=parsed.arg() == "y"),
        )
    elif parsed.action == "send" and state.step == "preview":
        await _create(update, context, state, None)
    elif parsed.action == "sched" and state.step == "preview":
        await services.flows.move(user.id, state, "schedule")
        await say(update, context, "broadcasts.ask_schedule")
    elif parsed.action == "edit" and state.step == "preview":
        await services.flows.start(user.id, FLOW, "text")
        await say(update, context, "broadcasts.ask_text")
    elif parsed.action == "discard" and state.step in ("preview", "schedule"):
        await services.flows.clear(user.id)
        await edit_or_send(update, context, "broadcasts.discarded")
    else:
        await say(update, context, "common.button_expired")


async def _control(
    update: Update, context: BotContext, actor: Actor, parsed: callbacks.Callback
) -> None:
    """Pause, resume or cancel from the progress message, which is then redrawn from the
    broadcast's current state: a refused press (an old copy, another admin was faster) leaves
    it showing only the buttons that still apply."""
    services = context.services
    broadcast_id = parsed.int_arg()
    try:
        if broadcast_id is None:
            raise InvalidInput("broadcasts.not_found")
        broadcast = await services.broadcasts.control(actor, broadcast_id, parsed.action)
    except NotAllowed as exc:
        await answer(update, context, exc.reason, alert=True)
        return
    except InvalidInput as exc:
        await answer(update, context, exc.key, alert=True)
        current = await services.broadcasts.get(broadcast_id) if broadcast_id else None
        if current is None:
            return
        broadcast = current
    else:
        done_key = {"pause": "paused", "resume": "resumed", "cancel": "cancelled"}[parsed.action]
        await answer(update, context, f"broadcasts.{done_key}")
    counts = await services.broadcasts.counts(broadcast.id)
    language = await context.language(update)
    query = update.callback_query
    if query is not None and isinstance(query.message, Message):
        try:
            await query.message.edit_text(
                progress_text(services.catalogue, language, broadcast, counts, None, final=False),
                reply_markup=control_markup(services.catalogue, language, broadcast),
            )
        except BadRequest as exc:
            if "not modified" not in exc.message:
                raise


async def list_broadcasts(update: Update, context: BotContext) -> None:
    actor = await _sender_or_refuse(update, context)
    if actor is None:
        return
    services = context.services
    language = await context.language(update)
    recent = await services.broadcasts.recent(actor)
    if not recent:
        await say(update, context, "broadcasts.none_yet")
        return
    await say(update, context, "broadcasts.list_title")
    for broadcast in recent:
        counts = await services.broadcasts.counts(broadcast.id)
        await context.bot.send_message(
            update.effective_chat.id if update.effective_chat else actor.telegram_id or 0,
            progress_text(services.catalogue, language, broadcast, counts, None, final=True),
            reply_markup=control_markup(services.catalogue, language, broadcast),
        )


def register(app: Application, router: Router) -> None:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("broadcast", start_compose, filters=private))
    app.add_handler(CommandHandler("broadcasts", list_broadcasts, filters=private))
    app.add_handler(CallbackQueryHandler(on_callback, pattern=r"^bc:"))
    router.text_steps[(FLOW, "text")] = on_text
    router.file_steps[(FLOW, "text")] = on_file
    router.text_steps[(FLOW, "schedule")] = on_schedule_time
