"""The test-client side of the emulator: users and groups that talk to the bot and watch replies.

A test holds an :class:`EmulatedUser` (its private chat with the bot has the same id) or an
:class:`EmulatedGroup`, sends messages/presses as updates, and waits on conditions over what the
bot sent. Waiting is event driven: every state change wakes the waiters of that chat.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.emulator.models import BotMessage, CallbackAnswer, KeyboardButton
from bot.telegram_html import utf16_len

if TYPE_CHECKING:
    from bot.emulator.server import BotApiEmulator

__all__ = ["EmulatedChat", "EmulatedGroup", "EmulatedUser"]

_COMMAND = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")
_DUMP_LINES = 15


def command_entities(text: str) -> list[dict[str, Any]]:
    """bot_command entities as Telegram's clients attach them (PTB's CommandHandler needs them)."""
    if "/" not in text:
        return []
    return [
        {"type": "bot_command", "offset": utf16_len(text[: m.start()]), "length": utf16_len(m[0])}
        for m in _COMMAND.finditer(text)
    ]


class EmulatedChat:
    """A chat with the bot: the bot's messages in it and ways to wait for them."""

    def __init__(
        self,
        emu: BotApiEmulator,
        chat_id: int,
        chat_type: str,
        *,
        title: str | None = None,
        username: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
    ) -> None:
        self._emu = emu
        self.id = chat_id
        self.type = chat_type
        self.title = title
        self.username = username
        self.first_name = first_name
        self.last_name = last_name
        self.blocked = False
        self.reply_keyboard: list[list[KeyboardButton]] | None = None
        self.last_chat_action: str | None = None
        self.menu_button: dict[str, Any] | None = None
        self._bot_messages: list[BotMessage] = []
        self._by_id: dict[int, BotMessage] = {}
        self._user_messages: dict[int, dict[str, Any]] = {}
        self._next_id = 1
        self._cursor = 0
        self._event: asyncio.Event | None = None
        # Change log for the web chat's long-poll: ("bot"|"user"|"answer", id).
        self.log: list[tuple[str, int]] = []
        self.send_times: list[float] = []

    # -- state, used by the server ---------------------------------------------------------
    def api_chat(self) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": self.id, "type": self.type}
        for key in ("title", "username", "first_name", "last_name"):
            value = getattr(self, key)
            if value:
                chat[key] = value
        return chat

    def allocate_message_id(self) -> int:
        # User and bot messages share one sequence per chat, as in Telegram.
        message_id = self._next_id
        self._next_id += 1
        return message_id

    def add_bot_message(self, message: BotMessage) -> None:
        self._bot_messages.append(message)
        self._by_id[message.message_id] = message
        self.changed("bot", message.message_id)

    def bot_message(self, message_id: int) -> BotMessage | None:
        return self._by_id.get(message_id)

    def user_message(self, message_id: int) -> dict[str, Any] | None:
        return self._user_messages.get(message_id)

    def forget_user_message(self, message_id: int) -> bool:
        return self._user_messages.pop(message_id, None) is not None

    def changed(self, kind: str, item_id: int) -> None:
        self.log.append((kind, item_id))
        event = self._event
        if event is not None:
            self._event = None
            event.set()
        self._emu.notify()

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

    # -- reading what the bot sent -----------------------------------------------------------
    @property
    def messages(self) -> list[BotMessage]:
        """The bot's messages in order, current state; deleted ones left out."""
        return [m for m in self._bot_messages if not m.deleted]

    @property
    def all_messages(self) -> list[BotMessage]:
        """Every bot message including deleted ones (flagged ``deleted``)."""
        return list(self._bot_messages)

    @property
    def last_message(self) -> BotMessage | None:
        for message in reversed(self._bot_messages):
            if not message.deleted:
                return message
        return None

    async def next_message(self, timeout: float = 5.0) -> BotMessage:  # noqa: ASYNC109
        """The next bot message not yet returned by this method (edits applied)."""
        deadline = time.monotonic() + timeout
        while self._cursor >= len(self._bot_messages):
            if not await self.wait_change(deadline - time.monotonic()):
                raise TimeoutError(
                    f"No new bot message in chat {self.id} within {timeout}s.\n{self.dump()}"
                )
        message = self._bot_messages[self._cursor]
        self._cursor += 1
        return message

    def skip_pending(self) -> None:
        """Mark every message so far as seen by :meth:`next_message`."""
        self._cursor = len(self._bot_messages)

    async def wait_for(
        self,
        predicate: Callable[[BotMessage], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> BotMessage:
        """Wait until some (non-deleted) bot message satisfies ``predicate``; newest wins."""
        deadline = time.monotonic() + timeout
        while True:
            for message in reversed(self._bot_messages):
                if not message.deleted and predicate(message):
                    return message
            if not await self.wait_change(deadline - time.monotonic()):
                raise TimeoutError(
                    f"No bot message in chat {self.id} matched within {timeout}s.\n{self.dump()}"
                )

    def dump(self) -> str:
        """The recent conversation, for failure messages."""
        lines: list[tuple[int, str]] = [(m.message_id, m.describe()) for m in self._bot_messages]
        for message_id, message in self._user_messages.items():
            sender = message.get("from", {}).get("first_name", "user")
            body = message.get("text") or message.get("caption") or _kind(message)
            lines.append((message_id, f"{sender} #{message_id}: {body}"))
        lines.sort()
        shown = [line for _, line in lines[-_DUMP_LINES:]]
        header = f"Chat {self.id} ({len(lines)} messages, last {len(shown)}):"
        return "\n".join([header, *("  " + line for line in shown)]) if shown else header + " empty"

    # -- sending as a user -------------------------------------------------------------------
    def _post(self, sender: EmulatedUser, fields: dict[str, Any]) -> dict[str, Any]:
        message_id = self.allocate_message_id()
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": sender.api_user(),
            "chat": self.api_chat(),
            "date": int(self._emu.now()),
        }
        message.update(fields)
        self._user_messages[message_id] = message
        self.changed("user", message_id)
        self._emu.queue_update({"message": message})
        return message

    def _find_button_message(self, text: str | None, data: str | None) -> BotMessage | None:
        for message in reversed(self._bot_messages):
            if message.deleted or not message.buttons:
                continue
            if text is None and data is None:
                return message
            for row in message.buttons:
                for button in row:
                    if (text is None or button.text == text) and (
                        data is None or button.callback_data == data
                    ):
                        return message
        return None

    async def _press(
        self,
        sender: EmulatedUser,
        text: str | None,
        data: str | None,
        message_id: int | None,
        patience: float,
    ) -> str:
        if text is None and data is None:
            raise ValueError("click() needs a button text or callback data")
        deadline = time.monotonic() + patience
        while True:
            target = self._resolve_press_target(text, data, message_id)
            if target is not None:
                break
            if not await self.wait_change(deadline - time.monotonic()):
                wanted = repr(text) if text is not None else f"data={data!r}"
                raise TimeoutError(
                    f"No inline button {wanted} in chat {self.id} within {patience}s.\n"
                    f"{self.dump()}"
                )
        message, callback_data = target
        query_id = self._emu.new_callback_query(sender, self)
        query = {
            "id": query_id,
            "from": sender.api_user(),
            "message": self._emu.message_api(message),
            "chat_instance": str(-abs(self.id) * 7919 % 10**18),
            "data": callback_data,
        }
        self._emu.queue_update({"callback_query": query})
        return query_id

    def _resolve_press_target(
        self, text: str | None, data: str | None, message_id: int | None
    ) -> tuple[BotMessage, str] | None:
        if text is not None:
            message = (
                self._find_button_message(text, None)
                if message_id is None
                else self._by_id.get(message_id)
            )
            if message is None:
                return None
            button = message.find_button(text)
            if button is None:
                return None
            if button.callback_data is None:
                raise ValueError(f"Button {text!r} has no callback_data (url={button.url!r})")
            return message, button.callback_data
        assert data is not None
        # Pressing by data may forge it: any message works, by default the latest with buttons.
        if message_id is not None:
            found = self._by_id.get(message_id)
            return (found, data) if found is not None else None
        latest = self._find_button_message(None, None) or self.last_message
        return (latest, data) if latest is not None else None


class EmulatedUser(EmulatedChat):
    """A Telegram user and their private chat with the bot (chat id == user id)."""

    def __init__(
        self,
        emu: BotApiEmulator,
        user_id: int,
        *,
        first_name: str,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "vi",
        phone_number: str | None = None,
    ) -> None:
        super().__init__(
            emu,
            user_id,
            "private",
            username=username,
            first_name=first_name,
            last_name=last_name,
        )
        self.user_id = user_id
        self.language_code = language_code
        self.phone_number = phone_number or f"+849{user_id % 100_000_000:08d}"
        self.answers: list[CallbackAnswer] = []
        self._answer_cursor = 0

    def __repr__(self) -> str:
        return f"EmulatedUser({self.user_id}, {self.first_name!r})"

    def api_user(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.user_id, "is_bot": False, "first_name": self.first_name}
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def block(self) -> None:
        """The user blocks the bot: sends to them now fail with 403."""
        self.blocked = True

    def unblock(self) -> None:
        self.blocked = False

    async def send(self, text: str) -> dict[str, Any]:
        """Send a text (a command gets its bot_command entity). Returns the Message dict."""
        fields: dict[str, Any] = {"text": text}
        entities = command_entities(text)
        if entities:
            fields["entities"] = entities
        return self._post(self, fields)

    async def share_contact(
        self,
        phone_number: str | None = None,
        user_id: int | None = None,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        include_user_id: bool = True,
    ) -> dict[str, Any]:
        """Share a contact card: by default one's own (as a request_contact button does)."""
        owner = self.user_id if user_id is None else user_id
        own = owner == self.user_id
        contact: dict[str, Any] = {
            "phone_number": phone_number or self.phone_number,
            "first_name": first_name or (self.first_name if own else "Liên hệ"),
        }
        last = last_name if last_name is not None else (self.last_name if own else None)
        if last:
            contact["last_name"] = last
        if include_user_id:
            contact["user_id"] = owner
        return self._post(self, {"contact": contact})

    async def send_document(
        self,
        content: bytes,
        filename: str = "file.bin",
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
    ) -> dict[str, Any]:
        file = self._emu.register_file(content, filename, mime_type, kind="document")
        fields: dict[str, Any] = {"document": file.document_api()}
        if caption is not None:
            fields["caption"] = caption
        return self._post(self, fields)

    async def send_photo(self, content: bytes, caption: str | None = None) -> dict[str, Any]:
        file = self._emu.register_file(content, "photo.jpg", "image/jpeg", kind="photo")
        fields: dict[str, Any] = {"photo": file.photo_api()}
        if caption is not None:
            fields["caption"] = caption
        return self._post(self, fields)

    async def send_update(self, extra_message_fields: dict[str, Any]) -> dict[str, Any]:
        """Send a message with arbitrary fields merged in (stickers, locations, ...)."""
        return self._post(self, dict(extra_message_fields))

    async def click(
        self,
        text: str | None = None,
        *,
        data: str | None = None,
        message_id: int | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> str:
        """Press an inline button (by exact text, or by callback data which may be forged).

        Waits up to ``timeout`` for the button to appear. Returns the callback query id once
        the update is queued; the bot's answer comes via :meth:`next_callback_answer`.
        """
        return await self._press(self, text, data, message_id, timeout)

    async def press_reply_button(self, text: str) -> dict[str, Any]:
        """Press a reply-keyboard button: shares the contact if it requests one, else sends it."""
        for row in self.reply_keyboard or []:
            for button in row:
                if button.text == text:
                    if button.request_contact:
                        return await self.share_contact()
                    return await self.send(text)
        raise ValueError(f"No reply button {text!r}; keyboard is {self.reply_keyboard!r}")

    def record_answer(self, answer: CallbackAnswer) -> None:
        self.answers.append(answer)
        self.changed("answer", len(self.answers) - 1)

    async def next_callback_answer(
        self,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> CallbackAnswer:
        """The next answerCallbackQuery the bot made to this user's presses."""
        deadline = time.monotonic() + timeout
        while self._answer_cursor >= len(self.answers):
            if not await self.wait_change(deadline - time.monotonic()):
                raise TimeoutError(
                    f"The bot did not answer a callback query of user {self.user_id} within "
                    f"{timeout}s.\n{self.dump()}"
                )
        answer = self.answers[self._answer_cursor]
        self._answer_cursor += 1
        return answer


class EmulatedGroup(EmulatedChat):
    """A group or supergroup the bot is in; members talk through :meth:`send`."""

    def __repr__(self) -> str:
        return f"EmulatedGroup({self.id}, {self.title!r})"

    async def send(self, from_user: EmulatedUser, text: str) -> dict[str, Any]:
        fields: dict[str, Any] = {"text": text}
        entities = command_entities(text)
        if entities:
            fields["entities"] = entities
        return self._post(from_user, fields)

    async def send_update(
        self, from_user: EmulatedUser, extra_message_fields: dict[str, Any]
    ) -> dict[str, Any]:
        return self._post(from_user, dict(extra_message_fields))

    async def click(
        self,
        from_user: EmulatedUser,
        text: str | None = None,
        *,
        data: str | None = None,
        message_id: int | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> str:
        return await self._press(from_user, text, data, message_id, timeout)


def _kind(message: dict[str, Any]) -> str:
    for key in ("contact", "document", "photo", "sticker", "location"):
        if key in message:
            return f"[{key}]"
    return "[message]"
