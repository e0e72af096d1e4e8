"""Reminders on Telegram: rendering each due message, and the two buttons under a reminder
("I'll be there" / "Can't make it — cancel"), which reuse the activity service."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import Application, CallbackQueryHandler

from bot.clock import Clock
from bot.delivery import Outcome
from bot.domain.errors import InvalidInput, NotAllowed
from bot.figures import format_figure, person_days
from bot.i18n import Catalogue
from bot.reminders import DIGEST, REMINDER, THANK_YOU, DueMessage
from handlers import callbacks
from handlers.activities import tell_promoted
from handlers.bulk_api import BulkBotApi
from handlers.context import BotContext
from handlers.ui import answer, edit_or_send


def render(
    message: DueMessage, catalogue: Catalogue, tz: Any, hours_per_day: float, now: datetime
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The text and buttons of one due message, in the addressee's language."""
    language = message.to.language
    activity = message.activity
    start = activity.starts_at.astimezone(tz)
    if message.key.kind == REMINDER:
        text = catalogue.text(
            language,
            "reminders.before_start",
            title=activity.title,
            time=start.strftime("%H:%M"),
            date=start.strftime("%d/%m/%Y"),
            place=activity.place,
            left=_time_left(catalogue, language, activity.starts_at - now),
        )
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        catalogue.plain(language, "reminders.coming"),
                        callback_data=callbacks.pack("rm", "yes", activity.id),
                    )
                ],
                [
                    InlineKeyboardButton(
                        catalogue.plain(language, "reminders.cannot_come"),
                        callback_data=callbacks.pack("rm", "no", activity.id),
                    )
                ],
            ]
        )
        return text, markup
    if message.key.kind == DIGEST:
        deadline = activity.deadline_at.astimezone(tz)
        capacity = (
            str(activity.capacity)
            if activity.capacity is not None
            else catalogue.plain(language, "reminders.no_limit")
        )
        text = catalogue.text(
            language,
            "reminders.deadline_digest",
            title=activity.title,
            deadline=deadline.strftime("%H:%M %d/%m/%Y"),
            confirmed=message.confirmed,
            capacity=capacity,
            waitlisted=message.waitlisted,
        )
        markup = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton(
                        catalogue.plain(language, "reminders.see_list"),
                        callback_data=callbacks.pack("acm", "rl", activity.id, 0),
                    )
                ]
            ]
        )
        return text, markup
    assert message.key.kind == THANK_YOU
    credit = catalogue.plain(
        language,
        "activities.hours_value",
        hours=format_figure(message.hours_credited, language),
        days=format_figure(person_days(message.hours_credited, hours_per_day), language),
    )
    return catalogue.text(
        language, "activities.thank_you", title=activity.title, credit=credit
    ), None


def _time_left(catalogue: Catalogue, language: str, span: timedelta) -> str:
    """Rounded the way people say it: "còn 1 ngày", "còn 2 giờ", "còn 25 phút"."""
    minutes = max(1, round(span.total_seconds() / 60))
    if minutes >= 23 * 60:
        return catalogue.plain(language, "reminders.in_days", n=round(minutes / (24 * 60)))
    if minutes >= 60:
        return catalogue.plain(language, "reminders.in_hours", n=round(minutes / 60))
    return catalogue.plain(language, "reminders.in_minutes", n=minutes)


class TelegramReminderTransport:
    def __init__(
        self, api: BulkBotApi, catalogue: Catalogue, tz: Any, hours_per_day: float, clock: Clock
    ) -> None:
        self._api = api
        self._clock = clock
        self._catalogue = catalogue
        self._tz = tz
        self._hours_per_day = hours_per_day

    async def deliver(self, message: DueMessage) -> Outcome:
        text, markup = render(
            message, self._catalogue, self._tz, self._hours_per_day, self._clock.now()
        )
        payload: dict[str, Any] = {
            "chat_id": message.to.telegram_id,
            "text": text,
            "parse_mode": ParseMode.HTML.value,
            "link_preview_options": {"is_disabled": True},
        }
        if markup is not None:
            payload["reply_markup"] = markup.to_dict()
        return await self._api.send("sendMessage", payload)


async def on_callback(update: Update, context: BotContext) -> None:
    """The buttons under a reminder. Cancelling frees the seat and promotes the waitlist at
    once, through the same service call as cancelling from the activity card."""
    parsed = callbacks.parse(update.callback_query.data if update.callback_query else None)
    actor = await context.actor(update)
    activity_id = parsed.int_arg() if parsed else None
    if parsed is None or activity_id is None or parsed.action not in ("yes", "no"):
        await answer(update, context, "common.button_expired")
        return
    if actor.member is None:
        await answer(update, context, "access.not_member", alert=True)
        return
    if parsed.action == "yes":
        await answer(update, context, "reminders.see_you")
        await edit_or_send(update, context, "reminders.confirmed_coming")
        return
    try:
        result = await context.services.activities.cancel_registration(actor, activity_id)
    except (InvalidInput, NotAllowed) as exc:
        key = exc.key if isinstance(exc, InvalidInput) else exc.reason
        await answer(update, context, key, alert=True)
        return
    await answer(update, context)
    await edit_or_send(update, context, "reminders.cancelled", title=result.activity.title)
    await tell_promoted(context, result.promoted)


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CallbackQueryHandler(on_callback, pattern=r"^rm:"))
