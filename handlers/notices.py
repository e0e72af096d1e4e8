"""Notices on Telegram: each pending notice (an activity changed, was cancelled, a seat from the
waitlist) rendered in its recipient's language at send time and sent through the bulk API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from telegram import InlineKeyboardMarkup
from telegram.constants import ParseMode

from bot.delivery import Outcome
from bot.domain.notices import Notice, NoticeKind
from bot.i18n import Catalogue, Raw
from handlers import callbacks
from handlers.bulk_api import BulkBotApi
from handlers.ui import inline


def when_text(
    catalogue: Catalogue, tz: Any, language: str, starts_at: datetime, ends_at: datetime
) -> str:
    """An activity's time as people read it: one day, or from one day to another."""
    start, end = starts_at.astimezone(tz), ends_at.astimezone(tz)
    if start.date() == end.date():
        return catalogue.plain(
            language,
            "activities.when_same_day",
            start=start.strftime("%H:%M"),
            end=end.strftime("%H:%M"),
            date=start.strftime("%d/%m/%Y"),
        )
    return catalogue.plain(
        language,
        "activities.when_days",
        start=start.strftime("%H:%M %d/%m/%Y"),
        end=end.strftime("%H:%M %d/%m/%Y"),
    )


def render_notice(
    notice: Notice, catalogue: Catalogue, tz: Any
) -> tuple[str, InlineKeyboardMarkup | None]:
    language = notice.language
    now = notice.activity

    def when(facts: Any) -> str:
        return when_text(catalogue, tz, language, facts.starts_at, facts.ends_at)

    if notice.kind is NoticeKind.CANCELLED:
        text = catalogue.text(
            language, "activities.cancelled_notice", title=now.title, when=when(now)
        )
        return text, None
    if notice.kind is NoticeKind.PROMOTED:
        text = catalogue.text(
            language, "activities.promoted", title=now.title, when=when(now), place=now.place
        )
        markup = inline(
            [
                [
                    (
                        catalogue.plain(language, "activities.button_cancel"),
                        callbacks.pack("act", "can", notice.activity_id),
                    )
                ]
            ]
        )
        return text, markup
    # What this edit changed (a later edit has a notice of its own), under today's title.
    before, after = notice.before or now, notice.after or now
    changes: list[str] = []
    if (before.starts_at, before.ends_at) != (after.starts_at, after.ends_at):
        changes.append(
            catalogue.text(language, "activities.change_time", old=when(before), new=when(after))
        )
    if before.place != after.place:
        changes.append(
            catalogue.text(language, "activities.change_place", old=before.place, new=after.place)
        )
    if notice.description_changed:
        changes.append(catalogue.text(language, "activities.change_description"))
    text = catalogue.text(
        language, "activities.changed_notice", title=now.title, changes=Raw("\n".join(changes))
    )
    return text, None


class TelegramNoticeTransport:
    def __init__(self, api: BulkBotApi, catalogue: Catalogue, tz: Any) -> None:
        self._api = api
        self._catalogue = catalogue
        self._tz = tz

    async def deliver(self, notice: Notice) -> Outcome:
        text, markup = render_notice(notice, self._catalogue, self._tz)
        payload: dict[str, Any] = {
            "chat_id": notice.telegram_id,
            "text": text,
            "parse_mode": ParseMode.HTML.value,
            "link_preview_options": {"is_disabled": True},
        }
        if markup is not None:
            payload["reply_markup"] = markup.to_dict()
        return await self._api.send("sendMessage", payload)
