"""A small client of the Zalo Bot Platform API on aiohttp.

No SDK: the one on PyPI is an unmaintained fork of python-telegram-bot. Every call is a POST
with a JSON body to ``<base_url><token>/<method>``; every answer is ``{ok, result}`` or ``{ok:
false, error_code, description}``, read from the body whatever the HTTP status (Zalo does not
document the status of its error answers).

The token is part of every URL and never expires, so it must never reach an exception text or
a log line: API errors carry the method, Zalo's code and description (with the token cut out
should it appear), and network errors are re-raised as :class:`ZaloNetworkError` with the token
cut out of their text and the original exception not chained (its text may hold the URL).
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
import re
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiohttp

from bot.channels.zalo.events import ZaloEvent, ZaloEventKind, parse_event, zalo_time

__all__ = [
    "WEBHOOK_SECRET_HEADER",
    "ZALO_API_BASE_URL",
    "ZaloApiError",
    "ZaloBotApi",
    "ZaloBotInfo",
    "ZaloError",
    "ZaloEvent",
    "ZaloEventKind",
    "ZaloForbidden",
    "ZaloNetworkError",
    "ZaloRateLimited",
    "ZaloUnauthorized",
    "ZaloWebhookInfo",
    "is_valid_token",
    "parse_event",
    "webhook_secret_matches",
]

_LOGGER = logging.getLogger(__name__)

ZALO_API_BASE_URL = "https://bot-api.zaloplatforms.com/bot"
WEBHOOK_SECRET_HEADER = "X-Bot-Api-Secret-Token"
_TOKEN = re.compile(r"\d+:[A-Za-z0-9_-]+")
_REDACTED = "<token>"


def is_valid_token(token: str) -> bool:
    """Whether ``token`` has the form of a Zalo bot token, ``<bot id>:<secret>``."""
    return _TOKEN.fullmatch(token) is not None


def webhook_secret_matches(received: str | None, expected: str) -> bool:
    """Whether a webhook request's ``X-Bot-Api-Secret-Token`` is ours (constant time)."""
    if received is None or not expected:
        return False
    return hmac.compare_digest(received.encode(), expected.encode())


class ZaloError(Exception):
    """A Zalo call failed."""


class ZaloApiError(ZaloError):
    """Zalo answered ``ok: false``: its ``error_code`` (400, 401, 403, 404, 408, 429, …)."""

    def __init__(self, method: str, error_code: int, description: str) -> None:
        super().__init__(f"Zalo {method} failed: {error_code} {description}".rstrip())
        self.method = method
        self.error_code = error_code
        self.description = description


class ZaloUnauthorized(ZaloApiError):
    """401: the token is wrong, or was reset in Zalo Bot Creator."""


class ZaloForbidden(ZaloApiError):
    """403 (which Zalo's error table also uses for "internal server error")."""


class ZaloRateLimited(ZaloApiError):
    """429 "Quota exceeded": slow down and retry later (Zalo publishes no limits)."""


class ZaloNetworkError(ZaloError):
    """No answer from Zalo: connection refused or dropped, timeout, unreadable URL."""

    def __init__(self, method: str, reason: str) -> None:
        super().__init__(f"Zalo {method}: no answer ({reason})")
        self.method = method
        self.reason = reason


_ERRORS: dict[int, type[ZaloApiError]] = {
    401: ZaloUnauthorized,
    403: ZaloForbidden,
    429: ZaloRateLimited,
}


@dataclass(frozen=True, slots=True)
class ZaloBotInfo:
    """getMe: who the bot is."""

    id: str
    account_name: str
    account_type: str
    can_join_groups: bool


@dataclass(frozen=True, slots=True)
class ZaloWebhookInfo:
    """setWebhook, deleteWebhook, getWebhookInfo: the webhook URL ("" for none), never the
    secret, and when it last changed."""

    url: str
    updated_at: dt.datetime | None


class ZaloBotApi:
    """The Zalo Bot API for one bot token.

    Pass ``session`` to share an aiohttp session (it stays the caller's to close); otherwise
    the client opens one on first use with at most ``connections`` connections, closed by
    :meth:`close` (or ``async with``).
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        session: aiohttp.ClientSession | None = None,
        connections: int = 100,
        request_timeout: float = 10.0,
    ) -> None:
        if not is_valid_token(token):
            # Never echo the value: it may be a real token with a typo.
            raise ValueError("a Zalo bot token looks like <digits>:<letters, digits, _ or ->")
        self.base_url = base_url
        self.request_timeout = request_timeout
        self._token = token
        # The token and its secret half alone, longest first: whatever form it takes in a text.
        self._secrets = (token, token.split(":", 1)[1])
        self._session = session
        self._owns_session = session is None
        self._connections = connections

    def __repr__(self) -> str:
        return f"ZaloBotApi(base_url={self.base_url!r})"

    @property
    def bot_id(self) -> str:
        """The public half of the token (the part before ":")."""
        return self._token.split(":", 1)[0]

    async def close(self) -> None:
        if self._owns_session and self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> ZaloBotApi:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- methods -------------------------------------------------------------------------------
    async def get_me(self) -> ZaloBotInfo:
        result = _object(await self._call("getMe"))
        return ZaloBotInfo(
            id=_string(result.get("id")),
            account_name=_string(result.get("account_name")),
            account_type=_string(result.get("account_type")),
            can_join_groups=result.get("can_join_groups") is True,
        )

    async def get_update(self, timeout: float = 30.0) -> ZaloEvent | None:  # noqa: ASYNC109
        """Wait up to ``timeout`` seconds for the next event; None when none came (Zalo's 408).

        One event per call and no offset: an event is Zalo's to lose if this answer does not
        arrive, so poll again at once and keep the handling out of the polling loop.
        """
        try:
            result = await self._call(
                "getUpdates",
                {"timeout": _seconds(timeout)},
                timeout=max(timeout, 0.0) + self.request_timeout,
            )
        except ZaloApiError as error:
            if error.error_code == 408:
                return None
            raise
        if result is None:
            return None
        return parse_event(result)

    async def set_webhook(self, url: str, secret_token: str) -> ZaloWebhookInfo:
        """Have events POSTed to ``url`` (public https) with ``secret_token`` (8–256
        characters) in the ``X-Bot-Api-Secret-Token`` header; getUpdates stops working."""
        return _webhook_info(
            await self._call("setWebhook", {"url": url, "secret_token": secret_token})
        )

    async def delete_webhook(self) -> ZaloWebhookInfo:
        return _webhook_info(await self._call("deleteWebhook"))

    async def get_webhook_info(self) -> ZaloWebhookInfo:
        return _webhook_info(await self._call("getWebhookInfo"))

    async def send_message(self, chat_id: str, text: str, *, parse_mode: str | None = None) -> str:
        """Send a text (1–2,000 characters) to a chat; returns Zalo's message id."""
        params: dict[str, Any] = {"chat_id": chat_id, "text": text}
        if parse_mode is not None:
            params["parse_mode"] = parse_mode
        return _message_id(await self._call("sendMessage", params))

    async def send_photo(self, chat_id: str, photo_url: str, caption: str | None = None) -> str:
        """Send a photo by URL (Zalo downloads it: no upload); returns Zalo's message id."""
        params: dict[str, Any] = {"chat_id": chat_id, "photo": photo_url}
        if caption:
            params["caption"] = caption
        return _message_id(await self._call("sendPhoto", params))

    async def send_sticker(self, chat_id: str, sticker: str) -> str:
        """Send a sticker by its id (from stickers.zaloapp.com); returns Zalo's message id."""
        return _message_id(
            await self._call("sendSticker", {"chat_id": chat_id, "sticker": sticker})
        )

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> None:
        await self._call("sendChatAction", {"chat_id": chat_id, "action": action})

    # -- plumbing ------------------------------------------------------------------------------
    def _open_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            if not self._owns_session:
                raise ZaloError("the aiohttp session given to ZaloBotApi is closed")
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections)
            )
        return self._session

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, _REDACTED)
        return text

    async def _call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> Any:
        session = self._open_session()
        url = f"{self.base_url}{self._token}/{method}"
        limit = aiohttp.ClientTimeout(total=self.request_timeout if timeout is None else timeout)
        try:
            async with session.post(url, json=params or {}, timeout=limit) as response:
                status = response.status
                raw = await response.read()
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
            detail = str(exc)
            reason = self._redact(
                f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
            )
            _LOGGER.debug("Zalo %s got no answer: %s", method, reason)
            # Not chained: the original's text or attributes may hold the URL, and so the token.
            raise ZaloNetworkError(method, reason) from None
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("ok"), bool):
            raise ZaloApiError(method, status, f"unexpected answer (HTTP {status})")
        if body["ok"]:
            return body.get("result")
        code = body.get("error_code")
        error_code = code if isinstance(code, int) and not isinstance(code, bool) else status
        description = self._redact(_string(body.get("description")))
        raise _ERRORS.get(error_code, ZaloApiError)(method, error_code, description)


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ""


def _seconds(timeout: float) -> str:
    # The docs type the timeout as a String of seconds.
    seconds = max(timeout, 0.0)
    return str(int(seconds)) if seconds == int(seconds) else f"{seconds:g}"


def _message_id(result: Any) -> str:
    # A send that succeeded but came back without an id is still sent: do not raise (a retry
    # would send it twice).
    return _string(_object(result).get("message_id"))


def _webhook_info(result: Any) -> ZaloWebhookInfo:
    info = _object(result)
    return ZaloWebhookInfo(
        url=_string(info.get("url")), updated_at=zalo_time(info.get("updated_at"))
    )
