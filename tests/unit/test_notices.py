"""The notice outbox on a real SQLite file: notices are written with the change they announce
(cancellation, edit, promotion), status changes follow one rule however presses race, and the
sender delivers each notice once, resuming after a stop, in the recipient's language."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from bot.activities import ActivityStatus
from bot.delivery import Courier, Delivered, DeliverySettings, Outcome
from bot.domain.errors import InvalidInput
from bot.domain.notices import Notice, NoticeKind
from bot.i18n import Catalogue
from bot.notices import NoticeSender
from handlers.notices import render_notice
from storage.notices import NoticeRepository
from tests.unit import test_activities
from tests.unit.test_activities import TZ, World

world = test_activities.world  # the same fixture: activities on a real SQLite file


@dataclass
class FakeTransport:
    sent: list[Notice] = field(default_factory=list)
    gate: asyncio.Event | None = None
    enough: int = 0  # ``reached`` is set once this many were sent
    reached: asyncio.Event = field(default_factory=asyncio.Event)

    async def deliver(self, notice: Notice) -> Outcome:
        if self.gate is not None:
            await self.gate.wait()
        self.sent.append(notice)
        if len(self.sent) >= self.enough:
            self.reached.set()
        return Delivered(message_id=len(self.sent))


def sender(w: World, transport: FakeTransport, rate: float = 1000.0) -> NoticeSender:
    courier = Courier(DeliverySettings(rate_per_second=rate, per_chat_interval=0.0))
    return NoticeSender(NoticeRepository(w.db), transport, w.clock, courier)


async def rows(w: World) -> list[tuple[str, int, str]]:
    """(kind, member id, state) of every notice, oldest first."""
    found = await w.db.fetch_all("SELECT kind, member_id, state FROM notices ORDER BY id")
    return [(r[0], int(r[1]), r[2]) for r in found]


async def full_activity_with_waitlist(w: World) -> tuple[int, list[int]]:
    """Capacity 2, three registrants (the third waitlisted); returns (id, member ids)."""
    activity = await w.service.create(w.cadre, w.draft(capacity=2))
    people = [await w.member() for _ in range(3)]
    for person in people:
        await w.service.register(person, activity.id)
    return activity.id, [p.member.id for p in people if p.member]


async def test_cancelling_writes_one_notice_per_registrant_with_the_cancellation(
    world: World,
) -> None:
    activity_id, members = await full_activity_with_waitlist(world)
    result = await world.service.cancel_activity(world.cadre, activity_id)
    assert [r.member_id for r in result.recipients] == members  # the waitlisted one too
    assert await rows(world) == [("activity_cancelled", m, "pending") for m in members]
    with pytest.raises(InvalidInput) as again:  # a second press: nobody is told twice
        await world.service.cancel_activity(world.cadre, activity_id)
    assert again.value.key == "activities.already_cancelled"
    assert len(await rows(world)) == 3


async def test_cancel_and_reopen_racing_never_revive_a_cancelled_activity(world: World) -> None:
    service, cadre = world.service, world.cadre
    for round_ in range(12):
        activity = await service.create(cadre, world.draft())
        await service.register(await world.member(), activity.id)
        await service.set_registration_open(cadre, activity.id, False)
        presses = [
            service.cancel_activity(cadre, activity.id),
            service.set_registration_open(cadre, activity.id, True),
            service.cancel_activity(cadre, activity.id),
        ]
        shift = round_ % 3  # every order in which the presses reach the database
        presses = presses[shift:] + presses[:shift]
        outcomes = await asyncio.gather(*presses, return_exceptions=True)
        refused = [o for o in outcomes if isinstance(o, Exception)]
        assert all(isinstance(o, InvalidInput) for o in refused), refused
        assert all(o.key == "activities.already_cancelled" for o in refused)  # type: ignore[union-attr]
        after = await service.get(activity.id)
        assert after is not None and after.status is ActivityStatus.CANCELLED, round_
        told = await world.db.fetch_value(
            "SELECT COUNT(*) FROM notices WHERE activity_id = ? AND kind = 'activity_cancelled'",
            (activity.id,),
        )
        assert told == 1  # one cancellation went through, one notice for the one registrant
        with pytest.raises(InvalidInput):  # and it stays cancelled
            await service.set_registration_open(cadre, activity.id, True)


async def test_closing_and_reopening_twice_changes_nothing_the_second_time(world: World) -> None:
    activity = await world.service.create(world.cadre, world.draft())
    closed = await world.service.set_registration_open(world.cadre, activity.id, False)
    again = await world.service.set_registration_open(world.cadre, activity.id, False)
    assert closed.status is again.status is ActivityStatus.CLOSED
    opened = await world.service.set_registration_open(world.cadre, activity.id, True)
    again = await world.service.set_registration_open(world.cadre, activity.id, True)
    assert opened.status is again.status is ActivityStatus.OPEN
    assert await rows(world) == []


async def test_edits_and_promotions_write_their_notices_with_the_change(world: World) -> None:
    activity_id, members = await full_activity_with_waitlist(world)
    await world.service.edit_text(world.cadre, activity_id, "title", "Hiến máu mùa đông")
    assert await rows(world) == []  # a new title is not news registrants must hear
    await world.service.edit_text(world.cadre, activity_id, "place", "Bệnh viện Bạch Mai")
    assert await rows(world) == [("activity_changed", m, "pending") for m in members]
    await world.service.edit_capacity(world.cadre, activity_id, 3)  # the waitlisted gets a seat
    assert (await rows(world))[-1] == ("promoted", members[2], "pending")
    await world.service.cancel_activity(world.cadre, activity_id)
    with pytest.raises(InvalidInput) as late:  # an edit that lost the race to the cancellation
        await world.service.edit_text(world.cadre, activity_id, "place", "Nơi khác")
    assert late.value.key == "activities.already_cancelled"


async def test_sender_delivers_each_notice_once_and_resumes_after_a_stop(world: World) -> None:
    activity = await world.service.create(world.cadre, world.draft(capacity=None))
    people = [await world.member() for _ in range(30)]
    for person in people:
        await world.service.register(person, activity.id)
    await world.service.cancel_activity(world.cadre, activity.id)

    gate = asyncio.Event()
    first = FakeTransport(gate=gate, enough=8)
    running = sender(world, first, rate=50.0)
    await running.start()
    gate.set()
    await asyncio.wait_for(first.reached.wait(), timeout=10)
    await running.stop()  # mid-way: some notices are still pending
    repository = NoticeRepository(world.db)
    counts = await repository.counts()
    assert 0 < counts.get("pending", 0) < 30
    in_flight = len(first.sent) - counts.get("sent", 0)

    second = FakeTransport()
    resumed = sender(world, second)
    await resumed.start()
    await asyncio.wait_for(resumed.idle(), timeout=10)
    await resumed.stop()
    assert await repository.counts() == {"sent": 30}
    delivered = [n.telegram_id for n in first.sent + second.sent]
    assert set(delivered) == {p.telegram_id for p in people}
    assert len(delivered) - 30 <= in_flight  # only what was in flight may repeat


async def test_what_is_no_longer_news_is_dropped_not_sent(world: World) -> None:
    activity_id, members = await full_activity_with_waitlist(world)
    await world.service.edit_capacity(world.cadre, activity_id, 3)  # promotes the third
    forgotten = await world.members.by_id(members[0])
    assert forgotten is not None
    # A member the bot can no longer address (as after an erasure that raced the queue).
    await world.db.execute(
        "UPDATE members SET telegram_id = NULL, deleted_at = updated_at WHERE id = ?",
        (forgotten.id,),
    )
    await world.service.cancel_activity(world.cadre, activity_id)
    transport = FakeTransport()
    running = sender(world, transport)
    await running.start()
    await asyncio.wait_for(running.idle(), timeout=10)
    await running.stop()
    # The seat news is stale (cancelled since) and the forgotten member has no address.
    assert [(n.kind, n.member_id) for n in transport.sent] == [
        (NoticeKind.CANCELLED, members[1]),
        (NoticeKind.CANCELLED, members[2]),
    ]
    assert [state for _, _, state in await rows(world)] == ["dropped", "dropped", "sent", "sent"]

    # An activity that has ended: its notices are dropped too.
    later = await world.service.create(world.cadre, world.draft())
    await world.service.register(await world.member(), later.id)
    await world.service.edit_text(world.cadre, later.id, "place", "Sân vận động")
    world.clock.set(later.ends_at + timedelta(minutes=1))
    await running.start()
    await asyncio.wait_for(running.idle(), timeout=10)
    await running.stop()
    assert len(transport.sent) == 2 and (await rows(world))[-1][2] == "dropped"


async def test_each_change_notice_tells_its_own_change_in_the_recipients_language(
    world: World,
) -> None:
    activity = await world.service.create(world.cadre, world.draft())
    english = await world.member()
    assert english.member is not None
    await world.members.update(english.member.id, world.clock.now(), language="en")
    await world.service.register(english, activity.id)
    await world.service.edit_text(world.cadre, activity.id, "place", "Bệnh viện Bạch Mai")
    starts = activity.starts_at + timedelta(hours=5)
    await world.service.edit_schedule(world.cadre, activity.id, starts, starts + timedelta(hours=3))
    pending = await NoticeRepository(world.db).pending(after_id=0, limit=10)
    catalogue = Catalogue.load()
    texts = [render_notice(n, catalogue, TZ)[0] for n in pending]
    assert texts == [
        "📢 <b>Hiến máu tình nguyện</b>, which you registered for, has changed:\n"
        "📍 Place: Viện Huyết học → <b>Bệnh viện Bạch Mai</b>",
        "📢 <b>Hiến máu tình nguyện</b>, which you registered for, has changed:\n"
        "🕗 Time: 08:00–11:00 on 20/12/2026 → <b>13:00–16:00 on 20/12/2026</b>",
    ]
