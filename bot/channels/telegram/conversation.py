"""Journey replies as Telegram renders them: inline buttons, reply keyboards, edits in place,
toasts on pressed buttons, photos and documents; and PTB updates read as journey inputs."""

from __future__ import annotations

import logging
from contextlib import ExitStack
from datetime import datetime
from typing import TYPE_CHECKING

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
from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import ODVInput
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
    Frame,
    Input,
    Keyboard,
    KeyboardKind,
    NextFrame,
    Posted,
    Press,
    Reply,
    Rows,
    SharedContact,
    Typed,
    Unreachable,
    Unsupported,
    Upload,
)

if TYPE_CHECKING:
    from bot.channels.telegram.checkin_display import RenewingPhotos

log = logging.getLogger(__name__)

CAPABILITIES = Capabilities(
    edits=True,
    share_contact=True,
    deep_links=True,
    command_menu=True,
    documents=True,
    formatting=True,
)
# Seconds to upload a file from disk (an export may be tens of megabytes).
UPLOAD_TIMEOUT = 300
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


async def input_file(
    attachment: Attachment, stack: ExitStack | None = None, vault: FileVault | None = None
) -> InputFile | str:
    """What PTB sends for an attachment: a Telegram file id as it is; a file kept by another
    channel (a photo sent on Zalo) read through the vault and uploaded; a file from disk
    streamed from a handle opened on ``stack`` (closed once sent), or read whole without one
    (small pictures only)."""
    stored = attachment.stored
    if stored is not None and stored.channel is Channel.TELEGRAM:
        return stored.ref  # a Telegram file id: sent again without uploading
    if stored is not None:
        if vault is None:
            raise FileUnavailable(f"no way to read a {stored.channel.value} file here")
        content = await vault.read(stored, MAX_UPLOAD_BYTES)
        return InputFile(content, filename=attachment.filename)
    if attachment.content is not None:
        return InputFile(attachment.content, filename=attachment.filename)
    assert attachment.path is not None
    if stack is None:
        return InputFile(attachment.path.read_bytes(), filename=attachment.filename)
    handle = stack.enter_context(attachment.path.open("rb"))  # streamed, closed once sent
    return InputFile(handle, filename=attachment.filename)


def _upload_timeout(attachment: Attachment) -> ODVInput[float]:
    """A file from disk may be large: give its upload time (PTB's defaults suit small ones)."""
    return DEFAULT_NONE if attachment.path is None else UPLOAD_TIMEOUT


def typed_html(message: Message) -> str | None:
    """What a person typed as Telegram HTML: their formatting as tags; text typed without
    formatting is taken as it is (HTML typed by hand stays HTML, as Telegram users expect)."""
    if message.text is None:
        return None
    return message.text_html if message.entities else message.text


def caption_html(message: Message) -> str | None:
    """The caption of a photo or file as ``typed_html`` reads a text."""
    if message.caption is None:
        return None
    return message.caption_html if message.caption_entities else message.caption


class TelegramConversation:
    """The private chat of one update; a reply to a press may edit the pressed message."""

    def __init__(
        self,
        bot: ExtBot[None],
        chat_id: int,
        query: CallbackQuery | None,
        renewing: RenewingPhotos | None = None,
        vault: FileVault | None = None,
    ) -> None:
        self._bot = bot
        self._chat_id = chat_id
        self._query = query
        self._renewing = renewing
        self._vault = vault

    @property
    def capabilities(self) -> Capabilities:
        return CAPABILITIES

    async def send(self, reply: Reply) -> Posted:
        markup = markup_of(reply)
        caption = reply.text or None
        try:
            with ExitStack() as stack:
                if reply.photo is not None:
                    sent = await self._bot.send_photo(
                        self._chat_id,
                        await input_file(reply.photo, stack, self._vault),
                        caption=caption,
                        reply_markup=markup,
                        write_timeout=_upload_timeout(reply.photo),
                        read_timeout=_upload_timeout(reply.photo),
                    )
                elif reply.document is not None:
                    sent = await self._bot.send_document(
                        self._chat_id,
                        await input_file(reply.document, stack, self._vault),
                        caption=caption,
                        reply_markup=markup,
                        write_timeout=_upload_timeout(reply.document),
                        read_timeout=_upload_timeout(reply.document),
                    )
                else:
                    sent = await self._bot.send_message(
                        self._chat_id, reply.text, reply_markup=markup
                    )
        except Forbidden as exc:
            raise Unreachable(str(exc)) from exc
        return Posted(sent.chat_id, sent.message_id)

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

    async def send_renewing(
        self,
        first: Frame,
        next_frame: NextFrame,
        *,
        until: datetime,
        paused: Reply,
        in_place: bool,
    ) -> None:
        """``handlers.dialog.RenewsPhotos``: edited with each frame (``checkin_display``)."""
        if self._renewing is None:  # a conversation made outside a running bot
            await self.send(first.reply)
            return
        message = self._query.message if in_place and self._query is not None else None
        try:
            await self._renewing.show(
                self._bot,
                self._chat_id,
                message if isinstance(message, Message) else None,
                first,
                next_frame,
                until=until,
                paused=paused,
            )
        except Forbidden as exc:
            raise Unreachable(str(exc)) from exc

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
        return sender, Typed(text, typed_html(message))
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
            caption_html(message),
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
            caption_html(message),
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
