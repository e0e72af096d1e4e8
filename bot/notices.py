"""Delivering the notice outbox (activity changed, cancelled, a seat from the waitlist) through
the one courier, at the pace shared with broadcasts and reminders.

The rows were written with the change itself (``storage.notices``); this sender only reads what
is pending, sends it and records the outcome right after (group-committed), so a restart
resumes where it stopped and repeats at most the messages in flight. Knows nothing of
Telegram: a ``NoticeTransport`` renders and sends each one in its recipient's language.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Protocol

from bot.clock import Clock
from bot.delivery import Attempted, Courier, Dispatch, Outcome
from bot.domain.broadcasts import DeliveryState
from bot.domain.notices import Notice, NoticeKind, NoticeOutcome
from storage.notices import NoticeRepository

log = logging.getLogger(__name__)

SWEEP_SECONDS = 10.0  # look again this often even unwoken (a notice written by another path)
PAGE = 500
DROPPED = "dropped"


class NoticeTransport(Protocol):
    async def deliver(self, notice: Notice) -> Outcome: ...


class NoticeSender:
    def __init__(
        self,
        repository: NoticeRepository,
        transport: NoticeTransport,
        clock: Clock,
        courier: Courier,
    ) -> None:
        self._repository = repository
        self._transport = transport
        self._clock = clock
        self._courier = courier
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.sent = 0

    def wake(self) -> None:
        """Look at the outbox now (a change just wrote notices)."""
        self._idle.clear()
        self._wake.set()

    async def start(self) -> None:
        if self._task is None:
            self._idle.clear()
            self._task = asyncio.create_task(self._run(), name="notice-sender")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def idle(self) -> None:
        """Wait until a pass found nothing more to send (tests and benchmarks)."""
        await self._idle.wait()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            wait = SWEEP_SECONDS
            try:
                await self.deliver_pending()
            except Exception:
                log.exception("notice pass failed; trying again shortly")
                wait = 5.0
            if not self._wake.is_set():
                self._idle.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)

    def _worth_sending(self, notice: Notice) -> bool:
        if notice.telegram_id is None or not notice.reachable:
            return False  # forgotten, or known to have blocked the bot
        if notice.activity.ends_at <= self._clock.now():
            return False  # over: news about it helps nobody any more
        # A seat or a new time in an activity cancelled since is no news: the cancellation is.
        return notice.kind is NoticeKind.CANCELLED or not notice.activity_cancelled

    async def deliver_pending(self) -> None:
        """Send every pending notice, oldest first, and record each outcome."""

        async def record(batch: Sequence[tuple[Notice, Attempted]]) -> None:
            await self._repository.record(
                [
                    NoticeOutcome(
                        n.id, n.member_id, done.state, done.attempts, done.message_id, done.error
                    )
                    for n, done in batch
                ],
                self._clock.now(),
            )
            self.sent += sum(1 for _, done in batch if done.state is DeliveryState.SENT)

        async with Dispatch(self._courier, self._transport.deliver, record) as dispatch:
            after = 0
            while page := await self._repository.pending(after_id=after, limit=PAGE):
                dropped: list[NoticeOutcome] = []
                for notice in page:
                    after = notice.id
                    if not self._worth_sending(notice):
                        dropped.append(NoticeOutcome(notice.id, notice.member_id, DROPPED))
                        continue
                    assert notice.telegram_id is not None
                    await dispatch.put(notice, notice.telegram_id, attempts=notice.attempts)
                await self._repository.record(dropped, self._clock.now())
