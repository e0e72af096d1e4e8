"""Webhook mode: a small aiohttp server that takes Telegram's updates (only with the right
``X-Telegram-Bot-Api-Secret-Token``) and serves ``/health`` for the load balancer or systemd.

PTB's own webhook server has no room for extra routes; feeding ``Application.update_queue``
from our own server is the pattern PTB documents for custom webhook setups.
"""

from __future__ import annotations

import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.config import WebhookConfig
from storage import Database

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1_000_000  # Telegram's updates are far smaller; refuse anything bigger


@dataclass
class WebhookServer:
    runner: web.AppRunner

    async def stop(self) -> None:
        await self.runner.cleanup()


async def start_webhook_server(
    app: Application[Any, Any, Any, Any, Any, Any], config: WebhookConfig, db: Database
) -> WebhookServer:
    secret = config.secret_token.encode()

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, secret):
            log.warning("refused a webhook request without the right secret token")
            return web.Response(status=403, text="Forbidden")
        try:
            data = json.loads(await request.read())
            update = Update.de_json(data, app.bot)
        except (ValueError, TypeError, KeyError):
            return web.Response(status=400, text="Bad Request")
        if update is None:
            return web.Response(status=400, text="Bad Request")
        await app.update_queue.put(update)
        return web.Response(text="ok")

    async def health(request: web.Request) -> web.Response:
        ok = await db.integrity_check() == "ok" if request.query.get("deep") else True
        body = {"status": "ok" if ok else "degraded", "pending_updates": app.update_queue.qsize()}
        return web.json_response(body, status=200 if ok else 503)

    server = web.Application(client_max_size=MAX_BODY)
    path = "/" + config.path.strip("/")
    server.router.add_post(path, receive)
    server.router.add_get("/health", health)
    runner = web.AppRunner(server, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, config.listen, config.port).start()
    await app.bot.set_webhook(
        config.url, secret_token=config.secret_token, allowed_updates=Update.ALL_TYPES
    )
    log.info("webhook server listening on %s:%s%s", config.listen, config.port, path)
    return WebhookServer(runner)
