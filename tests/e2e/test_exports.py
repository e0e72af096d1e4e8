"""Exports and statistics through the emulator: a cadre and an admin pick kind → scope →
format and receive the file as a document, which opens the same in independent readers; a
forged press for another unit is refused; while an export streams, everybody else's replies
and reads stay current; ``nhipcau export -o FILE`` writes exactly FILE; /stats answers with
figures and a PNG chart."""

from __future__ import annotations

import asyncio
import csv
import io
import sys
import zipfile
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from bot.activities import ActivityDraft
from bot.activities import ActivityKind as Kind
from bot.activities import Audience as Open
from bot.domain.activities import ActivityKind, Audience, NewActivity
from bot.domain.members import Role
from bot.emulator import BotApiEmulator
from storage.activities import ActivityRepository
from storage.attendance import AttendanceRepository
from storage.exports import ExportRepository
from tests.e2e.conftest import ADMIN_ID, BotHarness, press, say_and_read
from tests.spreadsheets import open_in_every_reader


async def _activity(bot: BotHarness, title: str, unit: str) -> int:
    now = bot.svc.clock.now()
    start = now - timedelta(days=2)
    return await ActivityRepository(bot.svc.db).create(
        NewActivity(
            title=title,
            description="",
            kind=ActivityKind.REGULAR,
            campaign_id=None,
            unit_id=await bot.unit_id(unit),
            open_to=Audience.ALL,
            place="Hà Nội",
            starts_at=start,
            ends_at=start + timedelta(hours=3),
            deadline_at=start - timedelta(hours=1),
            capacity=None,
            hours=3.0,
            reminder_offsets=None,
            created_by=1,
        ),
        now - timedelta(days=5),
    )


async def _register(bot: BotHarness, activity_id: int, telegram_id: int) -> None:
    member = await bot.svc.members.by_telegram_id(telegram_id)
    assert member is not None
    repository = ActivityRepository(bot.svc.db)
    now = bot.svc.clock.now()
    await repository.register(activity_id, member.id, {}, now - timedelta(days=4))
    await AttendanceRepository(bot.svc.db).check_in(
        activity_id, member.id, now, allow_walk_in=False
    )


async def test_cadre_exports_their_units_registrations_as_xlsx(
    bot: BotHarness, emulator: BotApiEmulator, tmp_path: Path
) -> None:
    cadre = await bot.add_member(emulator.user(7301), name="Lê Bí Thư", role=Role.CADRE)
    await bot.add_member(emulator.user(7302), name='=HYPERLINK("x") Tuấn', unit="BTP")
    await bot.add_member(emulator.user(7303), name="Trần Bộ Tài Chính", unit="BTC")
    ours = await _activity(bot, "Hiến máu nhân đạo", "BTP")
    theirs = await _activity(bot, "Trồng cây", "BTC")
    await _register(bot, ours, 7302)
    await _register(bot, theirs, 7303)

    reply = await say_and_read(cadre, "/export")
    assert "Bạn muốn xuất dữ liệu gì?" in reply.text
    await press(cadre, "Đăng ký hoạt động")
    await cadre.wait_for(lambda m: "Toàn bộ đơn vị của tôi" in m.button_texts())
    await press(cadre, "Toàn bộ đơn vị của tôi")
    await cadre.wait_for(lambda m: "📊 Excel (XLSX)" in m.button_texts())
    await press(cadre, "📊 Excel (XLSX)")
    document = await cadre.wait_for(lambda m: m.document is not None, timeout=15)
    assert document.document is not None
    today = bot.svc.clock.now().astimezone(bot.svc.config.bot.tz).date().isoformat()
    assert document.document.filename == f"dang-ky_don-vi-btp_{today}.xlsx"
    assert "1 dòng" in document.content
    received = tmp_path / document.document.filename
    received.write_bytes(document.document.content)
    rows = open_in_every_reader(received)["Đăng ký"]  # openpyxl, calamine, pandas agree
    assert "Họ và tên" in rows[0]
    name_col = rows[0].index("Họ và tên")
    assert [r[name_col] for r in rows[1:]] == ['=HYPERLINK("x") Tuấn']  # exact text; no BTC rows

    # A forged press for the other unit's activity is refused, and nothing is sent.
    await say_and_read(cadre, "/export")
    await press(cadre, "Điểm danh và giờ tình nguyện")
    await cadre.wait_for(lambda m: "Theo một hoạt động" in m.button_texts())
    await press(cadre, "Theo một hoạt động")
    await cadre.wait_for(lambda m: any("Hiến máu" in b for b in m.button_texts()))
    await press(cadre, data=f"ex:a:{theirs}")
    refused = await cadre.wait_for(lambda m: "chỉ được xuất dữ liệu của đơn vị mình" in m.content)
    assert refused.document is None
    await press(cadre, data="ex:f:xlsx")  # skipping ahead is refused too: no format step yet
    documents = [m for m in cadre.messages if m.document is not None]
    assert len(documents) == 1


async def test_admin_exports_attendance_of_one_activity_as_csv_and_members_cannot(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    admin = await bot.add_member(emulator.user(ADMIN_ID), name="Quản Trị")
    member = await bot.add_member(emulator.user(7311), name="Đoàn Viên Ánh 🌸", unit="BYT")
    activity = await _activity(bot, 'Dọn vệ sinh, "xanh" phố', "BYT")
    await _register(bot, activity, 7311)

    await say_and_read(admin, "/export")
    await press(admin, "Danh sách đoàn viên")
    await admin.wait_for(lambda m: "Theo một đơn vị" in m.button_texts())
    await press(admin, "Theo một đơn vị")
    await admin.wait_for(lambda m: "BYT — Bộ Y tế" in m.button_texts())
    await press(admin, "BYT — Bộ Y tế")
    await admin.wait_for(lambda m: "📄 CSV" in m.button_texts())
    await press(admin, "📄 CSV")
    document = await admin.wait_for(lambda m: m.document is not None, timeout=15)
    assert document.document is not None and document.document.filename is not None
    assert document.document.filename.startswith("doan-vien_don-vi-byt_")
    content = document.document.content
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    header = rows[0]
    record = dict(zip(header, rows[1], strict=True))
    assert record["Họ và tên"] == "Đoàn Viên Ánh 🌸"
    # Whole hours as a whole number; ngày công by the one rule: 3 / 8 = 0.375 → 0.38.
    assert record["Số giờ tình nguyện"] == "3" and record["Ngày công"] == "0.38"

    reply = await say_and_read(member, "/export")
    assert "không có quyền" in reply.text


async def test_export_by_typed_date_range_checks_the_dates(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    admin = await bot.add_member(emulator.user(ADMIN_ID), name="Quản Trị")
    await say_and_read(admin, "/export")
    await press(admin, "Sáng kiến và lịch sử xử lý")
    await admin.wait_for(lambda m: "Theo khoảng thời gian" in m.button_texts())
    await press(admin, "Theo khoảng thời gian")
    await admin.wait_for(lambda m: "ngày bắt đầu - ngày kết thúc" in m.content)
    reply = await say_and_read(admin, "31/12/2026 - 01/01/2026")
    assert "Ngày kết thúc đang trước ngày bắt đầu" in reply.text
    reply = await say_and_read(admin, "đầu năm đến cuối năm")
    assert "chưa đọc được" in reply.text
    await say_and_read(admin, "01/01/2026 - 31/12/2026")
    await press(admin, "📊 Excel (XLSX)")
    document = await admin.wait_for(lambda m: m.document is not None, timeout=15)
    assert "Không có dữ liệu trong phạm vi này" in document.content
    book = load_workbook(io.BytesIO(document.document.content))  # type: ignore[union-attr]
    assert book.sheetnames == ["Tổng hợp", "Sáng kiến", "Lịch sử xử lý"]


# --- an export does not hold anybody else up ---------------------------------------------------


@pytest.fixture
def held_export(monkeypatch: pytest.MonkeyPatch) -> dict[str, asyncio.Event]:
    """Exports stream one row, then wait mid-stream (their cursor open) until released."""
    events = {"streaming": asyncio.Event(), "release": asyncio.Event()}
    original = ExportRepository.stream

    async def held(self: ExportRepository, query: Any, chunk: int = 2000) -> AsyncIterator[Any]:
        async for rows in original(self, query, 1):
            yield rows
            events["streaming"].set()
            await events["release"].wait()

    monkeypatch.setattr(ExportRepository, "stream", held)
    return events


async def test_while_an_export_streams_others_register_and_edit_and_read_current_data(
    bot: BotHarness, emulator: BotApiEmulator, held_export: dict[str, asyncio.Event]
) -> None:
    admin = await bot.add_member(emulator.user(ADMIN_ID), name="Quản Trị")
    cadre = await bot.add_member(emulator.user(7331), name="Bí Thư", role=Role.CADRE)
    for i in range(5):
        await bot.add_member(emulator.user(7340 + i), name=f"Đoàn Viên {i}")
    hoa = await bot.add_member(emulator.user(7350), name="Lê Thị Hoa")
    actor = await bot.svc.member_service.actor(7331)
    start = bot.svc.clock.now() + timedelta(days=7)
    activity = await bot.svc.activities.create(
        actor,
        ActivityDraft(
            title="Mùa hè xanh",
            description="",
            kind=Kind.REGULAR,
            unit_id=actor.cadre_unit_id or 0,
            open_to=Open.ALL,
            place="Hà Giang",
            starts_at=start,
            ends_at=start + timedelta(hours=4),
            deadline_at=start - timedelta(days=1),
            capacity=10,
            hours=4.0,
        ),
    )
    assert cadre is not None

    await say_and_read(admin, "/export")
    await press(admin, "Danh sách đoàn viên")
    await admin.wait_for(lambda m: "Toàn bộ các đơn vị" in m.button_texts())
    await press(admin, "Toàn bộ các đơn vị")
    await admin.wait_for(lambda m: "📊 Excel (XLSX)" in m.button_texts())
    await press(admin, "📊 Excel (XLSX)")
    await asyncio.wait_for(held_export["streaming"].wait(), 10)  # mid-stream, cursor open

    # Hoa edits her name: the flow's next step, the write and the card all read current data.
    card = await say_and_read(hoa, "/profile")
    assert "Lê Thị Hoa" in card.text
    await hoa.click(data="pf:edit:name", message_id=card.message_id)
    await hoa.wait_for(lambda m: "Mời bạn nhập họ tên mới" in m.text, timeout=5)
    await hoa.send("Lê Thị Hoa Mai")
    await hoa.wait_for(lambda m: "Đã cập nhật hồ sơ" in m.text, timeout=5)
    updated = await hoa.wait_for(lambda m: "Họ tên: Lê Thị Hoa Mai" in m.text, timeout=5)
    assert updated is not None
    again = await say_and_read(hoa, "/profile")
    assert "Họ tên: Lê Thị Hoa Mai" in again.text

    # Another member registers and sees the seat taken at once.
    an = emulator.user(7340)
    await an.send(f"/start act_{activity.id}")
    await an.wait_for(lambda m: "Đăng ký tham gia" in " ".join(m.button_texts()), timeout=5)
    await an.click("✅ Đăng ký tham gia")
    await an.wait_for(lambda m: "Bạn đã đăng ký thành công" in m.text, timeout=5)
    mine = await say_and_read(an, "/start act_" + str(activity.id))
    assert "Đăng ký tham gia" not in " ".join(mine.button_texts())  # already registered
    assert not any(m.document is not None for m in admin.messages)  # still held mid-stream

    held_export["release"].set()
    document = await admin.wait_for(lambda m: m.document is not None, timeout=15)
    assert document.document is not None
    # The export is one consistent snapshot from when it began: Hoa under her old name.
    book = load_workbook(io.BytesIO(document.document.content))
    names = [row[1] for row in book["Đoàn viên"].iter_rows(min_row=2, values_only=True)]
    assert "Lê Thị Hoa" in names and "Lê Thị Hoa Mai" not in names


# --- the command line ---------------------------------------------------------------------------


async def _cli_export(bot: BotHarness, tmp_path: Path, *args: str) -> tuple[int, str]:
    config = tmp_path / "export.toml"
    config.write_text(f'[database]\npath = "{bot.database}"\n', encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "export",
        *args,
        "--config",
        str(config),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    printed, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, printed.decode()


async def test_export_command_writes_exactly_the_file_it_is_given(
    bot: BotHarness, emulator: BotApiEmulator, tmp_path: Path
) -> None:
    await bot.add_member(emulator.user(7361), name="Phạm Văn Bình", unit="BYT")
    activity = await _activity(bot, "Khám bệnh miễn phí", "BYT")
    await _register(bot, activity, 7361)
    out = tmp_path / "out"

    # Two tables as CSV: one zip, at exactly the name given, and nothing beside it.
    code, printed = await _cli_export(
        bot, tmp_path, "attendance", "--format", "csv", "-o", str(out / "diem-danh.csv")
    )
    assert code == 0, printed
    assert sorted(p.name for p in out.iterdir()) == ["diem-danh.csv"]
    with zipfile.ZipFile(out / "diem-danh.csv") as bundle:
        assert len(bundle.namelist()) == 2
    # One table, a name without an extension: that very file.
    code, printed = await _cli_export(bot, tmp_path, "registrations", "-o", "out/bao-cao")
    assert code == 0, printed
    assert sorted(p.name for p in out.iterdir()) == ["bao-cao", "diem-danh.csv"]
    rows = open_in_every_reader(out / "bao-cao")["Đăng ký"]
    assert [row[6] for row in rows[1:]] == ["Phạm Văn Bình"]
    assert "out/bao-cao: 1 rows" in printed
    # A folder is not a file: refused with the reason, nothing written.
    code, printed = await _cli_export(bot, tmp_path, "members", "-o", str(out))
    assert code == 2 and "là một thư mục" in printed
    assert sorted(p.name for p in out.iterdir()) == ["bao-cao", "diem-danh.csv"]
    # Without -o: the export's own name, in the current folder.
    code, printed = await _cli_export(bot, tmp_path, "members", "--format", "csv")
    assert code == 0, printed
    written = [p.name for p in tmp_path.glob("doan-vien_*.csv")]
    assert len(written) == 1 and written[0] in printed


async def test_stats_send_figures_and_a_chart(bot: BotHarness, emulator: BotApiEmulator) -> None:
    admin = await bot.add_member(emulator.user(ADMIN_ID), name="Quản Trị")
    cadre = await bot.add_member(
        emulator.user(7321), name="Bí Thư Y Tế", role=Role.CADRE, unit="BYT"
    )
    await bot.add_member(emulator.user(7322), name="Tình Nguyện Viên", unit="BYT")
    activity = await _activity(bot, "Khám bệnh miễn phí", "BYT")
    await _register(bot, activity, 7322)

    reply = await say_and_read(admin, "/stats")
    assert "Bạn muốn xem số liệu của giai đoạn nào?" in reply.text
    await press(admin, "Năm nay")
    report = await admin.wait_for(lambda m: "Xếp hạng thi đua" in m.content)
    assert (
        "1. BYT — Bộ Y tế: 50% tham gia (1/2), 0,19 ngày công/đoàn viên (0,38 ngày công), "
        "1 lượt có mặt" in report.content
    )
    photo = await admin.wait_for(lambda m: m.photo is not None, timeout=20)
    assert photo.photo is not None and photo.photo.content.startswith(b"\x89PNG")

    await say_and_read(cadre, "/stats")
    await press(cadre, "Năm nay")
    mine = await cadre.wait_for(lambda m: "xếp hạng 1/" in m.content)
    assert "BYT — Bộ Y tế" in mine.content and "bình quân khối" in mine.content
    await cadre.wait_for(lambda m: m.photo is not None, timeout=20)
