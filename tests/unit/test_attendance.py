"""Attendance as a record (issue 13) on a real SQLite file: rotating check-in codes (link and
typed digits, wrong-try limit), check in once, no cancel once present, walk-ins waiting for a
cadre, corrections logged with who/when/why, the unit at the time in stats and exports, and the
migration of attendance kept on registrations before."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from bot.attendance import (
    WRONG_CODES_LIMIT,
    WRONG_CODES_PAUSE_S,
    CheckinOutcome,
    CorrectionOutcome,
    DecisionOutcome,
    checkin_payload,
    short_code,
    window_of,
)
from bot.domain.activities import Audience
from bot.domain.errors import InvalidInput, NotAllowed
from bot.domain.exports import RowFilter
from bot.domain.members import Actor, Role, RoleGrant
from storage import Database
from storage.activities import ActivityRepository
from storage.exports import ExportRepository
from storage.members import RoleRepository
from storage.migrations import available_migrations
from storage.stats import StatsRepository
from tests.unit.test_activities import NOW, World, world  # noqa: F401  (the fixture)

BOT = "nhipcau_bot"


@pytest.fixture
def w(world: World) -> World:  # noqa: F811
    """The activities test world (a BTP cadre, units BTP and BTC, a manual clock)."""
    return world


async def _open(w: World, **changes: object) -> tuple[int, str]:
    """An activity whose check-in is open now (it starts in 30 minutes); and its secret."""
    start = NOW + timedelta(minutes=30)
    w.clock.set(NOW - timedelta(days=2))
    draft = w.draft(
        starts_at=start,
        ends_at=start + timedelta(hours=3),
        deadline_at=start - timedelta(hours=1),
        **changes,
    )
    activity = await w.service.create(w.cadre, draft)
    w.clock.set(NOW)
    # The unit's cadre is on record (roles), so that walk-ins reach them.
    await RoleRepository(w.db).set(
        RoleGrant(w.cadre.actor_id, Role.CADRE, w.btp, granted_by=1, granted_at=NOW)
    )
    await w.attendance.checkin_qr(w.cadre, activity.id, BOT)
    secret = await w.attendance.repository.secret(activity.id)
    assert secret is not None
    return activity.id, secret


def _payload_of(link: str) -> str:
    return link.split("start=ci_", 1)[1]


async def _registered(w: World, activity_id: int, unit: int | None = None) -> Actor:
    person = await w.member(unit)
    w.clock.set(NOW - timedelta(days=1))
    await w.service.register(person, activity_id)
    w.clock.set(NOW)
    return person


async def _attendance(w: World, activity_id: int) -> list[tuple[object, ...]]:
    rows = await w.db.fetch_all(
        "SELECT member_id, present, hours, unit_id, method, recorded_by FROM attendance "
        "WHERE activity_id = ? ORDER BY member_id",
        (activity_id,),
    )
    return [tuple(r) for r in rows]


# --- codes ---------------------------------------------------------------------------------------


async def test_a_link_works_in_its_window_and_the_next_then_stops(w: World) -> None:
    activity_id, secret = await _open(w)
    qr = await w.attendance.checkin_qr(w.cadre, activity_id, BOT)
    payload = _payload_of(qr.link)
    assert len(f"ci_{payload}") <= 64 and all(c.isalnum() or c in "_-" for c in payload)
    assert qr.code == short_code(secret, activity_id, window_of(NOW)) and len(qr.code) == 6
    assert qr.png.startswith(b"\x89PNG")
    early, late = await _registered(w, activity_id), await _registered(w, activity_id)

    w.clock.advance(timedelta(seconds=60))  # the next window: still accepted
    assert (await w.attendance.check_in_link(early, payload)).outcome is CheckinOutcome.ATTENDED
    w.clock.advance(timedelta(seconds=60))  # two windows later: a forwarded copy is refused
    with pytest.raises(InvalidInput) as old:
        await w.attendance.check_in_link(late, payload)
    assert old.value.key == "attendance.code_expired"
    fresh = await w.attendance.checkin_qr(w.cadre, activity_id, BOT)
    assert fresh.link != qr.link and fresh.code != qr.code
    result = await w.attendance.check_in_link(late, _payload_of(fresh.link))
    assert result.outcome is CheckinOutcome.ATTENDED

    # A forged MAC, a window from the future, another activity's id, junk: all "invalid".
    window = window_of(w.clock.now())
    forged = f"{activity_id}_{window}_{'A' * 16}"
    future = checkin_payload(secret, activity_id, window + 1)
    swapped = checkin_payload(secret, activity_id + 1, window)
    for bad in (forged, future, swapped, "x" * 30, f"{activity_id}_{window}", "../../etc"):
        with pytest.raises(InvalidInput) as caught:
            await w.attendance.check_in_link(late, bad)
        assert caught.value.key == "activities.checkin_invalid", bad
    assert len(await _attendance(w, activity_id)) == 2


async def test_typed_codes_are_limited_to_a_few_wrong_tries(w: World) -> None:
    activity_id, secret = await _open(w)
    person = await _registered(w, activity_id)
    with pytest.raises(InvalidInput) as bad_format:
        await w.attendance.check_in_code(person, "12a456")
    assert bad_format.value.key == "attendance.code_format"
    right = short_code(secret, activity_id, window_of(NOW))
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for _ in range(WRONG_CODES_LIMIT - 1):
        with pytest.raises(InvalidInput) as caught:
            await w.attendance.check_in_code(person, wrong)
        assert caught.value.key == "attendance.code_wrong"
    with pytest.raises(InvalidInput) as locked:
        await w.attendance.check_in_code(person, wrong)
    assert locked.value.key == "attendance.code_locked"
    # Even the right code waits out the pause: guessing cannot go on.
    with pytest.raises(InvalidInput) as still:
        await w.attendance.check_in_code(person, right)
    assert still.value.key == "attendance.code_locked"
    assert await _attendance(w, activity_id) == []

    w.clock.advance(timedelta(seconds=WRONG_CODES_PAUSE_S))
    current = short_code(secret, activity_id, window_of(w.clock.now()))
    result = await w.attendance.check_in_code(person, f" {current[:3]} {current[3:]} ")
    assert result.outcome is CheckinOutcome.ATTENDED and result.hours == 3.5
    assert await w.db.fetch_value("SELECT COUNT(*) FROM checkin_attempts") == 0

    # The previous window's digits are accepted, older ones are not.
    other = await _registered(w, activity_id)
    w.clock.advance(timedelta(seconds=60))
    previous = short_code(secret, activity_id, window_of(w.clock.now()) - 1)
    older = short_code(secret, activity_id, window_of(w.clock.now()) - 2)
    with pytest.raises(InvalidInput) as too_old:
        await w.attendance.check_in_code(other, older)
    assert too_old.value.key == "attendance.code_wrong"
    assert (await w.attendance.check_in_code(other, previous)).outcome is CheckinOutcome.ATTENDED


# --- the record ----------------------------------------------------------------------------------


async def test_a_member_checks_in_once_and_can_no_longer_cancel(w: World) -> None:
    activity_id, _ = await _open(w, capacity=2)
    person = await _registered(w, activity_id)
    payload = _payload_of((await w.attendance.checkin_qr(w.cadre, activity_id, BOT)).link)
    first = await w.attendance.check_in_link(person, payload)
    assert first.outcome is CheckinOutcome.ATTENDED and first.person_days == 0.44
    w.clock.advance(timedelta(seconds=30))
    again = await w.attendance.check_in_link(person, payload)
    assert again.outcome is CheckinOutcome.ALREADY and again.attended_at == NOW
    member_id = person.member.id  # type: ignore[union-attr]
    assert await _attendance(w, activity_id) == [(member_id, 1, 3.5, w.btp, "qr", None)]

    with pytest.raises(InvalidInput) as refused:
        await w.service.cancel_registration(person, activity_id)
    assert refused.value.key == "activities.cancel_checked_in"
    assert refused.value.params == {"time": "09:00 01/12/2026"}
    # The storage refuses on its own too (the check runs in the cancelling transaction)…
    repository = ActivityRepository(w.db)
    assert (await repository.cancel(activity_id, member_id, NOW)).checked_in_at == NOW
    # …and the schema refuses any other path that would drop the seat or the record.
    with pytest.raises(sqlite3.IntegrityError, match="keeps a confirmed registration"):
        await w.db.execute("UPDATE registrations SET status = 'cancelled'")
    with pytest.raises(sqlite3.IntegrityError, match="never deleted"):
        await w.db.execute("DELETE FROM attendance")
    # Registering again is "already registered" and leaves the record alone.
    assert (await w.service.register(person, activity_id)).outcome.value == "already"
    mine = await w.service.my_registrations(person.member)  # type: ignore[arg-type]
    assert (mine.attended, mine.hours, mine.person_days) == (1, 3.5, 0.44)
    assert await _attendance(w, activity_id) == [(member_id, 1, 3.5, w.btp, "qr", None)]
    assert await w.db.fetch_value("SELECT COUNT(*) FROM attendance_changes") == 1


async def test_corrections_are_kept_with_who_when_and_why(w: World) -> None:
    activity_id, _ = await _open(w)
    person = await _registered(w, activity_id)
    member_id = person.member.id  # type: ignore[union-attr]
    registration = await ActivityRepository(w.db).registration(activity_id, member_id)
    assert registration is not None
    payload = _payload_of((await w.attendance.checkin_qr(w.cadre, activity_id, BOT)).link)
    await w.attendance.check_in_link(person, payload)

    with pytest.raises(InvalidInput) as no_reason:
        await w.attendance.set_attendance(w.cadre, activity_id, registration.id, False)
    assert no_reason.value.key == "attendance.reason_invalid"
    other_unit = Actor(77, None, Role.CADRE, w.btc)
    with pytest.raises(NotAllowed):
        await w.attendance.set_attendance(
            other_unit, activity_id, registration.id, False, "vắng mặt"
        )
    w.clock.advance(timedelta(minutes=40))
    absent = await w.attendance.set_attendance(
        w.cadre, activity_id, registration.id, False, "  điểm   danh nhầm "
    )
    assert absent.outcome is CorrectionOutcome.CHANGED
    assert absent.registration.attended_at is None and absent.registration.hours_credited == 0
    assert absent.registration.marked_absent and absent.activity.attended == 0
    # A double tap, or an old copy of the list: nothing more, nothing logged.
    twice = await w.attendance.set_attendance(
        w.cadre, activity_id, registration.id, False, "vắng mặt"
    )
    assert twice.outcome is CorrectionOutcome.UNCHANGED
    # The member scanning again does not overrule the cadre.
    fresh = await w.attendance.checkin_qr(w.cadre, activity_id, BOT)
    rescan = await w.attendance.check_in_link(person, _payload_of(fresh.link))
    assert rescan.outcome is CheckinOutcome.MARKED_ABSENT
    later = w.clock.now() + timedelta(minutes=5)
    w.clock.set(later)
    back = await w.attendance.set_attendance(w.admin, activity_id, registration.id, True)
    assert back.outcome is CorrectionOutcome.CHANGED and back.registration.hours_credited == 3.5

    history = await w.attendance.history(w.cadre, activity_id, registration.id)
    assert [
        (c.by_member, c.method.value, c.from_present, c.to_present, c.hours_to, c.reason)
        for c in history
    ] == [
        (None, "qr", None, True, 3.5, None),
        (w.cadre.actor_id, "cadre", True, False, 0.0, "điểm danh nhầm"),
        (w.admin.actor_id, "cadre", False, True, 3.5, None),
    ]
    assert [c.at for c in history] == [NOW, NOW + timedelta(minutes=40), later]


async def test_a_no_show_then_cancel_then_register_again_keeps_the_record(w: World) -> None:
    start = NOW + timedelta(hours=3)
    w.clock.set(NOW - timedelta(days=2))
    activity = await w.service.create(
        w.cadre,
        w.draft(starts_at=start, ends_at=start + timedelta(hours=2), deadline_at=start),
    )
    person = await w.member()
    registration = (await w.service.register(person, activity.id)).registration
    assert registration is not None
    w.clock.set(start - timedelta(minutes=50))  # check-in is open, registration still too
    await w.attendance.set_attendance(w.cadre, activity.id, registration.id, False, "vắng mặt")
    await w.service.cancel_registration(person, activity.id)  # absent: cancelling is fine
    again = await w.service.register(person, activity.id)
    assert again.registration is not None and again.registration.marked_absent
    rows = await _attendance(w, activity.id)
    assert rows == [(person.member.id, 0, 0.0, w.btp, "cadre", w.cadre.actor_id)]  # type: ignore[union-attr]


# --- walk-ins ------------------------------------------------------------------------------------


async def test_a_walk_in_waits_for_the_cadre_who_confirms_once(w: World) -> None:
    activity_id, _ = await _open(w, capacity=None, open_to=Audience.ALL)
    payload = _payload_of((await w.attendance.checkin_qr(w.cadre, activity_id, BOT)).link)
    visitor = await w.member(w.btc)  # another unit, open activity: may walk in
    member_id = visitor.member.id  # type: ignore[union-attr]
    asked = await w.attendance.check_in_link(visitor, payload)
    assert asked.outcome is CheckinOutcome.WALK_IN_REQUESTED and asked.hours == 0
    assert [m.telegram_id for m in asked.managers] == [w.cadre.telegram_id]
    assert await _attendance(w, activity_id) == []
    assert await w.db.fetch_value("SELECT COUNT(*) FROM registrations") == 0
    again = await w.attendance.check_in_link(visitor, payload)
    assert again.outcome is CheckinOutcome.WALK_IN_PENDING and again.managers == ()
    pending, waiting = await w.attendance.pending_walk_ins(w.cadre, activity_id)
    assert waiting == 1 and [p.member_id for p in pending] == [member_id]

    decided = await w.attendance.decide_walk_in(w.cadre, activity_id, member_id, True)
    assert decided.outcome is DecisionOutcome.DECIDED and decided.hours == 3.5
    assert decided.request.status.value == "confirmed"
    assert await _attendance(w, activity_id) == [
        (member_id, 1, 3.5, w.btc, "walk_in", w.cadre.actor_id)
    ]
    status = await w.db.fetch_value(
        "SELECT status FROM registrations WHERE member_id = ?", (member_id,)
    )
    assert status == "confirmed"
    # A second press, another cadre's copy, or "decline" on an old copy: nothing more.
    for confirm in (True, False):
        repeat = await w.attendance.decide_walk_in(w.admin, activity_id, member_id, confirm)
        assert repeat.outcome is DecisionOutcome.ALREADY
        assert repeat.request.decided_by == w.cadre.actor_id
    assert (await w.attendance.check_in_link(visitor, payload)).outcome is CheckinOutcome.ALREADY
    assert await w.db.fetch_value("SELECT COUNT(*) FROM attendance_changes") == 1


async def test_a_walk_in_is_declined_or_waits_while_the_activity_is_full(w: World) -> None:
    activity_id, _ = await _open(w, capacity=1)
    await _registered(w, activity_id)  # the one seat
    payload = _payload_of((await w.attendance.checkin_qr(w.cadre, activity_id, BOT)).link)
    first, second = await w.member(), await w.member()
    for person in (first, second):
        await w.attendance.check_in_link(person, payload)
    first_id, second_id = first.member.id, second.member.id  # type: ignore[union-attr]
    with pytest.raises(InvalidInput) as full:
        await w.attendance.decide_walk_in(w.cadre, activity_id, first_id, True)
    assert full.value.key == "attendance.walk_in_full" and full.value.params["capacity"] == 1
    assert (await w.attendance.pending_walk_ins(w.cadre, activity_id))[1] == 2
    await w.service.edit_capacity(w.cadre, activity_id, 2)
    confirmed = await w.attendance.decide_walk_in(w.cadre, activity_id, first_id, True)
    assert confirmed.activity.confirmed == 2 and confirmed.activity.attended == 1

    declined = await w.attendance.decide_walk_in(w.cadre, activity_id, second_id, False)
    assert declined.request.status.value == "declined" and declined.hours == 0
    assert (await w.attendance.check_in_link(second, payload)).outcome is (
        CheckinOutcome.WALK_IN_DECLINED
    )
    late = await w.attendance.decide_walk_in(w.cadre, activity_id, second_id, True)
    assert late.outcome is DecisionOutcome.ALREADY and late.request.status.value == "declined"
    with pytest.raises(NotAllowed):
        await w.attendance.decide_walk_in(
            Actor(77, None, Role.CADRE, w.btc), activity_id, second_id, True
        )
    with pytest.raises(InvalidInput) as unknown:
        await w.attendance.decide_walk_in(w.cadre, activity_id, 424242, True)
    assert unknown.value.key == "attendance.walk_in_gone"


async def test_another_units_member_cannot_walk_in_to_a_unit_only_activity(w: World) -> None:
    activity_id, secret = await _open(w, open_to=Audience.UNIT)
    outsider = await w.member(w.btc)
    payload = _payload_of((await w.attendance.checkin_qr(w.cadre, activity_id, BOT)).link)
    assert (await w.attendance.check_in_link(outsider, payload)).outcome is (
        CheckinOutcome.NOT_OPEN
    )
    typed = short_code(secret, activity_id, window_of(NOW))
    assert (await w.attendance.check_in_code(outsider, typed)).outcome is (CheckinOutcome.NOT_OPEN)
    assert await w.db.fetch_value("SELECT COUNT(*) FROM walk_in_requests") == 0
    assert await _attendance(w, activity_id) == []


# --- figures by the unit at the time -------------------------------------------------------------


async def test_hours_stay_with_the_unit_the_member_belonged_to(w: World) -> None:
    activity_id, _ = await _open(w, open_to=Audience.ALL, hours=4)
    mover = await _registered(w, activity_id)  # a BTP member
    stayer = await _registered(w, activity_id, w.btc)
    payload = _payload_of((await w.attendance.checkin_qr(w.cadre, activity_id, BOT)).link)
    for person in (mover, stayer):
        await w.attendance.check_in_link(person, payload)
    await w.members.update(mover.member.id, NOW, unit_id=w.btc)  # type: ignore[union-attr]

    stats = await StatsRepository(w.db).per_unit(
        NOW - timedelta(days=1), NOW + timedelta(days=1), NOW + timedelta(days=1)
    )
    by_code = {
        u.code: (u.current_members, u.former_members, u.registrations, u.attended, u.hours)
        for u in stats
    }
    # BTP: the cadre now, and the mover who attended for it; BTC: the stayer and the mover,
    # who brings no hours along.
    assert by_code == {"BTP": (1, 1, 1, 1, 4.0), "BTC": (2, 0, 1, 1, 4.0)}

    exports = ExportRepository(w.db)

    async def rows(query: object) -> list[tuple[object, ...]]:
        found: list[tuple[object, ...]] = []
        async for chunk in exports.stream(query):  # type: ignore[arg-type]
            found.extend(tuple(r) for r in chunk)
        return found

    btc_rows = await rows(exports.attendance(RowFilter(unit_id=w.btc), 8))
    # BTC's view of attendance: its members then, not the one who joined it later.
    assert [(r[5], r[7], r[12]) for r in btc_rows] == [(stayer.member.full_name, "BTC", 4.0)]  # type: ignore[union-attr]
    everyone = await rows(exports.attendance(RowFilter(), 8))
    assert sorted((r[5], r[7]) for r in everyone) == sorted(
        [(mover.member.full_name, "BTP"), (stayer.member.full_name, "BTC")]  # type: ignore[union-attr]
    )
    totals = await rows(exports.attendance_totals(RowFilter(unit_id=w.btp), 8))
    assert [(r[1], r[3], r[6]) for r in totals] == [
        (stayer.member.full_name, "BTC", 4.0),  # type: ignore[union-attr]
        (mover.member.full_name, "BTP", 4.0),  # type: ignore[union-attr]
    ]
    members = await rows(exports.members(RowFilter(unit_id=w.btc), 8))
    hours = {r[1]: r[11] for r in members}
    assert hours == {mover.member.full_name: 0, stayer.member.full_name: 4.0}  # type: ignore[union-attr]


# --- the migration -------------------------------------------------------------------------------


async def test_the_migration_moves_attendance_off_registrations(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        for migration in available_migrations()[:5]:
            for statement in migration.statements():
                conn.execute(statement)
        conn.execute(
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
            "applied_at TEXT NOT NULL)"
        )
        conn.executemany(
            "INSERT INTO schema_version VALUES (?, ?, 'x')",
            [(m.version, m.name) for m in available_migrations()[:5]],
        )
        conn.execute("INSERT INTO units (id, code, name, name_folded) VALUES (1, 'BTP', 'B', 'b')")
        for mid in (1, 2, 3):
            conn.execute(
                "INSERT INTO members (id, telegram_id, unit_id, created_at, updated_at) "
                "VALUES (?, ?, 1, 'x', 'x')",
                (mid, 100 + mid),
            )
        conn.execute(
            "INSERT INTO activities (id, title, kind, unit_id, open_to, place, starts_at, ends_at, "
            "deadline_at, hours, created_by, created_at, updated_at) VALUES (1, 'A', 'regular', 1, "
            "'all', 'P', '2026-11-20T01:00:00+00:00', '2026-11-20T04:00:00+00:00', "
            "'2026-11-19T01:00:00+00:00', 3, 9, 'x', 'x')"
        )
        conn.execute("INSERT INTO checkin_tokens VALUES ('old-static-token-xyz', 1, 'x')")
        registrations = [
            (1, 1, "confirmed", "2026-11-20T01:05:00+00:00", None, 0, 3.0),  # own scan
            (2, 2, "confirmed", "2026-11-20T01:30:00+00:00", 555, 1, 3.0),  # walk-in
            (3, 3, "confirmed", None, None, 0, 0.0),  # not there
        ]
        conn.executemany(
            "INSERT INTO registrations (id, activity_id, member_id, status, answers, "
            "registered_at, attended_at, attendance_by, walk_in, hours_credited, updated_at) "
            "VALUES (?, 1, ?, ?, '{}', 'x', ?, ?, ?, ?, 'u')",
            registrations,
        )
    db = await Database.open(path)
    try:
        assert await db.schema_version() == available_migrations()[-1].version
        rows = await db.fetch_all(
            "SELECT member_id, present, hours, unit_id, method, recorded_at, recorded_by "
            "FROM attendance ORDER BY member_id"
        )
        assert [tuple(r) for r in rows] == [
            (1, 1, 3.0, 1, "qr", "2026-11-20T01:05:00+00:00", None),
            (2, 1, 3.0, 1, "walk_in", "2026-11-20T01:30:00+00:00", 0),  # cadre 555: no member
        ]
        assert await db.fetch_value("SELECT COUNT(*) FROM attendance_changes") == 2
        columns = {r[1] for r in await db.fetch_all("PRAGMA table_info(registrations)")}
        assert not columns & {"attended_at", "attendance_by", "walk_in", "hours_credited"}
        assert await db.fetch_value("SELECT COUNT(*) FROM registrations") == 3
        # The old static token is the activity's secret now: its old link no longer works.
        assert await db.fetch_value("SELECT token FROM checkin_tokens") == "old-static-token-xyz"
        assert await db.integrity_check() == "ok"
    finally:
        await db.close()
