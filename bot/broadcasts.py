"""Broadcasts (SPEC 2.5): composing an announcement for an audience, and delivering it through a
durable, rate-limited outbox that survives crashes and restarts.

The sender knows nothing of Telegram: it hands each recipient to a ``Transport`` (Telegram's
lives in ``bot/channels/telegram/outbox.py``) and records what came back. Every recipient row is
written before the first send; each outcome is recorded right after its send (in small batches),
so after a crash only the messages in flight can repeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.clock import Clock
from bot.delivery import Attempted, Courier, Dispatch, Failed, Outcome
from bot.domain.broadcasts import (
    Audience,
    AudienceKind,
    Broadcast,
    BroadcastContent,
    BroadcastStatus,
    DeliveryCounts,
    DeliveryResult,
    Recipient,
)
from bot.domain.errors import InvalidInput, NotAllowed
from bot.domain.members import Actor
from bot.telegram_html import HtmlParseError, parse_html
from storage.broadcasts import BroadcastRepository

log = logging.getLogger(__name__)

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_SCHEDULE_AHEAD = timedelta(days=90)
# Why the bot cancelled a scheduled broadcast: when it fell due, its author no longer held a
# role allowing its audience (the role was revoked, or the cadre moved to another unit).
AUTHOR_NOT_ALLOWED = "author_not_allowed"


class Transport(Protocol):
    async def deliver(self, broadcast: Broadcast, recipient: Recipient) -> Outcome: ...


class ProgressSink(Protocol):
    async def progress(
        self,
        broadcast: Broadcast,
        counts: DeliveryCounts,
        eta_seconds: float | None,
        *,
        final: bool,
    ) -> None: ...

    async def cancelled_by_bot(self, broadcast: Broadcast) -> None:
        """Tell the author why their scheduled broadcast was cancelled (if they can be told)."""
        ...


# --- composing -------------------------------------------------------------------------------


def validate_text(text_html: str, *, with_media: bool) -> str:
    """Telegram HTML, checked as Telegram will check it, within the length limit."""
    if not text_html.strip():
        raise InvalidInput("broadcasts.text_empty")
    try:
        parsed = parse_html(text_html)
    except HtmlParseError as exc:
        raise InvalidInput("broadcasts.bad_html", detail=str(exc)) from None
    limit = MAX_CAPTION if with_media else MAX_TEXT
    if len(parsed.text) > limit:
        raise InvalidInput("broadcasts.too_long", limit=limit, length=len(parsed.text))
    return text_html


def check_audience(actor: Actor, audience: Audience, activity_unit_id: int | None = None) -> None:
    """Admins reach anyone; a cadre only their own unit and their unit's activities."""
    if actor.is_admin:
        return
    if not actor.is_cadre:
        raise NotAllowed()
    if audience.kind is AudienceKind.UNITS and audience.unit_ids == (actor.cadre_unit_id,):
        return
    if audience.kind is AudienceKind.ACTIVITY and activity_unit_id == actor.cadre_unit_id:
        return
    raise NotAllowed()


class BroadcastService:
    def __init__(self, repository: BroadcastRepository, clock: Clock) -> None:
        self._repository = repository
        self._clock = clock
        self.sender: BroadcastSender | None = None  # set when the bot runs

    @property
    def repository(self) -> BroadcastRepository:
        return self._repository

    async def audience_size(
        self, actor: Actor, audience: Audience, activity_unit_id: int | None = None
    ) -> int:
        check_audience(actor, audience, activity_unit_id)
        return await self._repository.count_audience(audience)

    async def activities_for_audience(self, unit_id: int | None) -> list[tuple[int, str]]:
        return await self._repository.activity_choices(unit_id, self._clock.now())

    async def activity_unit(self, activity_id: int | None) -> int | None:
        """The organising unit of an activity (None when there is no such activity)."""
        if activity_id is None:
            return None
        return await self._repository.activity_unit(activity_id)

    def check_schedule(self, moment: datetime) -> datetime:
        now = self._clock.now()
        if moment <= now:
            raise InvalidInput("broadcasts.schedule_past")
        if moment - now > MAX_SCHEDULE_AHEAD:
            raise InvalidInput("broadcasts.schedule_too_far", days=MAX_SCHEDULE_AHEAD.days)
        return moment

    async def create(
        self,
        actor: Actor,
        content: BroadcastContent,
        audience: Audience,
        *,
        activity_unit_id: int | None = None,
        scheduled_at: datetime | None = None,
        progress_chat_id: int | None = None,
    ) -> Broadcast:
        """Validate everything again (a flow's stored draft may be stale) and write the outbox."""
        check_audience(actor, audience, activity_unit_id)
        validate_text(content.text_html, with_media=content.media_kind is not None)
        if scheduled_at is not None:
            self.check_schedule(scheduled_at)
        broadcast = await self._repository.create(
            created_by=actor.actor_id,
            sender_unit_id=None if actor.is_admin else actor.cadre_unit_id,
            content=content,
            audience=audience,
            scheduled_at=scheduled_at,
            progress_chat_id=progress_chat_id,
            now=self._clock.now(),
        )
        log.info(
            "broadcast %s created by %s for %s (%s recipients, scheduled %s)",
            broadcast.id,
            actor.actor_id,
            audience.kind.value,
            broadcast.total,
            scheduled_at,
        )
        return broadcast

    async def get(self, broadcast_id: int) -> Broadcast | None:
        return await self._repository.get(broadcast_id)

    async def counts(self, broadcast_id: int) -> DeliveryCounts:
        return await self._repository.counts(broadcast_id)

    async def recent(self, actor: Actor, limit: int = 10) -> list[Broadcast]:
        if actor.is_admin:
            return await self._repository.recent(limit)
        if actor.is_cadre:
            return await self._repository.recent(limit, unit_id=actor.cadre_unit_id)
        raise NotAllowed()

    async def set_progress_message(self, broadcast_id: int, chat_id: int, message_id: int) -> None:
        await self._repository.set_progress_message(broadcast_id, chat_id, message_id)

    def _may_control(self, actor: Actor, broadcast: Broadcast) -> None:
        if actor.is_admin or (actor.is_cadre and broadcast.created_by == actor.actor_id):
            return
        raise NotAllowed()

    async def control(self, actor: Actor, broadcast_id: int, action: str) -> Broadcast:
        """Pause, resume or cancel; refused unless admin or the cadre who sent it. Each names
        the state it leads to, so asking again for the state it is already in (a double tap,
        an older copy of the progress message) changes nothing and is not an error."""
        broadcast = await self._repository.get(broadcast_id)
        if broadcast is None:
            raise InvalidInput("broadcasts.not_found")
        self._may_control(actor, broadcast)
        now = self._clock.now()
        moves = {
            "pause": (BroadcastStatus.PAUSED, (BroadcastStatus.SENDING,)),
            "resume": (BroadcastStatus.SENDING, (BroadcastStatus.PAUSED,)),
            "cancel": (
                BroadcastStatus.CANCELLED,
                (BroadcastStatus.SENDING, BroadcastStatus.PAUSED, BroadcastStatus.SCHEDULED),
            ),
        }
        if action not in moves:
            raise InvalidInput("broadcasts.not_found")
        target, allowed_from = moves[action]
        if broadcast.status is target:
            return broadcast
        if not await self._repository.set_status(broadcast_id, target, now, only_from=allowed_from):
            current = await self._repository.get(broadcast_id)
            if current is not None and current.status is target:  # another press won the race
                return current
            raise InvalidInput("broadcasts.cannot_" + action)
        if self.sender is not None:
            self.sender.wake(broadcast_id)
        updated = await self._repository.get(broadcast_id)
        assert updated is not None
        return updated


# --- delivering ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SenderSettings:
    progress_every: float = 3.0
    page_size: int = 500


class BroadcastSender:
    """Delivers every broadcast whose status is ``sending``; starts due scheduled ones."""

    def __init__(
        self,
        repository: BroadcastRepository,
        transport: Transport,
        progress: ProgressSink,
        clock: Clock,
        courier: Courier,
        settings: SenderSettings | None = None,
        *,
        actor_of: Callable[[int], Awaitable[Actor]] | None = None,
    ) -> None:
        self._repository = repository
        self._transport = transport
        self._progress = progress
        self._clock = clock
        self._courier = courier
        self.settings = settings or SenderSettings()
        # Who a Telegram id is now (role and unit), to check a scheduled broadcast's author
        # again when it falls due; the bot always passes it.
        self._actor_of = actor_of
        self._wake = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self._running: dict[int, asyncio.Task[None]] = {}
        self._recheck: set[int] = set()
        self._erased: set[int] = set()

    @property
    def in_flight(self) -> int:
        return self._courier.in_flight

    def skip_member(self, member_id: int) -> None:
        """A member was erased: their outbox rows are gone, and the recipients already read
        into memory (a page, the courier's queue) must not be sent either."""
        self._erased.add(member_id)

    def wake(self, broadcast_id: int | None = None) -> None:
        """Look at the database again now (a new, paused, resumed or cancelled broadcast)."""
        if broadcast_id is not None:
            self._recheck.add(broadcast_id)
        self._wake.set()

    async def start(self) -> None:
        if self._supervisor is None:
            self._supervisor = asyncio.create_task(self._supervise(), name="broadcast-supervisor")

    async def stop(self) -> None:
        tasks = [t for t in (self._supervisor, *self._running.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._supervisor = None
        self._running.clear()

    async def idle(self) -> None:
        """Wait until no broadcast is being delivered (tests and benchmarks)."""
        while self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)

    async def _supervise(self) -> None:
        while True:
            self._wake.clear()
            try:
                next_due = await self.check_due()
            except Exception:
                log.exception("broadcast supervisor tick failed; retrying")
                next_due = 5.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=next_due)

    async def check_due(self) -> float:
        """Start what is due; returns how long to sleep before looking again."""
        now = self._clock.now()
        wait = 60.0
        for broadcast in await self._repository.with_status(BroadcastStatus.SCHEDULED):
            assert broadcast.scheduled_at is not None
            if broadcast.scheduled_at <= now:
                if await self._author_still_allowed(broadcast):
                    await self._repository.start_scheduled(broadcast.id, now)
                elif await self._repository.cancel_scheduled(broadcast.id, AUTHOR_NOT_ALLOWED, now):
                    log.warning(
                        "scheduled broadcast %s cancelled: its author %s may no longer send to "
                        "its audience",
                        broadcast.id,
                        broadcast.created_by,
                    )
                    cancelled = await self._repository.get(broadcast.id)
                    if cancelled is not None:
                        await self._tell_author(cancelled)
            else:
                wait = min(wait, (broadcast.scheduled_at - now).total_seconds())
        for broadcast in await self._repository.with_status(BroadcastStatus.SENDING):
            if broadcast.id not in self._running:
                task = asyncio.create_task(
                    self._deliver(broadcast), name=f"broadcast-{broadcast.id}"
                )
                self._running[broadcast.id] = task
                task.add_done_callback(self._forget_task)
        return max(0.05, min(wait, 60.0))

    async def _author_still_allowed(self, broadcast: Broadcast) -> bool:
        """The same rule as when it was composed, on the author's role and unit of now."""
        if self._actor_of is None:
            return True
        actor = await self._actor_of(broadcast.created_by)
        activity_unit = None
        if broadcast.audience.activity_id is not None:
            activity_unit = await self._repository.activity_unit(broadcast.audience.activity_id)
        try:
            check_audience(actor, broadcast.audience, activity_unit)
        except NotAllowed:
            return False
        return True

    async def _tell_author(self, broadcast: Broadcast) -> None:
        try:
            await self._progress.cancelled_by_bot(broadcast)
        except Exception:
            log.exception("could not tell the author why broadcast %s was cancelled", broadcast.id)

    def _forget_task(self, task: asyncio.Task[None]) -> None:
        self._running = {bid: t for bid, t in self._running.items() if t is not task}

    async def _still_sending(self, broadcast_id: int) -> bool:
        current = await self._repository.get(broadcast_id)
        return current is not None and current.status is BroadcastStatus.SENDING

    async def _deliver(self, broadcast: Broadcast) -> None:
        started = time.monotonic()
        sent_here = 0
        while True:
            sent_here += await self._deliver_pass(broadcast, started, sent_here)
            if not await self._still_sending(broadcast.id):
                break
            counts = await self._repository.counts(broadcast.id)
            if counts.pending == 0:
                await self._repository.set_status(
                    broadcast.id,
                    BroadcastStatus.DONE,
                    self._clock.now(),
                    only_from=(BroadcastStatus.SENDING,),
                )
                break
        final = await self._repository.get(broadcast.id)
        if final is not None and final.status is not BroadcastStatus.SENDING:
            done = final.status is not BroadcastStatus.PAUSED
            await self._report(final, started, sent_here, final=done)

    async def _deliver_pass(self, broadcast: Broadcast, started: float, sent_before: int) -> int:
        """One sweep over the pending recipients; returns how many were attempted."""
        settings = self.settings
        last_check = time.monotonic()

        async def record(batch: Sequence[tuple[Recipient, Attempted]]) -> None:
            results = [
                DeliveryResult(
                    r.member_id,
                    r.telegram_id,
                    done.state,
                    done.attempts,
                    done.message_id,
                    done.error,
                )
                for r, done in batch
            ]
            await self._repository.record(broadcast.id, results, self._clock.now())

        async def attempt(recipient: Recipient) -> Outcome:
            if recipient.member_id in self._erased:
                return Failed("erased", retryable=False)  # its row is gone: nothing is recorded
            return await self._transport.deliver(broadcast, recipient)

        dispatch = Dispatch(self._courier, attempt, record)
        async with dispatch:
            after = 0
            while page := await self._repository.pending(
                broadcast.id, after_member_id=after, limit=settings.page_size
            ):
                for recipient in page:
                    after = recipient.member_id
                    if recipient.member_id in self._erased:
                        continue
                    await dispatch.put(
                        recipient, recipient.telegram_id, attempts=recipient.attempts
                    )
                    due = time.monotonic() - last_check >= settings.progress_every
                    if due or broadcast.id in self._recheck:
                        self._recheck.discard(broadcast.id)
                        last_check = time.monotonic()
                        if not await self._still_sending(broadcast.id):
                            return dispatch.attempted
                        if due:
                            await self._report(
                                broadcast, started, sent_before + dispatch.attempted, final=False
                            )
        return dispatch.attempted

    async def _report(
        self, broadcast: Broadcast, started: float, sent_here: int, *, final: bool
    ) -> None:
        counts = await self._repository.counts(broadcast.id)
        elapsed = time.monotonic() - started
        rate = (
            sent_here / elapsed
            if elapsed > 0 and sent_here
            else self._courier.settings.rate_per_second
        )
        eta = counts.pending / rate if rate > 0 else None
        try:
            await self._progress.progress(broadcast, counts, eta, final=final)
        except Exception:
            log.exception("could not report progress of broadcast %s", broadcast.id)


def eta_text(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


__all__ = [
    "BroadcastSender",
    "BroadcastService",
    "ProgressSink",
    "SenderSettings",
    "Transport",
    "eta_text",
    "validate_text",
]
