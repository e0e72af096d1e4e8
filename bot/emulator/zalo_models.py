"""Plain values the Zalo emulator records: the bot's messages, hosted images, webhook deliveries."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

__all__ = [
    "ZaloBotMessage",
    "ZaloMedia",
    "ZaloStats",
    "ZaloWebhookDelivery",
]


@dataclass(frozen=True, slots=True)
class ZaloMedia:
    """A photo (or voice note) hosted by the emulator at its own URL, as Zalo's CDN hosts them.

    Both a user's uploaded photo and the copy of a photo the bot sent by URL end up here.
    """

    media_id: str
    path: str  # "/zalo/cdn/<media_id>.<ext>", relative to the emulator's address
    url: str  # the same, absolute
    content: bytes
    content_type: str
    source_url: str | None = None  # for a bot photo: the URL the bot gave to sendPhoto

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass(slots=True, eq=False)
class ZaloBotMessage:
    """One message the bot sent to a Zalo chat (Zalo has no edits or deletes)."""

    message_id: str
    chat_id: str
    date: int  # milliseconds, as Zalo's answers carry it
    kind: str  # "text", "photo" or "sticker"
    sent_at: float  # time.monotonic() when the emulator accepted it: per-chat spacing in benches
    text: str = ""
    parse_mode: str | None = None
    photo_url: str | None = None  # the URL the bot sent
    photo: ZaloMedia | None = None  # what the emulator fetched from it
    caption: str | None = None
    sticker: str | None = None

    @property
    def content(self) -> str:
        """The text, or a photo's caption: what a reader sees."""
        return self.text or self.caption or ""

    def describe(self) -> str:
        """One line for failure dumps."""
        body = self.content.replace("\n", "⏎ ")
        if self.kind == "photo":
            body = f"[photo {self.photo_url}] {body}"
        elif self.kind == "sticker":
            body = f"[sticker {self.sticker}]"
        return f"bot {self.message_id}: {body}"


@dataclass(frozen=True, slots=True)
class ZaloWebhookDelivery:
    """One webhook POST of one event and how the bot's server answered it.

    ``status`` is the HTTP status the bot answered (e.g. 403 for a wrong secret), None when the
    request did not get an answer; ``error`` then says why.
    """

    sequence: int  # the event's order of arrival at the emulator, from 1
    message_id: str | None
    event_name: str
    status: int | None
    error: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(slots=True)
class ZaloStats:
    """Counters for benchmarks and assertions; plain ints so reading them is free."""

    sent_messages: int = 0  # accepted sends of any kind (text, photo, sticker)
    sent_photos: int = 0
    sent_stickers: int = 0
    chat_actions: int = 0
    rate_limited: int = 0  # every 429 answered, injected or from the configured limits
    injected_failures: int = 0  # the part of rate_limited that fail_next/fail_fraction made
    events_queued: int = 0
    events_polled: int = 0  # handed out by getUpdates
    events_lost: int = 0  # dropped because nobody was polling (drop_unpolled_events)
    webhook_deliveries: int = 0  # POSTs the bot answered with 2xx
    webhook_failures: int = 0  # POSTs answered otherwise, or not answered
    method_calls: Counter[str] = field(default_factory=Counter)
