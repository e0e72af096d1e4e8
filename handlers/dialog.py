"""The journeys' vocabulary, the same for every channel: what a person did (an ``Input``), what
to show them (a ``Reply`` of catalogue text, buttons, a keyboard, a file), and the ``Turn`` a
journey handler works through.

A channel adapter (``bot/channels/telegram``, ``bot/channels/zalo``) turns its platform's update
into an ``Input``, implements ``Conversation`` to render replies its own way (Telegram: inline
buttons, edits in place, toasts, documents; Zalo: numbered lines, one new message per reply,
files as links) and hands both to ``handlers.dispatch``. Nothing here imports a platform.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from bot.domain.members import Actor, Channel, ChannelUser, Member, Person
from handlers import callbacks
from handlers.menus import menu_layout

if TYPE_CHECKING:
    from bot.services import Services
    from handlers.dispatch import Routes


# --- what a person did ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Command:
    name: str  # without the slash, lower case
    args: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Press:
    """A button pressed (Telegram) or a numbered choice answered (Zalo): the action it carries."""

    data: str

    @property
    def parsed(self) -> callbacks.Callback | None:
        return callbacks.parse(self.data)


@dataclass(frozen=True, slots=True)
class Typed:
    text: str
    # The message as Telegram HTML, where the channel has formatting (bold, links… as tags);
    # None where it has none: then ``text`` is plain text, every character as typed.
    html: str | None = None


@dataclass(frozen=True, slots=True)
class SharedContact:
    phone: str
    own: bool  # the contact card is the sender's own


class FileKind(enum.StrEnum):
    DOCUMENT = "document"
    PHOTO = "photo"


@dataclass(frozen=True, slots=True)
class FileRef:
    """A file as a channel keeps it: a Telegram file id, or a stored blob for Zalo images."""

    channel: Channel
    ref: str
    unique_id: str


@dataclass(frozen=True, slots=True)
class Upload:
    kind: FileKind
    file: FileRef
    name: str
    size: int | None
    mime: str | None
    caption: str | None = None
    caption_html: str | None = None  # as ``Typed.html``, for the caption


@dataclass(frozen=True, slots=True)
class Unsupported:
    """A sticker, voice note, location… or a protected user's message the bot may not read."""

    what: str
    protected: bool = False


Input = Command | Press | Typed | SharedContact | Upload | Unsupported


# --- what to show -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Button:
    """A choice: ``action`` is dispatched as a ``Press``; ``url`` opens a link instead."""

    label: str
    action: str | None = None
    url: str | None = None

    def __post_init__(self) -> None:
        if (self.action is None) == (self.url is None):
            raise ValueError("a button has exactly one of action and url")


Rows = Sequence[Sequence[Button]]


class KeyboardKind(enum.StrEnum):
    MAIN_MENU = "main_menu"  # the journeys' entry points, always one tap away
    SUGGESTIONS = "suggestions"  # answers to tap instead of typing (sent back as typed text)
    REMOVE = "remove"  # take away a keyboard shown before


@dataclass(frozen=True, slots=True)
class Keyboard:
    kind: KeyboardKind
    rows: tuple[tuple[str, ...], ...] = ()
    share_contact: str | None = None  # label of a "share my phone" button above the rows


REMOVE_KEYBOARD = Keyboard(KeyboardKind.REMOVE)


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file to hand over: bytes made now, a file on disk, or one the channel already keeps."""

    filename: str
    content: bytes | None = None
    path: Path | None = None
    stored: FileRef | None = None
    mime: str | None = None
    # Made for this member only (an export, their data): where files go as links, the link
    # is theirs and is erased with them.
    for_member: int | None = None

    def __post_init__(self) -> None:
        if sum(x is not None for x in (self.content, self.path, self.stored)) != 1:
            raise ValueError("an attachment has exactly one of content, path and stored")


@dataclass(frozen=True, slots=True)
class Reply:
    """One message. ``text`` is catalogue text (Telegram's HTML subset, parameters escaped)."""

    text: str
    buttons: Rows = ()
    keyboard: Keyboard | None = None
    photo: Attachment | None = None
    document: Attachment | None = None
    # The step's typed answer may be a bare number (seats, hours): on channels that answer
    # choices by number, a number typed here is the answer, not a choice.
    numeric_answer: bool = False
    # The choices shown last still stand (the answer did not fit them): channels that number
    # choices show them again, with the same numbers; others leave them where they are.
    repeat_choices: bool = False


@dataclass(frozen=True, slots=True)
class Capabilities:
    edits: bool  # a reply can replace the message whose button was pressed
    share_contact: bool  # the person can share their phone with one tap
    deep_links: bool  # links like t.me/<bot>?start=… open the bot with a payload
    command_menu: bool  # the channel shows a "/" command menu
    # The person can send any file (a PDF, a spreadsheet), not only images.
    documents: bool = False
    buttons: bool = True  # choices are buttons to tap (else numbered lines to answer)
    formatting: bool = False  # typed text may carry formatting (it arrives as ``Typed.html``)


@dataclass(frozen=True, slots=True)
class Posted:
    """Where a sent message can be found again to be edited later (a broadcast's live progress),
    on channels that edit messages."""

    chat_id: int
    message_id: int


class Unreachable(Exception):
    """The person cannot be messaged on this channel (they blocked the bot, or left)."""


class Conversation(Protocol):
    """The person's chat, as one channel renders it (one instance per turn)."""

    @property
    def capabilities(self) -> Capabilities: ...

    async def send(self, reply: Reply) -> Posted | None:
        """A new message; where the channel can edit it later, where it is.

        May also be called after the turn has ended (a long export hands its file over from a
        task beside the person's lane): a channel that collects a turn's replies sends such a
        late reply at once."""

    async def replace(self, reply: Reply) -> None:
        """Replace the message whose button was pressed, where the channel can; else send."""

    async def toast(self, text: str | None, *, alert: bool = False) -> None:
        """Acknowledge a press (a passing notice, or an alert the person must close)."""

    async def download(self, file: FileRef, *, limit: int) -> bytes:
        """The content of a file the person sent (``limit`` bytes at most, else ValueError)."""


@dataclass(frozen=True, slots=True)
class Frame:
    """What a photo that renews itself shows (a ``Reply`` with a photo) until ``changes_at``."""

    reply: Reply
    changes_at: datetime


NextFrame = Callable[[], Awaitable["Frame | None"]]


@runtime_checkable
class RenewsPhotos(Protocol):
    """A conversation whose channel keeps a photo it sent current by editing it in place
    (Telegram: ``editMessageMedia``); the check-in QR renews its code this way. Channels
    without edits do not implement it: the journey sends a fresh photo when asked instead."""

    async def send_renewing(
        self,
        first: Frame,
        next_frame: NextFrame,
        *,
        until: datetime,
        paused: Reply,
        in_place: bool,
    ) -> None:
        """Show ``first`` (in place of the pressed photo when ``in_place`` and the pressed
        message is one, else as a new photo), then, whenever the frame shown has passed its
        ``changes_at``, the one ``next_frame`` gives, until ``until``: then ``paused`` (its
        text as the caption, its buttons) on the same message. ``next_frame`` giving None
        pauses it too. A later ``in_place`` show on the same message takes over."""


@dataclass(frozen=True, slots=True)
class BotLinks:
    """Links that open the bot with a payload. Only Telegram has them (``t.me/<bot>?start=``);
    the composition sets the bot's username once Telegram runs. A journey offers one to a
    person whose channel has deep links; a check-in QR carries one whatever channel the cadre
    uses, since members scan it with their phone's camera."""

    telegram_username: str | None = None

    def start(self, payload: str) -> str | None:
        if not self.telegram_username:
            return None
        return f"https://t.me/{self.telegram_username}?start={payload}"


class Messenger(Protocol):
    """Messages to someone other than the person of the turn (a cadre told of a walk-in, an
    author of a decision), on the channel the member chose, at once."""

    async def send(self, member: Member, reply: Reply) -> bool:
        """Send ``reply``; False when the member cannot be reached (no channel, blocked)."""

    async def role_changed(self, member: Member) -> None:
        """The member's role changed: channels that show a command menu per role update it."""


# --- the turn ---------------------------------------------------------------------------------


@dataclass
class Turn:
    """One thing a person did and everything a journey needs to answer it."""

    services: Services
    routes: Routes
    chat: Conversation
    user: ChannelUser
    input: Input
    _actor: Actor | None = field(default=None, repr=False)
    _language: str | None = field(default=None, repr=False)
    answered: bool = False  # a press is acknowledged once; later acknowledgements are skipped

    @property
    def person(self) -> Person:
        return self.user.person

    @property
    def channel(self) -> Channel:
        return self.user.person.channel

    @property
    def pressed(self) -> callbacks.Callback | None:
        return self.input.parsed if isinstance(self.input, Press) else None

    @property
    def typed(self) -> str | None:
        return self.input.text if isinstance(self.input, Typed) else None

    @property
    def command_args(self) -> tuple[str, ...]:
        return self.input.args if isinstance(self.input, Command) else ()

    @property
    def renewing(self) -> RenewsPhotos | None:
        """The chat, where its channel can keep a sent photo current by editing it."""
        chat = self.chat
        return chat if isinstance(chat, RenewsPhotos) else None

    @property
    def memory(self) -> dict[str, Any]:
        """This person's scratch space between turns (in memory only)."""
        return self.routes.memories.of(self.person)

    # --- who and which language ---------------------------------------------------------------

    async def actor(self) -> Actor:
        if self._actor is None:
            self._actor = await self.services.member_service.actor_of(self.person)
        return self._actor

    def forget_actor(self) -> None:
        """After the turn changed who the person is (onboarded, forgotten, language)."""
        self._actor = None
        self._language = None

    async def language(self) -> str:
        if self._language is None:
            actor = await self.actor()
            code = self.user.language_code or ""
            if actor.language:
                self._language = actor.language
            elif code.startswith("en"):
                self._language = "en"
            else:
                self._language = self.services.catalogue.default
        return self._language

    def use_language(self, language: str) -> None:
        self._language = language

    async def text(self, key: str, /, **params: Any) -> str:
        return self.services.catalogue.text(await self.language(), key, **params)

    async def label(self, key: str, /, **params: Any) -> str:
        """Plain text (no HTML escaping) for buttons."""
        return self.services.catalogue.plain(await self.language(), key, **params)

    async def button(self, key: str, action: str, /, **params: Any) -> Button:
        return Button(await self.label(key, **params), action)

    async def main_menu(self) -> Keyboard:
        """The main menu for the person's role, in their language."""
        rows = [[await self.label(key) for key in row] for row in menu_layout(await self.actor())]
        return Keyboard(KeyboardKind.MAIN_MENU, tuple(tuple(row) for row in rows))

    # --- answering --------------------------------------------------------------------------

    async def say(
        self,
        key: str,
        /,
        *,
        buttons: Rows = (),
        keyboard: Keyboard | None = None,
        numeric_answer: bool = False,
        **params: Any,
    ) -> None:
        """Send catalogue message ``key``."""
        await self.chat.send(
            Reply(
                await self.text(key, **params),
                buttons=buttons,
                keyboard=keyboard,
                numeric_answer=numeric_answer,
            )
        )

    async def show(
        self, key: str, /, *, buttons: Rows = (), numeric_answer: bool = False, **params: Any
    ) -> None:
        """Replace the pressed message (a new one for typed input and links)."""
        reply = Reply(
            await self.text(key, **params), buttons=buttons, numeric_answer=numeric_answer
        )
        if isinstance(self.input, Press):
            await self.chat.replace(reply)
        else:
            await self.chat.send(reply)

    async def send(self, reply: Reply) -> Posted | None:
        return await self.chat.send(reply)

    async def answer(
        self, key: str | None = None, /, *, alert: bool = False, **params: Any
    ) -> None:
        """Acknowledge the press (once per turn; nothing to do for typed input)."""
        if not isinstance(self.input, Press) or self.answered:
            return
        self.answered = True
        await self.chat.toast(await self.label(key, **params) if key else None, alert=alert)

    async def refuse(self, key: str, /, **params: Any) -> None:
        """A refusal: an alert on the pressed button, or a message for typed input and links."""
        if isinstance(self.input, Press) and not self.answered:
            await self.answer(key, alert=True, **params)
        else:
            await self.say(key, **params)

    async def tell(self, member: Member, key: str, /, *, buttons: Rows = (), **params: Any) -> bool:
        """Message another member, in their own language, on their channel."""
        text = self.services.catalogue.text(member.language, key, **params)
        return await self.routes.messenger.send(member, Reply(text, buttons=buttons))

    def label_for(self, member: Member, key: str, /, **params: Any) -> str:
        """A button label in another member's language."""
        return self.services.catalogue.plain(member.language, key, **params)

    async def ask_to_confirm(
        self, key: str, /, *, yes: tuple[str, str], no: tuple[str, str], **params: Any
    ) -> None:
        """A question with two choices, one per row: ``yes``/``no`` are (label key, action)."""
        rows = [[await self.button(label, action)] for label, action in (yes, no)]
        await self.say(key, buttons=rows, **params)

    async def page_row(
        self, page: int, pages: int, to_page: Callable[[int], str], *, counter: str | None = None
    ) -> list[Button]:
        """The ◀️ ▶️ row under a paginated list (empty when it fits on one page)."""
        row: list[Button] = []
        if page > 0:
            row.append(await self.button("common.previous", to_page(page - 1)))
        if counter is not None and pages > 1:
            row.append(Button(f"{page + 1}/{pages}", counter))
        if page + 1 < pages:
            row.append(await self.button("common.next", to_page(page + 1)))
        return row

    async def document(
        self, attachment: Attachment, caption_key: str | None = None, **params: Any
    ) -> None:
        caption = await self.text(caption_key, **params) if caption_key else ""
        await self.chat.send(Reply(caption, document=attachment))

    async def photo(
        self,
        attachment: Attachment,
        caption_key: str | None = None,
        *,
        buttons: Rows = (),
        **params: Any,
    ) -> None:
        caption = await self.text(caption_key, **params) if caption_key else ""
        await self.chat.send(Reply(caption, buttons=buttons, photo=attachment))
