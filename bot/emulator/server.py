"""A local Telegram Bot API server for tests, benchmarks and the demo web chat.

It speaks the real HTTP protocol (``/bot<token>/<method>``, ``/file/bot<token>/<path>``) with
Telegram's response shapes and error descriptions, so the real python-telegram-bot client runs
against it unmodified. State lives in memory; every call is O(1) in the number of messages so it
can drive throughput benchmarks.

Rate limits: only the methods in :attr:`BotApiEmulator.rate_limited_methods` count, by default
the "send" methods (sendMessage, sendDocument, sendPhoto, copyMessage). Edits are not counted:
Telegram's documented 1 msg/s per chat and 30 msg/s global limits are about sending, and a
broadcaster is the thing the benchmarks want to measure. Add ``"editMessageText"`` to the set to
count edits too. Sends are only tracked while a limit is set, so turning a limit on at runtime
starts from an empty window.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import math
import mimetypes
import struct
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web

from bot.emulator.chats import EmulatedChat, EmulatedGroup, EmulatedUser
from bot.emulator.models import (
    ApiError,
    BotMessage,
    CallbackAnswer,
    EmulatedFile,
    EmulatorStats,
    InlineButton,
    KeyboardButton,
    Persona,
    bad_request,
)
from bot.emulator.zalo import DEFAULT_ZALO_TOKEN, ZaloEmulator
from bot.emulator.zalo_users import ZaloUser
from bot.telegram_html import HtmlParseError, ParsedText, parse_html, plain_text

__all__ = ["BotApiEmulator"]

_LOGGER = logging.getLogger(__name__)

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
DEFAULT_UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "purchased_paid_media",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
    }
)
_INLINE_ACTIONS = (
    "callback_data",
    "url",
    "login_url",
    "web_app",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_SEND_METHODS = frozenset({"sendMessage", "sendDocument", "sendPhoto", "copyMessage"})

Handler = Callable[["Params"], Awaitable[Any]]
CommandScope = str | tuple[str, int | str] | tuple[str, int | str, int]


@dataclass(frozen=True, slots=True)
class Upload:
    """A file part of a multipart request."""

    filename: str | None
    content_type: str | None
    content: bytes


class Params:
    """Request parameters from JSON, form or multipart bodies, typed on access.

    PTB sends form fields where every value is a string and objects are JSON strings, while a
    JSON body has native types; the getters accept both.
    """

    __slots__ = ("uploads", "values")

    def __init__(self, values: dict[str, Any], uploads: dict[str, Upload] | None = None) -> None:
        self.values = values
        self.uploads = uploads or {}

    def raw(self, name: str) -> Any:
        return self.values.get(name)

    def string(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None or isinstance(value, str):
            return value
        return json.dumps(value) if isinstance(value, dict | list) else str(value)

    def integer(self, name: str) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        try:
            return int(value)
        except (TypeError, ValueError):
            raise bad_request(f'field "{name}" must be of type Integer') from None

    def number(self, name: str) -> float | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise bad_request(f'field "{name}" must be of type Number') from None

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.lower() in ("true", "1")
        return bool(value)

    def object(self, name: str) -> Any:
        value = self.values.get(name)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(f"can't parse {name} JSON object") from None
        return value


@dataclass(slots=True)
class _Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    allowed_updates: list[str] | None
    session: aiohttp.ClientSession
    queues: list[asyncio.Queue[dict[str, Any]]] = field(default_factory=list)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    inflight: int = 0
    last_error_date: int | None = None
    last_error_message: str | None = None

    @property
    def pending(self) -> int:
        return sum(q.qsize() for q in self.queues) + self.inflight


class BotApiEmulator:
    """In-memory Telegram Bot API over HTTP, plus the test-client API (users, groups, waits)."""

    def __init__(
        self,
        token: str = "123456:TEST",
        bot_username: str = "nhipcau_bot",
        bot_first_name: str = "Nhịp Cầu",
        *,
        global_rate_limit: float | None = None,
        per_chat_rate_limit: float | None = None,
        personas: Sequence[Persona] = (),
        clock: Callable[[], float] = time.time,
        zalo_token: str = DEFAULT_ZALO_TOKEN,
        zalo_allow_insecure_webhooks: bool = False,
    ) -> None:
        self.token = token
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 1
        # Changeable at runtime: the next send uses the new values.
        self.global_rate_limit = global_rate_limit
        self.per_chat_rate_limit = per_chat_rate_limit
        self.rate_limited_methods: set[str] = set(_SEND_METHODS)
        self.personas: tuple[Persona, ...] = tuple(personas)
        self.now = clock
        self.stats = EmulatorStats()
        self.menu_button_default: dict[str, Any] = {"type": "default"}
        self.description: dict[str, str] = {}
        self.short_description: dict[str, str] = {}
        self._bot_user: dict[str, Any] = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self._chats: dict[int, EmulatedChat] = {}
        self._chat_usernames: dict[str, EmulatedChat] = {}
        self._pending: deque[dict[str, Any]] = deque()
        self._next_update_id = 1
        self._allowed_updates: frozenset[str] = DEFAULT_UPDATE_TYPES
        self._updates_event: asyncio.Event | None = None
        self._poll_generation = 0
        self._global_event: asyncio.Event | None = None
        self._global_sends: deque[float] = deque()
        self._files: dict[str, EmulatedFile] = {}
        self._file_paths: dict[str, EmulatedFile] = {}
        self._file_counter = itertools.count(1)
        self._callback_counter = itertools.count(1)
        self._callback_queries: dict[str, EmulatedUser] = {}
        self._commands: dict[tuple[CommandScope, str], list[dict[str, str]]] = {}
        self._webhook: _Webhook | None = None
        self._runner: web.AppRunner | None = None
        self._closing = False
        self.url = ""
        # The Zalo Bot API on the same server, under /zalo/ (bot/emulator/zalo.py).
        self.zalo = ZaloEmulator(
            self, zalo_token, allow_insecure_webhooks=zalo_allow_insecure_webhooks
        )
        self._methods: dict[str, tuple[str, Handler]] = {}
        for name, handler in self._method_table().items():
            self._methods[name.lower()] = (name, handler)

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def api_base_url(self) -> str:
        return f"{self.url}/bot"

    @property
    def file_base_url(self) -> str:
        return f"{self.url}/file/bot"

    @property
    def zalo_api_base_url(self) -> str:
        return self.zalo.api_base_url

    def zalo_user(self, user_id: str, display_name: str | None = None) -> ZaloUser:
        """The Zalo user with this id (see :meth:`ZaloEmulator.user`)."""
        return self.zalo.user(user_id, display_name)

    def build_app(self) -> web.Application:
        from bot.emulator.webchat import add_webchat_routes

        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self.zalo.add_routes(app)
        add_webchat_routes(app, self)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve on ``host:port`` (0 picks a free port); :attr:`url` tells where."""
        self._closing = False
        # No access log: benchmarks push thousands of requests a second.
        self._runner = web.AppRunner(
            self.build_app(), access_log=None, shutdown_timeout=1.0, handler_cancellation=True
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.Server)
        bound_port = server.sockets[0].getsockname()[1]
        self.url = f"http://{host}:{bound_port}"

    async def stop(self) -> None:
        self._closing = True
        # Release long-polls (getUpdates and the web chat) so the server can close at once.
        self._wake_updates()
        self.notify()
        for chat in self._chats.values():
            if chat._event is not None:
                chat.changed("stop", 0)
        await self.zalo.stop()
        await self._stop_webhook()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotApiEmulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def closing(self) -> bool:
        return self._closing

    # -- test-client API ---------------------------------------------------------------------
    def user(
        self,
        user_id: int,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "vi",
        phone_number: str | None = None,
    ) -> EmulatedUser:
        """The user with this id (created on first call; later calls return the same object)."""
        existing = self._chats.get(user_id)
        if isinstance(existing, EmulatedUser):
            return existing
        if existing is not None:
            raise ValueError(f"{user_id} is already a group chat")
        user = EmulatedUser(
            self,
            user_id,
            first_name=first_name or f"User {user_id}",
            last_name=last_name,
            username=username,
            language_code=language_code,
            phone_number=phone_number,
        )
        self._chats[user_id] = user
        return user

    def persona_user(self, persona: Persona) -> EmulatedUser:
        return self.user(
            persona.user_id,
            first_name=persona.first_name,
            last_name=persona.last_name or None,
            username=persona.username,
            language_code=persona.language_code,
            phone_number=persona.phone,
        )

    def group(
        self,
        chat_id: int,
        title: str = "Nhóm",
        *,
        username: str | None = None,
        chat_type: str | None = None,
    ) -> EmulatedGroup:
        existing = self._chats.get(chat_id)
        if isinstance(existing, EmulatedGroup):
            return existing
        if existing is not None:
            raise ValueError(f"{chat_id} is already a private chat")
        kind = chat_type or ("supergroup" if str(chat_id).startswith("-100") else "group")
        group = EmulatedGroup(self, chat_id, kind, title=title, username=username)
        self._chats[chat_id] = group
        if username:
            self._chat_usernames[username.lower()] = group
        return group

    def chat(self, chat_id: int) -> EmulatedChat | None:
        return self._chats.get(chat_id)

    async def inject_update(self, update: dict[str, Any]) -> int:
        """Queue a raw update (update_id is assigned); returns the update_id."""
        body = {k: v for k, v in update.items() if k != "update_id"}
        self._adopt_chat(body)
        return self.queue_update(body)

    async def wait_until(
        self,
        predicate: Callable[[], bool],
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until ``predicate()`` is true; re-checked on every emulator change."""
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"Condition not met within {timeout}s")
            if self._global_event is None:
                self._global_event = asyncio.Event()
            # The predicate may depend on state outside the emulator (a database), so look
            # again at least every 20 ms even without a change here.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._global_event.wait(), min(remaining, 0.02))

    def commands(
        self, scope: CommandScope = "default", language_code: str = ""
    ) -> list[tuple[str, str]]:
        """The command list set for a scope: "default", "all_private_chats", ("chat", id)..."""
        stored = self._commands.get((scope, language_code), [])
        return [(c["command"], c["description"]) for c in stored]

    @property
    def pending_updates(self) -> int:
        return len(self._pending) + (self._webhook.pending if self._webhook else 0)

    @property
    def webhook_url(self) -> str | None:
        return self._webhook.url if self._webhook else None

    def file(self, file_id: str) -> EmulatedFile | None:
        return self._files.get(file_id)

    # -- internals shared with chats ---------------------------------------------------------
    def notify(self) -> None:
        event = self._global_event
        if event is not None:
            self._global_event = None
            event.set()

    def queue_update(self, body: dict[str, Any]) -> int:
        update_id = self._next_update_id
        self._next_update_id += 1
        kind = next((k for k in body if k != "update_id"), "")
        if kind not in self._allowed_updates:
            return update_id
        update = {"update_id": update_id, **body}
        self.stats.updates_queued += 1
        if self._webhook is not None:
            hook = self._webhook
            hook.queues[_update_chat_key(update) % len(hook.queues)].put_nowait(update)
        else:
            self._pending.append(update)
            self._wake_updates()
        self.notify()
        return update_id

    def new_callback_query(self, sender: EmulatedUser, chat: EmulatedChat) -> str:
        query_id = f"{self.bot_id}{next(self._callback_counter):010d}"
        self._callback_queries[query_id] = sender
        return query_id

    def register_file(
        self, content: bytes, filename: str | None, mime_type: str | None, *, kind: str
    ) -> EmulatedFile:
        number = next(self._file_counter)
        prefix = "AgAC" if kind == "photo" else "BQAC"
        suffix = ""
        if filename and "." in filename:
            suffix = "." + filename.rsplit(".", 1)[1][:8]
        elif kind == "photo":
            suffix = ".jpg"
        width, height = _image_size(content) if kind == "photo" else (0, 0)
        file = EmulatedFile(
            file_id=f"{prefix}{self.bot_id}x{number:08d}",
            file_unique_id=f"AQAD{number:08d}",
            file_path=f"{kind}s/file_{number}{suffix}",
            filename=filename,
            mime_type=mime_type,
            content=content,
            width=width,
            height=height,
        )
        self._files[file.file_id] = file
        self._file_paths[file.file_path] = file
        return file

    def message_api(self, message: BotMessage) -> dict[str, Any]:
        chat = self._chats[message.chat_id]
        result: dict[str, Any] = {
            "message_id": message.message_id,
            "from": self._bot_user,
            "chat": chat.api_chat(),
            "date": message.date,
        }
        if message.edit_date is not None:
            result["edit_date"] = message.edit_date
        if message.document is not None:
            result["document"] = message.document.document_api()
        if message.photo is not None:
            result["photo"] = message.photo.photo_api()
        if message.document is not None or message.photo is not None:
            if message.caption:
                result["caption"] = message.caption
                if message.caption_entities:
                    result["caption_entities"] = message.caption_entities
        else:
            result["text"] = message.text
            if message.entities:
                result["entities"] = message.entities
            if message.link_preview_options:
                result["link_preview_options"] = message.link_preview_options
        if message.buttons and message.reply_markup is not None:
            result["reply_markup"] = message.reply_markup
        return result

    # -- HTTP plumbing -----------------------------------------------------------------------
    async def _handle_api(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _json(ApiError(401, "Unauthorized").to_api(), 401)
        entry = self._methods.get(request.match_info["method"].lower())
        if entry is None:
            return _json(ApiError(404, "Not Found").to_api(), 404)
        name, handler = entry
        self.stats.method_calls[name] += 1
        try:
            params = await _read_params(request)
            result = await handler(params)
        except ApiError as error:
            return _json(error.to_api(), error.error_code)
        except Exception:
            # A bug here must not look like a Telegram answer; fuzz tests would hide it.
            _LOGGER.exception("emulator failed on %s", name)
            return _json(ApiError(500, "Internal Server Error").to_api(), 500)
        return _json({"ok": True, "result": result}, 200)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _json(ApiError(401, "Unauthorized").to_api(), 401)
        file = self._file_paths.get(request.match_info["path"])
        if file is None:
            return _json(ApiError(404, "Not Found").to_api(), 404)
        return web.Response(
            body=file.content, content_type=file.mime_type or "application/octet-stream"
        )

    def _method_table(self) -> dict[str, Handler]:
        def constant(value: Any) -> Handler:
            async def handler(params: Params) -> Any:
                return value

            return handler

        return {
            "getMe": self._get_me,
            "logOut": constant(True),
            "close": constant(True),
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "setMyDescription": self._set_my_description,
            "setMyShortDescription": self._set_my_short_description,
            "sendMessage": self._send_message,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "copyMessage": self._copy_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "editMessageMedia": self._edit_message_media,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "getFile": self._get_file,
            "sendChatAction": self._send_chat_action,
            "getChat": self._get_chat,
        }

    # -- bot & updates -----------------------------------------------------------------------
    async def _get_me(self, params: Params) -> Any:
        return {
            **self._bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _wake_updates(self) -> None:
        event = self._updates_event
        if event is not None:
            self._updates_event = None
            event.set()

    def _set_allowed_updates(self, allowed: Any) -> None:
        if isinstance(allowed, list):
            self._allowed_updates = (
                frozenset(str(a) for a in allowed) if allowed else DEFAULT_UPDATE_TYPES
            )

    async def _get_updates(self, params: Params) -> Any:
        if self._webhook is not None:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        offset = params.integer("offset") or 0
        limit = min(max(params.integer("limit") or 100, 1), 100)
        timeout = max(params.number("timeout") or 0.0, 0.0)
        self._set_allowed_updates(params.object("allowed_updates"))
        pending = self._pending
        if offset > 0:
            # Asking from `offset` confirms (forgets) every earlier update.
            while pending and pending[0]["update_id"] < offset:
                pending.popleft()
        elif offset < 0:
            while len(pending) > -offset:
                pending.popleft()
        # Like Telegram, a newer getUpdates ends a waiting older one with 409: two bot
        # instances polling one token is a bug worth surfacing in tests.
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake_updates()
        deadline = time.monotonic() + timeout
        while not pending and not self._closing:
            if generation != self._poll_generation:
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one "
                    "bot instance is running",
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if self._updates_event is None:
                self._updates_event = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._updates_event.wait(), remaining)
        return list(itertools.islice(pending, limit))

    async def _set_webhook(self, params: Params) -> Any:
        url = params.string("url") or ""
        drop = params.flag("drop_pending_updates")
        if not url:
            await self._stop_webhook()
            if drop:
                self._pending.clear()
            return True
        if not url.startswith(("http://", "https://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.string("secret_token") or None
        if secret is not None and (
            len(secret) > 256 or not all(c.isalnum() or c in "_-" for c in secret)
        ):
            raise bad_request("secret token contains unallowed characters")
        max_connections = min(max(params.integer("max_connections") or 40, 1), 100)
        allowed = params.object("allowed_updates")
        self._set_allowed_updates(allowed)
        await self._stop_webhook()
        if drop:
            self._pending.clear()
        hook = _Webhook(
            url=url,
            secret_token=secret,
            max_connections=max_connections,
            allowed_updates=allowed if isinstance(allowed, list) else None,
            session=aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)),
        )
        # One queue per connection, chosen by chat: updates of one chat stay in order while
        # different chats are delivered in parallel, as Telegram does.
        for _ in range(max_connections):
            queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
            hook.queues.append(queue)
            hook.tasks.append(asyncio.create_task(self._deliver_loop(hook, queue)))
        self._webhook = hook
        while self._pending:
            update = self._pending.popleft()
            hook.queues[_update_chat_key(update) % max_connections].put_nowait(update)
        return True

    async def _delete_webhook(self, params: Params) -> Any:
        await self._stop_webhook()
        if params.flag("drop_pending_updates"):
            self._pending.clear()
        return True

    async def _stop_webhook(self) -> None:
        hook = self._webhook
        if hook is None:
            return
        self._webhook = None
        for task in hook.tasks:
            task.cancel()
        await asyncio.gather(*hook.tasks, return_exceptions=True)
        undelivered: list[dict[str, Any]] = []
        for queue in hook.queues:
            while not queue.empty():
                undelivered.append(queue.get_nowait())
        # Undelivered updates go back to getUpdates, in order.
        self._pending.extend(sorted(undelivered, key=lambda u: int(u["update_id"])))
        await hook.session.close()

    async def _deliver_loop(self, hook: _Webhook, queue: asyncio.Queue[dict[str, Any]]) -> None:
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        while True:
            update = await queue.get()
            hook.inflight += 1
            try:
                await self._deliver(hook, update, headers)
            finally:
                hook.inflight -= 1

    async def _deliver(
        self, hook: _Webhook, update: dict[str, Any], headers: dict[str, str]
    ) -> None:
        body = json.dumps(update, ensure_ascii=False).encode()
        for attempt in range(3):
            try:
                async with hook.session.post(hook.url, data=body, headers=headers) as response:
                    await response.read()
                    if response.status < 300:
                        self.stats.webhook_deliveries += 1
                        return
                    error = f"Wrong response from the webhook: {response.status} {response.reason}"
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                error = f"Connection failed: {exc!r}"
            hook.last_error_date = int(self.now())
            hook.last_error_message = error
            _LOGGER.debug("webhook delivery of %s failed: %s", update["update_id"], error)
            await asyncio.sleep(0.05 * 2**attempt)
        self.stats.webhook_failures += 1

    async def _get_webhook_info(self, params: Params) -> Any:
        hook = self._webhook
        if hook is None:
            return {"url": "", "has_custom_certificate": False, "pending_update_count": 0}
        info: dict[str, Any] = {
            "url": hook.url,
            "has_custom_certificate": False,
            "pending_update_count": hook.pending,
            "max_connections": hook.max_connections,
        }
        if hook.allowed_updates is not None:
            info["allowed_updates"] = hook.allowed_updates
        if hook.last_error_date is not None:
            info["last_error_date"] = hook.last_error_date
            info["last_error_message"] = hook.last_error_message
        return info

    # -- commands, menu, description ---------------------------------------------------------
    def _scope_key(self, params: Params) -> CommandScope:
        scope = params.object("scope")
        if scope is None:
            return "default"
        if not isinstance(scope, dict) or "type" not in scope:
            raise bad_request("can't parse BotCommandScope JSON object")
        kind = str(scope["type"])
        if kind in ("default", "all_private_chats", "all_group_chats", "all_chat_administrators"):
            return kind
        chat_id = scope.get("chat_id")
        if isinstance(chat_id, str) and chat_id.lstrip("-").isdigit():
            chat_id = int(chat_id)
        if not isinstance(chat_id, int | str):
            raise bad_request("chat_id is empty")
        if kind in ("chat", "chat_administrators"):
            return (kind, chat_id)
        if kind == "chat_member":
            return (kind, chat_id, int(scope.get("user_id", 0)))
        raise bad_request("wrong parameter scope")

    async def _set_my_commands(self, params: Params) -> Any:
        commands = params.object("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object")
        cleaned: list[dict[str, str]] = []
        for command in commands:
            if not isinstance(command, dict):
                raise bad_request("can't parse BotCommand JSON object")
            name = str(command.get("command", ""))
            description = str(command.get("description", ""))
            valid_name = 1 <= len(name) <= 32 and all(
                c.isascii() and (c.islower() or c.isdigit() or c == "_") for c in name
            )
            if not valid_name:
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise bad_request("command description is empty")
            cleaned.append({"command": name, "description": description})
        key = (self._scope_key(params), params.string("language_code") or "")
        self._commands[key] = cleaned
        return True

    async def _get_my_commands(self, params: Params) -> Any:
        key = (self._scope_key(params), params.string("language_code") or "")
        return self._commands.get(key, [])

    async def _delete_my_commands(self, params: Params) -> Any:
        self._commands.pop((self._scope_key(params), params.string("language_code") or ""), None)
        return True

    async def _set_chat_menu_button(self, params: Params) -> Any:
        button = params.object("menu_button") or {"type": "default"}
        if not isinstance(button, dict):
            raise bad_request("can't parse menu button JSON object")
        if params.raw("chat_id") in (None, ""):
            self.menu_button_default = button
        else:
            self._lookup_chat(params.raw("chat_id")).menu_button = button
        return True

    async def _get_chat_menu_button(self, params: Params) -> Any:
        if params.raw("chat_id") in (None, ""):
            return self.menu_button_default
        return self._lookup_chat(params.raw("chat_id")).menu_button or self.menu_button_default

    async def _set_my_description(self, params: Params) -> Any:
        self.description[params.string("language_code") or ""] = params.string("description") or ""
        return True

    async def _set_my_short_description(self, params: Params) -> Any:
        lang = params.string("language_code") or ""
        self.short_description[lang] = params.string("short_description") or ""
        return True

    # -- chats ---------------------------------------------------------------------------------
    def _lookup_chat(self, raw: Any) -> EmulatedChat:
        if raw is None or raw == "":
            raise bad_request("chat_id is empty")
        chat: EmulatedChat | None
        if isinstance(raw, str) and raw.startswith("@"):
            chat = self._chat_usernames.get(raw[1:].lower())
        else:
            try:
                chat = self._chats.get(int(raw))
            except (TypeError, ValueError):
                chat = None
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def _chat_for_send(self, params: Params) -> EmulatedChat:
        chat = self._lookup_chat(params.raw("chat_id"))
        if chat.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _adopt_chat(self, body: dict[str, Any]) -> None:
        """Make a chat seen in an injected update known, so the bot can answer it."""
        for value in body.values():
            if not isinstance(value, dict):
                continue
            message = value.get("message") if "chat_instance" in value else value
            chat = message.get("chat") if isinstance(message, dict) else None
            if not isinstance(chat, dict) or not isinstance(chat.get("id"), int):
                continue
            chat_id = chat["id"]
            if chat_id in self._chats:
                continue
            if chat.get("type") == "private" or chat_id > 0:
                self.user(chat_id, first_name=str(chat.get("first_name") or f"User {chat_id}"))
            else:
                self.group(chat_id, title=str(chat.get("title") or "Nhóm"))

    async def _get_chat(self, params: Params) -> Any:
        chat = self._lookup_chat(params.raw("chat_id"))
        return {
            **chat.api_chat(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        }

    async def _send_chat_action(self, params: Params) -> Any:
        chat = self._chat_for_send(params)
        chat.last_chat_action = params.string("action")
        return True

    # -- sending -------------------------------------------------------------------------------
    def _check_rate(self, method: str, chat: EmulatedChat) -> None:
        if method not in self.rate_limited_methods:
            return
        now = time.monotonic()
        window_start = now - 1.0
        global_limit = self.global_rate_limit
        chat_limit = self.per_chat_rate_limit
        sends = self._global_sends
        if global_limit is not None:
            while sends and sends[0] <= window_start:
                sends.popleft()
            if len(sends) >= global_limit:
                self._rate_limited(sends[0] + 1.0 - now)
        times = chat.send_times
        if chat_limit is not None:
            expired = 0
            while expired < len(times) and times[expired] <= window_start:
                expired += 1
            if expired:
                del times[:expired]
            if len(times) >= chat_limit:
                self._rate_limited(times[0] + 1.0 - now)
        # Only tracked while a limit is set, so unlimited runs cost nothing here.
        if global_limit is not None:
            sends.append(now)
        if chat_limit is not None:
            times.append(now)

    def _rate_limited(self, wait: float) -> None:
        self.stats.rate_limited += 1
        retry_after = max(1, math.ceil(wait))
        raise ApiError(
            429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
        )

    def _parse(self, text: str, parse_mode: str | None, entities: Any) -> ParsedText:
        mode = (parse_mode or "").lower()
        if mode == "html":
            try:
                return parse_html(text)
            except HtmlParseError as error:
                raise bad_request(f"can't parse entities: {error}") from None
        if mode in ("", "markdown", "markdownv2"):
            # Markdown is not validated (the project uses HTML); the text is kept as is.
            parsed = plain_text(text)
            if mode == "" and isinstance(entities, list):
                return ParsedText(parsed.text, list(entities), parsed.safe_html)
            return parsed
        raise bad_request(f"unsupported parse_mode {parse_mode}")

    def _parse_markup(
        self, params: Params
    ) -> tuple[dict[str, Any] | None, list[list[InlineButton]]]:
        markup = params.object("reply_markup")
        if markup is None:
            return None, []
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            return markup, []
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request("can't parse inline keyboard button: InlineKeyboardMarkup expected")
        buttons: list[list[InlineButton]] = []
        for row in rows:
            parsed_row: list[InlineButton] = []
            for button in row:
                if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                    raise bad_request("can't parse inline keyboard button: Text must be a String")
                data = button.get("callback_data")
                if data is not None and (
                    not isinstance(data, str)
                    or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
                ):
                    raise bad_request("BUTTON_DATA_INVALID")
                if not any(key in button for key in _INLINE_ACTIONS):
                    raise bad_request("text buttons are unallowed in the inline keyboard")
                url = button.get("url")
                parsed_row.append(
                    InlineButton(button["text"], data, url if isinstance(url, str) else None)
                )
            buttons.append(parsed_row)
        return markup, buttons

    def _apply_reply_keyboard(self, chat: EmulatedChat, markup: dict[str, Any] | None) -> None:
        if markup is None:
            return
        if markup.get("remove_keyboard"):
            chat.reply_keyboard = None
        elif isinstance(markup.get("keyboard"), list):
            chat.reply_keyboard = [
                [_keyboard_button(button) for button in row]
                for row in markup["keyboard"]
                if isinstance(row, list)
            ]

    def _new_message(self, chat: EmulatedChat, params: Params) -> BotMessage:
        reply_to = params.integer("reply_to_message_id")
        reply_parameters = params.object("reply_parameters")
        if reply_to is None and isinstance(reply_parameters, dict):
            reply_to = reply_parameters.get("message_id")
        preview = params.object("link_preview_options")
        return BotMessage(
            message_id=0,
            chat_id=chat.id,
            date=int(self.now()),
            reply_to_message_id=reply_to,
            disable_notification=params.flag("disable_notification"),
            link_preview_options=preview if isinstance(preview, dict) else None,
        )

    def _record(self, chat: EmulatedChat, message: BotMessage) -> dict[str, Any]:
        message.message_id = chat.allocate_message_id()
        self.stats.sent_messages += 1
        chat.add_bot_message(message)
        self._apply_reply_keyboard(chat, message.reply_markup)
        return self.message_api(message)

    async def _send_message(self, params: Params) -> Any:
        chat = self._chat_for_send(params)
        text = params.string("text") or ""
        if not text.strip():
            raise bad_request("message text is empty")
        parse_mode = params.string("parse_mode")
        parsed = self._parse(text, parse_mode, params.object("entities"))
        if not parsed.text.strip():
            raise bad_request("message text is empty")
        if len(parsed.text) > MAX_TEXT_LENGTH:
            raise bad_request("message is too long")
        markup, buttons = self._parse_markup(params)
        self._check_rate("sendMessage", chat)
        message = self._new_message(chat, params)
        message.text = parsed.text
        message.html = text
        message.parse_mode = parse_mode
        message.entities = parsed.entities
        message.safe_html = parsed.safe_html
        message.reply_markup = markup
        message.buttons = buttons
        return self._record(chat, message)

    def _caption(self, params: Params) -> tuple[str | None, ParsedText | None]:
        caption = params.string("caption")
        if not caption:
            return None, None
        parsed = self._parse(
            caption, params.string("parse_mode"), params.object("caption_entities")
        )
        if len(parsed.text) > MAX_CAPTION_LENGTH:
            raise bad_request("message caption is too long")
        return caption, parsed

    def _input_file(self, params: Params, name: str, kind: str) -> EmulatedFile:
        upload = params.uploads.get(name)
        reference = params.string(name) if upload is None else None
        if reference and reference.startswith("attach://"):
            upload = params.uploads.get(reference.removeprefix("attach://"))
        if upload is not None:
            mime = upload.content_type
            if not mime or mime == "application/octet-stream":
                mime = mimetypes.guess_type(upload.filename or "")[0] or mime
            return self.register_file(upload.content, upload.filename, mime, kind=kind)
        if not reference:
            raise bad_request(f"there is no {kind} in the request")
        known = self._files.get(reference)
        if known is not None:
            return known
        if reference.startswith(("http://", "https://")):
            # No internet here: a URL becomes an empty file with the URL's name.
            filename = reference.rsplit("/", 1)[-1] or None
            return self.register_file(b"", filename, mimetypes.guess_type(reference)[0], kind=kind)
        raise bad_request("wrong file identifier/HTTP URL specified")

    async def _send_media(self, params: Params, method: str, kind: str) -> Any:
        chat = self._chat_for_send(params)
        caption, parsed = self._caption(params)
        markup, buttons = self._parse_markup(params)
        file = self._input_file(params, kind, kind)
        self._check_rate(method, chat)
        message = self._new_message(chat, params)
        if kind == "photo":
            message.photo = file
        else:
            message.document = file
        self._set_caption(message, caption, parsed, params.string("parse_mode"))
        message.reply_markup = markup
        message.buttons = buttons
        return self._record(chat, message)

    @staticmethod
    def _set_caption(
        message: BotMessage, caption: str | None, parsed: ParsedText | None, mode: str | None
    ) -> None:
        message.caption = parsed.text if parsed is not None else None
        message.caption_html = caption
        message.caption_entities = parsed.entities if parsed is not None else []
        message.parse_mode = mode
        message.safe_html = parsed.safe_html if parsed is not None else ""

    async def _send_document(self, params: Params) -> Any:
        return await self._send_media(params, "sendDocument", "document")

    async def _send_photo(self, params: Params) -> Any:
        return await self._send_media(params, "sendPhoto", "photo")

    async def _copy_message(self, params: Params) -> Any:
        chat = self._chat_for_send(params)
        source_chat = self._lookup_chat(params.raw("from_chat_id"))
        message_id = params.integer("message_id")
        if message_id is None:
            raise bad_request("message to copy not found")
        markup, buttons = self._parse_markup(params)
        copy = self._new_message(chat, params)
        source = source_chat.bot_message(message_id)
        if source is not None and not source.deleted:
            copy.text, copy.html, copy.parse_mode = source.text, source.html, source.parse_mode
            copy.entities, copy.safe_html = list(source.entities), source.safe_html
            copy.document, copy.photo = source.document, source.photo
            copy.caption, copy.caption_html = source.caption, source.caption_html
            copy.caption_entities = list(source.caption_entities)
        else:
            original = source_chat.user_message(message_id)
            if original is None:
                raise bad_request("message to copy not found")
            self._copy_user_message(copy, original)
        if params.raw("caption") is not None:
            caption, parsed = self._caption(params)
            self._set_caption(copy, caption, parsed, params.string("parse_mode"))
        copy.reply_markup, copy.buttons = markup, buttons
        self._check_rate("copyMessage", chat)
        self._record(chat, copy)
        return {"message_id": copy.message_id}

    def _copy_user_message(self, copy: BotMessage, original: dict[str, Any]) -> None:
        text = original.get("text")
        if isinstance(text, str):
            copy.text = copy.html = text
            copy.entities = list(original.get("entities", []))
            copy.safe_html = plain_text(text).safe_html
            return
        document = original.get("document")
        photo = original.get("photo")
        if isinstance(document, dict):
            copy.document = self._files.get(str(document.get("file_id")))
        elif isinstance(photo, list) and photo:
            copy.photo = self._files.get(str(photo[-1].get("file_id")))
        if copy.document is None and copy.photo is None:
            raise bad_request("message can't be copied")
        caption = original.get("caption")
        if isinstance(caption, str):
            copy.caption = copy.caption_html = caption
            copy.safe_html = plain_text(caption).safe_html

    # -- editing & deleting --------------------------------------------------------------------
    def _message_to_edit(self, params: Params) -> tuple[EmulatedChat, BotMessage]:
        if params.raw("inline_message_id"):
            raise bad_request("message to edit not found")
        chat = self._lookup_chat(params.raw("chat_id"))
        if chat.blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        message_id = params.integer("message_id")
        message = chat.bot_message(message_id) if message_id is not None else None
        if message is None or message.deleted:
            if message_id is not None and chat.user_message(message_id) is not None:
                raise bad_request("message can't be edited")
            raise bad_request("message to edit not found")
        return chat, message

    def _edited(self, chat: EmulatedChat, message: BotMessage, method: str) -> Any:
        self._check_rate(method, chat)
        message.edit_count += 1
        message.edit_date = int(self.now())
        self.stats.edited_messages += 1
        chat.changed("bot", message.message_id)
        return self.message_api(message)

    async def _edit_message_text(self, params: Params) -> Any:
        chat, message = self._message_to_edit(params)
        if message.document is not None or message.photo is not None:
            raise bad_request("there is no text in the message to edit")
        text = params.string("text") or ""
        if not text.strip():
            raise bad_request("message text is empty")
        parse_mode = params.string("parse_mode")
        parsed = self._parse(text, parse_mode, params.object("entities"))
        if not parsed.text.strip():
            raise bad_request("message text is empty")
        if len(parsed.text) > MAX_TEXT_LENGTH:
            raise bad_request("message is too long")
        # Without reply_markup Telegram removes the inline keyboard, so compare with "none".
        markup, buttons = self._parse_markup(params)
        if (
            parsed.text == message.text
            and parsed.entities == message.entities
            and buttons == message.buttons
        ):
            raise bad_request(NOT_MODIFIED)
        message.text, message.html, message.parse_mode = parsed.text, text, parse_mode
        message.entities, message.safe_html = parsed.entities, parsed.safe_html
        message.reply_markup, message.buttons = (markup, buttons) if buttons else (None, [])
        preview = params.object("link_preview_options")
        message.link_preview_options = preview if isinstance(preview, dict) else None
        return self._edited(chat, message, "editMessageText")

    async def _edit_message_caption(self, params: Params) -> Any:
        chat, message = self._message_to_edit(params)
        if message.document is None and message.photo is None:
            raise bad_request("there is no caption in the message to edit")
        caption, parsed = self._caption(params)
        markup, buttons = self._parse_markup(params)
        new_text = parsed.text if parsed is not None else None
        new_entities = parsed.entities if parsed is not None else []
        if (
            new_text == message.caption
            and new_entities == message.caption_entities
            and buttons == message.buttons
        ):
            raise bad_request(NOT_MODIFIED)
        self._set_caption(message, caption, parsed, params.string("parse_mode"))
        message.reply_markup, message.buttons = (markup, buttons) if buttons else (None, [])
        return self._edited(chat, message, "editMessageCaption")

    async def _edit_message_media(self, params: Params) -> Any:
        """Replace a message's photo or document (a text message gains one), with the new
        media's caption; photo and document are the media kinds the emulator knows."""
        chat, message = self._message_to_edit(params)
        try:
            media = params.object("media")
        except ApiError:
            media = None
        if not isinstance(media, dict):
            raise bad_request("can't parse input media JSON object")
        kind = media.get("type")
        if kind not in ("photo", "document"):
            raise bad_request("can't parse InputMedia: unsupported media type")
        reference = media.get("media")
        if not isinstance(reference, str) or not reference:
            raise bad_request("can't parse InputMedia: Media is not specified")
        caption, parsed = self._caption(
            Params(
                {
                    "caption": media.get("caption"),
                    "parse_mode": media.get("parse_mode"),
                    "caption_entities": media.get("caption_entities"),
                }
            )
        )
        markup, buttons = self._parse_markup(params)
        file = self._input_file(Params({"media": reference}, params.uploads), "media", kind)
        current = message.photo if kind == "photo" else message.document
        new_text = parsed.text if parsed is not None else None
        new_entities = parsed.entities if parsed is not None else []
        if (
            current is file
            and new_text == message.caption
            and new_entities == message.caption_entities
            and buttons == message.buttons
        ):
            raise bad_request(NOT_MODIFIED)
        message.photo, message.document = (file, None) if kind == "photo" else (None, file)
        message.text, message.html, message.entities = "", None, []
        mode = media.get("parse_mode")
        self._set_caption(message, caption, parsed, mode if isinstance(mode, str) else None)
        message.reply_markup, message.buttons = (markup, buttons) if buttons else (None, [])
        return self._edited(chat, message, "editMessageMedia")

    async def _edit_message_reply_markup(self, params: Params) -> Any:
        chat, message = self._message_to_edit(params)
        markup, buttons = self._parse_markup(params)
        if buttons == message.buttons:
            raise bad_request(NOT_MODIFIED)
        message.reply_markup, message.buttons = (markup, buttons) if buttons else (None, [])
        return self._edited(chat, message, "editMessageReplyMarkup")

    async def _delete_message(self, params: Params) -> Any:
        chat = self._lookup_chat(params.raw("chat_id"))
        message_id = params.integer("message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        message = chat.bot_message(message_id)
        if message is not None and not message.deleted:
            message.deleted = True
            self.stats.deleted_messages += 1
            chat.changed("bot", message_id)
            return True
        if chat.forget_user_message(message_id):
            chat.changed("user", message_id)
            return True
        raise bad_request("message to delete not found")

    async def _answer_callback_query(self, params: Params) -> Any:
        query_id = params.string("callback_query_id") or ""
        user = self._callback_queries.pop(query_id, None)
        if user is None:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        user.record_answer(
            CallbackAnswer(
                callback_query_id=query_id,
                text=params.string("text"),
                show_alert=params.flag("show_alert"),
                url=params.string("url"),
            )
        )
        return True

    # -- files ---------------------------------------------------------------------------------
    async def _get_file(self, params: Params) -> Any:
        file = self._files.get(params.string("file_id") or "")
        if file is None:
            raise bad_request("invalid file_id")
        return file.file_api()


def _json(body: Any, status: int) -> web.Response:
    return web.Response(
        text=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        status=status,
        content_type="application/json",
    )


async def _read_params(request: web.Request) -> Params:
    values: dict[str, Any] = dict(request.query)
    uploads: dict[str, Upload] = {}
    if not request.body_exists:
        return Params(values)
    content_type = request.content_type
    if content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise bad_request("can't parse JSON request body") from None
        if not isinstance(body, dict):
            raise bad_request("can't parse JSON request body")
        values.update(body)
    elif content_type == "multipart/form-data":
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, aiohttp.BodyPartReader) or part.name is None:
                continue
            if part.filename is not None:
                content = bytes(await part.read())
                mime = part.headers.get(aiohttp.hdrs.CONTENT_TYPE)
                uploads[part.name] = Upload(part.filename, mime, content)
            else:
                values[part.name] = await part.text()
    else:
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, str):
                values[key] = value
    return Params(values, uploads)


def _keyboard_button(button: Any) -> KeyboardButton:
    if isinstance(button, str):
        return KeyboardButton(button)
    if isinstance(button, dict):
        return KeyboardButton(
            str(button.get("text", "")),
            request_contact=bool(button.get("request_contact")),
            request_location=bool(button.get("request_location")),
        )
    return KeyboardButton(str(button))


def _update_chat_key(update: dict[str, Any]) -> int:
    for value in update.values():
        if not isinstance(value, dict):
            continue
        chat = value.get("chat")
        if isinstance(chat, dict) and isinstance(chat.get("id"), int):
            return abs(int(chat["id"]))
        sender = value.get("from")
        if isinstance(sender, dict) and isinstance(sender.get("id"), int):
            return abs(int(sender["id"]))
    return 0


def _image_size(content: bytes) -> tuple[int, int]:
    """Width and height of a PNG, GIF or JPEG; (0, 0) for anything else."""
    if content.startswith(b"\x89PNG\r\n\x1a\n") and len(content) >= 24:
        width, height = struct.unpack(">II", content[16:24])
        return int(width), int(height)
    if content[:6] in (b"GIF87a", b"GIF89a") and len(content) >= 10:
        width, height = struct.unpack("<HH", content[6:10])
        return int(width), int(height)
    if content.startswith(b"\xff\xd8"):
        return _jpeg_size(content)
    return 0, 0


def _jpeg_size(content: bytes) -> tuple[int, int]:
    i = 2
    while i + 9 < len(content):
        if content[i] != 0xFF:
            return 0, 0
        marker = content[i + 1]
        length = int.from_bytes(content[i + 2 : i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", content[i + 5 : i + 9])
            return int(width), int(height)
        i += 2 + length
    return 0, 0
