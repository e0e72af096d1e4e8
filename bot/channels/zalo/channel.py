"""The Zalo channel: events in (long polling or the webhook of the bot's web server), one lane
per person (their events in order, different people's side by side), each event read as a
journey input and answered through the same routes as Telegram, as numbered plain messages.

Reading an event: ``0`` or "menu" is the main menu; text starting with "/" is a command; a
number or a loosely typed label picks one of the choices shown last (kept per person in
``channel_menus``, so "2" means the same after a restart); a number the choices lack gets a
polite line naming the valid ones, with the choices again; anything else is typed text. An
image is downloaded once and kept (Zalo gives a URL, not a file to send again); a sticker or
voice note is something the journeys do not take; a protected user's message (Zalo sends no
content for children and people with disabilities) is answered kindly.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import mimetypes
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp

from bot.channels.vault import FileVault
from bot.channels.zalo.client import ZaloBotApi, ZaloError, ZaloUnauthorized
from bot.channels.zalo.conversation import ZaloConversation, ZaloTurnTools
from bot.channels.zalo.events import ZaloEvent, ZaloEventKind
from bot.channels.zalo.numbered import Hints, Menu, Option, OutOfRange, choose, is_menu_request
from bot.channels.zalo.uploads import MAX_IMAGE_BYTES, ImageUnavailable, ZaloUploads
from bot.domain.members import Channel, ChannelUser, Member, Person
from bot.files import DEFAULT_TTL, DEFAULT_USES
from bot.flood import FloodGuard, Verdict
from bot.lanes import KeyedLanes
from bot.services import Services
from handlers.dialog import (
    Attachment,
    Command,
    FileKind,
    Input,
    Press,
    Reply,
    Turn,
    Typed,
    Unreachable,
    Unsupported,
    Upload,
)
from handlers.dispatch import Routes, run
from storage.channel_menus import ChannelMenuRepository

log = logging.getLogger(__name__)

CHANNEL = Channel.ZALO
# A file made for one member (their data, an export) opens once, within the hour; other files
# (a calendar entry, a QR code, a photo Zalo's servers fetch) a few times within a day.
PERSONAL_TTL = timedelta(hours=1)
PERSONAL_USES = 1
MAX_FILE_BYTES = 50 * 1024 * 1024
CONCURRENT_TURNS = 256
POLL_RETRY_MAX = 30.0  # seconds between getUpdates attempts while Zalo does not answer


# Choices shown to someone who has not consented (nor is a member) are kept in memory only:
# nothing about a newcomer is stored before consent.
_MENU_MEMORY = "zalo_menu"


@dataclass(slots=True)
class _MenuPlace:
    """Where a turn's choices are kept: in SQLite once the person consented, else in memory."""

    durable: bool = True


@dataclass(frozen=True, slots=True)
class _Answer:
    """An event the channel answers itself (a number out of range, an image it could not get)."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)
    # The choices shown last still stand, and are shown again (not after "slow down").
    repeat: bool = True


class ZaloChannel:
    def __init__(
        self,
        services: Services,
        routes: Routes,
        api: ZaloBotApi,
        vault: FileVault,
        *,
        poll_timeout: float = 30.0,
    ) -> None:
        self._services = services
        self._routes = routes
        self.api = api
        self._vault = vault
        self.uploads = ZaloUploads(services.files_folder / "zalo")
        self._menus = ChannelMenuRepository(services.db)
        flood = services.config.flood
        self._flood = FloodGuard(flood.burst, flood.per_second)
        self._lanes: KeyedLanes[str] = KeyedLanes()
        self._slots = asyncio.Semaphore(CONCURRENT_TURNS)
        self._tasks: set[asyncio.Task[None]] = set()
        self._poller: asyncio.Task[None] | None = None
        self._http: aiohttp.ClientSession | None = None
        # Events are taken from the start (a webhook set by an earlier run may post before
        # ``start`` has set it again), until ``stop``.
        self._accepting = True
        self.poll_timeout = poll_timeout
        self.account_name = ""
        vault.register(CHANNEL, self.uploads.read)
        self.sender = ZaloSender(self)

    @property
    def in_progress(self) -> int:
        """Events taken in and not yet answered."""
        return len(self._tasks)

    # --- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Check the token, then take events: by webhook (the web server hands them to
        ``receive``) or by long polling."""
        me = await self.api.get_me()
        self.account_name = me.account_name
        config = self._services.config.zalo
        if config.mode == "webhook":
            await self.api.set_webhook(config.url, config.secret_token)
        else:
            await self.api.delete_webhook()  # getUpdates is refused while a webhook is set
            self._poller = asyncio.create_task(self._poll())
        log.info("Zalo channel running (%s) as %s", config.mode, self.account_name)

    async def stop(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Take no more events, finish the ones in hand."""
        self._accepting = False
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def _poll(self) -> None:
        delay = 1.0
        while True:
            try:
                event = await self.api.get_update(timeout=self.poll_timeout)
            except ZaloUnauthorized:
                log.error("Zalo refused the token (reset in Zalo Bot Manager?); retrying")
                await asyncio.sleep(POLL_RETRY_MAX)
                continue
            except ZaloError as exc:
                log.warning("Zalo getUpdates failed: %s", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, POLL_RETRY_MAX)
                continue
            delay = 1.0
            if event is not None:
                self.receive(event)

    # --- events in --------------------------------------------------------------------------

    def receive(self, event: ZaloEvent) -> None:
        """Take one event (from a poll or the webhook) into its person's lane; returns at once."""
        if not self._accepting:
            log.info("a Zalo event arrived while stopping; not answered")
            return
        if (
            event.kind is ZaloEventKind.UNKNOWN
            or event.is_bot
            or not event.user_id
            or event.chat_type not in ("", "PRIVATE")
        ):
            log.debug("ignored a Zalo event %s", event.event_name or "(unnamed)")
            return
        verdict = self._flood.check(event.user_id)
        if verdict is Verdict.DROP:
            return
        work = self._answer(event, slow_down=verdict is Verdict.WARN)
        task = asyncio.create_task(self._lanes.run(event.user_id, work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, event: ZaloEvent, *, slow_down: bool) -> None:
        async with self._slots:
            try:
                await self._turn(event, slow_down=slow_down)
            except Exception as error:  # one person's trouble must not stop the channel
                log.error("error while answering on Zalo: %s", type(error).__name__, exc_info=error)

    async def _turn(self, event: ZaloEvent, *, slow_down: bool) -> None:
        services = self._services
        person = Person.zalo(event.user_id)
        user = ChannelUser(person, display_name=event.display_name, first_name=event.display_name)
        memory = self._routes.memories.of(person)
        remembered = memory.get(_MENU_MEMORY)
        previous = (
            remembered
            if isinstance(remembered, Menu)
            else Menu.from_json(await self._menus.get(CHANNEL.value, event.chat_id))
        )
        place = _MenuPlace()
        conversation = ZaloConversation(
            self.api,
            event.chat_id,
            self.hints(services.catalogue.default),
            self.tools(event.chat_id, person, place),
            previous,
        )
        read: Input | _Answer = (
            _Answer("common.slow_down", repeat=False)
            if slow_down
            else await self._read(event, previous)
        )
        turn = Turn(
            services,
            self._routes,
            conversation,
            user,
            read if not isinstance(read, _Answer) else Typed(event.text or ""),
        )
        if isinstance(read, _Answer):
            text = await turn.text(read.key, **read.params)
            await turn.send(Reply(text, repeat_choices=read.repeat))
        else:
            actor = await turn.actor()
            if actor.member is not None and not actor.member.zalo_reachable:
                await services.member_service.remember_account(actor.member, user)
            await run(turn, await self._routes.route(turn))
        conversation.hints = self.hints(await turn.language())
        place.durable = (await turn.actor()).is_member or (
            await services.flows.get(person) is not None
        )
        try:
            await conversation.flush(replace_menu=not isinstance(read, _Answer) or read.repeat)
        except Unreachable:
            await services.member_service.mark_unreachable(person)
        except ZaloError as exc:
            log.warning("could not answer on Zalo: %s", exc)

    async def _read(self, event: ZaloEvent, previous: Menu) -> Input | _Answer:
        """What the person did, as a journey input (or what to tell them straight away)."""
        match event.kind:
            case ZaloEventKind.TEXT:
                return read_text(event.text or "", previous)
            case ZaloEventKind.IMAGE:
                try:
                    image = await self.uploads.download(self._session(), event.photo_url or "")
                except ImageUnavailable as exc:
                    log.info("could not download a Zalo image: %s", exc)
                    return _Answer("zalo.image_failed", {"megabytes": MAX_IMAGE_BYTES >> 20})
                return Upload(
                    FileKind.PHOTO,
                    image.file,
                    image.filename,
                    image.size,
                    image.mime,
                    event.caption,
                )
            case ZaloEventKind.STICKER:
                return Unsupported("sticker")
            case ZaloEventKind.VOICE:
                return Unsupported("voice")
            case ZaloEventKind.UNSUPPORTED:
                return Unsupported("protected", protected=True)
        return Unsupported("other")

    # --- what a turn needs ------------------------------------------------------------------

    def _session(self) -> aiohttp.ClientSession:
        """For downloading the images members send (not Zalo's API: that has its own)."""
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession()
        return self._http

    def hints(self, language: str) -> Hints:
        catalogue = self._services.catalogue
        return Hints(
            main_menu=catalogue.plain(language, "zalo.main_menu"),
            file_link=catalogue.raw(language, "zalo.file_link"),
            type_one_of=catalogue.plain(language, "zalo.type_one_of"),
        )

    def tools(
        self, chat_id: str, person: Person | None = None, place: _MenuPlace | None = None
    ) -> ZaloTurnTools:
        return ZaloTurnTools(
            publish=self.publish,
            read_file=self._vault.read,
            save_menu=functools.partial(
                self._save_menu, chat_id, person or Person.zalo(chat_id), place or _MenuPlace()
            ),
        )

    async def _save_menu(self, chat_id: str, person: Person, place: _MenuPlace, menu: Menu) -> None:
        memory = self._routes.memories.of(person)
        if place.durable and menu.options:
            memory.pop(_MENU_MEMORY, None)
            await self._menus.put(
                CHANNEL.value, chat_id, menu.to_json(), self._services.clock.now()
            )
            return
        if place.durable:
            memory.pop(_MENU_MEMORY, None)
        else:
            memory[_MENU_MEMORY] = menu
        await self._menus.clear(CHANNEL.value, chat_id)

    async def publish(self, attachment: Attachment) -> str:
        """A file as a link to the bot's web server (Zalo carries no documents, and takes
        photos by URL only)."""
        mime = (
            attachment.mime
            or mimetypes.guess_type(attachment.filename)[0]
            or "application/octet-stream"
        )
        personal = attachment.for_member is not None and not mime.startswith("image/")
        content = attachment.content
        if attachment.stored is not None:
            content = await self._vault.read(attachment.stored, MAX_FILE_BYTES)
        return await self._services.files.publish(
            filename=attachment.filename,
            mime=mime,
            content=content,
            path=attachment.path if content is None else None,
            member_id=attachment.for_member,
            ttl=PERSONAL_TTL if personal else DEFAULT_TTL,
            uses=PERSONAL_USES if personal else DEFAULT_USES,
        )


def read_text(text: str, menu: Menu) -> Input | _Answer:
    """A typed text as a journey input, given the choices shown last."""
    if is_menu_request(text):
        return Command("menu")
    stripped = text.strip()
    if stripped.startswith("/") and len(stripped) > 1:
        head, *args = stripped[1:].split()
        name = head.lower()
        if name:
            return Command(name, tuple(args))
    choice = choose(text, menu)
    if isinstance(choice, OutOfRange):
        return _Answer("zalo.out_of_range", {"number": choice.number, "highest": choice.highest})
    if isinstance(choice, Option):
        if choice.press is not None:
            return Press(choice.press)
        return Typed(choice.text if choice.text is not None else choice.label)
    return Typed(text)


class ZaloSender:
    """Zalo's side of the messenger: a message to a member outside their own turn, rendered as
    in a turn (numbered choices kept as theirs when it brings some)."""

    def __init__(self, channel: ZaloChannel) -> None:
        self._channel = channel

    async def send(self, address: str, reply: Reply, language: str | None = None) -> bool:
        channel = self._channel
        services = channel._services
        conversation = ZaloConversation(
            channel.api,
            address,
            channel.hints(language or services.catalogue.default),
            channel.tools(address),
        )
        await conversation.send(reply)
        try:
            await conversation.flush(replace_menu=False)
        except Unreachable:
            await services.member_service.mark_unreachable(Person.zalo(address))
            return False
        except ZaloError as exc:
            log.warning("could not message a member on Zalo: %s", exc)
            return False
        return True

    async def role_changed(self, member: Member) -> None:
        return None  # Zalo has no command menu to change
