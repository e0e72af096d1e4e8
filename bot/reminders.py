"""Reminders (SPEC 2.3): before an activity starts, before its registration deadline (to the
unit's cadres) and the thank-you the day after, all derived from the database.

Nothing is kept only in memory: what is due is computed from activities, registrations and
offsets each time the scheduler wakes, and a log row (written before sending) makes each message
go out once. After downtime, what fell due is sent at once if the activity has not started yet,
and dropped if it has; moving an activity moves its reminders, cancelling removes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.delivery import Attempted, Courier, Dispatch, Outcome
from bot.domain.broadcasts import DeliveryState
from bot.domain.reminders import Addressee, LogKey, UpcomingActivity
from storage.reminders import ReminderRepository

log = logging.getLogger(__name__)

REMINDER = "reminder"
DIGEST = "deadline_digest"
THANK_YOU = "thank_you"
THANK_YOU_LOCAL_TIME = time(8, 0)
MAX_SLEEP = 60.0  # look again at least this often: an edit may have moved something closer
BATCH = 2000


@dataclass(frozen=True, slots=True)
class DueMessage:
    key: LogKey
    due_at: datetime
    to: Addressee
    activity: UpcomingActivity
    hours_credited: float = 0.0
    confirmed: int = 0
    waitlisted: int = 0


class ReminderTransport(Protocol):
    async def deliver(self, message: DueMessage) -> Outcome: ...


class ReminderService:
    """Works out what is due; knows nothing of how it is sent."""

    def __init__(
        self,
        repository: ReminderRepository,
        clock: Clock,
        *,
        default_offsets: Sequence[timedelta],
        digest_before: timedelta,
        tz: ZoneInfo,
    ) -> None:
        self._repository = repository
        self._clock = clock
        self._default = tuple(int(o.total_seconds() // 60) for o in default_offsets)
        self._digest = int(digest_before.total_seconds() // 60)
        self._tz = tz
        self.scheduler: ReminderScheduler | None = None  # set when the bot runs

    @property
    def repository(self) -> ReminderRepository:
        return self._repository

    def offsets_of(self, activity: UpcomingActivity) -> tuple[int, ...]:
        return tuple(sorted(set(activity.offsets or self._default), reverse=True))

    def _horizon(self) -> int:
        return max((*self._default, 7 * 24 * 60))

    async def due(self, now: datetime) -> tuple[list[DueMessage], list[tuple[LogKey, datetime]]]:
        """(messages to send now, log keys to mark dropped). When several reminders of one
        activity fell due during downtime, only the latest is sent: one nudge, not three."""
        send: list[DueMessage] = []
        drop: list[tuple[LogKey, datetime]] = []
        upcoming = await self._repository.starting_between(
            now, now + timedelta(minutes=self._horizon())
        )
        for activity in upcoming:
            offsets = self.offsets_of(activity)
            fallen = [o for o in offsets if activity.starts_at - timedelta(minutes=o) <= now]
            if not fallen:
                continue
            latest = min(fallen)
            for offset in fallen:
                due_at = activity.starts_at - timedelta(minutes=offset)
                for person in await self._repository.unreminded(activity, offset, due_at):
                    key = LogKey(
                        REMINDER, activity.id, person.member_id, offset, activity.starts_at
                    )
                    if offset == latest:
                        send.append(DueMessage(key, due_at, person, activity))
                    else:
                        drop.append((key, due_at))
        deadlines = await self._repository.deadlines_between(
            now, now + timedelta(minutes=self._digest)
        )
        for activity in deadlines:
            cadres = await self._repository.undigested_cadres(activity, self._digest)
            if not cadres:
                continue
            confirmed, waitlisted = await self._repository.counts(activity.id)
            due_at = activity.deadline_at - timedelta(minutes=self._digest)
            for cadre in cadres:
                key = LogKey(
                    DIGEST, activity.id, cadre.member_id, self._digest, activity.deadline_at
                )
                send.append(DueMessage(key, due_at, cadre, activity, 0.0, confirmed, waitlisted))
        send.extend(await self._thank_yous(now))
        return send[:BATCH], drop

    async def _thank_yous(self, now: datetime) -> list[DueMessage]:
        """Attendees of activities that ended before today (local), from 08:00 on."""
        local = now.astimezone(self._tz)
        day = local.date() if local.time() >= THANK_YOU_LOCAL_TIME else local.date() - timedelta(1)
        ended_before = datetime.combine(day, time(0, 0), tzinfo=self._tz)
        found: list[DueMessage] = []
        for activity_id, person, hours in await self._repository.unthanked(ended_before, BATCH):
            activity = await self._repository.activity(activity_id)
            if activity is None:
                continue
            due_at = self._thank_you_time(activity.ends_at)
            key = LogKey(THANK_YOU, activity_id, person.member_id, 0, activity.ends_at)
            found.append(DueMessage(key, due_at, person, activity, hours))
        return found

    def _thank_you_time(self, ended: datetime) -> datetime:
        next_day = ended.astimezone(self._tz).date() + timedelta(days=1)
        return datetime.combine(next_day, THANK_YOU_LOCAL_TIME, tzinfo=self._tz)

    async def next_due(self, now: datetime) -> datetime | None:
        """The earliest future moment something becomes due (None: nothing within a week)."""
        candidates: list[datetime] = []
        for activity in await self._repository.starting_between(
            now, now + timedelta(minutes=self._horizon())
        ):
            for offset in self.offsets_of(activity):
                due_at = activity.starts_at - timedelta(minutes=offset)
                if due_at > now:
                    candidates.append(due_at)
        for activity in await self._repository.deadlines_between(now, now + timedelta(days=8)):
            due_at = activity.deadline_at - timedelta(minutes=self._digest)
            if due_at > now:
                candidates.append(due_at)
        local = now.astimezone(self._tz)
        eight = datetime.combine(local.date(), THANK_YOU_LOCAL_TIME, tzinfo=self._tz)
        candidates.append(eight if local < eight else eight + timedelta(days=1))
        return min(candidates) if candidates else None

    async def left_in_flight(self, now: datetime) -> tuple[list[DueMessage], list[LogKey]]:
        """Messages claimed but not recorded when the bot last stopped: re-send those still
        worth sending (the activity has not started), drop the rest."""
        resend: list[DueMessage] = []
        dropped: list[LogKey] = []
        for logged in await self._repository.in_flight():
            activity = await self._repository.activity(logged.key.activity_id)
            still_useful = activity is not None and (
                logged.key.kind == THANK_YOU or activity.starts_at > now
            )
            if activity is None or logged.telegram_id is None or not still_useful:
                dropped.append(logged.key)
                continue
            person = Addressee(logged.key.member_id, logged.telegram_id, logged.language)
            confirmed, waitlisted = await self._repository.counts(activity.id)
            hours = await self._repository.hours_credited(activity.id, person.member_id)
            resend.append(
                DueMessage(
                    logged.key, logged.due_at, person, activity, hours, confirmed, waitlisted
                )
            )
        return resend, dropped


class ReminderScheduler:
    """Wakes when the next message is due, sends what is due through the shared courier."""

    def __init__(
        self,
        service: ReminderService,
        transport: ReminderTransport,
        clock: Clock,
        courier: Courier,
    ) -> None:
        self._service = service
        self._repository = service.repository
        self._transport = transport
        self._clock = clock
        self._courier = courier
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._erased: set[int] = set()
        self.sent = 0

    def skip_member(self, member_id: int) -> None:
        """A member was erased: messages to them already read into memory are not sent."""
        self._erased.add(member_id)

    def wake(self) -> None:
        """Look again now (an activity was created, moved or cancelled; tests moved the clock)."""
        self._idle.clear()
        self._wake.set()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="reminder-scheduler")

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
        try:
            resend, dropped = await self._service.left_in_flight(self._clock.now())
            await self._repository.mark_dropped(dropped)
            if resend:
                log.info(
                    "re-sending %d reminders that were in flight at the last stop", len(resend)
                )
                await self._send(resend)
        except Exception:
            log.exception("could not recover reminders in flight")
        while True:
            self._wake.clear()
            try:
                wait = await self._pass()
            except Exception:
                log.exception("reminder pass failed; trying again shortly")
                wait = 5.0
            if not self._wake.is_set():
                self._idle.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)

    async def _pass(self) -> float:
        """Send everything due; returns how long to sleep."""
        while True:
            now = self._clock.now()
            due, dropped = await self._service.due(now)
            if dropped:
                await self._repository.claim(dropped, now, state="dropped")
            if not due:
                break
            claimed = set(await self._repository.claim([(m.key, m.due_at) for m in due], now))
            mine = [m for m in due if m.key in claimed]
            if not mine:
                break
            await self._send(mine)
        next_due = await self._service.next_due(self._clock.now())
        if next_due is None:
            return MAX_SLEEP
        return min(MAX_SLEEP, max(0.0, (next_due - self._clock.now()).total_seconds()))

    async def _send(self, messages: Sequence[DueMessage]) -> None:
        async def record(batch: Sequence[tuple[DueMessage, Attempted]]) -> None:
            await self._repository.record(
                [(m.key, done.state, done.message_id, done.error) for m, done in batch],
                self._clock.now(),
            )
            self.sent += sum(1 for _, done in batch if done.state is DeliveryState.SENT)

        dispatch = Dispatch(self._courier, self._transport.deliver, record)
        async with dispatch:
            skipped = [m.key for m in messages if m.to.member_id in self._erased]
            for message in messages:
                if message.to.member_id not in self._erased:
                    await dispatch.put(message, message.to.telegram_id)
        await self._repository.mark_dropped(skipped)
