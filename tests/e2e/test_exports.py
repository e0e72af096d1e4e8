"""Exports and statistics through the emulator: a cadre and an admin pick kind → scope →
format and receive the file as a document; a forged press for another unit is refused;
/stats answers with figures and a PNG chart."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from openpyxl import load_workbook

from bot.emulator import BotApiEmulator
from bot.models import Role
from storage.activities import ActivityKind, ActivityRepository, Audience, NewActivity
from storage.attendance import AttendanceRepository
from tests.e2e.conftest import ADMIN_ID, BotHarness, press, say_and_read


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
    bot: BotHarness, emulator: BotApiEmulator
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
    book = load_workbook(io.BytesIO(document.document.content))
    rows = list(book["Đăng ký"].iter_rows(values_only=True))
    assert "Họ và tên" in rows[0]
    name_col = rows[0].index("Họ và tên")
    assert [r[name_col] for r in rows[1:]] == ['\'=HYPERLINK("x") Tuấn']  # no BTC rows

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
    assert record["Số giờ tình nguyện"] == "3.0" and record["Ngày công"] == "0.375"

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
