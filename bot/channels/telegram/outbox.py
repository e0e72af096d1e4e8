"""The outboxes on Telegram: announcements, reminders and notices rendered from their
channel-neutral ``Reply`` (``handlers.outbox_views``) into Bot API calls sent through the bulk
client at the courier's pace, and a broadcast's live progress kept current in its author's
chat (edited in place, then a final report)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import tzinfo
from typing import Any

from telegram.constants import ParseMode
from telegram.error import BadRequest, TelegramError
from telegram.ext import ExtBot

from bot.channels.telegram.bulk_api import BulkBotApi
from bot.channels.telegram.conversation import inline_markup
from bot.clock import Clock
from bot.delivery import Failed, Outcome
from bot.domain.broadcasts import Broadcast, DeliveryCounts, Recipient
from bot.domain.members import Channel, Member
from bot.domain.notices import Notice
from bot.i18n import Catalogue
from bot.reminders import DueMessage
from handlers.dialog import Attachment, Reply
from handlers.outbox_views import (
    author_not_allowed_reply,
    broadcast_reply,
    final_report_reply,
    notice_reply,
    progress_reply,
    reminder_reply,
)

log = logging.getLogger(__name__)


def api_call(chat_id: int, reply: Reply, *, paid: bool = False) -> tuple[str, dict[str, Any]]:
    """The Bot API method and parameters that send ``reply`` to ``chat_id``: one place, so an
    announcement's preview (sent through PTB from the same ``Reply``) is what members get."""
    payload: dict[str, Any] = {"chat_id": chat_id, "parse_mode": ParseMode.HTML.value}
    media = (
        ("sendPhoto", "photo", reply.photo)
        if reply.photo is not None
        else ("sendDocument", "document", reply.document)
        if reply.document is not None
        else None
    )
    if media is not None:
        method, field, attachment = media
        payload[field] = _file_id(attachment)
        payload["caption"] = reply.text
    else:
        method = "sendMessage"
        payload["text"] = reply.text
        payload["link_preview_options"] = {"is_disabled": True}
    markup = inline_markup(reply.buttons)
    if markup is not None:
        payload["reply_markup"] = markup.to_dict()
    if paid:
        payload["allow_paid_broadcast"] = True
    return method, payload


def _file_id(attachment: Attachment) -> str:
    stored = attachment.stored
    if stored is None or stored.channel is not Channel.TELEGRAM:
        # The bulk client posts JSON: an outbox sends only files Telegram already keeps.
        raise ValueError("an outbox message carries only files stored on Telegram")
    return stored.ref


class TelegramTransport:
    """Sends one announcement to one recipient through the bulk API."""

    def __init__(self, api: BulkBotApi, catalogue: Catalogue, *, paid: bool) -> None:
        self._api = api
        self._catalogue = catalogue
        self._paid = paid
        # The call of a broadcast in one language, made once: thousands of recipients share it.
        self._calls: dict[tuple[int, str], tuple[str, dict[str, Any]]] = {}

    async def deliver(self, broadcast: Broadcast, recipient: Recipient) -> Outcome:
        key = (broadcast.id, recipient.language)
        call = self._calls.get(key)
        if call is None:
            if len(self._calls) > 64:
                self._calls.clear()
            reply = broadcast_reply(broadcast.content, recipient.language, self._catalogue)
            call = self._calls[key] = api_call(0, reply, paid=self._paid)
        method, payload = call
        return await self._api.send(method, {**payload, "chat_id": recipient.telegram_id})


class TelegramProgress:
    """Keeps the author's progress message current (edited in place) and sends the final
    report when a broadcast ends, through PTB's ``Bot`` (a few messages, at the author's
    chat's own pace)."""

    def __init__(
        self,
        bot: ExtBot[None],
        catalogue: Catalogue,
        author_of: Callable[[int], Awaitable[Member | None]],
        tz: tzinfo,
    ) -> None:
        self._bot = bot
        self._catalogue = catalogue
        self._author_of = author_of  # a member by id (a broadcast records its author's)
        self._tz = tz

    async def _language(self, author: Member | None) -> str:
        return author.language if author is not None else self._catalogue.default

    async def cancelled_by_bot(self, broadcast: Broadcast) -> None:
        """The author hears why their scheduled broadcast did not go out (if they can be
        reached: a blocked bot or an unknown chat is only logged)."""
        author = await self._author_of(broadcast.created_by)
        chat_id = broadcast.progress_chat_id or (author.telegram_id if author else None)
        if chat_id is None:
            log.info("the author of broadcast %s has no Telegram chat to be told in", broadcast.id)
            return
        reply = author_not_allowed_reply(
            self._catalogue, await self._language(author), broadcast, self._tz
        )
        try:
            await self._bot.send_message(chat_id, reply.text, parse_mode=ParseMode.HTML)
        except TelegramError as exc:
            log.info("could not tell a broadcast's author why it was cancelled: %s", exc)

    async def progress(
        self, broadcast: Broadcast, counts: DeliveryCounts, eta: float | None, *, final: bool
    ) -> None:
        chat_id = broadcast.progress_chat_id
        if chat_id is None:
            return
        language = await self._language(await self._author_of(broadcast.created_by))
        if broadcast.progress_message_id is not None:
            reply = progress_reply(self._catalogue, language, broadcast, counts, eta, final=final)
            try:
                await self._bot.edit_message_text(
                    reply.text,
                    chat_id=chat_id,
                    message_id=broadcast.progress_message_id,
                    parse_mode=ParseMode.HTML,
                    reply_markup=inline_markup(reply.buttons),
                )
            except BadRequest as exc:
                if "not modified" not in exc.message:
                    raise
        if final:
            report = final_report_reply(self._catalogue, language, broadcast, counts)
            await self._bot.send_message(chat_id, report.text, parse_mode=ParseMode.HTML)


class TelegramReminderTransport:
    """Sends one reminder, digest or thank-you through the bulk API."""

    def __init__(
        self, api: BulkBotApi, catalogue: Catalogue, tz: tzinfo, hours_per_day: float, clock: Clock
    ) -> None:
        self._api = api
        self._clock = clock
        self._catalogue = catalogue
        self._tz = tz
        self._hours_per_day = hours_per_day

    async def deliver(self, message: DueMessage) -> Outcome:
        reply = reminder_reply(
            message, self._catalogue, self._tz, self._hours_per_day, self._clock.now()
        )
        return await self._api.send(*api_call(message.to.telegram_id, reply))


class TelegramNoticeTransport:
    """Sends one notice (an activity changed, was cancelled, a seat) through the bulk API."""

    def __init__(self, api: BulkBotApi, catalogue: Catalogue, tz: tzinfo) -> None:
        self._api = api
        self._catalogue = catalogue
        self._tz = tz

    async def deliver(self, notice: Notice) -> Outcome:
        if notice.telegram_id is None:  # forgotten meanwhile: nowhere to send it
            return Failed("no Telegram account", retryable=False)
        reply = notice_reply(notice, self._catalogue, self._tz)
        return await self._api.send(*api_call(notice.telegram_id, reply))
