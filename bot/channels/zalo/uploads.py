"""Images members send on Zalo, kept by the bot: Zalo hands over a URL, not a file id to send
again, so the bot downloads the image once (within a size limit) into the files folder and
names it by its content. ``FileRef(Channel.ZALO, <stored name>, <sha256>)`` stands for it."""

from __future__ import annotations

import asyncio
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bot.domain.members import Channel
from handlers.dialog import FileRef

MAX_IMAGE_BYTES = 10 * 1024 * 1024
_EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
}
_STORED = re.compile(r"^[0-9a-f]{64}\.(jpg|png|gif|webp|img)$")


class ImageUnavailable(Exception):
    """The image could not be downloaded (unreachable, not an image, too big)."""


@dataclass(frozen=True, slots=True)
class StoredImage:
    file: FileRef
    size: int
    mime: str

    @property
    def filename(self) -> str:
        return f"photo-{self.file.unique_id[:12]}{Path(self.file.ref).suffix}"


class ZaloUploads:
    def __init__(self, folder: Path, *, limit: int = MAX_IMAGE_BYTES) -> None:
        self._folder = folder
        self.limit = limit

    async def download(self, session: aiohttp.ClientSession, url: str) -> StoredImage:
        """Fetch a photo a member sent and keep it."""
        if not url.startswith(("https://", "http://")):
            raise ImageUnavailable("not an http(s) URL")
        try:
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=30)) as response:
                if response.status != 200:
                    raise ImageUnavailable(f"HTTP {response.status}")
                mime = response.content_type
                if not mime.startswith("image/"):
                    raise ImageUnavailable("not an image")
                declared = response.content_length
                if declared is not None and declared > self.limit:
                    raise ImageUnavailable("too big")
                content = await response.content.read(self.limit + 1)
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
            raise ImageUnavailable(type(exc).__name__) from None
        if len(content) > self.limit:
            raise ImageUnavailable("too big")
        if not content:
            raise ImageUnavailable("empty")
        return await self.store(content, mime)

    async def store(self, content: bytes, mime: str) -> StoredImage:
        digest = hashlib.sha256(content).hexdigest()
        name = digest + _EXTENSIONS.get(mime, ".img")
        await asyncio.to_thread(self._write, name, content)
        return StoredImage(FileRef(Channel.ZALO, name, digest), len(content), mime)

    def _write(self, name: str, content: bytes) -> None:
        self._folder.mkdir(parents=True, exist_ok=True)
        target = self._folder / name
        if target.exists():  # the same image again: named by its content, kept once
            return
        partial = target.with_suffix(".part")
        partial.write_bytes(content)
        partial.replace(target)

    async def read(self, file: FileRef, limit: int) -> bytes:
        if file.channel is not Channel.ZALO or not _STORED.match(file.ref):
            raise FileNotFoundError("not an image kept for Zalo")
        path = self._folder / file.ref
        size = await asyncio.to_thread(lambda: path.stat().st_size)
        if size > limit:
            raise ValueError("file too large")
        return await asyncio.to_thread(path.read_bytes)
