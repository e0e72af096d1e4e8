"""Journeys run through the dialog layer alone, without HTTP or a channel: a recording
conversation stands in for the chat, and every turn goes through the same dispatcher the
channels use. ``telegram_like`` and ``zalo_like`` give the capabilities of each channel."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bot.clock import Clock, SystemClock
from bot.config import parse_config
from bot.domain.members import Channel, ChannelUser, Member, Person
from bot.services import Services
from handlers.dialog import (
    Button,
    Capabilities,
    Command,
    FileRef,
    Input,
    Press,
    Reply,
    SharedContact,
    Turn,
    Typed,
)
from handlers.dispatch import Routes, run
from handlers.journeys import build_routes

TELEGRAM_LIKE = Capabilities(
    edits=True,
    share_contact=True,
    deep_links=True,
    command_menu=True,
    documents=True,
    formatting=True,
)
ZALO_LIKE = Capabilities(
    edits=False, share_contact=False, deep_links=False, command_menu=False, buttons=False
)
UNITS = [("BTP", "Bộ Tư pháp"), ("BTC", "Bộ Tài chính"), ("BYT", "Bộ Y tế")]


@dataclass
class Shown:
    """What the person saw from one reply: its text without markup, and how it came."""

    reply: Reply
    replaced: bool  # edited in place of the pressed message

    @property
    def buttons(self) -> list[Button]:
        return [button for row in self.reply.buttons for button in row]

    def button(self, label: str) -> Button:
        for button in self.buttons:
            if button.label == label:
                return button
        raise AssertionError(f"no button {label!r} in {[b.label for b in self.buttons]}")


@dataclass
class RecordingConversation:
    capabilities: Capabilities
    shown: list[Shown] = field(default_factory=list)
    toasts: list[tuple[str | None, bool]] = field(default_factory=list)
    # The content of files handed over from disk, read as they are sent (as a channel that
    # publishes files as links keeps a copy): the journey may remove the file afterwards.
    files: dict[str, bytes] = field(default_factory=dict)

    async def send(self, reply: Reply) -> None:
        for attachment in (reply.photo, reply.document):
            if attachment is not None and attachment.path is not None:
                self.files[attachment.filename] = attachment.path.read_bytes()
        self.shown.append(Shown(reply, replaced=False))

    async def replace(self, reply: Reply) -> None:
        self.shown.append(Shown(reply, replaced=self.capabilities.edits))

    async def toast(self, text: str | None, *, alert: bool = False) -> None:
        self.toasts.append((text, alert))

    async def download(self, file: FileRef, *, limit: int) -> bytes:
        raise AssertionError("no files in this harness")


@dataclass
class Others:
    """The messenger: what other members were told."""

    told: list[tuple[int, Reply]] = field(default_factory=list)
    menus_changed: list[int] = field(default_factory=list)

    async def send(self, member: Member, reply: Reply) -> bool:
        self.told.append((member.id, reply))
        return True

    async def role_changed(self, member: Member) -> None:
        self.menus_changed.append(member.id)


@dataclass
class Talker:
    """One person talking to the journeys."""

    harness: DialogHarness
    user: ChannelUser
    capabilities: Capabilities
    chat: RecordingConversation = field(init=False)

    def __post_init__(self) -> None:
        self.chat = RecordingConversation(self.capabilities)

    async def do(self, what: Input) -> list[Shown]:
        """One turn; returns what it showed."""
        before = len(self.chat.shown)
        turn = Turn(self.harness.services, self.harness.routes, self.chat, self.user, what)
        await run(turn, await self.harness.routes.route(turn))
        return self.chat.shown[before:]

    async def type(self, text: str) -> list[Shown]:
        return await self.do(
            Command(text[1:].split()[0], tuple(text.split()[1:]))
            if text.startswith("/")
            else Typed(text)
        )

    async def press(self, label: str, shown: Shown | None = None) -> list[Shown]:
        """Press the button labelled ``label`` on ``shown`` (else the latest reply with it)."""
        if shown is None:
            shown = next(
                s for s in reversed(self.chat.shown) if any(b.label == label for b in s.buttons)
            )
        action = shown.button(label).action
        assert action is not None
        return await self.do(Press(action))

    async def share_contact(self, phone: str, *, own: bool = True) -> list[Shown]:
        return await self.do(SharedContact(phone, own))

    async def wait_for(
        self,
        predicate: Callable[[Shown], bool],
        timeout: float = 10.0,  # noqa: ASYNC109
    ) -> Shown:
        """What a task beside the turn shows later (an export's file): the first reply that
        satisfies ``predicate``, waited for until ``timeout``."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = next((s for s in self.chat.shown if predicate(s)), None)
            if found is not None:
                return found
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"nothing shown matched within {timeout}s")
            await asyncio.sleep(0.01)


@dataclass
class DialogHarness:
    services: Services
    routes: Routes
    others: Others

    def person(
        self, channel: Channel, user_id: str, name: str = "Nguyễn Văn An", first: str = "An"
    ) -> Talker:
        capabilities = TELEGRAM_LIKE if channel is Channel.TELEGRAM else ZALO_LIKE
        user = ChannelUser(Person(channel, user_id), display_name=name, first_name=first)
        return Talker(self, user, capabilities)


@asynccontextmanager
async def dialog_harness(
    tmp_path: Path, clock: Clock | None = None
) -> AsyncIterator[DialogHarness]:
    config = parse_config(
        {"database": {"path": str(tmp_path / "dialogs.sqlite3")}, "bot": {"admins": [900001]}},
        env={},
        require_token=False,
    )
    services = await Services.open(config, clock=clock or SystemClock())
    await services.units.upsert_many(UNITS)
    routes = build_routes()
    others = Others()
    routes.messenger = others
    try:
        yield DialogHarness(services, routes, others)
    finally:
        await services.close()
