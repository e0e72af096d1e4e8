"""/stats through the emulator, read as the admin and a cadre read it: the whole report on a
small world (a member who moved unit after attending, a no-show, units with no members), and
the chart as a PNG 1080 pixels wide."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from PIL import Image

from bot.clock import Clock, ManualClock
from bot.domain.activities import ActivityKind, Audience, NewActivity
from bot.domain.members import Role
from bot.emulator import BotApiEmulator
from storage.activities import ActivityRepository
from storage.attendance import AttendanceRepository
from tests.e2e.conftest import ADMIN_ID, BotHarness, press, say_and_read


@pytest.fixture
def clock(manual_clock: ManualClock) -> Clock:
    return manual_clock  # 1 December 2026


HOW_COUNTED = (
    "ℹ️ Tỷ lệ tham gia: số đoàn viên có mặt ít nhất một hoạt động trong kỳ ÷ số đoàn viên của "
    "đơn vị (kể cả người đã có mặt rồi chuyển đơn vị hoặc xoá dữ liệu). Mỗi lượt có mặt được "
    "tính cho đơn vị của đoàn viên lúc tham gia. Tỷ lệ có mặt: lượt có mặt ÷ lượt đăng ký của "
    "hoạt động đã kết thúc hoặc đã điểm danh."
)
BLOC = (
    "Toàn khối (3 đơn vị): 2/6 đoàn viên đã tham gia (33,3%); 3 lượt đăng ký, 2 lượt có mặt "
    "(tỷ lệ có mặt 66,7%); 6 giờ tình nguyện = 0,75 ngày công, bình quân 0,13 ngày công mỗi "
    "đoàn viên; sáng kiến: 0 đã nộp, 0 được chấp nhận, 0 được công nhận."
)


async def _world(bot: BotHarness, emulator: BotApiEmulator) -> None:
    """BTP: the admin. BYT: a cadre, Vân who attends, and Chuyển who attends and then moves to
    BTC. BTC: Tài, who signed up and did not come. Khám bệnh (BYT, 3 h) ended yesterday."""
    await bot.add_member(emulator.user(ADMIN_ID), name="Quản Trị")
    await bot.add_member(emulator.user(7401), name="Bí Thư Y Tế", role=Role.CADRE, unit="BYT")
    await bot.add_member(emulator.user(7402), name="Nguyễn Thị Vân", unit="BYT")
    await bot.add_member(emulator.user(7403), name="Lê Văn Chuyển", unit="BYT")
    await bot.add_member(emulator.user(7404), name="Trần Văn Tài", unit="BTC")
    now = bot.svc.clock.now()
    start = now - timedelta(days=1)
    activities = ActivityRepository(bot.svc.db)
    exam = await activities.create(
        NewActivity(
            title="Khám bệnh miễn phí",
            description="",
            kind=ActivityKind.REGULAR,
            campaign_id=None,
            unit_id=await bot.unit_id("BYT"),
            open_to=Audience.ALL,
            place="Hà Nội",
            starts_at=start,
            ends_at=start + timedelta(hours=3),
            deadline_at=start - timedelta(hours=1),
            capacity=None,
            hours=3.0,
            reminder_offsets=None,
            created_by=ADMIN_ID,
        ),
        now - timedelta(days=5),
    )
    attendance = AttendanceRepository(bot.svc.db)
    for telegram_id, came in ((7402, True), (7403, True), (7404, False)):
        member = await bot.svc.members.by_telegram_id(telegram_id)
        assert member is not None
        await activities.register(exam, member.id, {}, now - timedelta(days=4))
        if came:
            await attendance.check_in(exam, member.id, start, allow_walk_in=False)
    mover = await bot.svc.members.by_telegram_id(7403)
    assert mover is not None
    await bot.svc.members.update(mover.id, now, unit_id=await bot.unit_id("BTC"))


async def test_the_admin_reads_the_bloc_the_ranking_and_the_units_not_ranked(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    await _world(bot, emulator)
    admin = emulator.user(ADMIN_ID)
    await say_and_read(admin, "/stats")
    await press(admin, "Năm nay")
    report = await admin.wait_for(lambda m: "Xếp hạng thi đua" in m.content)
    # BYT: the cadre and Vân now, and Chuyển who attended for it: 2 of 3, 6 h. BTC (Tài and
    # Chuyển, who brings no hours) and BTP (the admin) did nothing: 0%, by name.
    assert report.content.split("\n") == [
        "📊 Thống kê phong trào — năm 2026",
        BLOC,
        "",
        "🏆 Xếp hạng thi đua (theo tỷ lệ đoàn viên tham gia, rồi ngày công bình quân mỗi đoàn "
        "viên, rồi số lượt có mặt):",
        "1. BYT — Bộ Y tế: 66,7% tham gia (2/3), 0,25 ngày công/đoàn viên (0,75 ngày công), "
        "2 lượt có mặt",
        "2. BTC — Bộ Tài chính: 0% tham gia (0/2), 0 ngày công/đoàn viên (0 ngày công), "
        "0 lượt có mặt",
        "3. BTP — Bộ Tư pháp: 0% tham gia (0/1), 0 ngày công/đoàn viên (0 ngày công), "
        "0 lượt có mặt",
        "Chưa xếp hạng 7 đơn vị chưa có đoàn viên trên Nhịp Cầu: BNG, DTH, KTNN, NHNN, TTXVN, "
        "VPCP, VPQH.",
        "",
        HOW_COUNTED,
    ]
    photo = await admin.wait_for(lambda m: m.photo is not None, timeout=20)
    assert photo.content == "Biểu đồ các đơn vị dẫn đầu, năm 2026"
    assert photo.photo is not None
    image = Image.open(io.BytesIO(photo.photo.content))
    assert image.format == "PNG" and image.width == 1080


async def test_a_cadre_reads_their_unit_against_the_bloc_average(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    await _world(bot, emulator)
    cadre = emulator.user(7401)
    await say_and_read(cadre, "/stats")
    await press(cadre, "Năm nay")
    report = await cadre.wait_for(lambda m: "xếp hạng 1/3" in m.content)
    assert report.content.split("\n") == [
        "📊 Thống kê phong trào — năm 2026",
        BLOC,
        "",
        "🏢 BYT — Bộ Y tế: xếp hạng 1/3 toàn khối",
        "• Đoàn viên: 3 (bình quân khối: 2)",
        "• Đoàn viên đã tham gia: 2 (bình quân khối: 0,67)",
        "• Tỷ lệ đoàn viên tham gia: 66,7% (bình quân khối: 33,3%)",
        "• Lượt có mặt: 2 (bình quân khối: 0,67)",
        "• Lượt đăng ký: 2 (bình quân khối: 1)",
        "• Tỷ lệ có mặt: 100% (bình quân khối: 66,7%)",
        "• Giờ tình nguyện: 6 (bình quân khối: 2)",
        "• Ngày công: 0,75 (bình quân khối: 0,25)",
        "• Ngày công mỗi đoàn viên: 0,25 (bình quân khối: 0,13)",
        "• Sáng kiến đã nộp: 0 (bình quân khối: 0)",
        "• Sáng kiến được chấp nhận: 0 (bình quân khối: 0)",
        "• Sáng kiến được công nhận: 0 (bình quân khối: 0)",
        "",
        HOW_COUNTED,
    ]
    await cadre.wait_for(lambda m: m.photo is not None, timeout=20)
