"""The test-client side of the Zalo emulator: a Zalo user who writes to the bot and reads replies.

A test holds a :class:`ZaloUser` (``emulator.zalo_user("6ede9afa66b88fe6d6a9")``), sends texts,
images, stickers and voice notes as Zalo events, and waits on what the bot sent back. Waiting is
event driven, as for :class:`bot.emulator.EmulatedUser`: every change wakes this user's waiters.
In a private chat Zalo's ``chat.id`` is the user's id, so both are the same string here.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.emulator.zalo_models import ZaloBotMessage

if TYPE_CHECKING:
    from bot.emulator.zalo import ZaloEmulator

__all__ = ["ZaloUser"]

_DUMP_LINES = 15
DEFAULT_STICKER = "bfe458bf64fa8da4d4eb"  # any id from stickers.zaloapp.com looks like this


class ZaloUser:
    """A Zalo user and their private chat with the bot (chat id == user id)."""

    def __init__(self, emu: ZaloEmulator, user_id: str, *, display_name: str) -> None:
        self._emu = emu
        self.user_id = user_id
        self.display_name = display_name
        # Zalo lets a bot message only people who have messaged it: set by the first event.
        self.interacted = False
        self.blocked = False
        self.last_chat_action: str | None = None
        self.sent_events: list[dict[str, Any]] = []  # what this user sent, oldest first
        self._bot_messages: list[ZaloBotMessage] = []
        self._cursor = 0
        self._event: asyncio.Event | None = None
        # Change log for the web chat's long-poll: ("bot"|"user", index into its list).
        self.log: list[tuple[str, int]] = []
        # Accepted sends of the last second, only kept while a per-chat limit is set.
        self.send_window: deque[float] = deque()

    def __repr__(self) -> str:
        return f"ZaloUser({self.user_id!r}, {self.display_name!r})"

    @property
    def chat_id(self) -> str:
        return self.user_id

    # -- what the emulator calls ---------------------------------------------------------------
    def add_bot_message(self, message: ZaloBotMessage) -> None:
        self._bot_messages.append(message)
        self._changed("bot", len(self._bot_messages) - 1)

    def chat_action(self, action: str) -> None:
        self.last_chat_action = action
        self._emu.touch()

    def _changed(self, kind: str, index: int) -> None:
        self.log.append((kind, index))
        self.wake()
        self._emu.touch()

    def wake(self) -> None:
        event = self._event
        if event is not None:
            self._event = None
            event.set()

    async def wait_change(self, seconds: float) -> bool:
        """Wait until this chat changes or ``seconds`` pass; False when they passed."""
        if seconds <= 0:
            return False
        if self._event is None:
            self._event = asyncio.Event()
        try:
            await asyncio.wait_for(self._event.wait(), seconds)
        except TimeoutError:
            return False
        return True

    # -- reading what the bot sent -------------------------------------------------------------
    @property
    def messages(self) -> list[ZaloBotMessage]:
        """The bot's messages to this user, oldest first."""
        return list(self._bot_messages)

    @property
    def last_message(self) -> ZaloBotMessage | None:
        return self._bot_messages[-1] if self._bot_messages else None

    def bot_message_at(self, index: int) -> ZaloBotMessage:
        return self._bot_messages[index]

    async def next_message(self, timeout: float = 5.0) -> ZaloBotMessage:  # noqa: ASYNC109
        """The next bot message not yet returned by this method."""
        deadline = time.monotonic() + timeout
        while self._cursor >= len(self._bot_messages):
            if not await self.wait_change(deadline - time.monotonic()):
                raise TimeoutError(
                    f"No new bot message to Zalo user {self.user_id} within {timeout}s.\n"
                    f"{self.dump()}"
                )
        message = self._bot_messages[self._cursor]
        self._cursor += 1
        return message

    def skip_pending(self) -> None:
        """Mark every message so far as seen by :meth:`next_message`."""
        self._cursor = len(self._bot_messages)

    async def wait_for(
        self,
        predicate: Callable[[ZaloBotMessage], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> ZaloBotMessage:
        """Wait until some bot message satisfies ``predicate``; the newest match wins."""
        deadline = time.monotonic() + timeout
        checked = 0
        while True:
            # Messages never change once sent, so only the new ones need a look.
            for message in reversed(self._bot_messages[checked:]):
                if predicate(message):
                    return message
            checked = len(self._bot_messages)
            if not await self.wait_change(deadline - time.monotonic()):
                raise TimeoutError(
                    f"No bot message to Zalo user {self.user_id} matched within {timeout}s.\n"
                    f"{self.dump()}"
                )

    def dump(self) -> str:
        """The recent conversation, for failure messages."""
        lines: list[str] = []
        for kind, index in self.log:
            if kind == "bot":
                lines.append("  " + self._bot_messages[index].describe())
            else:
                lines.append("  " + _describe_event(self.display_name, self.sent_events[index]))
        shown = lines[-_DUMP_LINES:]
        header = f"Zalo chat {self.user_id} ({len(lines)} messages, last {len(shown)}):"
        return "\n".join([header, *shown]) if shown else header + " empty"

    # -- the user sends ------------------------------------------------------------------------
    def block(self) -> None:
        """The user blocks the bot: sends to them now fail (403, a guess: see the emulator)."""
        self.blocked = True

    def unblock(self) -> None:
        self.blocked = False

    async def send(self, text: str) -> dict[str, Any]:
        """Type a text (e.g. "1" for the first numbered choice). Returns the event sent."""
        return self._post("message.text.received", {"text": text})

    async def send_image(
        self,
        image: bytes | str,
        caption: str | None = None,
        *,
        content_type: str = "image/jpeg",
    ) -> dict[str, Any]:
        """Send a photo: bytes are hosted at the emulator's own URL (like Zalo's CDN) and the
        event carries that URL; a string is taken as the photo's URL as it is."""
        url = image if isinstance(image, str) else self._emu.host_media(image, content_type).url
        fields: dict[str, Any] = {"photo": url}
        if caption is not None:
            fields["caption"] = caption
        return self._post("message.image.received", fields)

    async def send_sticker(
        self, sticker: str = DEFAULT_STICKER, url: str | None = None
    ) -> dict[str, Any]:
        """Send a sticker: its id, and the URL of its picture as Zalo adds it (by default an
        address on the emulator, where no picture is hosted)."""
        picture = url or f"{self._emu.cdn_base_url}/sticker-{sticker}.webp"
        return self._post("message.sticker.received", {"sticker": sticker, "url": picture})

    async def send_voice(self, voice: bytes | str | None = None) -> dict[str, Any]:
        """Send a voice note. The event's fields for voice are not documented; the emulator
        puts the recording's URL in ``url`` as stickers do (a guess)."""
        if isinstance(voice, str):
            url = voice
        else:
            url = self._emu.host_media(voice or b"\xff\xf1", "audio/aac").url
        return self._post("message.voice.received", {"url": url})

    async def send_unsupported(self) -> dict[str, Any]:
        """What Zalo sends instead of the content when the sender is a protected user
        (a child, a person with a disability, someone who cannot read): no content at all."""
        return self._post("message.unsupported.received", {})

    def _post(self, event_name: str, fields: dict[str, Any]) -> dict[str, Any]:
        message: dict[str, Any] = {
            "from": {"id": self.user_id, "display_name": self.display_name, "is_bot": False},
            "chat": {"id": self.user_id, "chat_type": "PRIVATE"},
            **fields,
            "message_id": secrets.token_hex(10),
            "date": self._emu.now_ms(),
        }
        event = {"event_name": event_name, "message": message}
        self.interacted = True
        self.sent_events.append(event)
        self._changed("user", len(self.sent_events) - 1)
        self._emu.queue_event(event)
        return event


def _describe_event(name: str, event: dict[str, Any]) -> str:
    message = event.get("message", {})
    kind = str(event.get("event_name", "")).removeprefix("message.").removesuffix(".received")
    if kind == "text":
        return f"{name}: {message.get('text', '')}"
    if kind == "image":
        caption = f" {message['caption']}" if message.get("caption") else ""
        return f"{name}: [image {message.get('photo')}]{caption}"
    return f"{name}: [{kind}]"
