"""A local Zalo Bot Platform API, mounted beside the Telegram emulator, for tests and benchmarks.

It answers ``/zalo/bot<token>/<method>`` as ``https://bot-api.zaloplatforms.com/bot<token>/<method>``
does (GET or POST; query string, form or JSON; ``{ok, result}`` or ``{ok, error_code,
description}``), hosts users' photos under ``/zalo/cdn/``, and delivers events by long poll
(``getUpdates``: one event per call) or webhook (one POST per event, with the secret in
``X-Bot-Api-Secret-Token``). Tests talk to it as Zalo users through :class:`ZaloUser`.

What the platform documents is followed; where it says nothing the emulator makes a choice and
says so next to it ("guess"). The main ones:

- HTTP status of an error answer: the same number as ``error_code`` (undocumented; a client
  should read the JSON body whatever the status, as ``bot.channels.zalo.client`` does).
- Error descriptions: Zalo's wording is not published except "Quota exceeded" and "Request
  timeout"; the others here are plain and stable, and a client should act on ``error_code``.
- A chat the bot may not write to (an id nobody used, or a user who has not written yet):
  400 "Bad Request: chat not found (the user has not messaged the bot)". A user who blocked
  the bot: 403 "Forbidden: the user has blocked the bot".
- getUpdates while a webhook is set: 400 "Bad Request: webhook is active, call deleteWebhook
  before getUpdates" (the docs only say polling "does not work" then).
- A webhook event is POSTed once, whatever the answer (Zalo documents no retry); each POST's
  outcome is recorded in :attr:`ZaloEmulator.deliveries`. Events of one chat go out in order,
  different chats' side by side (``webhook_connections`` lanes).
- sendPhoto: the emulator downloads the URL as Zalo's servers would; a URL that cannot be
  fetched, answers non-2xx, is not an image or is over 10 MB: 400 "Bad Request: ...".
- Rate limits: Zalo publishes none. Limits set here (messages/s overall and per chat, over a
  sliding second) and injected faults answer 429 "Quota exceeded", as the platform does.

Every call is O(1) in the number of messages so benchmarks can push tens of thousands through.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import json
import logging
import math
import mimetypes
import random
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from bot.emulator.models import ApiError
from bot.emulator.zalo_models import ZaloBotMessage, ZaloMedia, ZaloStats, ZaloWebhookDelivery
from bot.emulator.zalo_users import ZaloUser

__all__ = [
    "DEFAULT_ZALO_TOKEN",
    "SECRET_HEADER",
    "SEND_METHODS",
    "ZaloEmulator",
    "new_zalo_user_id",
    "persona_zalo_id",
]

_LOGGER = logging.getLogger(__name__)

DEFAULT_ZALO_TOKEN = "12345689:nhipcau-zalo-test"
SECRET_HEADER = "X-Bot-Api-Secret-Token"
SEND_METHODS = frozenset({"sendMessage", "sendPhoto", "sendSticker"})
MAX_TEXT_LENGTH = 2000
MAX_PHOTO_BYTES = 10 * 1024 * 1024  # guess: Zalo publishes no limit for a photo by URL
DEFAULT_POLL_TIMEOUT = 30.0
CHAT_ACTIONS = frozenset({"typing", "upload_photo"})
PARSE_MODES = frozenset({"markdown", "html"})
QUOTA_EXCEEDED = "Quota exceeded"
CHAT_NOT_FOUND = "chat not found (the user has not messaged the bot)"

Handler = Callable[[dict[str, Any]], Awaitable[Any]]


class EmulatorHost(Protocol):
    """What the Zalo emulator needs from the server it is mounted on."""

    @property
    def url(self) -> str: ...

    def now(self) -> float: ...

    def notify(self) -> None: ...


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


@dataclass(slots=True)
class _Webhook:
    url: str
    secret_token: str
    session: aiohttp.ClientSession
    queues: list[asyncio.Queue[tuple[int, Any]]] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    inflight: int = 0

    @property
    def pending(self) -> int:
        return sum(q.qsize() for q in self.queues) + self.inflight


@dataclass(slots=True)
class _FaultPlan:
    """Injected 429s: the next ``count`` calls, then a ``fraction`` of calls, of ``methods``."""

    count: int = 0
    count_methods: frozenset[str] = SEND_METHODS
    fraction: float = 0.0
    fraction_methods: frozenset[str] = SEND_METHODS
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    def fires(self, method: str) -> bool:
        if self.count > 0 and method in self.count_methods:
            self.count -= 1
            return True
        return (
            self.fraction > 0
            and method in self.fraction_methods
            and self.rng.random() < self.fraction
        )


class ZaloEmulator:
    """In-memory Zalo Bot API over HTTP, plus the test-client API (users, waits, faults)."""

    def __init__(
        self,
        host: EmulatorHost,
        token: str = DEFAULT_ZALO_TOKEN,
        *,
        allow_insecure_webhooks: bool = False,
        global_rate_limit: float | None = None,
        per_chat_rate_limit: float | None = None,
        drop_unpolled_events: bool = False,
        webhook_connections: int = 10,
        bot_name: str = "Bot Nhịp Cầu",
        account_name: str = "bot.nhipcau",
    ) -> None:
        self._host = host
        self.token = token
        self.bot_id = token.split(":", 1)[0]
        self.bot_name = bot_name
        self.account_name = account_name
        # Real Zalo refuses webhook URLs that are not public https; tests run a bot on
        # http://127.0.0.1, which this option lets through.
        self.allow_insecure_webhooks = allow_insecure_webhooks
        # Changeable at runtime (messages per second; None: no limit).
        self.global_rate_limit = global_rate_limit
        self.per_chat_rate_limit = per_chat_rate_limit
        self.rate_limited_methods: set[str] = set(SEND_METHODS)
        # Polling is at-most-once: Zalo may lose events sent while nobody polls. Off by default
        # (events wait in a queue) so that tests are deterministic; on, it models the loss.
        self.drop_unpolled_events = drop_unpolled_events
        self.webhook_connections = max(1, webhook_connections)
        self.stats = ZaloStats()
        self.deliveries: list[ZaloWebhookDelivery] = []
        self._deliveries_by_message: dict[str, ZaloWebhookDelivery] = {}
        self._users: dict[str, ZaloUser] = {}
        self._media: dict[str, ZaloMedia] = {}
        self._pending: deque[tuple[int, Any]] = deque()
        self._sequence = 0
        self._pollers = 0
        self._updates_event: asyncio.Event | None = None
        self._changed_event: asyncio.Event | None = None
        self._global_window: deque[float] = deque()
        self._faults = _FaultPlan()
        self._webhook: _Webhook | None = None
        self._webhook_updated_at: int | None = None
        self._http: aiohttp.ClientSession | None = None
        self._closing = False
        self._methods: dict[str, Handler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendSticker": self._send_sticker,
            "sendChatAction": self._send_chat_action,
        }

    # -- lifecycle -----------------------------------------------------------------------------
    @property
    def api_base_url(self) -> str:
        """Give this to a client as its base URL: ``<api_base_url><token>/<method>``."""
        return f"{self._host.url}/zalo/bot"

    @property
    def cdn_base_url(self) -> str:
        return f"{self._host.url}/zalo/cdn"

    def add_routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/zalo/bot{token}/{method}", self._handle_api)
        app.router.add_get("/zalo/cdn/{name}", self._handle_cdn)

    async def stop(self) -> None:
        self._closing = True
        self._wake_pollers()
        for user in self._users.values():
            user.wake()
        await self._stop_webhook()
        if self._http is not None:
            await self._http.close()
            self._http = None

    @property
    def closing(self) -> bool:
        return self._closing

    # -- test-client API -----------------------------------------------------------------------
    def user(self, user_id: str, display_name: str | None = None) -> ZaloUser:
        """The Zalo user with this id (created on first call; later calls return the same)."""
        existing = self._users.get(user_id)
        if existing is not None:
            return existing
        if not user_id:
            raise ValueError("a Zalo user id is a non-empty string")
        user = ZaloUser(self, user_id, display_name=display_name or f"Zalo {user_id[-4:]}")
        self._users[user_id] = user
        return user

    def chat(self, chat_id: str) -> ZaloUser | None:
        return self._users.get(chat_id)

    @property
    def users(self) -> list[ZaloUser]:
        return list(self._users.values())

    def inject_event(self, event: Any) -> None:
        """Queue a raw event (any JSON value, malformed ones included) as Zalo would send it."""
        self.queue_event(event)

    def fail_next(self, count: int, *, methods: Iterable[str] | None = None) -> None:
        """Make the next ``count`` calls of ``methods`` (default: the send methods) answer 429."""
        self._faults.count = max(0, count)
        self._faults.count_methods = frozenset(methods) if methods is not None else SEND_METHODS

    def fail_fraction(
        self, fraction: float, *, seed: int = 0, methods: Iterable[str] | None = None
    ) -> None:
        """Make about ``fraction`` of the calls of ``methods`` answer 429 (0 turns it off)."""
        self._faults.fraction = min(max(fraction, 0.0), 1.0)
        self._faults.fraction_methods = frozenset(methods) if methods is not None else SEND_METHODS
        self._faults.rng = random.Random(seed)

    @property
    def webhook_url(self) -> str | None:
        return self._webhook.url if self._webhook is not None else None

    @property
    def waiting_polls(self) -> int:
        """getUpdates calls waiting for an event right now."""
        return self._pollers

    @property
    def pending_events(self) -> int:
        """Events not yet handed to the bot (queued for getUpdates or for the webhook)."""
        return len(self._pending) + (self._webhook.pending if self._webhook else 0)

    def delivery(self, message_id: str) -> ZaloWebhookDelivery | None:
        """How the webhook POST of the event with this message id went (None: not yet)."""
        return self._deliveries_by_message.get(message_id)

    async def wait_for_delivery(
        self,
        message_id: str,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> ZaloWebhookDelivery:
        await self.wait_until(lambda: message_id in self._deliveries_by_message, timeout)
        return self._deliveries_by_message[message_id]

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until ``predicate()`` holds; re-checked on every change of the Zalo emulator."""
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"Condition not met within {timeout}s")
            if self._changed_event is None:
                self._changed_event = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed_event.wait(), remaining)

    def media(self, media_id: str) -> ZaloMedia | None:
        return self._media.get(media_id)

    # -- shared with users ---------------------------------------------------------------------
    def now_ms(self) -> int:
        return int(self._host.now() * 1000)

    def touch(self) -> None:
        """Something changed: wake whoever waits on the emulator."""
        event = self._changed_event
        if event is not None:
            self._changed_event = None
            event.set()
        self._host.notify()

    def host_media(
        self, content: bytes, content_type: str, *, source_url: str | None = None
    ) -> ZaloMedia:
        media_id = secrets.token_hex(12)
        extension = _extension(content_type)
        path = f"/zalo/cdn/{media_id}{extension}"
        media = ZaloMedia(
            media_id=media_id,
            path=path,
            url=f"{self._host.url}{path}",
            content=content,
            content_type=content_type,
            source_url=source_url,
        )
        self._media[media_id] = media
        return media

    def queue_event(self, event: Any) -> None:
        self._sequence += 1
        item = (self._sequence, event)
        self.stats.events_queued += 1
        hook = self._webhook
        if hook is not None:
            hook.queues[hash(_chat_key(event)) % len(hook.queues)].put_nowait(item)
        elif self.drop_unpolled_events and self._pollers == 0:
            self.stats.events_lost += 1
        else:
            self._pending.append(item)
            self._wake_pollers()
        self.touch()

    # -- HTTP plumbing -------------------------------------------------------------------------
    async def _handle_api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _answer(ApiError(401, "Unauthorized").to_api(), 401)
        name = request.match_info["method"]
        handler = self._methods.get(name)  # method names are case-sensitive on Zalo
        if handler is None:
            return _answer(ApiError(404, "Not Found").to_api(), 404)
        self.stats.method_calls[name] += 1
        try:
            if self._faults.fires(name):
                self.stats.injected_failures += 1
                self._quota_exceeded()
            result = await handler(await _read_params(request))
        except ApiError as error:
            return _answer(error.to_api(), error.error_code)
        except Exception:
            # A bug here must not look like a Zalo answer.
            _LOGGER.exception("Zalo emulator failed on %s", name)
            return _answer(ApiError(500, "Internal Server Error").to_api(), 500)
        return _answer({"ok": True, "result": result}, 200)

    async def _handle_cdn(self, request: web.Request) -> web.Response:
        media_id = request.match_info["name"].split(".", 1)[0]
        media = self._media.get(media_id)
        if media is None:
            raise web.HTTPNotFound()
        return web.Response(body=media.content, content_type=media.content_type)

    # -- bot and events ------------------------------------------------------------------------
    async def _get_me(self, params: dict[str, Any]) -> Any:
        return {
            "id": self.bot_id,
            "account_name": self.account_name,
            "account_type": "BASIC",
            "can_join_groups": False,
        }

    def _wake_pollers(self) -> None:
        event = self._updates_event
        if event is not None:
            self._updates_event = None
            event.set()

    async def _get_updates(self, params: dict[str, Any]) -> Any:
        if self._webhook is not None:
            raise bad_request("webhook is active, call deleteWebhook before getUpdates")
        timeout = _number(params, "timeout", DEFAULT_POLL_TIMEOUT)
        deadline = time.monotonic() + max(timeout, 0.0)
        self._pollers += 1
        self.touch()
        try:
            while not self._pending and not self._closing and self._webhook is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                if self._updates_event is None:
                    self._updates_event = asyncio.Event()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._updates_event.wait(), remaining)
        finally:
            self._pollers -= 1
        if not self._pending:
            raise ApiError(408, "Request timeout")
        # Handed out now and forgotten: if this answer never reaches the bot the event is
        # lost, which is what "no offset, at-most-once" means.
        _, event = self._pending.popleft()
        self.stats.events_polled += 1
        self.touch()
        return event

    async def _set_webhook(self, params: dict[str, Any]) -> Any:
        url = _string(params, "url")
        secret = _string(params, "secret_token")
        if not url:
            raise bad_request("url is required")
        if not secret:
            raise bad_request("secret_token is required")
        if not 8 <= len(secret) <= 256:
            raise bad_request("secret_token must be 8 to 256 characters")
        # Guess: the secret travels in an HTTP header, so only visible ASCII is accepted.
        if not all(33 <= ord(c) <= 126 for c in secret):
            raise bad_request("secret_token contains unallowed characters")
        self._check_webhook_url(url)
        await self._stop_webhook()
        hook = _Webhook(
            url=url,
            secret_token=secret,
            session=aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)),
        )
        for _ in range(self.webhook_connections):
            queue: asyncio.Queue[tuple[int, Any]] = asyncio.Queue()
            hook.queues.append(queue)
            hook.tasks.append(asyncio.create_task(self._deliver_loop(hook, queue)))
        self._webhook = hook
        self._webhook_updated_at = self.now_ms()
        while self._pending:
            item = self._pending.popleft()
            hook.queues[hash(_chat_key(item[1])) % len(hook.queues)].put_nowait(item)
        self._wake_pollers()  # a waiting getUpdates ends now with an empty answer
        return {"url": url, "updated_at": self._webhook_updated_at}

    def _check_webhook_url(self, url: str) -> None:
        try:
            parts = urlsplit(url)
            hostname = parts.hostname or ""
            _ = parts.port
        except ValueError:
            raise bad_request("url is not a valid URL") from None
        allowed_schemes = ("https", "http") if self.allow_insecure_webhooks else ("https",)
        if parts.scheme not in allowed_schemes or not hostname:
            raise bad_request("url must be a public https URL")
        if self.allow_insecure_webhooks:
            return
        if hostname == "localhost" or hostname.endswith((".localhost", ".local")):
            raise bad_request("url must be a public https URL")
        with contextlib.suppress(ValueError):
            address = ipaddress.ip_address(hostname)
            if not address.is_global:
                raise bad_request("url must be a public https URL")

    async def _delete_webhook(self, params: dict[str, Any]) -> Any:
        await self._stop_webhook()
        self._webhook_updated_at = self.now_ms()
        return {"url": "", "updated_at": self._webhook_updated_at}

    async def _get_webhook_info(self, params: dict[str, Any]) -> Any:
        # Never the secret, as Zalo documents.
        info: dict[str, Any] = {"url": self._webhook.url if self._webhook else ""}
        if self._webhook_updated_at is not None:
            info["updated_at"] = self._webhook_updated_at
        return info

    async def _stop_webhook(self) -> None:
        hook = self._webhook
        if hook is None:
            return
        self._webhook = None
        for task in hook.tasks:
            task.cancel()
        await asyncio.gather(*hook.tasks, return_exceptions=True)
        undelivered: list[tuple[int, Any]] = []
        for queue in hook.queues:
            while not queue.empty():
                undelivered.append(queue.get_nowait())
        # Events not yet POSTed go back to getUpdates, in order of arrival.
        self._pending.extend(sorted(undelivered, key=lambda item: item[0]))
        await hook.session.close()

    async def _deliver_loop(self, hook: _Webhook, queue: asyncio.Queue[tuple[int, Any]]) -> None:
        headers = {"Content-Type": "application/json", SECRET_HEADER: hook.secret_token}
        while True:
            sequence, event = await queue.get()
            hook.inflight += 1
            try:
                await self._deliver(hook, sequence, event, headers)
            finally:
                hook.inflight -= 1

    async def _deliver(
        self, hook: _Webhook, sequence: int, event: Any, headers: dict[str, str]
    ) -> None:
        # The webhook body wraps the event as a poll answer does: {"ok": true, "result": ...}
        # (the docs' webhook page shows this envelope; clients in the wild read
        # body.result.event_name).
        body = json.dumps({"ok": True, "result": event}, ensure_ascii=False).encode()
        status: int | None = None
        error: str | None = None
        try:
            async with hook.session.post(hook.url, data=body, headers=headers) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        delivery = ZaloWebhookDelivery(
            sequence=sequence,
            message_id=_message_id(event),
            event_name=_event_name(event),
            status=status,
            error=error,
        )
        if delivery.accepted:
            self.stats.webhook_deliveries += 1
        else:
            self.stats.webhook_failures += 1
            _LOGGER.debug("Zalo webhook POST %s answered %s %s", sequence, status, error or "")
        self.deliveries.append(delivery)
        if delivery.message_id is not None:
            self._deliveries_by_message[delivery.message_id] = delivery
        self.touch()

    # -- sending -------------------------------------------------------------------------------
    def _chat_for_send(self, params: dict[str, Any]) -> ZaloUser:
        chat_id = _string(params, "chat_id")
        if not chat_id:
            raise bad_request("chat_id is required")
        user = self._users.get(chat_id)
        if user is None or not user.interacted:
            raise bad_request(CHAT_NOT_FOUND)
        if user.blocked:
            raise ApiError(403, "Forbidden: the user has blocked the bot")
        return user

    def _check_rate(self, method: str, user: ZaloUser) -> None:
        if method not in self.rate_limited_methods:
            return
        global_limit = self.global_rate_limit
        chat_limit = self.per_chat_rate_limit
        if global_limit is None and chat_limit is None:
            return
        now = time.monotonic()
        window_start = now - 1.0
        if global_limit is not None:
            window = self._global_window
            while window and window[0] <= window_start:
                window.popleft()
            if len(window) >= global_limit:
                self._quota_exceeded()
        if chat_limit is not None:
            times = user.send_window
            while times and times[0] <= window_start:
                times.popleft()
            if len(times) >= chat_limit:
                self._quota_exceeded()
        # Only counted once accepted, and only while a limit is set.
        if global_limit is not None:
            self._global_window.append(now)
        if chat_limit is not None:
            user.send_window.append(now)

    def _quota_exceeded(self) -> None:
        self.stats.rate_limited += 1
        raise ApiError(429, QUOTA_EXCEEDED)

    def _record(self, user: ZaloUser, kind: str, **fields: Any) -> dict[str, Any]:
        message = ZaloBotMessage(
            message_id=secrets.token_hex(10),
            chat_id=user.user_id,
            date=self.now_ms(),
            kind=kind,
            sent_at=time.monotonic(),
            **fields,
        )
        self.stats.sent_messages += 1
        user.add_bot_message(message)
        return {"message_id": message.message_id, "date": message.date}

    async def _send_message(self, params: dict[str, Any]) -> Any:
        user = self._chat_for_send(params)
        text = _string(params, "text") or ""
        # Characters as Python counts them (code points); Vietnamese text is the same in UTF-16.
        if not 1 <= len(text) <= MAX_TEXT_LENGTH:
            raise bad_request(f"text must be 1 to {MAX_TEXT_LENGTH} characters")
        parse_mode = _string(params, "parse_mode") or None
        if parse_mode is not None and parse_mode.lower() not in PARSE_MODES:
            raise bad_request("parse_mode must be markdown or html")
        self._check_rate("sendMessage", user)
        return self._record(user, "text", text=text, parse_mode=parse_mode)

    async def _send_photo(self, params: dict[str, Any]) -> Any:
        user = self._chat_for_send(params)
        photo_url = _string(params, "photo") or ""
        if not photo_url:
            raise bad_request("photo is required")
        if urlsplit(photo_url).scheme not in ("http", "https"):
            raise bad_request("photo must be the URL of an image")
        caption = _string(params, "caption") or None
        if caption is not None and len(caption) > MAX_TEXT_LENGTH:
            raise bad_request(f"caption must be at most {MAX_TEXT_LENGTH} characters")
        self._check_rate("sendPhoto", user)
        photo = await self._fetch_photo(photo_url)
        self.stats.sent_photos += 1
        return self._record(user, "photo", photo_url=photo_url, photo=photo, caption=caption)

    async def _fetch_photo(self, url: str) -> ZaloMedia:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        try:
            async with self._http.get(url) as response:
                if response.status >= 300:
                    raise bad_request(f"can't download the photo (HTTP {response.status})")
                content_type = response.content_type
                if not content_type.startswith("image/"):
                    raise bad_request("the photo URL is not an image")
                content = await response.content.read(MAX_PHOTO_BYTES + 1)
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError):
            raise bad_request("can't download the photo") from None
        if len(content) > MAX_PHOTO_BYTES:
            raise bad_request("the photo is too big")
        return self.host_media(content, content_type, source_url=url)

    async def _send_sticker(self, params: dict[str, Any]) -> Any:
        user = self._chat_for_send(params)
        sticker = _string(params, "sticker") or ""
        if not sticker:
            raise bad_request("sticker is required")
        self._check_rate("sendSticker", user)
        self.stats.sent_stickers += 1
        return self._record(user, "sticker", sticker=sticker)

    async def _send_chat_action(self, params: dict[str, Any]) -> Any:
        user = self._chat_for_send(params)
        action = _string(params, "action") or ""
        if action not in CHAT_ACTIONS:
            raise bad_request("action must be typing or upload_photo")
        self._check_rate("sendChatAction", user)
        self.stats.chat_actions += 1
        user.chat_action(action)
        return True


def _answer(body: Any, status: int) -> web.Response:
    return web.Response(
        text=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status=status,
        content_type="application/json",
    )


async def _read_params(request: web.Request) -> dict[str, Any]:
    """Parameters from the query string and a JSON, urlencoded or multipart body."""
    values: dict[str, Any] = dict(request.query)
    if not request.body_exists:
        return values
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise bad_request("can't parse the JSON body") from None
        if not isinstance(body, dict):
            raise bad_request("the JSON body must be an object")
        values.update(body)
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, str):
                values[key] = value
    return values


def _string(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise bad_request(f"{name} must be a string")
    return str(value)


def _number(params: dict[str, Any], name: str, default: float) -> float:
    # The docs type getUpdates' timeout as a String; numbers are taken too.
    value = params.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise bad_request(f"{name} must be a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise bad_request(f"{name} must be a number") from None
    if not math.isfinite(number):
        raise bad_request(f"{name} must be a number")
    return number


def _message(event: Any) -> dict[str, Any]:
    message = event.get("message") if isinstance(event, dict) else None
    return message if isinstance(message, dict) else {}


def _chat_key(event: Any) -> str:
    chat = _message(event).get("chat")
    return str(chat.get("id", "")) if isinstance(chat, dict) else ""


def _message_id(event: Any) -> str | None:
    value = _message(event).get("message_id")
    return value if isinstance(value, str) else None


def _event_name(event: Any) -> str:
    name = event.get("event_name") if isinstance(event, dict) else None
    return name if isinstance(name, str) else ""


def _extension(content_type: str) -> str:
    if content_type == "image/jpeg":
        return ".jpg"
    if content_type == "audio/aac":
        return ".aac"
    return mimetypes.guess_extension(content_type) or ""


def new_zalo_user_id() -> str:
    """A fresh id in Zalo's form: 20 hex digits."""
    return secrets.token_hex(10)


def persona_zalo_id(telegram_user_id: int) -> str:
    """The stable Zalo id the web chat gives a persona (so a demo can link it ahead of time)."""
    return hashlib.sha1(f"nhipcau-zalo:{telegram_user_id}".encode()).hexdigest()[:20]
