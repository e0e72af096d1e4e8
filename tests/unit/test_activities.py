"""Activities service and storage on a real SQLite file: capacity and waitlist under concurrency,
refusals, imports and calendar files (attendance and check-in codes: test_attendance.py)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import sqlite3
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from openpyxl import Workbook

from bot.activities import (
    IMPORT_COLUMNS_MAX,
    IMPORT_LINES_MAX,
    IMPORT_ROWS_MAX,
    IMPORT_UNPACKED_MAX,
    ActivityDraft,
    ActivityKind,
    ActivityService,
    Audience,
    Question,
    RegisterOutcome,
    parse_capacity,
    parse_description,
    parse_local_datetime,
    parse_reminders,
)
from bot.attendance import AttendanceService
from bot.clock import ManualClock
from bot.domain.errors import InvalidInput, NotAllowed
from bot.domain.members import Actor, Member, NewMember, Role
from storage import Database
from storage.activities import ActivityRepository
from storage.attendance import AttendanceRepository
from storage.members import MemberRepository
from storage.units import UnitRepository
from tests.spreadsheets import (
    corner_cell,
    understated,
    whole_grid_dimension,
    workbook_bytes,
    zip_bomb,
)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 09:00 in Hà Nội


@dataclass
class World:
    db: Database
    clock: ManualClock
    service: ActivityService
    members: MemberRepository
    btp: int
    btc: int
    cadre: Actor
    admin: Actor
    attendance: AttendanceService
    _next_id: int = 1000

    async def member(self, unit: int | None = None) -> Actor:
        self._next_id += 1
        member = await self.members.create(
            NewMember(
                telegram_id=self._next_id,
                full_name=f"Đoàn viên {self._next_id}",
                username=None,
                unit_id=unit or self.btp,
                phone=None,
                email=None,
                language="vi",
                consent_at=NOW,
            ),
            NOW,
        )
        return Actor(self._next_id, member, Role.MEMBER)

    def draft(self, **changes: object) -> ActivityDraft:
        start = datetime(2026, 12, 20, 8, 0, tzinfo=TZ)
        base = ActivityDraft(
            title="Hiến máu tình nguyện",
            description="Mang theo CCCD.",
            kind=ActivityKind.REGULAR,
            unit_id=self.btp,
            open_to=Audience.ALL,
            place="Viện Huyết học",
            starts_at=start,
            ends_at=start + timedelta(hours=3),
            deadline_at=start - timedelta(days=1),
            capacity=2,
            hours=3.5,
        )
        return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    db = await Database.open(tmp_path / "db.sqlite3")
    units = UnitRepository(db)
    await units.upsert_many([("BTP", "Bộ Tư pháp"), ("BTC", "Bộ Tài chính")])
    btp = (await units.get_by_code("BTP")).id  # type: ignore[union-attr]
    btc = (await units.get_by_code("BTC")).id  # type: ignore[union-attr]
    clock = ManualClock(NOW)
    members = MemberRepository(db)
    activities = ActivityRepository(db)
    service = ActivityService(
        activities,
        members,
        units,
        clock,
        tz=TZ,
        hours_per_day=8,
        default_reminders=(timedelta(hours=24), timedelta(hours=2)),
    )
    attendance = AttendanceService(service, activities, AttendanceRepository(db), clock)
    world = World(db, clock, service, members, btp, btc, None, None, attendance)  # type: ignore[arg-type]
    cadre_member = await world.member(btp)
    world.cadre = Actor(cadre_member.telegram_id, cadre_member.member, Role.CADRE, btp)
    world.admin = Actor(1, None, Role.ADMIN)
    try:
        yield world
    finally:
        await db.close()


def _member(actor: Actor) -> Member:
    assert actor.member is not None
    return actor.member


# --- capacity, waitlist, promotion -------------------------------------------------------------


async def test_full_activity_waitlists_in_order_and_a_cancellation_promotes_the_first(
    world: World,
) -> None:
    activity = await world.service.create(world.cadre, world.draft(capacity=2))
    people = [await world.member() for _ in range(4)]
    results = [await world.service.register(p, activity.id) for p in people]
    assert [r.outcome for r in results] == [
        RegisterOutcome.CONFIRMED,
        RegisterOutcome.CONFIRMED,
        RegisterOutcome.WAITLISTED,
        RegisterOutcome.WAITLISTED,
    ]
    assert [r.registration.waitlist_position for r in results[2:]] == [1, 2]  # type: ignore[union-attr]

    cancelled = await world.service.cancel_registration(people[0], activity.id)
    assert [p.recipient.member_id for p in cancelled.promoted] == [_member(people[2]).id]
    assert cancelled.activity.confirmed == 2 and cancelled.activity.waitlisted == 1
    fourth = await world.service.card(people[3], activity.id)
    assert fourth.registration is not None and fourth.registration.waitlist_position == 1

    # Cancelling a waitlist place promotes nobody.
    again = await world.service.cancel_registration(people[3], activity.id)
    assert again.promoted == []


async def test_concurrent_registrations_never_exceed_capacity_or_double_register(
    world: World,
) -> None:
    activity = await world.service.create(world.cadre, world.draft(capacity=20))
    people = [await world.member() for _ in range(200)]
    # Each person presses twice at once (a double tap) while everyone else presses too.
    results = await asyncio.gather(
        *(world.service.register(p, activity.id) for p in people for _ in range(2))
    )
    outcomes = [r.outcome for r in results]
    assert outcomes.count(RegisterOutcome.CONFIRMED) == 20
    assert outcomes.count(RegisterOutcome.WAITLISTED) == 180
    assert outcomes.count(RegisterOutcome.ALREADY) == 200
    rows = await world.db.fetch_all(
        "SELECT status, COUNT(*) AS n FROM registrations WHERE activity_id = ? GROUP BY status",
        (activity.id,),
    )
    assert {r["status"]: r["n"] for r in rows} == {"confirmed": 20, "waitlisted": 180}
    positions = await world.db.fetch_all(
        "SELECT waitlist_seq FROM registrations WHERE status = 'waitlisted' ORDER BY 1"
    )
    assert [r[0] for r in positions] == list(range(1, 181))


async def test_the_database_refuses_a_second_row_for_the_same_member(world: World) -> None:
    activity = await world.service.create(world.cadre, world.draft())
    person = await world.member()
    await world.service.register(person, activity.id)
    with pytest.raises(sqlite3.IntegrityError):
        await world.db.execute(
            "INSERT INTO registrations (activity_id, member_id, status, registered_at, "
            "updated_at) VALUES (?, ?, 'confirmed', 'x', 'x')",
            (activity.id, _member(person).id),
        )


async def test_raising_capacity_promotes_and_lowering_below_seats_taken_is_refused(
    world: World,
) -> None:
    activity = await world.service.create(world.cadre, world.draft(capacity=1))
    people = [await world.member() for _ in range(3)]
    for p in people:
        await world.service.register(p, activity.id)
    with pytest.raises(InvalidInput) as refused:
        await world.service.edit_capacity(world.cadre, activity.id, 0)
    assert refused.value.key == "activities.capacity_below_confirmed"
    result = await world.service.edit_capacity(world.cadre, activity.id, 3)
    assert [p.recipient.member_id for p in result.promoted] == [
        _member(people[1]).id,
        _member(people[2]).id,
    ]
    await world.service.register(await world.member(), activity.id)
    with pytest.raises(InvalidInput) as below:
        await world.service.edit_capacity(world.cadre, activity.id, 2)
    assert below.value.key == "activities.capacity_below_confirmed"


# --- refusals ----------------------------------------------------------------------------------


async def test_registration_is_refused_with_the_reason(world: World) -> None:
    unit_only = await world.service.create(world.cadre, world.draft(open_to=Audience.UNIT))
    outsider = await world.member(world.btc)
    with pytest.raises(InvalidInput) as hidden:
        await world.service.register(outsider, unit_only.id)
    assert hidden.value.key == "activities.not_found"  # hidden looks like missing

    activity = await world.service.create(world.cadre, world.draft())
    person = await world.member()
    world.clock.set(activity.deadline_at + timedelta(minutes=1))
    with pytest.raises(InvalidInput) as late:
        await world.service.register(person, activity.id)
    assert late.value.key == "activities.refused_deadline"

    world.clock.set(NOW)
    await world.service.cancel_activity(world.cadre, activity.id)
    with pytest.raises(InvalidInput) as cancelled:
        await world.service.register(person, activity.id)
    assert cancelled.value.key == "activities.refused_cancelled"

    other = await world.service.create(world.cadre, world.draft())
    await world.service.set_registration_open(world.cadre, other.id, False)
    with pytest.raises(InvalidInput) as closed:
        await world.service.register(person, other.id)
    assert closed.value.key == "activities.refused_closed"


async def test_a_cadre_manages_only_their_own_unit(world: World) -> None:
    with pytest.raises(NotAllowed):
        await world.service.create(world.cadre, world.draft(unit_id=world.btc))
    created = await world.service.create(world.admin, world.draft(unit_id=world.btc))
    with pytest.raises(NotAllowed):
        await world.service.cancel_activity(world.cadre, created.id)
    member = await world.member()
    with pytest.raises(NotAllowed):
        await world.service.registrants(member, created.id)


def test_typed_values_are_validated() -> None:
    assert parse_local_datetime("25/12/2026 08:00", TZ) == datetime(2026, 12, 25, 8, 0, tzinfo=TZ)
    for bad in ("2026-12-25 08:00", "25/12/2026", "31/02/2026 08:00", "25/12/2026 25:00", "mai"):
        with pytest.raises(InvalidInput):
            parse_local_datetime(bad, TZ)
    for bad in ("0", "-5", "mười", "1.5", "99999999"):
        with pytest.raises(InvalidInput):
            parse_capacity(bad)
    assert parse_capacity("") is None and parse_capacity("30") == 30
    with pytest.raises(InvalidInput) as long:
        parse_description("x" * 100_000)
    assert long.value.params["max"] == 2000
    assert parse_reminders("24h, 2h") == (1440, 120)
    with pytest.raises(InvalidInput):
        parse_reminders("tomorrow")


async def test_schedule_rules(world: World) -> None:
    start = datetime(2026, 12, 20, 8, 0, tzinfo=TZ)
    cases = {
        "activities.start_in_past": world.draft(
            starts_at=NOW - timedelta(hours=1), ends_at=NOW + timedelta(hours=1)
        ),
        "activities.end_before_start": world.draft(ends_at=start - timedelta(minutes=1)),
        "activities.deadline_after_start": world.draft(deadline_at=start + timedelta(minutes=1)),
    }
    for key, draft in cases.items():
        with pytest.raises(InvalidInput) as refused:
            await world.service.create(world.cadre, draft)
        assert refused.value.key == key


async def test_required_answers_and_choices_are_checked(world: World) -> None:
    questions = (
        Question(1, "Cỡ áo?", ("S", "M", "L"), True),
        Question(2, "Ghi chú", None, False),
    )
    activity = await world.service.create(world.cadre, world.draft(questions=questions))
    person = await world.member()
    with pytest.raises(InvalidInput):
        await world.service.register(person, activity.id, {"1": "XXL"})
    with pytest.raises(InvalidInput):
        await world.service.register(person, activity.id, {})
    result = await world.service.register(person, activity.id, {"1": "M"})
    assert result.registration is not None and result.registration.answers == {"1": "M"}


# --- calendar ----------------------------------------------------------------------------------


async def test_calendar_file_has_one_event_per_upcoming_registration(world: World) -> None:
    first = await world.service.create(world.cadre, world.draft(capacity=None))
    second = await world.service.create(
        world.cadre, world.draft(title="Dọn vệ sinh hồ", capacity=None)
    )
    person = await world.member()
    await world.service.register(person, first.id)
    await world.service.register(person, second.id)
    data = await world.service.calendar_file(_member(person))
    assert data is not None
    calendar = Calendar.from_ical(data)
    events = list(calendar.walk("VEVENT"))
    assert [str(e["summary"]) for e in events] == ["Hiến máu tình nguyện", "Dọn vệ sinh hồ"]
    start = events[0]["dtstart"].dt
    assert start == datetime(2026, 12, 20, 8, 0, tzinfo=TZ)
    assert str(start.tzinfo) == "Asia/Ho_Chi_Minh"
    assert b"BEGIN:VTIMEZONE" in data and b"TZID:Asia/Ho_Chi_Minh" in data
    assert b"\r\n" in data


# --- import ------------------------------------------------------------------------------------

HEADER = "title,kind,place,start,end,deadline,hours,capacity,unit_code\n"


async def test_csv_import_creates_every_row(world: World) -> None:
    csv_text = (
        HEADER
        + "Hiến máu,regular,Hà Nội,20/12/2026 08:00,20/12/2026 11:00,19/12/2026 17:00,3,50,\n"
        + "Trồng cây,Tại chỗ,Ba Vì,21/12/2026 07:00,21/12/2026 11:00,20/12/2026 17:00,4,,BTP\n"
    )
    report = await world.service.import_file(world.cadre, csv_text.encode(), "hoat-dong.csv")
    assert report.errors == [] and len(report.created) == 2
    second = await world.service.get(report.created[1])
    assert second is not None and second.kind is ActivityKind.ON_THE_SPOT
    assert second.capacity is None and second.unit_id == world.btp


async def test_import_with_a_bad_row_imports_nothing_and_lists_every_problem(
    world: World,
) -> None:
    csv_text = (
        HEADER
        + "Hiến máu,regular,Hà Nội,20/12/2026 08:00,20/12/2026 11:00,19/12/2026 17:00,3,50,\n"
        + "Trồng cây,picnic,Ba Vì,2026-12-21,21/12/2026 11:00,20/12/2026 17:00,4,0,BTC\n"
    )
    report = await world.service.import_file(world.cadre, csv_text.encode(), "a.csv")
    assert report.created == []
    problems = {(e.row, e.column, e.key) for e in report.errors}
    assert problems == {
        (3, "kind", "activities.kind_invalid"),
        (3, "start", "activities.datetime_format"),
        (3, "capacity", "activities.capacity_invalid"),
        (3, "unit_code", "activities.import_unit_not_yours"),
    }
    assert await world.db.fetch_value("SELECT COUNT(*) FROM activities") == 0


async def test_import_refuses_files_it_cannot_use(world: World) -> None:
    cases = {
        "activities.import_wrong_type": (b"%PDF-1.4 ...", "ke-hoach.pdf"),
        "activities.import_empty": (b"", "a.csv"),
        "activities.import_not_utf8": (
            "title,place\nHà Nội,Ba Vì\n".encode("latin-1", "replace") + b"\xe0\xe1",
            "a.csv",
        ),
    }
    for key, (content, name) in cases.items():
        with pytest.raises(InvalidInput) as refused:
            await world.service.import_file(world.cadre, content, name)
        assert refused.value.key == key, name
    missing = await world.service.import_file(world.cadre, b"title,place\nA,B\n", "a.csv")
    assert {e.column for e in missing.errors} == {"kind", "start", "end", "deadline", "hours"}
    row = "Hiến máu,regular,Hà Nội,20/12/2026 08:00,20/12/2026 11:00,19/12/2026 17:00,3,50,\n"
    with pytest.raises(InvalidInput) as too_many:
        await world.service.import_file(world.cadre, (HEADER + row * 1001).encode(), "a.csv")
    assert too_many.value.key == "activities.import_too_many_rows"
    assert await world.db.fetch_value("SELECT COUNT(*) FROM activities") == 0


async def test_xlsx_import_reads_real_dates(world: World) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(HEADER.strip().split(","))
    sheet.append(
        [
            "Hiến máu",
            "regular",
            "Hà Nội",
            datetime(2026, 12, 20, 8, 0),
            "20/12/2026 11:00",
            "19/12/2026 17:00",
            3.5,
            50,
            "BTP",
        ]
    )
    buffer = io.BytesIO()
    workbook.save(buffer)
    report = await world.service.import_file(world.cadre, buffer.getvalue(), "a.xlsx")
    assert report.errors == []
    activity = await world.service.get(report.created[0])
    assert activity is not None and activity.hours == 3.5
    assert activity.starts_at == datetime(2026, 12, 20, 8, 0, tzinfo=TZ)


# --- hostile import files ----------------------------------------------------------------------
# Each is answered within seconds with the reason, and nothing is imported.

GOOD_ROW = [
    "Hiến máu",
    "regular",
    "Hà Nội",
    "20/12/2026 08:00",
    "20/12/2026 11:00",
    "19/12/2026 17:00",
    "3",
    "50",
    "BTP",
]


async def _refusal(world: World, content: bytes, name: str = "a.xlsx") -> InvalidInput:
    with pytest.raises(InvalidInput) as refused:
        await asyncio.wait_for(world.service.import_file(world.cadre, content, name), 10)
    assert await world.db.fetch_value("SELECT COUNT(*) FROM activities") == 0
    return refused.value


async def test_an_xlsx_zip_bomb_is_refused_before_it_is_unpacked(world: World) -> None:
    good = workbook_bytes([HEADER.strip().split(","), GOOD_ROW])
    bomb = zip_bomb(good, megabytes=50)
    assert len(bomb) < 100_000  # 50 MB of sheet in a few dozen KB
    refused = await _refusal(world, bomb)
    assert refused.key == "activities.import_unpacked_too_big"
    assert refused.params == {"max": IMPORT_UNPACKED_MAX // 1_000_000}
    # Small enough in total, but a thousand to one: refused as well.
    dense = zip_bomb(good, megabytes=IMPORT_UNPACKED_MAX // 2_000_000)
    assert (await _refusal(world, dense)).key == "activities.import_unpacked_too_big"
    # A bomb that declares a small size: zipfile unpacks no more than that, and the part
    # then fails its checksum, so the file reads as broken.
    liar = understated(bomb)
    assert (await _refusal(world, liar)).key == "activities.import_wrong_type"


async def test_a_sheet_claiming_the_whole_grid_is_read_as_it_is(world: World) -> None:
    content = whole_grid_dimension(workbook_bytes([HEADER.strip().split(","), GOOD_ROW]))
    assert b'<dimension ref="A1:XFD1048576"' in zipfile.ZipFile(io.BytesIO(content)).read(
        "xl/worksheets/sheet1.xml"
    )
    report = await asyncio.wait_for(world.service.import_file(world.cadre, content, "a.xlsx"), 10)
    assert report.errors == [] and len(report.created) == 1


async def test_a_sheet_that_really_spans_the_whole_grid_is_refused(world: World) -> None:
    content = corner_cell(workbook_bytes([HEADER.strip().split(","), GOOD_ROW]))
    assert len(content) < 20_000
    refused = await _refusal(world, content)
    assert refused.key == "activities.import_too_many_rows"
    assert refused.params == {"max": IMPORT_ROWS_MAX}


async def test_broken_and_oversized_tables_are_refused_with_a_reason(world: World) -> None:
    good = workbook_bytes([HEADER.strip().split(","), GOOD_ROW])
    assert (await _refusal(world, good[:-200])).key == "activities.import_wrong_type"  # cut short
    huge_field = (HEADER + '"' + "x" * 200_000 + '",regular\n').encode()
    assert (await _refusal(world, huge_field, "a.csv")).key == "activities.import_wrong_type"
    blank_lines = (HEADER + "\n" * (IMPORT_LINES_MAX + 5) + ",".join(GOOD_ROW) + "\n").encode()
    assert (await _refusal(world, blank_lines, "a.csv")).key == "activities.import_too_many_rows"
    # Columns past the ones read are ignored, whatever their number.
    wide = (HEADER.strip() + "," * 100_000 + "\n" + ",".join(GOOD_ROW) + "\n").encode()
    report = await world.service.import_file(world.cadre, wide, "a.csv")
    assert report.errors == [] and len(report.created) == 1


async def test_reading_an_import_never_holds_up_the_event_loop(world: World) -> None:
    """While files are read (a heavy legal one, then hostile ones), another task on the loop
    keeps getting its turn: parsing runs on a worker thread."""
    good = workbook_bytes([HEADER.strip().split(",")])
    row = GOOD_ROW + [f"ghi chú {i}" for i in range(IMPORT_COLUMNS_MAX - len(GOOD_ROW))]
    heavy = workbook_bytes([HEADER.strip().split(",")] + [row] * IMPORT_ROWS_MAX)
    hostile = [corner_cell(good), zip_bomb(good), whole_grid_dimension(heavy)]
    longest = 0.0
    reading = True

    async def other_member() -> None:
        nonlocal longest
        loop = asyncio.get_running_loop()
        last = loop.time()
        while reading:
            await asyncio.sleep(0.005)
            now = loop.time()
            longest, last = max(longest, now - last), now

    ticker = asyncio.create_task(other_member())
    report = await world.service.import_file(world.cadre, heavy, "a.xlsx")
    assert report.errors == [] and len(report.created) == IMPORT_ROWS_MAX
    for content in hostile:
        with contextlib.suppress(InvalidInput):
            await asyncio.wait_for(world.service.import_file(world.cadre, content, "a.xlsx"), 10)
    reading = False
    await ticker
    assert longest < 0.5, f"the loop was held up for {longest:.2f} s"
