"""Delivering messages to many chats within Telegram's limits, shared by broadcasts and
reminders: one pace for the whole bot, per-chat spacing, 429 pauses, retries with back-off.

Knows nothing of Telegram: a sender passes an ``attempt`` callable that returns an ``Outcome``
(the Telegram adapters in ``handlers/`` translate Telegram's answers).
"""

from __future__ import annotations

import asyncio
import collections
import functools
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from bot.domain.broadcasts import DeliveryState

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Delivered:
    message_id: int


@dataclass(frozen=True, slots=True)
class Blocked:
    """The person blocked the bot or deleted their account (403)."""

    reason: str


@dataclass(frozen=True, slots=True)
class RetryLater:
    """Telegram asked to slow down (429): wait ``seconds`` and send the same message again."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Failed:
    reason: str
    retryable: bool


Outcome = Delivered | Blocked | RetryLater | Failed


@dataclass(frozen=True, slots=True)
class Attempted:
    """What finally happened to one message after retries."""

    state: DeliveryState
    attempts: int
    message_id: int | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    rate_per_second: float = 25.0
    per_chat_interval: float = 1.0
    max_attempts: int = 4
    retry_backoff: float = 0.5  # seconds before the first retry; doubles each time

    @property
    def concurrency(self) -> int:
        # Enough sends in flight to keep the rate with ~50 ms round trips, and no more: the
        # messages in flight are what may repeat after a crash.
        return max(2, min(64, math.ceil(self.rate_per_second / 20)))


# Telegram counts messages in a sliding second as they arrive; a request that leaves late and
# the next on time arrive closer than the pace. Keeping every second's worth of sends a margin
# longer than a second absorbs that jitter; each 429 widens the margin (more sends in flight
# means more jitter), up to a limit.
WINDOW_MARGIN = 0.03
WINDOW_MARGIN_STEP = 0.01
WINDOW_MARGIN_MAX = 0.1


class Courier:
    """Spaces sends evenly at the configured rate across every sender of the bot, never more
    than the rate in any sliding second; a 429 from Telegram pauses them all, as Telegram's
    limit is per bot."""

    def __init__(self, settings: DeliverySettings) -> None:
        self.settings = settings
        self._interval = 1.0 / settings.rate_per_second
        self._next = 0.0
        self._paused_until = 0.0
        self._recent: collections.deque[float] = collections.deque(
            maxlen=max(1, int(settings.rate_per_second))
        )
        self.margin = WINDOW_MARGIN
        self._last_sent_to: dict[int, float] = {}
        self.in_flight = 0

    async def _slot(self) -> None:
        now = time.monotonic()
        start = max(now, self._next, self._paused_until)
        self._next = start + self._interval
        if start > now:
            await asyncio.sleep(start - now)
        # The sliding second is kept on the times sends really leave, not on their slots: a
        # busy event loop wakes sleepers late and together, and slots would let such a bunch
        # plus the next second's on-time sends exceed the limit.
        recent = self._recent
        while len(recent) == recent.maxlen:
            wait = recent[0] + 1.0 + self.margin - time.monotonic()
            if wait <= 0:
                break
            await asyncio.sleep(wait)
        recent.append(time.monotonic())

    def pause(self, seconds: float) -> None:
        if time.monotonic() >= self._paused_until:  # once per 429 episode, not per request
            self.margin = min(WINDOW_MARGIN_MAX, self.margin + WINDOW_MARGIN_STEP)
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)
        self._next = max(self._next, self._paused_until)

    async def _respect_chat_interval(self, chat_id: int) -> None:
        last = self._last_sent_to.get(chat_id)
        if last is not None:
            wait = last + self.settings.per_chat_interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        if len(self._last_sent_to) > 10_000:
            horizon = time.monotonic() - self.settings.per_chat_interval
            self._last_sent_to = {c: t for c, t in self._last_sent_to.items() if t > horizon}

    async def send(
        self, chat_id: int, attempt: Callable[[], Awaitable[Outcome]], *, attempts: int = 0
    ) -> Attempted:
        """Send one message (retrying as Telegram's answers allow) and say how it ended."""
        settings = self.settings
        while True:
            await self._slot()
            await self._respect_chat_interval(chat_id)
            attempts += 1
            self.in_flight += 1
            try:
                outcome = await attempt()
            except Exception as exc:  # an adapter bug must not stop a whole batch
                log.exception("sending to a chat failed unexpectedly")
                outcome = Failed(type(exc).__name__, retryable=True)
            finally:
                self.in_flight -= 1
                self._last_sent_to[chat_id] = time.monotonic()
            match outcome:
                case Delivered(message_id):
                    return Attempted(DeliveryState.SENT, attempts, message_id)
                case Blocked(reason):
                    return Attempted(DeliveryState.BLOCKED, attempts, error=reason[:200])
                case RetryLater(seconds):
                    log.warning("Telegram asked to slow down: pausing %.1f s", seconds)
                    self.pause(seconds)
                    attempts -= 1  # Telegram's pacing, not the recipient's fault
                case Failed(reason, retryable):
                    if not retryable or attempts >= settings.max_attempts:
                        return Attempted(DeliveryState.FAILED, attempts, error=reason[:200])
                    await asyncio.sleep(min(30.0, settings.retry_backoff * 2 ** (attempts - 1)))


class Dispatch(Generic[T]):
    """Sends queued items through the courier with a few workers and records their outcomes as
    soon as they come back: each write takes whatever arrived while the previous one ran (group
    commit), so the outcomes not yet on disk are only those of one write's duration.

    Used as ``async with Dispatch(...) as dispatch: await dispatch.put(item, chat_id)``; leaving
    the block waits for every queued item and records the last outcomes. The flush is never
    cancelled mid-write: a cancelled flush would roll back outcomes of messages that did go
    out, and they would be sent again.
    """

    def __init__(
        self,
        courier: Courier,
        attempt: Callable[[T], Awaitable[Outcome]],
        record: Callable[[Sequence[tuple[T, Attempted]]], Awaitable[None]],
    ) -> None:
        self._courier = courier
        self._attempt = attempt
        self._record = record
        self._results: list[tuple[T, Attempted]] = []
        self._arrived = asyncio.Event()
        self._queue: asyncio.Queue[tuple[T, int, int] | None] = asyncio.Queue(
            maxsize=courier.settings.concurrency * 2
        )
        self._finished = asyncio.Event()
        self._workers: list[asyncio.Task[None]] = []
        self._flusher: asyncio.Task[None] | None = None
        self.attempted = 0

    async def __aenter__(self) -> Dispatch[T]:
        self._workers = [
            asyncio.create_task(self._work()) for _ in range(self._courier.settings.concurrency)
        ]
        self._flusher = asyncio.create_task(self._flush_as_they_come())
        return self

    async def put(self, item: T, chat_id: int, *, attempts: int = 0) -> None:
        await self._queue.put((item, chat_id, attempts))

    async def __aexit__(self, kind: object, error: object, traceback: object) -> None:
        try:
            if error is None:
                for _ in self._workers:
                    await self._queue.put(None)
                await asyncio.gather(*self._workers)
        finally:
            for task in self._workers:
                task.cancel()
            await asyncio.gather(*self._workers, return_exceptions=True)
            self._finished.set()
            if self._flusher is not None:
                await asyncio.shield(self._flusher)

    async def _work(self) -> None:
        while (entry := await self._queue.get()) is not None:
            item, chat_id, attempts = entry
            done = await self._courier.send(
                chat_id, functools.partial(self._attempt, item), attempts=attempts
            )
            self._results.append((item, done))
            self._arrived.set()
            self.attempted += 1

    async def _flush(self) -> None:
        batch = self._results[:]
        del self._results[: len(batch)]
        try:
            await self._record(batch)
        except BaseException:
            self._results[:0] = batch  # not recorded: keep them for the next flush
            raise

    async def _flush_as_they_come(self) -> None:
        finished = asyncio.create_task(self._finished.wait())
        try:
            while not self._finished.is_set():
                arrived = asyncio.create_task(self._arrived.wait())
                await asyncio.wait({arrived, finished}, return_when=asyncio.FIRST_COMPLETED)
                arrived.cancel()
                self._arrived.clear()
                if self._results:
                    await self._flush()
            await self._flush()  # what arrived while the previous write ran
        finally:
            finished.cancel()
