"""Files as links to the bot's own HTTPS server, for channels that carry no documents (Zalo):
a calendar file, a check-in QR code, an export. Each link is unguessable (128 random bits),
expires, may be opened only a few times, and is made for one person; the file lives in the
files folder beside the database until its link has expired."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import shutil
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bot.clock import Clock
from bot.domain.files import StoredLink
from storage.files import FileLinkRepository

log = logging.getLogger(__name__)

LINK_PATH = "/f/"
DEFAULT_TTL = timedelta(hours=24)
DEFAULT_USES = 10
_TOKEN_LENGTH = 22  # secrets.token_urlsafe(16)


@dataclass(frozen=True, slots=True)
class OpenedFile:
    path: Path
    filename: str
    mime: str


class FileLinks:
    def __init__(
        self,
        repository: FileLinkRepository,
        folder: Path,
        public_base_url: str,
        clock: Clock,
    ) -> None:
        self._repository = repository
        self._folder = folder
        self._base = public_base_url.rstrip("/")
        self._clock = clock

    async def publish(
        self,
        *,
        filename: str,
        mime: str,
        content: bytes | None = None,
        path: Path | None = None,
        member_id: int | None = None,
        ttl: timedelta = DEFAULT_TTL,
        uses: int | None = DEFAULT_USES,
    ) -> str:
        """Keep a copy of the file and return the link that opens it."""
        if (content is None) == (path is None):
            raise ValueError("give content or path")
        name = secrets.token_hex(16)
        target = self._folder / name
        await asyncio.to_thread(self._store, target, content, path)
        token = secrets.token_urlsafe(16)
        now = self._clock.now()
        await self._repository.add(
            token, StoredLink(name, filename, mime, member_id, now + ttl, uses), now
        )
        return f"{self._base}{LINK_PATH}{token}/{ascii_filename(filename)}"

    def _store(self, target: Path, content: bytes | None, source: Path | None) -> None:
        self._folder.mkdir(parents=True, exist_ok=True)
        if content is not None:
            target.write_bytes(content)
        else:
            assert source is not None
            shutil.copyfile(source, target)

    async def open(self, token: str) -> OpenedFile | None:
        """The file behind a link, or None when it is unknown, expired or used up."""
        if len(token) != _TOKEN_LENGTH:
            return None
        link = await self._repository.open(token, self._clock.now())
        if link is None:
            return None
        path = self._folder / link.name
        if not path.is_file():
            return None
        return OpenedFile(path, link.filename, link.mime)

    async def purge(self) -> int:
        """Delete the files of expired links; returns how many went."""
        names = await self._repository.expired(self._clock.now())
        await asyncio.to_thread(self._remove, names)
        await self._repository.forget_names(names)
        return len(names)

    async def forget_member(self, member_id: int) -> None:
        """Erasure: the files made for a member go with their links."""
        names = await self._repository.of_member(member_id)
        await asyncio.to_thread(self._remove, names)
        await self._repository.forget_names(names)

    def _remove(self, names: list[str]) -> None:
        for name in names:
            (self._folder / name).unlink(missing_ok=True)


def ascii_filename(filename: str) -> str:
    """The file name in plain ASCII (letters, digits, - . _), Vietnamese without its marks:
    "Đăng ký.ics" → "Dang-ky.ics". For the link's address and the download's fallback name."""
    folded = unicodedata.normalize("NFKD", filename.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(ch for ch in folded if not unicodedata.combining(ch))
    kept = "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-._") else "-" for ch in bare)
    return re.sub(r"-{2,}", "-", kept).strip("-.") or "file"
