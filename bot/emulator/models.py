"""Plain values the emulator records and hands to tests: messages, buttons, files, stats."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ApiError",
    "BotMessage",
    "CallbackAnswer",
    "EmulatedFile",
    "EmulatorStats",
    "InlineButton",
    "KeyboardButton",
    "Persona",
]


class ApiError(Exception):
    """A Bot API error response: HTTP status, Telegram's description, optional parameters."""

    def __init__(
        self, error_code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def to_api(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


@dataclass(frozen=True, slots=True)
class Persona:
    """A ready-made user for the web chat page (e.g. "Cán bộ đoàn")."""

    user_id: int
    label: str
    first_name: str
    last_name: str = ""
    username: str | None = None
    language_code: str = "vi"
    phone_number: str | None = None

    @property
    def phone(self) -> str:
        """The phone shared by a request_contact button; derived from the id when not given."""
        return self.phone_number or f"+849{self.user_id % 100_000_000:08d}"


@dataclass(slots=True, eq=False)
class EmulatedFile:
    """A file known to the emulator: uploaded by the bot or sent by a user."""

    file_id: str
    file_unique_id: str
    file_path: str
    filename: str | None
    mime_type: str | None
    content: bytes
    width: int = 0
    height: int = 0

    @property
    def size(self) -> int:
        return len(self.content)

    def document_api(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
        }
        if self.filename is not None:
            doc["file_name"] = self.filename
        if self.mime_type is not None:
            doc["mime_type"] = self.mime_type
        return doc

    def photo_api(self) -> list[dict[str, Any]]:
        # Telegram sends several sizes; tests only need the largest, which is the original.
        return [
            {
                "file_id": self.file_id,
                "file_unique_id": self.file_unique_id,
                "file_size": self.size,
                "width": self.width,
                "height": self.height,
            }
        ]

    def file_api(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
            "file_path": self.file_path,
        }


@dataclass(frozen=True, slots=True)
class InlineButton:
    """One button of an inline keyboard."""

    text: str
    callback_data: str | None = None
    url: str | None = None


@dataclass(frozen=True, slots=True)
class KeyboardButton:
    """One button of a reply keyboard (under the input field)."""

    text: str
    request_contact: bool = False
    request_location: bool = False


@dataclass(frozen=True, slots=True)
class CallbackAnswer:
    """What the bot said in answerCallbackQuery for one press."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None


@dataclass(slots=True, eq=False)
class BotMessage:
    """A message the bot sent, in its current state (edits applied, deletion flagged)."""

    message_id: int
    chat_id: int
    date: int
    text: str = ""
    html: str | None = None
    parse_mode: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    buttons: list[list[InlineButton]] = field(default_factory=list)
    reply_markup: dict[str, Any] | None = None
    document: EmulatedFile | None = None
    photo: EmulatedFile | None = None
    caption: str | None = None
    caption_html: str | None = None
    caption_entities: list[dict[str, Any]] = field(default_factory=list)
    edit_count: int = 0
    edit_date: int | None = None
    deleted: bool = False
    reply_to_message_id: int | None = None
    disable_notification: bool = False
    link_preview_options: dict[str, Any] | None = None
    safe_html: str = ""

    @property
    def content(self) -> str:
        """The text, or the caption of a document/photo: what a reader sees."""
        return self.text or self.caption or ""

    def button_texts(self) -> list[str]:
        return [button.text for row in self.buttons for button in row]

    def find_button(self, text: str) -> InlineButton | None:
        for row in self.buttons:
            for button in row:
                if button.text == text:
                    return button
        return None

    def describe(self) -> str:
        """One line for failure dumps."""
        flags = " (deleted)" if self.deleted else ""
        flags += f" (edited x{self.edit_count})" if self.edit_count else ""
        body = self.content.replace("\n", "⏎ ")
        if self.document is not None:
            body = f"[document {self.document.filename}] {body}"
        if self.photo is not None:
            body = f"[photo] {body}"
        buttons = f"  buttons={self.button_texts()}" if self.buttons else ""
        return f"bot #{self.message_id}{flags}: {body}{buttons}"


@dataclass(slots=True)
class EmulatorStats:
    """Counters for benchmarks and assertions; plain ints so reading them is free."""

    sent_messages: int = 0
    edited_messages: int = 0
    deleted_messages: int = 0
    rate_limited: int = 0
    updates_queued: int = 0
    webhook_deliveries: int = 0
    webhook_failures: int = 0
    method_calls: Counter[str] = field(default_factory=Counter)
