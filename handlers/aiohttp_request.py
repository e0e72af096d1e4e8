"""PTB's HTTP transport over aiohttp instead of httpx.

Under load the bot spends most of its CPU talking HTTP: the profile of bench/throughput.py put
getUpdates, sends and answerCallbackQuery at ~60% of the process, most of it inside httpx,
httpcore and anyio, which build several objects and await several layers per request. aiohttp's
client (already a dependency, for the webhook server and the outboxes) does the same work in
far fewer steps. PTB is made for this swap: ``BaseRequest`` is its documented extension point,
so the rest of the bot still talks to ``telegram.Bot`` and keeps PTB's error handling, rate
limiter and objects.

Timeouts keep PTB's meaning where aiohttp has the same knob (connect, read, waiting for a free
connection); aiohttp has no separate write timeout, so a request's total time is bounded by the
sum of the four instead.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from functools import lru_cache

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

_JSON = {"Content-Type": "application/json"}


@lru_cache(maxsize=64)
def _timeout(
    connect: float | None, read: float | None, write: float | None, pool: float | None
) -> aiohttp.ClientTimeout:
    parts = (connect, read, write, pool)
    total = None if None in parts else sum(p for p in parts if p is not None)
    waiting = None if connect is None or pool is None else connect + pool
    return aiohttp.ClientTimeout(total=total, connect=waiting, sock_connect=connect, sock_read=read)


class AiohttpRequest(BaseRequest):
    """One aiohttp session with a bounded connection pool; one instance per PTB pool."""

    def __init__(
        self,
        *,
        connections: int = 8,
        connect_timeout: float | None = 5.0,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
        media_write_timeout: float | None = 20.0,
        before_request: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """``before_request`` is awaited before each request (the polling pool paces itself
        with it)."""
        self._connections = connections
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        self._headers = {"User-Agent": self.USER_AGENT}
        self._before_request = before_request

    @property
    def read_timeout(self) -> float | None:
        return self._read_timeout

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections),
                headers=self._headers,
            )

    async def shutdown(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._before_request is not None:
            await self._before_request()
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data else None
        if isinstance(write_timeout, DefaultValue):
            write_timeout = self._media_write_timeout if files else self._write_timeout
        timeout = _timeout(
            self._connect_timeout if isinstance(connect_timeout, DefaultValue) else connect_timeout,
            self._read_timeout if isinstance(read_timeout, DefaultValue) else read_timeout,
            write_timeout,
            self._pool_timeout if isinstance(pool_timeout, DefaultValue) else pool_timeout,
        )
        body: aiohttp.FormData | bytes | None = None
        headers = None
        if files:
            assert request_data is not None
            body = aiohttp.FormData(request_data.json_parameters)
            for name, (filename, content, mime) in files.items():
                body.add_field(name, content, filename=filename, content_type=mime)
        elif request_data is not None:
            # A JSON body, which the Bot API accepts like a form: one json.dumps in C instead
            # of percent-encoding every byte of a Vietnamese text and keyboard.
            body = json.dumps(request_data.parameters, ensure_ascii=False).encode()
            headers = _JSON
        try:
            async with session.request(
                method, url, data=body, headers=headers, timeout=timeout
            ) as response:
                return response.status, await response.read()
        except TimeoutError as exc:  # aiohttp's timeouts are asyncio.TimeoutError subclasses
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{type(exc).__name__}: {exc}") from exc
