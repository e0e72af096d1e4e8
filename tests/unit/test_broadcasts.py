"""Broadcast outbox and sender on a real SQLite file, with a fake transport standing in for
Telegram: audiences, validation, permissions, delivery states, 429/403, pause/cancel, schedule,
resume after a crash."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.access import resolve_actor
from bot.broadcasts import BroadcastSender, BroadcastService, SenderSettings
from bot.clock import ManualClock
from bot.delivery import Blocked, Courier, Delivered, DeliverySettings, Failed, Outcome, RetryLater
from bot.domain.broadcasts import (
    Audience,
    AudienceKind,
    Broadcast,
    BroadcastContent,
    BroadcastStatus,
    DeliveryCounts,
    Recipient,
)
from bot.domain.errors import InvalidInput, NotAllowed
from bot.domain.members import Actor, NewMember, Person, Role, RoleGrant
from storage import Database
from storage.activities import ActivityRepository
from storage.broadcasts import BroadcastRepository
from storage.members import MemberRepository, RoleRepository
from storage.privacy import PrivacyRepository
from storage.units import UnitRepository

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
ADMIN = Actor(1, None, Role.ADMIN)


@dataclass
class FakeTransport:
    outcomes: dict[int, list[Outcome]] = field(default_factory=dict)
    calls: list[int] = field(default_factory=list)
    gate: asyncio.Event | None = None

    async def deliver(self, broadcast: Broadcast, recipient: Recipient) -> Outcome:
        if self.gate is not None:
            await self.gate.wait()
        self.calls.append(recipient.telegram_id)
        queued = self.outcomes.get(recipient.telegram_id)
        if queued:
            return queued.pop(0)
        return Delivered(message_id=len(self.calls))


@dataclass
class FakeProgress:
    reports: list[tuple[int, DeliveryCounts, bool]] = field(default_factory=list)
    told_authors: list[tuple[int, str | None]] = field(default_factory=list)

    async def progress(
        self, broadcast: Broadcast, counts: DeliveryCounts, eta: float | None, *, final: bool
    ) -> None:
        self.reports.append((broadcast.id, counts, final))

    async def cancelled_by_bot(self, broadcast: Broadcast) -> None:
        self.told_authors.append((broadcast.id, broadcast.cancel_reason))


@dataclass
class World:
    db: Database
    repo: BroadcastRepository
    service: BroadcastService
    clock: ManualClock
    units: dict[str, int]
    members: MemberRepository


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    db = await Database.open(tmp_path / "b.sqlite3")
    units_repo = UnitRepository(db)
    await units_repo.upsert_many([("A", "Đơn vị A"), ("B", "Đơn vị B")])
    units = {u.code: u.id for u in await units_repo.all()}
    members = MemberRepository(db)
    for i in range(1, 31):
        await members.create(
            NewMember(
                1000 + i,
                f"Thành Viên {i}",
                None,
                units["A" if i <= 20 else "B"],
                None,
                None,
                "vi",
                NOW,
            ),
            NOW,
        )
    clock = ManualClock(NOW)
    repo = BroadcastRepository(db)
    yield World(db, repo, BroadcastService(repo, clock), clock, units, members)
    await db.close()


def sender_for(
    world: World, transport: FakeTransport, progress: FakeProgress, rate: float = 500.0
) -> BroadcastSender:
    courier = Courier(
        DeliverySettings(rate_per_second=rate, per_chat_interval=0.0, retry_backoff=0.01)
    )

    async def actor_of(member_id: int) -> Actor:  # ADMIN (Telegram id 1) is a config admin
        if member_id == ADMIN.actor_id:
            return ADMIN
        found = await world.members.by_id(member_id)
        assert found is not None and found.telegram_id is not None
        member, grant = await world.members.with_grant(Person.telegram(found.telegram_id))
        return resolve_actor(Person.telegram(found.telegram_id), member, grant, ())

    sender = BroadcastSender(
        world.repo,
        transport,
        progress,
        world.clock,
        courier,
        SenderSettings(progress_every=0.05),
        actor_of=actor_of,
    )
    world.service.sender = sender
    return sender


async def finish(sender: BroadcastSender, world: World, broadcast_id: int) -> Broadcast:
    async def done() -> Broadcast:
        while True:
            current = await world.repo.get(broadcast_id)
            assert current is not None
            if (
                current.status in (BroadcastStatus.DONE, BroadcastStatus.CANCELLED)
                and not sender.in_flight
            ):
                await sender.idle()
                return current
            await asyncio.sleep(0.01)

    return await asyncio.wait_for(done(), timeout=10)


async def test_audiences_leave_out_muted_deleted_and_unreachable(world: World) -> None:
    repo = world.repo
    assert await repo.count_audience(Audience(AudienceKind.ALL)) == 30
    assert await repo.count_audience(Audience(AudienceKind.UNITS, (world.units["B"],))) == 10
    m1 = await world.members.by_telegram_id(1001)
    m2 = await world.members.by_telegram_id(1002)
    m3 = await world.members.by_telegram_id(1003)
    assert m1 and m2 and m3
    await world.members.update(m1.id, NOW, announcements_muted=True)
    await world.members.set_reachable(Person.telegram(1002), False)
    await PrivacyRepository(world.db, ActivityRepository(world.db)).erase(m3.id, NOW)
    assert await repo.count_audience(Audience(AudienceKind.ALL)) == 27
    cadre = await world.members.by_telegram_id(1004)
    assert cadre is not None
    await RoleRepository(world.db).set(RoleGrant(cadre.id, Role.CADRE, world.units["A"], 1, NOW))
    assert await repo.count_audience(Audience(AudienceKind.CADRES)) == 1


async def test_bad_html_and_empty_text_are_refused_before_anything_is_written(world: World) -> None:
    for text, key in (
        ("<b>Chào", "broadcasts.bad_html"),
        ("<script>x</script>", "broadcasts.bad_html"),
        ("   ", "broadcasts.text_empty"),
        ("x" * 4097, "broadcasts.too_long"),
    ):
        with pytest.raises(InvalidInput) as caught:
            await world.service.create(ADMIN, BroadcastContent(text), Audience(AudienceKind.ALL))
        assert caught.value.key == key
    assert await world.db.fetch_value("SELECT COUNT(*) FROM broadcasts") == 0


async def test_a_cadre_reaches_only_their_own_unit(world: World) -> None:
    member = await world.members.by_telegram_id(1005)
    cadre = Actor(1005, member, Role.CADRE, world.units["A"])
    own = Audience(AudienceKind.UNITS, (world.units["A"],))
    assert await world.service.audience_size(cadre, own) == 20
    for audience in (
        Audience(AudienceKind.ALL),
        Audience(AudienceKind.CADRES),
        Audience(AudienceKind.UNITS, (world.units["B"],)),
        Audience(AudienceKind.UNITS, (world.units["A"], world.units["B"])),
    ):
        with pytest.raises(NotAllowed):
            await world.service.create(cadre, BroadcastContent("Chào"), audience)
    plain = Actor(1006, member, Role.MEMBER)
    with pytest.raises(NotAllowed):
        await world.service.create(plain, BroadcastContent("Chào"), own)


async def test_everyone_gets_exactly_one_message_and_outcomes_are_recorded(world: World) -> None:
    transport = FakeTransport(
        outcomes={
            1001: [Blocked("Forbidden: bot was blocked by the user")],
            1002: [RetryLater(0.05)],
            1003: [Failed("Timed out", retryable=True), Failed("Timed out", retryable=True)],
            1004: [Failed("Bad Request: chat not found", retryable=False)],
            1005: [Failed("Timed out", retryable=True)] * 4,
        }
    )
    progress = FakeProgress()
    sender = sender_for(world, transport, progress)
    await sender.start()
    broadcast = await world.service.create(
        ADMIN, BroadcastContent("<b>Thông báo</b>"), Audience(AudienceKind.ALL)
    )
    assert broadcast.total == 30
    sender.wake()
    final = await finish(sender, world, broadcast.id)
    await sender.stop()
    assert final.status is BroadcastStatus.DONE
    counts = await world.repo.counts(broadcast.id)
    assert (counts.sent, counts.blocked, counts.failed, counts.pending) == (27, 1, 2, 0)
    delivered = [c for c in transport.calls]
    assert delivered.count(1002) == 2  # the 429 was retried, once
    assert delivered.count(1003) == 3  # two retryable failures, then sent
    assert delivered.count(1004) == 1  # not retried
    assert delivered.count(1005) == 4  # gave up after max attempts
    assert all(delivered.count(1000 + i) == 1 for i in range(6, 31))
    member = await world.members.by_telegram_id(1001)
    assert member is not None and not member.reachable
    assert progress.reports[-1][2] is True and progress.reports[-1][1].sent == 27


async def test_resume_after_a_crash_sends_only_the_pending(world: World) -> None:
    broadcast = await world.service.create(
        ADMIN, BroadcastContent("Chào"), Audience(AudienceKind.ALL)
    )
    # as if a previous process had delivered the first 12 before dying
    await world.db.execute(
        "UPDATE broadcast_recipients SET state = 'sent' "
        "WHERE broadcast_id = ? AND telegram_id <= 1012",
        (broadcast.id,),
    )
    transport = FakeTransport()
    sender = sender_for(world, transport, FakeProgress())
    await sender.start()
    await finish(sender, world, broadcast.id)
    await sender.stop()
    assert sorted(transport.calls) == list(range(1013, 1031))


async def test_pause_resume_and_cancel(world: World) -> None:
    transport = FakeTransport(gate=asyncio.Event())
    sender = sender_for(world, transport, FakeProgress(), rate=20.0)
    await sender.start()
    broadcast = await world.service.create(
        ADMIN, BroadcastContent("Chào"), Audience(AudienceKind.ALL)
    )
    sender.wake()
    paused = await world.service.control(ADMIN, broadcast.id, "pause")
    assert paused.status is BroadcastStatus.PAUSED
    transport.gate.set()  # type: ignore[union-attr]
    await asyncio.wait_for(sender.idle(), timeout=10)
    sent_while_pausing = len(transport.calls)
    assert sent_while_pausing < 30  # stopped early: at most what was queued
    again = await world.service.control(ADMIN, broadcast.id, "pause")  # a double tap: no change
    assert again.status is BroadcastStatus.PAUSED
    await world.service.control(ADMIN, broadcast.id, "resume")
    again = await world.service.control(ADMIN, broadcast.id, "resume")
    assert again.status is BroadcastStatus.SENDING
    final = await finish(sender, world, broadcast.id)
    assert final.status is BroadcastStatus.DONE
    with pytest.raises(InvalidInput) as refused:  # what is done cannot be paused
        await world.service.control(ADMIN, broadcast.id, "pause")
    assert refused.value.key == "broadcasts.cannot_pause"
    assert sorted(transport.calls) == list(range(1001, 1031))  # nobody twice

    second = await world.service.create(
        ADMIN, BroadcastContent("Lần hai"), Audience(AudienceKind.ALL)
    )
    cancelled = await world.service.control(ADMIN, second.id, "cancel")
    assert cancelled.status is BroadcastStatus.CANCELLED
    await asyncio.wait_for(sender.idle(), timeout=10)
    await sender.stop()
    counts = await world.repo.counts(second.id)
    assert counts.pending + counts.sent == 30 and counts.pending > 0


async def test_scheduled_broadcast_waits_for_its_time(world: World) -> None:
    transport = FakeTransport()
    sender = sender_for(world, transport, FakeProgress())
    await sender.start()
    with pytest.raises(InvalidInput):
        await world.service.create(
            ADMIN,
            BroadcastContent("x"),
            Audience(AudienceKind.ALL),
            scheduled_at=NOW - timedelta(minutes=1),
        )
    broadcast = await world.service.create(
        ADMIN,
        BroadcastContent("Hẹn giờ"),
        Audience(AudienceKind.UNITS, (world.units["B"],)),
        scheduled_at=NOW + timedelta(hours=1),
    )
    assert broadcast.status is BroadcastStatus.SCHEDULED and broadcast.total == 0
    assert await sender.check_due() == 60.0  # nothing due: it sleeps its longest, a minute
    assert await world.db.fetch_value("SELECT COUNT(*) FROM broadcast_recipients") == 0
    world.clock.advance(timedelta(hours=1, seconds=1))
    sender.wake()
    final = await finish(sender, world, broadcast.id)
    await sender.stop()
    assert final.total == 10 and sorted(transport.calls) == list(range(1021, 1031))


async def test_a_member_erased_mid_broadcast_is_not_sent_and_not_counted(world: World) -> None:
    """/forgetme while the sender holds the member's row in memory (in its page, or queued for
    the courier): the outbox row is gone, and the sender skips what it had read."""
    transport = FakeTransport(gate=asyncio.Event())
    progress = FakeProgress()
    sender = sender_for(world, transport, progress, rate=20.0)
    await sender.start()
    broadcast = await world.service.create(
        ADMIN, BroadcastContent("Chào"), Audience(AudienceKind.ALL)
    )
    sender.wake()
    for _ in range(500):  # until the first sends wait at the gate: the page is in memory
        if sender.in_flight:
            break
        await asyncio.sleep(0.01)
    assert sender.in_flight
    privacy = PrivacyRepository(world.db, ActivityRepository(world.db))
    for telegram_id in (1005, 1030):  # one queued for the courier, one further down the page
        member = await world.members.by_telegram_id(telegram_id)
        assert member is not None
        report = await privacy.erase(member.id, NOW)
        assert report is not None and report.dropped_announcements == 1
        sender.skip_member(member.id)
    transport.gate.set()  # type: ignore[union-attr]
    final = await finish(sender, world, broadcast.id)
    await sender.stop()
    assert final.status is BroadcastStatus.DONE and final.total == 28
    assert sorted(transport.calls) == [t for t in range(1001, 1031) if t not in (1005, 1030)]
    counts = await world.repo.counts(broadcast.id)
    assert (counts.sent, counts.failed, counts.pending) == (28, 0, 0)
    assert progress.reports[-1] == (broadcast.id, counts, True)


async def test_a_scheduled_broadcast_is_cancelled_if_its_author_lost_the_role(
    world: World,
) -> None:
    """Checked again when it falls due: a cadre whose role was revoked, or who now runs another
    unit, sends nothing; the broadcast is cancelled with the reason and the author told."""
    roles = RoleRepository(world.db)
    cadres = []
    member_ids = {}
    for telegram_id in (1001, 1002, 1003):  # three cadres of unit A
        found = await world.members.by_telegram_id(telegram_id)
        assert found is not None
        member_ids[telegram_id] = found.id
        await roles.set(RoleGrant(found.id, Role.CADRE, world.units["A"], 1, NOW))
        member, grant = await world.members.with_grant(Person.telegram(telegram_id))
        cadres.append(resolve_actor(Person.telegram(telegram_id), member, grant, ()))
    scheduled = []
    for cadre in cadres:
        scheduled.append(
            await world.service.create(
                cadre,
                BroadcastContent(f"Tin của {cadre.telegram_id}"),
                Audience(AudienceKind.UNITS, (world.units["A"],)),
                scheduled_at=NOW + timedelta(hours=1),
            )
        )
    await roles.delete(member_ids[1001])  # revoked
    await roles.set(RoleGrant(member_ids[1002], Role.CADRE, world.units["B"], 1, NOW))  # moved
    transport, progress = FakeTransport(), FakeProgress()
    sender = sender_for(world, transport, progress)
    await sender.start()
    world.clock.advance(timedelta(hours=1, seconds=1))
    sender.wake()
    kept = await finish(sender, world, scheduled[2].id)  # 1003 is still cadre of A
    await sender.stop()
    assert kept.status is BroadcastStatus.DONE and kept.total == 20
    for refused in scheduled[:2]:
        row = await world.repo.get(refused.id)
        assert row is not None
        assert (row.status, row.cancel_reason, row.total) == (
            BroadcastStatus.CANCELLED,
            "author_not_allowed",
            0,
        )
        assert await world.repo.counts(refused.id) == DeliveryCounts()
    assert sorted(progress.told_authors) == [
        (scheduled[0].id, "author_not_allowed"),
        (scheduled[1].id, "author_not_allowed"),
    ]
    assert len(transport.calls) == 20  # only the one still allowed went out
