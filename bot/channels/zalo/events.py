"""Zalo Bot Platform events (one per webhook POST or getUpdates answer) as plain values.

:func:`parse_event` never raises: anything it cannot read as one of the documented events
becomes a :class:`ZaloEvent` of kind ``UNKNOWN``, so a change on Zalo's side costs a reply, not
a crash. Field names follow the platform's docs; a few seen in other clients are read too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

__all__ = ["ZaloEvent", "ZaloEventKind", "parse_event", "zalo_time"]


class ZaloEventKind(StrEnum):
    """The documented ``event_name`` values, plus UNKNOWN for anything else."""

    TEXT = "message.text.received"
    IMAGE = "message.image.received"
    STICKER = "message.sticker.received"
    VOICE = "message.voice.received"
    # Sent instead of the content when the sender is a protected user (children, people with
    # disabilities, people who cannot read): no text, no media; answer kindly.
    UNSUPPORTED = "message.unsupported.received"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class ZaloEvent:
    """One event from Zalo. Ids are Zalo's strings; reply to ``chat_id``."""

    kind: ZaloEventKind
    event_name: str = ""  # as received, also for UNKNOWN
    user_id: str = ""
    display_name: str = ""
    is_bot: bool = False
    chat_id: str = ""
    chat_type: str = ""  # "PRIVATE" (groups are announced as "GROUP")
    message_id: str = ""
    date: dt.datetime | None = None  # aware, UTC
    text: str | None = None
    photo_url: str | None = None
    caption: str | None = None
    sticker: str | None = None
    sticker_url: str | None = None
    voice_url: str | None = None


_KINDS = {kind.value: kind for kind in ZaloEventKind if kind is not ZaloEventKind.UNKNOWN}


def parse_event(data: object) -> ZaloEvent:
    """The event in ``data``: a bare event, or one wrapped as ``{"ok": true, "result": …}``
    (getUpdates answers and webhook bodies both come wrapped)."""
    if isinstance(data, dict) and "event_name" not in data and isinstance(data.get("result"), dict):
        data = data["result"]
    if not isinstance(data, dict):
        return ZaloEvent(ZaloEventKind.UNKNOWN)
    event_name = _text(data.get("event_name")) or ""
    message = data.get("message")
    if not isinstance(message, dict):
        return ZaloEvent(ZaloEventKind.UNKNOWN, event_name)
    sender = _object(message.get("from"))
    chat = _object(message.get("chat"))
    user_id = _identifier(sender.get("id"))
    chat_id = _identifier(chat.get("id")) or (user_id if _is_private(chat) else "")
    text = _text(message.get("text"))
    photo_url = _text(message.get("photo")) or _text(message.get("photo_url"))
    kind = _KINDS.get(event_name, ZaloEventKind.UNKNOWN)
    # An event the bot cannot answer, or that lacks what its name promises, is UNKNOWN.
    if (
        not chat_id
        or (kind is ZaloEventKind.TEXT and text is None)
        or (kind is ZaloEventKind.IMAGE and not photo_url)
    ):
        kind = ZaloEventKind.UNKNOWN
    url = _text(message.get("url"))
    return ZaloEvent(
        kind=kind,
        event_name=event_name,
        user_id=user_id,
        display_name=_text(sender.get("display_name")) or _text(sender.get("name")) or "",
        is_bot=sender.get("is_bot") is True,
        chat_id=chat_id,
        chat_type=_text(chat.get("chat_type")) or "",
        message_id=_identifier(message.get("message_id")),
        date=zalo_time(message.get("date")),
        text=text,
        photo_url=photo_url,
        caption=_text(message.get("caption")),
        sticker=_text(message.get("sticker")),
        sticker_url=url if kind is ZaloEventKind.STICKER else None,
        voice_url=(_text(message.get("voice")) or url) if kind is ZaloEventKind.VOICE else None,
    )


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _identifier(value: Any) -> str:
    # Zalo's ids are strings; a number is read as its digits rather than dropped.
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ""


def _is_private(chat: dict[str, Any]) -> bool:
    return chat.get("chat_type") in (None, "PRIVATE")


def zalo_time(value: Any) -> dt.datetime | None:
    """A Zalo timestamp (``date``, ``updated_at``: milliseconds since the epoch) as an aware
    UTC datetime; None for anything else."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None
