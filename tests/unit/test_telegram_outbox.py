"""Telegram's side of the outbox and of composing: a ``Reply`` becomes exactly the Bot API call
the outboxes sent before the views were written for every channel, and a typed message's
formatting arrives as HTML."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from telegram import Update

from bot.channels.telegram.conversation import read_update
from bot.channels.telegram.outbox import TelegramTransport, api_call
from bot.delivery import Delivered, Outcome
from bot.domain.broadcasts import (
    Audience,
    AudienceKind,
    Broadcast,
    BroadcastContent,
    BroadcastStatus,
    Recipient,
)
from bot.i18n import Catalogue
from handlers.dialog import Button, FileKind, Reply, Typed, Upload
from handlers.outbox_views import broadcast_reply

CATALOGUE = Catalogue.load()
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def test_a_text_reply_is_one_sendmessage_in_html_without_link_previews() -> None:
    reply = Reply("<b>Họp</b> &amp; vui", buttons=[[Button("🙋 Xem hoạt động", "act:v:12")]])
    assert api_call(7001, reply) == (
        "sendMessage",
        {
            "chat_id": 7001,
            "parse_mode": "HTML",
            "text": "<b>Họp</b> &amp; vui",
            "link_preview_options": {"is_disabled": True},
            "reply_markup": {
                "inline_keyboard": [[{"text": "🙋 Xem hoạt động", "callback_data": "act:v:12"}]]
            },
        },
    )
    assert api_call(7001, Reply("Chào")) == (
        "sendMessage",
        {
            "chat_id": 7001,
            "parse_mode": "HTML",
            "text": "Chào",
            "link_preview_options": {"is_disabled": True},
        },
    )


def test_an_announcements_photo_or_file_goes_by_its_telegram_file_id() -> None:
    photo = broadcast_reply(
        BroadcastContent("Ảnh <i>tuần qua</i>", media_kind="photo", media_file_id="AgAC"),
        "vi",
        CATALOGUE,
    )
    assert api_call(7001, photo, paid=True) == (
        "sendPhoto",
        {
            "chat_id": 7001,
            "parse_mode": "HTML",
            "photo": "AgAC",
            "caption": "Ảnh <i>tuần qua</i>",
            "allow_paid_broadcast": True,
        },
    )
    document = broadcast_reply(
        BroadcastContent("Kế hoạch", media_kind="document", media_file_id="BQAC"), "en", CATALOGUE
    )
    assert api_call(7002, document) == (
        "sendDocument",
        {"chat_id": 7002, "parse_mode": "HTML", "document": "BQAC", "caption": "Kế hoạch"},
    )


@dataclass
class RecordingApi:
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    async def send(self, method: str, payload: dict[str, Any]) -> Outcome:
        self.calls.append((method, payload))
        return Delivered(len(self.calls))


async def test_each_recipient_gets_the_announcement_in_their_language() -> None:
    api = RecordingApi()
    transport = TelegramTransport(api, CATALOGUE, paid=False)  # type: ignore[arg-type]
    broadcast = Broadcast(
        1,
        3,
        None,
        BroadcastContent("Nhớ mang căn cước", activity_id=12),
        Audience(AudienceKind.ALL),
        BroadcastStatus.SENDING,
        None,
        NOW,
        NOW,
        None,
        3,
        None,
        None,
    )
    for member_id, (telegram_id, language) in enumerate(
        [(7001, "vi"), (7002, "en"), (7003, "vi")], start=1
    ):
        outcome = await transport.deliver(
            broadcast, Recipient(1, member_id, telegram_id, language, 0)
        )
        assert outcome == Delivered(member_id)
    assert [(p["chat_id"], p["reply_markup"]["inline_keyboard"]) for _, p in api.calls] == [
        (7001, [[{"text": "🙋 Xem hoạt động", "callback_data": "act:v:12"}]]),
        (7002, [[{"text": "🙋 See the activity", "callback_data": "act:v:12"}]]),
        (7003, [[{"text": "🙋 Xem hoạt động", "callback_data": "act:v:12"}]]),
    ]
    assert {method for method, _ in api.calls} == {"sendMessage"}


def update(message: dict[str, Any]) -> Update:
    user = {"id": 7001, "is_bot": False, "first_name": "An"}
    chat = {"id": 7001, "type": "private"}
    fields = {"message_id": 5, "date": 0, "chat": chat, "from": user, **message}
    return Update.de_json({"update_id": 1, "message": fields}, None)


def test_telegram_formatting_arrives_as_html_and_hand_typed_html_as_typed() -> None:
    bold = update(
        {
            "text": "Họp lúc 8 giờ & đúng giờ",
            "entities": [{"type": "bold", "offset": 0, "length": 3}],
        }
    )
    read = read_update(bold)
    assert read is not None
    assert read[1] == Typed("Họp lúc 8 giờ & đúng giờ", "<b>Họp</b> lúc 8 giờ &amp; đúng giờ")
    typed = read_update(update({"text": "<b>Họp</b> lúc 8 giờ &amp; đúng giờ"}))
    assert typed is not None
    assert typed[1] == Typed(
        "<b>Họp</b> lúc 8 giờ &amp; đúng giờ", "<b>Họp</b> lúc 8 giờ &amp; đúng giờ"
    )


def test_a_photos_formatted_caption_arrives_as_html() -> None:
    photo = update(
        {
            "photo": [{"file_id": "AgAC", "file_unique_id": "u1", "width": 1, "height": 1}],
            "caption": "Ảnh tuần qua",
            "caption_entities": [{"type": "italic", "offset": 4, "length": 8}],
        }
    )
    read = read_update(photo)
    assert read is not None
    upload = read[1]
    assert isinstance(upload, Upload) and upload.kind is FileKind.PHOTO
    assert (upload.file.ref, upload.caption, upload.caption_html) == (
        "AgAC",
        "Ảnh tuần qua",
        "Ảnh <i>tuần qua</i>",
    )
