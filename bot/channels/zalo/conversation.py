"""A turn on Zalo: replies are collected while the journey runs, then sent as a few plain
messages with numbered choices (``numbered.render``); the choices are kept so that the next
answer can be read as one of them. Files go as links to the bot's own server."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.channels.zalo.client import ZaloBotApi, ZaloForbidden, ZaloRateLimited
from bot.channels.zalo.numbered import Hints, Menu, Outgoing, render
from handlers.dialog import Attachment, Capabilities, FileRef, Reply, Unreachable

log = logging.getLogger(__name__)

CAPABILITIES = Capabilities(
    edits=False, share_contact=False, deep_links=False, command_menu=False, buttons=False
)
REPLY_ATTEMPTS = 4
FIRST_BACKOFF = 0.5  # seconds after a 429, doubling


@dataclass(frozen=True, slots=True)
class ZaloTurnTools:
    """What a Zalo turn needs beyond the API: where files become links, how stored files are
    read, and where the numbered choices are kept."""

    publish: Callable[[Attachment], Awaitable[str]]  # a file → its signed link
    read_file: Callable[[FileRef, int], Awaitable[bytes]]
    save_menu: Callable[[Menu], Awaitable[None]]


async def send_with_backoff(call: Callable[[], Awaitable[str]]) -> str:
    """One Zalo send, retried after 429 "Quota exceeded" with a growing pause."""
    delay = FIRST_BACKOFF
    for attempt in range(REPLY_ATTEMPTS):
        try:
            return await call()
        except ZaloRateLimited:
            if attempt + 1 == REPLY_ATTEMPTS:
                raise
            await asyncio.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


class ZaloConversation:
    def __init__(
        self,
        api: ZaloBotApi,
        chat_id: str,
        hints: Hints,
        tools: ZaloTurnTools,
        previous: Menu | None = None,
    ) -> None:
        self._api = api
        self._chat_id = chat_id
        self.hints = hints  # the channel may set them again once the turn knows its language
        self._tools = tools
        self._previous = previous or Menu()
        self._replies: list[Reply] = []
        self._notices: list[str] = []

    @property
    def capabilities(self) -> Capabilities:
        return CAPABILITIES

    async def send(self, reply: Reply) -> None:
        self._replies.append(reply)

    async def replace(self, reply: Reply) -> None:
        self._replies.append(reply)  # no edits on Zalo: a new message

    async def toast(self, text: str | None, *, alert: bool = False) -> None:
        if text:
            self._notices.append(text)

    async def download(self, file: FileRef, *, limit: int) -> bytes:
        return await self._tools.read_file(file, limit)

    @property
    def pending(self) -> bool:
        return bool(self._replies or self._notices)

    async def flush(self, *, replace_menu: bool = True) -> None:
        """Send what the turn produced and keep its choices (even none: old numbers expire).
        With ``replace_menu`` False (a message to someone outside their own turn) the choices
        they had stay unless this message brings new ones."""
        if not self.pending:
            return
        links: dict[int, str] = {}
        for reply in self._replies:
            for attachment in (reply.photo, reply.document):
                if attachment is not None:
                    links[id(attachment)] = await self._tools.publish(attachment)
        messages, menu = render(
            self._replies, self._notices, self.hints, lambda a: links[id(a)], self._previous
        )
        self._replies.clear()
        self._notices.clear()
        # The choices are saved before sending: an answer can arrive as soon as they show.
        if replace_menu or menu.options:
            await self._tools.save_menu(menu)
            self._previous = menu
        for message in messages:
            await self._send(message, links)

    async def _send(self, message: Outgoing, links: dict[int, str]) -> None:
        try:
            if message.photo is not None:
                url = links[id(message.photo)]
                await send_with_backoff(
                    lambda: self._api.send_photo(self._chat_id, url, message.text or None)
                )
            else:
                await send_with_backoff(lambda: self._api.send_message(self._chat_id, message.text))
        except ZaloForbidden as exc:
            raise Unreachable(exc.description) from None
