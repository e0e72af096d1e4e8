"""Reminders derived from the database, with a moved clock and a fake transport: offsets,
who is (not) reminded, catch-up and drop after downtime, rescheduling, cancelling, cadre
digests, thank-yous, and messages left in flight by a crash."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from bot.delivery import Blocked, Courier, Delivered, DeliverySettings, Outcome
from bot.domain.members import Role, RoleGrant
from bot.domain.reminders import LogKey
from bot.reminders import (
    DIGEST,
    REMINDER,
    THANK_YOU,
    DueMessage,
    ReminderScheduler,
    ReminderService,
)
from storage.members import RoleRepository
from storage.reminders import ReminderRepository
from tests.unit.test_activities import NOW, TZ, World, world  # noqa: F401  (the fixture)

START = datetime(2026, 12, 20, 8, 0, tzinfo=TZ)  # the default draft's start


@dataclass
class FakeTransport:
    sent: list[tuple[str, int, int]] = field(default_factory=list)  # (kind, telegram id, offset)
    blocked: set[int] = field(default_factory=set)

    async def deliver(self, message: DueMessage) -> Outcome:
        if message.to.telegram_id in self.blocked:
            return Blocked("Forbidden: bot was blocked by the user")
        self.sent.append((message.key.kind, message.to.telegram_id, message.key.offset_minutes))
        return Delivered(len(self.sent))


@dataclass
class Setup:
    world: World
    service: ReminderService
    scheduler: ReminderScheduler
    transport: FakeTransport

    async def run_at(self, moment: datetime) -> list[tuple[str, int, int]]:
        """Move the clock, let the scheduler do a pass, return what it sent in that pass."""
        before = len(self.transport.sent)
        self.world.clock.set(moment)
        self.scheduler.wake()
        await self.scheduler.idle()
        return self.transport.sent[before:]


@pytest.fixture
async def setup(world: World) -> AsyncIterator[Setup]:  # noqa: F811
    service = ReminderService(
        ReminderRepository(world.db),
        world.clock,
        default_offsets=(timedelta(hours=24), timedelta(hours=2)),
        digest_before=timedelta(hours=24),
        tz=TZ,
    )
    transport = FakeTransport()
    courier = Courier(DeliverySettings(rate_per_second=1000, per_chat_interval=0))
    scheduler = ReminderScheduler(service, transport, world.clock, courier)
    await scheduler.start()
    await scheduler.idle()
    try:
        yield Setup(world, service, scheduler, transport)
    finally:
        await scheduler.stop()


async def test_confirmed_registrants_are_reminded_at_each_offset_and_only_once(
    setup: Setup,
) -> None:
    w = setup.world
    activity = await w.service.create(w.cadre, w.draft(capacity=2))
    first, second, waitlisted = [await w.member() for _ in range(3)]
    for person in (first, second, waitlisted):
        await w.service.register(person, activity.id)
    assert await setup.run_at(START - timedelta(hours=25)) == []
    sent = await setup.run_at(START - timedelta(hours=24))
    assert sorted(sent) == [
        (REMINDER, first.telegram_id, 1440),
        (REMINDER, second.telegram_id, 1440),
    ]
    assert await setup.run_at(START - timedelta(hours=23)) == []  # nothing twice
    sent = await setup.run_at(START - timedelta(hours=2))
    assert sorted(sent) == [(REMINDER, first.telegram_id, 120), (REMINDER, second.telegram_id, 120)]
    assert waitlisted.telegram_id not in {t for _, t, _ in setup.transport.sent}


async def test_muted_members_are_not_reminded(setup: Setup) -> None:
    w = setup.world
    activity = await w.service.create(w.cadre, w.draft())
    quiet, keen = await w.member(), await w.member()
    for person in (quiet, keen):
        await w.service.register(person, activity.id)
    await w.members.update(quiet.member.id, NOW, reminders_muted=True)  # type: ignore[union-attr]
    sent = await setup.run_at(START - timedelta(hours=24))
    assert sent == [(REMINDER, keen.telegram_id, 1440)]


async def test_per_activity_offsets_override_the_default(setup: Setup) -> None:
    w = setup.world
    activity = await w.service.create(w.cadre, w.draft(reminder_offsets=(30,)))
    person = await w.member()
    await w.service.register(person, activity.id)
    assert await setup.run_at(START - timedelta(hours=24)) == []
    assert await setup.run_at(START - timedelta(minutes=30)) == [(REMINDER, person.telegram_id, 30)]


async def test_after_downtime_only_the_latest_reminder_is_sent_and_none_after_the_start(
    setup: Setup,
) -> None:
    w = setup.world
    early = await w.service.create(w.cadre, w.draft())
    late = await w.service.create(
        w.cadre,
        w.draft(
            title="Dọn vệ sinh",
            starts_at=START + timedelta(days=1),
            ends_at=START + timedelta(days=1, hours=2),
            deadline_at=START,
        ),
    )
    person = await w.member()
    await w.service.register(person, early.id)
    await w.service.register(person, late.id)
    # the bot was down from well before the first 24 h mark until an hour before the start
    sent = await setup.run_at(START - timedelta(hours=1))
    assert sent == [(REMINDER, person.telegram_id, 120)]  # not the stale 24 h one too
    repository = setup.service.repository
    assert await repository.log_count(REMINDER, "dropped") == 1
    # then down again until after the start: the late activity's 24 h reminder is due
    # (it starts tomorrow), the early one has started, nothing more for it
    sent = await setup.run_at(START + timedelta(minutes=5))
    assert sent == [(REMINDER, person.telegram_id, 1440)]


async def test_moving_an_activity_reschedules_and_cancelling_removes(setup: Setup) -> None:
    w = setup.world
    activity = await w.service.create(w.cadre, w.draft())
    person = await w.member()
    await w.service.register(person, activity.id)
    assert len(await setup.run_at(START - timedelta(hours=24))) == 1
    new_start = START + timedelta(days=3)
    await w.service.edit_schedule(w.cadre, activity.id, new_start, new_start + timedelta(hours=3))
    assert await setup.run_at(START - timedelta(hours=2)) == []  # the old time means nothing
    assert await setup.run_at(new_start - timedelta(hours=24)) == [
        (REMINDER, person.telegram_id, 1440)
    ]
    await w.service.cancel_activity(w.cadre, activity.id)
    assert await setup.run_at(new_start - timedelta(hours=2)) == []


async def test_cadres_get_a_digest_before_the_registration_deadline(setup: Setup) -> None:
    w = setup.world
    await RoleRepository(w.db).set(
        RoleGrant(w.cadre.actor_id, Role.CADRE, w.btp, granted_by=1, granted_at=NOW)
    )
    activity = await w.service.create(w.cadre, w.draft(capacity=1))
    for _ in range(3):
        await w.service.register(await w.member(), activity.id)
    deadline = START - timedelta(days=1)
    assert activity.deadline_at == deadline
    assert [k for k, _, _ in await setup.run_at(deadline - timedelta(hours=25))] == []
    sent = await setup.run_at(deadline - timedelta(hours=24))
    assert sent == [(DIGEST, w.cadre.telegram_id, 1440)]


async def test_attendees_are_thanked_the_morning_after_once(setup: Setup) -> None:
    w = setup.world
    activity = await w.service.create(w.cadre, w.draft())
    person = await w.member()
    await w.service.register(person, activity.id)
    w.clock.set(START)
    ticked = await w.attendance.set_attendance(
        w.cadre,
        activity.id,
        (await w.service.registrants(w.cadre, activity.id)).registrants[0].registration.id,
        True,
    )
    assert ticked.registration.hours_credited == 3.5
    assert [k for k, _, _ in await setup.run_at(activity.ends_at + timedelta(hours=6))] == []
    next_morning = datetime(2026, 12, 21, 8, 0, tzinfo=TZ)
    assert await setup.run_at(next_morning) == [(THANK_YOU, person.telegram_id, 0)]
    assert await setup.run_at(next_morning + timedelta(hours=1)) == []


async def test_blocked_members_become_unreachable(setup: Setup) -> None:
    w = setup.world
    activity = await w.service.create(w.cadre, w.draft())
    person = await w.member()
    await w.service.register(person, activity.id)
    setup.transport.blocked.add(person.telegram_id)
    await setup.run_at(START - timedelta(hours=24))
    member = await w.members.by_telegram_id(person.telegram_id)
    assert member is not None and not member.reachable
    assert await setup.service.repository.log_count(REMINDER, "blocked") == 1


async def test_messages_left_in_flight_by_a_crash_are_resent_unless_too_late(world: World) -> None:  # noqa: F811
    w = world
    activity = await w.service.create(w.cadre, w.draft())
    person = await w.member()
    await w.service.register(person, activity.id)
    repository = ReminderRepository(w.db)
    key = LogKey(REMINDER, activity.id, person.member.id, 1440, activity.starts_at)  # type: ignore[union-attr]
    # a previous process claimed the reminder and died before recording it
    await repository.claim([(key, START - timedelta(hours=24))], START - timedelta(hours=24))
    w.clock.set(START - timedelta(hours=23))
    service = ReminderService(
        repository,
        w.clock,
        default_offsets=(timedelta(hours=24),),
        digest_before=timedelta(hours=24),
        tz=TZ,
    )
    transport = FakeTransport()
    scheduler = ReminderScheduler(
        service,
        transport,
        w.clock,
        Courier(DeliverySettings(rate_per_second=1000, per_chat_interval=0)),
    )
    await scheduler.start()
    await scheduler.idle()
    await scheduler.stop()
    assert transport.sent == [(REMINDER, person.telegram_id, 1440)]
    assert await repository.log_count(REMINDER, "sent") == 1
