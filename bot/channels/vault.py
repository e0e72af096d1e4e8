"""Stored attachments read back whichever channel keeps them, so that one channel can hand over
a file another channel received: an initiative photo sent on Telegram, shown to a cadre on Zalo
(as a link), or one sent on Zalo shown on Telegram (uploaded). Each running channel registers
its reader: Telegram downloads through its bot (getFile), Zalo reads the copy the bot keeps."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.domain.members import Channel
from handlers.dialog import FileRef

Reader = Callable[[FileRef, int], Awaitable[bytes]]


class FileUnavailable(Exception):
    """No running channel can read this file (its channel is off, or the file is gone)."""


class FileVault:
    def __init__(self) -> None:
        self._readers: dict[Channel, Reader] = {}

    def register(self, channel: Channel, reader: Reader) -> None:
        self._readers[channel] = reader

    async def read(self, file: FileRef, limit: int) -> bytes:
        """The file's bytes (``limit`` at most, else ValueError)."""
        reader = self._readers.get(file.channel)
        if reader is None:
            raise FileUnavailable(f"the {file.channel.value} channel is not running")
        return await reader(file, limit)
