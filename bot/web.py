"""The bot's own HTTP server (``[web]``): Telegram's webhook (only with the right
``X-Telegram-Bot-Api-Secret-Token``), Zalo's webhook (only with the right
``X-Bot-Api-Secret-Token``), file links for channels that carry no documents, and ``/health``
for the load balancer or systemd. Secrets are compared in constant time; a request without the
right one gets 403 and nothing in it is processed.

Channels hand in what to do with a webhook body; this module knows the HTTP side only.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from aiohttp import web

from bot.config import WebConfig
from bot.files import LINK_PATH, FileLinks, ascii_filename
from storage import Database

log = logging.getLogger(__name__)

TELEGRAM_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ZALO_SECRET_HEADER = "X-Bot-Api-Secret-Token"
MAX_BODY = 1_000_000  # webhook bodies are far smaller; refuse anything bigger
PURGE_EVERY = timedelta(minutes=10)

# A webhook body, parsed JSON, taken by its channel: False when it cannot be read (400).
Receiver = Callable[[Any], Awaitable[bool]]


def secret_matches(given: str | None, expected: str) -> bool:
    if given is None or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def _path(text: str) -> str:
    return "/" + text.strip("/")


class WebServer:
    def __init__(self, config: WebConfig, db: Database, files: FileLinks) -> None:
        self._config = config
        self._db = db
        self._files = files
        self._app = web.Application(client_max_size=MAX_BODY)
        self._app.router.add_get("/health", self._health)
        # No HEAD: a HEAD would spend one of the link's few uses.
        self._app.router.add_get(LINK_PATH + "{token}/{name}", self._file, allow_head=False)
        self._runner: web.AppRunner | None = None
        self._purger: asyncio.Task[None] | None = None
        self._pending: list[Callable[[], int]] = []

    def add_webhook(
        self,
        path: str,
        header: str,
        secret: str,
        receive: Receiver,
        pending: Callable[[], int],
    ) -> str:
        """Take a channel's webhook POSTs on ``path`` (only with ``secret`` in ``header``)."""
        route = _path(path)

        async def hook(request: web.Request) -> web.Response:
            if not secret_matches(request.headers.get(header), secret):
                log.warning("refused a webhook request on %s without the right secret", route)
                return web.Response(status=403, text="Forbidden")
            try:
                data = json.loads(await request.read())
            except ValueError:
                return web.Response(status=400, text="Bad Request")
            if not await receive(data):
                return web.Response(status=400, text="Bad Request")
            return web.json_response({"ok": True})

        self._app.router.add_post(route, hook)
        self._pending.append(pending)
        return route

    async def start(self) -> None:
        self._runner = web.AppRunner(self._app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._config.listen, self._config.port).start()
        self._purger = asyncio.create_task(self._purge_regularly())
        log.info("web server listening on %s:%s", self._config.listen, self._config.port)

    async def stop(self) -> None:
        if self._purger is not None:
            self._purger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._purger
            self._purger = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _purge_regularly(self) -> None:
        """Files behind expired, used-up or erased links are deleted (and their rows)."""
        while True:
            try:
                while await self._files.purge() > 0:
                    pass
            except Exception as error:  # a failed sweep is retried at the next one
                log.warning("could not purge expired file links: %s", type(error).__name__)
            await asyncio.sleep(PURGE_EVERY.total_seconds())

    async def _health(self, request: web.Request) -> web.Response:
        ok = await self._db.integrity_check() == "ok" if request.query.get("deep") else True
        pending = sum(count() for count in self._pending)
        body = {"status": "ok" if ok else "degraded", "pending_updates": pending}
        return web.json_response(body, status=200 if ok else 503)

    async def _file(self, request: web.Request) -> web.StreamResponse:
        opened = await self._files.open(request.match_info["token"])
        if opened is None:
            return web.Response(status=404, text="Not Found")
        disposition = "inline" if opened.mime.startswith("image/") else "attachment"
        ascii_name = ascii_filename(opened.filename)
        headers = {
            "Content-Type": opened.mime,
            "Content-Disposition": (
                f'{disposition}; filename="{ascii_name}"; '
                f"filename*=UTF-8''{quote(opened.filename)}"
            ),
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        }
        return web.FileResponse(opened.path, headers=headers)
