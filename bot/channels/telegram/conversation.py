"""Journey replies as Telegram renders them: inline buttons, reply keyboards, edits in place,
toasts on pressed buttons, photos and documents; and PTB updates read as journey inputs."""

from __future__ import annotations

import logging
from typing import Any

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import BadRequest, Forbidden
from telegram.ext import ExtBot

from bot.channels.vault import FileUnavailable, FileVault
from bot.domain.members import Channel, ChannelUser, Person
from handlers.dialog import (
    Attachment,
    Capabilities,
    Command,
    FileKind,
    FileRef,
    Input,
    Keyboard,
    KeyboardKind,
    Press,
    Reply,
    Rows,
    SharedContact,
    Typed,
    Unreachable,
    Unsupported,
    Upload,
)

log = logging.getLogger(__name__)

CAPABILITIES = Capabilities(edits=True, share_contact=True, deep_links=True, command_menu=True)
MAX_UPLOAD_BYTES = 50 * 1024 * 1024  # what a bot may upload to Telegram
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove


def inline_markup(rows: Rows) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(b.label, url=b.url)
                if b.url is not None
                else InlineKeyboardButton(b.label, callback_data=b.action)
                for b in row
            ]
            for row in rows
        ]
    )


def keyboard_markup(keyboard: Keyboard) -> ReplyKeyboardMarkup | ReplyKeyboardRemove:
    if keyboard.kind is KeyboardKind.REMOVE:
        return ReplyKeyboardRemove()
    rows = [[KeyboardButton(label) for label in row] for row in keyboard.rows]
    if keyboard.share_contact is not None:
        rows.insert(0, [KeyboardButton(keyboard.share_contact, request_contact=True)])
    if keyboard.kind is KeyboardKind.MAIN_MENU:
        return ReplyKeyboardMarkup(rows, resize_keyboard=True, is_persistent=True)
    return ReplyKeyboardMarkup(rows, resize_keyboard=True, one_time_keyboard=True)


def markup_of(reply: Reply) -> Markup | None:
    if reply.buttons and reply.keyboard is not None:
        raise ValueError("a Telegram message carries inline buttons or a keyboard, not both")
    if reply.keyboard is not None:
        return keyboard_markup(reply.keyboard)
    return inline_markup(reply.buttons)


async def _file(attachment: Attachment, vault: FileVault | None) -> InputFile | str:
    stored = attachment.stored
    if stored is not None and stored.channel is Channel.TELEGRAM:
        return stored.ref  # a Telegram file id: sent again without uploading
    if stored is not None:  # kept by another channel (a photo sent on Zalo): uploaded
        if vault is None:
            raise FileUnavailable(f"no way to read a {stored.channel.value} file here")
        content = await vault.read(stored, MAX_UPLOAD_BYTES)
        return InputFile(content, filename=attachment.filename)
    if attachment.content is not None:
        return InputFile(attachment.content, filename=attachment.filename)
    assert attachment.path is not None
    return InputFile(attachment.path.open("rb"), filename=attachment.filename)


class TelegramConversation:
    """The private chat of one update; a reply to a press may edit the pressed message."""

    def __init__(
        self,
        bot: ExtBot[None],
        chat_id: int,
        query: CallbackQuery | None,
        vault: FileVault | None = None,
    ) -> None:
        self._bot = bot
        self._chat_id = chat_id
        self._query = query
        self._vault = vault
        # The PTB update and context, for journeys still written for Telegram only (a start
        # payload or a panel button that leads into one); gone once every journey is neutral.
        self.legacy: tuple[Any, Any] | None = None

    @property
    def capabilities(self) -> Capabilities:
        return CAPABILITIES

    async def send(self, reply: Reply) -> None:
        markup = markup_of(reply)
        caption = reply.text or None
        try:
            if reply.photo is not None:
                await self._bot.send_photo(
                    self._chat_id,
                    await _file(reply.photo, self._vault),
                    caption=caption,
                    reply_markup=markup,
                )
            elif reply.document is not None:
                await self._bot.send_document(
                    self._chat_id,
                    await _file(reply.document, self._vault),
                    caption=caption,
                    reply_markup=markup,
                )
            else:
                await self._bot.send_message(self._chat_id, reply.text, reply_markup=markup)
        except Forbidden as exc:
            raise Unreachable(str(exc)) from exc

    async def replace(self, reply: Reply) -> None:
        query = self._query
        message = query.message if query is not None else None
        can_edit = (
            isinstance(message, Message)
            and reply.photo is None
            and reply.document is None
            and reply.keyboard is None
            and message.text is not None
        )
        if not can_edit:
            await self.send(reply)
            return
        assert isinstance(message, Message)
        try:
            await message.edit_text(reply.text, reply_markup=inline_markup(reply.buttons))
        except BadRequest as exc:
            # A double tap re-renders the same content; Telegram refuses "not modified".
            if "not modified" not in exc.message:
                raise

    async def toast(self, text: str | None, *, alert: bool = False) -> None:
        if self._query is not None:
            await self._query.answer(text, show_alert=alert)

    async def download(self, file: FileRef, *, limit: int) -> bytes:
        return await read_telegram_file(self._bot, file, limit)


def person_of(telegram_id: int) -> Person:
    return Person(Channel.TELEGRAM, str(telegram_id))


def read_update(update: Update) -> tuple[ChannelUser, Input] | None:
    """The sender and what they did, or None for updates no journey answers."""
    user = update.effective_user
    if user is None:
        return None
    sender = ChannelUser(
        person_of(user.id),
        display_name=user.full_name,
        first_name=user.first_name,
        username=user.username,
        language_code=user.language_code,
    )
    query = update.callback_query
    if query is not None:
        return sender, Press(query.data or "")
    message = update.message
    if message is None:
        return None
    if message.text is not None:
        text = message.text
        if text.startswith("/") and len(text) > 1:
            head, *args = text[1:].split()
            name = head.split("@", 1)[0].lower()
            if name:
                return sender, Command(name, tuple(args))
        return sender, Typed(text)
    if message.contact is not None:
        contact = message.contact
        return sender, SharedContact(contact.phone_number, own=contact.user_id == user.id)
    if message.document is not None:
        document = message.document
        ref = FileRef(Channel.TELEGRAM, document.file_id, document.file_unique_id)
        return sender, Upload(
            FileKind.DOCUMENT,
            ref,
            document.file_name or "file",
            document.file_size,
            document.mime_type,
            message.caption,
        )
    if message.photo:
        photo = message.photo[-1]  # the largest size
        ref = FileRef(Channel.TELEGRAM, photo.file_id, photo.file_unique_id)
        return sender, Upload(
            FileKind.PHOTO,
            ref,
            f"photo-{photo.file_unique_id}.jpg",
            photo.file_size,
            "image/jpeg",
            message.caption,
        )
    kinds = ("sticker", "voice", "video", "audio", "location", "animation", "video_note", "poll")
    what = next((k for k in kinds if getattr(message, k, None)), "other")
    return sender, Unsupported(what)


async def read_telegram_file(bot: ExtBot[None], file: FileRef, limit: int) -> bytes:
    """A file Telegram keeps, downloaded through the bot (for the file vault)."""
    telegram_file = await bot.get_file(file.ref)
    if telegram_file.file_size is not None and telegram_file.file_size > limit:
        raise ValueError("file too large")
    content = bytes(await telegram_file.download_as_bytearray())
    if len(content) > limit:
        raise ValueError("file too large")
    return content
