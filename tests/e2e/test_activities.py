"""Volunteer activity journeys through the emulator: create (guided and imported), browse,
register with questions, waitlist and promotion, my registrations with a calendar file, check-in
by QR deep link (also for a brand-new user, who waits for the cadre), attendance ticks, edits
and cancellations, and the hostile inputs: forged buttons, double taps, bad dates, numbers,
files and tokens (more on attendance in test_attendance.py)."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from openpyxl import Workbook

from bot.activities import Activity, ActivityDraft, ActivityKind, Audience, Question
from bot.clock import Clock, ManualClock
from bot.domain.members import Person, Role
from bot.emulator import BotApiEmulator, BotMessage, EmulatedUser
from tests.e2e.conftest import BotHarness, press
from tests.spreadsheets import corner_cell, whole_grid_dimension, workbook_bytes, zip_bomb

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
START = datetime(2026, 12, 20, 8, 0, tzinfo=TZ)  # the manual clock starts on 01/12/2026 08:00


@pytest.fixture
def clock(manual_clock: ManualClock) -> Clock:
    return manual_clock


def _clock(bot: BotHarness) -> ManualClock:
    assert isinstance(bot.clock, ManualClock)
    return bot.clock


async def cadre(bot: BotHarness, emulator: BotApiEmulator, user_id: int = 7001) -> EmulatedUser:
    return await bot.add_member(
        emulator.user(user_id, first_name="Lan"), name="Trần Thị Lan", role=Role.CADRE
    )


async def member(
    bot: BotHarness, emulator: BotApiEmulator, user_id: int, *, unit: str = "BTP", name: str = ""
) -> EmulatedUser:
    return await bot.add_member(
        emulator.user(user_id, first_name=f"Member{user_id}"),
        name=name or f"Đoàn viên {user_id}",
        unit=unit,
    )


async def create_activity(bot: BotHarness, cadre_id: int, **changes: object) -> Activity:
    actor = await bot.svc.member_service.actor(cadre_id)
    assert actor.cadre_unit_id is not None
    draft = ActivityDraft(
        title="Hiến máu tình nguyện",
        description="Mang theo căn cước công dân.",
        kind=ActivityKind.REGULAR,
        unit_id=actor.cadre_unit_id,
        open_to=Audience.ALL,
        place="Viện Huyết học, Cầu Giấy",
        starts_at=START,
        ends_at=START + timedelta(hours=3),
        deadline_at=START - timedelta(days=1),
        capacity=10,
        hours=3.5,
    )
    return await bot.svc.activities.create(actor, replace(draft, **changes))  # type: ignore[arg-type]


async def registration_rows(bot: BotHarness, activity_id: int) -> dict[int, str]:
    rows = await bot.svc.db.fetch_all(
        "SELECT m.telegram_id, r.status FROM registrations r JOIN members m ON m.id = r.member_id "
        "WHERE r.activity_id = ?",
        (activity_id,),
    )
    return {row[0]: row[1] for row in rows}


def after(user: EmulatedUser) -> int:
    """Id of the newest bot message so far: wait for messages newer than this."""
    last = user.last_message
    return last.message_id if last else 0


async def wait_new(
    user: EmulatedUser,
    since: int,
    text: str,
    timeout: float = 5.0,  # noqa: ASYNC109
) -> BotMessage:
    return await user.wait_for(lambda m: m.message_id > since and text in m.content, timeout)


# --- create -----------------------------------------------------------------------------------


async def test_cadre_creates_an_activity_in_the_guided_flow_refusing_bad_input(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    lan = await cadre(bot, emulator)
    await lan.send("/newactivity")
    await lan.wait_for(lambda m: "tên hoạt động" in m.text)
    await lan.send("Ngày Chủ nhật xanh")
    step = await lan.wait_for(lambda m: "mô tả" in m.text)
    mark = after(lan)
    await lan.send("x" * 100_000)
    await wait_new(lan, mark, "vượt giới hạn 2000 ký tự")
    await lan.click("Bỏ qua", message_id=step.message_id)
    await lan.click("Tại chỗ")
    await lan.click("Mọi đoàn viên")
    await lan.send("Công viên Thống Nhất")
    await lan.wait_for(lambda m: "thời gian bắt đầu" in m.text)
    for bad, reply in (
        ("2026-12-20 08:00", "chưa đúng dạng"),
        ("20/12/2026", "chưa đúng dạng"),
        ("31/02/2026 08:00", "chưa đúng dạng"),
        ("01/11/2026 08:00", "phải ở tương lai"),
    ):
        mark = after(lan)
        await lan.send(bad)
        await wait_new(lan, mark, reply)
    await lan.send("20/12/2026 07:30")
    await lan.wait_for(lambda m: "thời gian kết thúc" in m.text)
    mark = after(lan)
    await lan.send("20/12/2026 07:00")
    await wait_new(lan, mark, "phải sau thời gian bắt đầu")
    await lan.click("+4 giờ")
    await lan.wait_for(lambda m: "hạn đăng ký" in m.text)
    mark = after(lan)
    await lan.send("21/12/2026 07:00")
    await wait_new(lan, mark, "không được muộn hơn giờ bắt đầu")
    await lan.click("Trước 24 giờ")
    await lan.wait_for(lambda m: "số chỗ" in m.text)
    for bad in ("0", "-5", "ba mươi"):
        mark = after(lan)
        await lan.send(bad)
        await wait_new(lan, mark, "phải là số nguyên từ 1")
    await lan.send("30")
    await lan.click("Bằng thời lượng: 4 giờ")
    await lan.click("➕ Tạo chiến dịch mới")
    await lan.wait_for(lambda m: "tên chiến dịch" in m.text)
    await lan.send("Tháng Thanh niên xanh")
    await lan.wait_for(lambda m: "thời gian chiến dịch" in m.text)
    await lan.send("01/12/2026 - 31/12/2026")
    await lan.wait_for(lambda m: "Đã tạo chiến dịch" in m.text)
    await lan.click("➕ Thêm câu hỏi")
    await lan.wait_for(lambda m: "nội dung câu hỏi" in m.text)
    await lan.send("Cỡ áo của bạn?")
    await lan.click("🔘 Chọn một đáp án")
    await lan.wait_for(lambda m: "đáp án" in m.text and "S; M; L; XL" in m.text)
    await lan.send("S; M; L")
    await lan.click("Bắt buộc")
    await lan.wait_for(lambda m: "Cỡ áo của bạn? — S / M / L (bắt buộc)" in m.text)
    await lan.click("Tiếp tục ▶️")
    await lan.click("Dùng mặc định (24h, 2h)")
    summary = await lan.wait_for(lambda m: "kiểm tra lại hoạt động" in m.text)
    assert "07:30–11:30 ngày 20/12/2026" in summary.text
    assert "Hạn đăng ký: 07:30 19/12/2026" in summary.text
    assert "Số chỗ: 30" in summary.text and "4 giờ (0,5 ngày công)" in summary.text
    assert "Tháng Thanh niên xanh" in summary.text
    await lan.click("✅ Lưu hoạt động")
    created = await lan.wait_for(lambda m: "Đã tạo hoạt động" in m.text)
    row = await bot.svc.db.fetch_one("SELECT * FROM activities")
    assert row is not None
    assert f"https://t.me/nhipcau_test_bot?start=act_{row['id']}" in created.text
    assert (row["title"], row["kind"], row["open_to"], row["capacity"], row["hours"]) == (
        "Ngày Chủ nhật xanh",
        "on_the_spot",
        "all",
        30,
        4.0,
    )
    assert row["starts_at"] == "2026-12-20T00:30:00+00:00"  # stored in UTC
    assert row["campaign_id"] is not None
    questions = await bot.svc.db.fetch_all(
        "SELECT prompt, choices, required FROM activity_questions"
    )
    assert [tuple(q) for q in questions] == [("Cỡ áo của bạn?", '["S", "M", "L"]', 1)]
    assert await bot.svc.db.fetch_value("SELECT COUNT(*) FROM checkin_tokens") == 1


async def test_a_member_cannot_start_creating_activities(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    an = await member(bot, emulator, 7101)
    await an.send("/newactivity")
    await an.wait_for(lambda m: "không có quyền" in m.text)
    await an.click(data="acm:new")
    refused = await an.next_callback_answer()
    assert refused.text is not None and "không có quyền" in refused.text
    assert await bot.svc.conversations.get(Person.telegram(7101)) is None


# --- browse, register, waitlist, promotion ----------------------------------------------------


async def test_full_activity_waitlists_and_a_cancellation_promotes_with_a_message(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    await cadre(bot, emulator)
    activity = await create_activity(bot, 7001, capacity=1)
    an = await member(bot, emulator, 7201)
    binh = await member(bot, emulator, 7202)

    await an.send("🙋 Hoạt động")
    listing = await an.wait_for(lambda m: "Hoạt động sắp diễn ra" in m.text)
    assert "Hiến máu tình nguyện" in listing.text and "Còn 1/1 chỗ" in listing.text
    assert "Hạn đăng ký: 08:00 19/12/2026" in listing.text
    await an.click("✅ 1. Đăng ký")
    await an.wait_for(lambda m: "Bạn đã đăng ký thành công" in m.text)

    await binh.send("🙋 Hoạt động")
    full = await binh.wait_for(lambda m: "Hoạt động sắp diễn ra" in m.text)
    assert "Đã đủ 1 chỗ — danh sách chờ 0" in full.text
    await binh.click("✅ 1. Đăng ký")
    waitlisted = await binh.wait_for(lambda m: "danh sách chờ" in m.text and "vị trí số" in m.text)
    assert "vị trí số 1" in waitlisted.text
    assert await registration_rows(bot, activity.id) == {7201: "confirmed", 7202: "waitlisted"}

    await an.send("📅 Đăng ký của tôi")
    mine = await an.wait_for(lambda m: "Đăng ký của tôi" in m.text)
    assert "Hiến máu tình nguyện" in mine.text and "Bạn đã đăng ký" in mine.text
    await an.click("❌ 1. Huỷ đăng ký")
    await an.click("Có, huỷ đăng ký")
    await an.wait_for(lambda m: "Đã huỷ đăng ký" in m.text)
    promoted = await binh.wait_for(lambda m: "Tin vui" in m.text)
    assert "Hiến máu tình nguyện" in promoted.text and "đã được xác nhận" in promoted.text
    assert promoted.button_texts() == ["❌ Huỷ đăng ký"]
    assert await registration_rows(bot, activity.id) == {7201: "cancelled", 7202: "confirmed"}


async def test_browsing_pages_five_at_a_time_and_filters_by_unit_and_campaign(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    await cadre(bot, emulator)
    lan = await bot.svc.member_service.actor(7001)
    assert lan.cadre_unit_id is not None
    campaign = await bot.svc.activities.create_campaign(
        lan,
        lan.cadre_unit_id,
        "Tình nguyện mùa đông",
        START.date(),
        START.date() + timedelta(days=30),
    )
    for day in range(6):
        await create_activity(
            bot,
            7001,
            title=f"Hoạt động ngày {day + 1}",
            starts_at=START + timedelta(days=day),
            ends_at=START + timedelta(days=day, hours=2),
            campaign_id=campaign.id if day < 2 else None,
        )
    await create_activity(bot, 7001, title="Sinh hoạt nội bộ", open_to=Audience.UNIT)
    await bot.add_member(emulator.user(7150, first_name="Hùng"), unit="BTC", role=Role.CADRE)
    await create_activity(bot, 7150, title="Hoạt động của Bộ Tài chính")
    hoa = await member(bot, emulator, 7151, unit="BTC")

    await hoa.send("🙋 Hoạt động")
    first = await hoa.wait_for(lambda m: "trang 1/2" in m.text)
    assert "7 hoạt động" in first.text and "Sinh hoạt nội bộ" not in first.text
    assert "1. Hoạt động ngày 1" in first.text and "2. Hoạt động của Bộ Tài chính" in first.text
    assert first.button_texts()[:2] == ["ℹ️ 1. Chi tiết", "✅ 1. Đăng ký"]
    await hoa.click("Sau ▶️")
    second = await hoa.wait_for(lambda m: "trang 2/2" in m.text)
    assert "6. Hoạt động ngày 5" in second.text and "7. Hoạt động ngày 6" in second.text
    await hoa.click("🏢 Đơn vị tôi")
    mine = await hoa.wait_for(lambda m: "đơn vị của bạn" in m.text and "trang 1/1" in m.text)
    assert "1. Hoạt động của Bộ Tài chính" in mine.text and "Hoạt động ngày" not in mine.text
    await hoa.click("🚩 Chiến dịch")
    await hoa.click("Tình nguyện mùa đông")
    listed = await hoa.wait_for(lambda m: "Tình nguyện mùa đông</b>" in (m.html or ""))
    assert "2 hoạt động" in listed.text and "Hoạt động ngày 3" not in listed.text
    await hoa.click("ℹ️ 2. Chi tiết")
    card = await hoa.wait_for(lambda m: "Chiến dịch: Tình nguyện mùa đông" in m.text)
    assert "Hoạt động ngày 2" in card.text and "Còn 10/10 chỗ" in card.text


async def test_registration_questions_are_asked_in_turn(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    await cadre(bot, emulator)
    activity = await create_activity(
        bot,
        7001,
        questions=(
            Question(1, "Cỡ áo?", ("S", "M", "L"), True),
            Question(2, "Nhóm máu (nếu biết)?", None, False),
        ),
    )
    an = await member(bot, emulator, 7301)
    await an.send(f"/start act_{activity.id}")
    card = await an.wait_for(lambda m: "Hiến máu tình nguyện" in m.text and "Ghi nhận" in m.text)
    assert "3,5 giờ (0,44 ngày công)" in card.text
    await an.click("✅ Đăng ký tham gia")
    await an.wait_for(lambda m: "Câu 1/2" in m.text and "Cỡ áo?" in m.text)
    mark = after(an)
    await an.send("XXL")
    await wait_new(an, mark, "chọn một đáp án bằng các nút")
    await an.click("M")
    await an.wait_for(lambda m: "Câu 2/2" in m.text and "không bắt buộc" in m.text)
    await an.send("O+")
    await an.wait_for(lambda m: "Bạn đã đăng ký thành công" in m.text)
    answers = await bot.svc.db.fetch_value("SELECT answers FROM registrations")
    assert answers == '{"1": "M", "2": "O+"}'
    assert await bot.svc.conversations.get(Person.telegram(7301)) is None


async def test_double_tapping_register_registers_once(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    await cadre(bot, emulator)
    activity = await create_activity(bot, 7001)
    an = await member(bot, emulator, 7401)
    await an.send(f"/start act_{activity.id}")
    await an.wait_for(lambda m: "Đăng ký tham gia" in " ".join(m.button_texts()))
    await an.click("✅ Đăng ký tham gia")
    await an.click("✅ Đăng ký tham gia")  # the second tap is queued before the first is handled
    await an.wait_for(lambda m: "Bạn đã đăng ký thành công" in m.text)
    answers = [await an.next_callback_answer(), await an.next_callback_answer()]
    assert [a.text for a in answers] == [None, "Bạn đã đăng ký hoạt động này rồi."]
    assert sum("đăng ký thành công" in m.text for m in an.messages) == 1
    assert await registration_rows(bot, activity.id) == {7401: "confirmed"}


async def test_registration_is_refused_with_the_reason(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    await cadre(bot, emulator)
    late = await create_activity(bot, 7001, title="Dọn vệ sinh hồ")
    cancelled = await create_activity(bot, 7001, title="Trồng cây")
    unit_only = await create_activity(bot, 7001, title="Sinh hoạt chi đoàn", open_to=Audience.UNIT)
    lan_actor = await bot.svc.member_service.actor(7001)
    await bot.svc.activities.cancel_activity(lan_actor, cancelled.id)
    an = await member(bot, emulator, 7501)
    outsider = await member(bot, emulator, 7502, unit="BTC")
    await an.send("🙋 Hoạt động")
    await an.wait_for(lambda m: "Hoạt động sắp diễn ra" in m.text)

    _clock(bot).set(late.deadline_at + timedelta(minutes=1))
    await an.click(data=f"act:reg:{late.id}")
    assert (await an.next_callback_answer()).text == "Rất tiếc, hoạt động này đã hết hạn đăng ký."
    await an.click(data=f"act:reg:{cancelled.id}")
    refused = await an.next_callback_answer()
    assert refused.text is not None and "đã bị huỷ" in refused.text and refused.show_alert

    closed = await create_activity(bot, 7001, title="Giao lưu", deadline_at=START)
    await bot.svc.activities.set_registration_open(lan_actor, closed.id, False)
    await an.click(data=f"act:reg:{closed.id}")
    assert "đã đóng đăng ký" in ((await an.next_callback_answer()).text or "")

    await outsider.send("🙋 Hoạt động")
    listing = await outsider.wait_for(lambda m: "Hoạt động" in m.text)
    assert "Sinh hoạt chi đoàn" not in listing.text  # hidden from other units
    await outsider.click(data=f"act:reg:{unit_only.id}")  # forged: a hidden activity
    hidden = await outsider.next_callback_answer()
    assert hidden.text is not None and "không dành cho đơn vị của bạn" in hidden.text
    await outsider.send(f"/start act_{unit_only.id}")
    await outsider.wait_for(lambda m: "Không tìm thấy hoạt động này" in m.text)
    assert await bot.svc.db.fetch_value("SELECT COUNT(*) FROM registrations") == 0


async def test_forged_callbacks_never_act_for_someone_else(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    await cadre(bot, emulator)
    activity = await create_activity(bot, 7001, capacity=1)
    an = await member(bot, emulator, 7601)
    mallory = await member(bot, emulator, 7602)
    await an.send(f"/start act_{activity.id}")
    await an.click("✅ Đăng ký tham gia")
    await an.wait_for(lambda m: "Bạn đã đăng ký thành công" in m.text)
    an_member = await bot.svc.members.by_telegram_id(7601)
    assert an_member is not None
    registration_id = await bot.svc.db.fetch_value("SELECT id FROM registrations")

    await mallory.send("/help")
    await mallory.wait_for(lambda m: "Trợ giúp" in m.text or "giúp bạn" in m.text)
    forged = {
        f"act:reg:{activity.id}:{an_member.id}": "không còn hiệu lực",  # "register him instead"
        f"act:cy:{activity.id}": "Bạn chưa đăng ký",  # cancelling "the" seat = only one's own
        f"act:cy:{activity.id}:{an_member.id}": "không còn hiệu lực",
        f"att:p:{activity.id}:{registration_id}:0": "không có quyền",
        f"acm:xy:{activity.id}": "không có quyền",
        f"acm:ed:{activity.id}:place": "không có quyền",
        "act:reg:999999": "Không tìm thấy",
        "act:reg:abc": "không còn hiệu lực",
    }
    for data, expected in forged.items():
        await mallory.click(data=data)
        reply = await mallory.next_callback_answer()
        assert reply.text is not None and expected in reply.text, data
    assert await registration_rows(bot, activity.id) == {7601: "confirmed"}
    row = await bot.svc.db.fetch_one("SELECT status, place FROM activities")
    assert row is not None and tuple(row) == ("open", "Viện Huyết học, Cầu Giấy")

    # A cadre of another unit is refused too.
    other = await bot.add_member(
        emulator.user(7603, first_name="Hùng"), unit="BTC", role=Role.CADRE
    )
    await other.send("/help")
    await other.wait_for(lambda m: bool(m.text))
    await other.click(data=f"acm:xy:{activity.id}")
    assert "không có quyền" in ((await other.next_callback_answer()).text or "")
    assert await bot.svc.db.fetch_value("SELECT status FROM activities") == "open"


# --- my registrations and calendar ------------------------------------------------------------


async def test_my_registrations_lists_upcoming_and_sends_a_calendar_file(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    await cadre(bot, emulator)
    first = await create_activity(bot, 7001, capacity=None)
    await create_activity(
        bot,
        7001,
        title="Trồng cây xanh",
        starts_at=START + timedelta(days=1),
        ends_at=START + timedelta(days=1, hours=4),
    )
    an = await member(bot, emulator, 7701)
    actor = await bot.svc.member_service.actor(7701)
    await bot.svc.activities.register(actor, first.id)
    await an.send("📅 Đăng ký của tôi")
    mine = await an.wait_for(lambda m: "Đăng ký của tôi" in m.text)
    assert "Hiến máu tình nguyện" in mine.text and "Trồng cây xanh" not in mine.text
    assert "08:00–11:00 ngày 20/12/2026" in mine.text
    await an.click("📆 Thêm vào lịch (.ics)")
    sent = await an.wait_for(lambda m: m.document is not None)
    assert sent.document is not None and sent.document.filename == "nhipcau-hoat-dong.ics"
    calendar = Calendar.from_ical(sent.document.content)
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 1 and str(events[0]["summary"]) == "Hiến máu tình nguyện"
    assert events[0]["dtstart"].dt == START
    assert events[0]["dtstart"].params["TZID"] == "Asia/Ho_Chi_Minh"


# --- attendance -------------------------------------------------------------------------------


async def test_check_in_link_works_for_a_new_user_after_onboarding(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    lan = await cadre(bot, emulator)
    activity = await create_activity(bot, 7001, capacity=2, hours=4)
    an = await member(bot, emulator, 7801)
    await bot.svc.activities.register(await bot.svc.member_service.actor(7801), activity.id)

    await lan.send("/manage")
    await lan.click(f"⚙️ 1. {activity.title}")
    await lan.click("📷 Mã QR điểm danh")
    qr = await lan.wait_for(lambda m: m.photo is not None)
    assert qr.photo is not None and qr.photo.content.startswith(b"\x89PNG")
    assert "Hiệu lực từ 07:00 20/12/2026 đến 11:00 20/12/2026" in (qr.caption or "")
    link = next(w for w in (qr.caption or "").split() if w.startswith("https://t.me/"))
    payload = link.split("start=ci_", 1)[1]
    assert re.fullmatch(rf"{activity.id}_\d+_[A-Za-z0-9_-]{{16}}", payload)

    await an.send(f"/start ci_{payload}")
    await an.wait_for(lambda m: "Chưa đến giờ điểm danh" in m.text and "07:00 20/12/2026" in m.text)
    # At the venue: the link from weeks ago is dead; the cadre shows the code again.
    _clock(bot).set(activity.starts_at - timedelta(minutes=20))
    await an.send(f"/start ci_{payload}")
    await an.wait_for(lambda m: "đã cũ" in m.text)
    paused = await lan.wait_for(
        lambda m: m.message_id == qr.message_id and "dừng làm mới" in m.content
    )
    await lan.click("🔄 Làm mới mã", message_id=paused.message_id)
    fresh = await lan.wait_for(lambda m: m.message_id == qr.message_id and "Liên kết" in m.content)
    link = next(w for w in (fresh.caption or "").split() if w.startswith("https://t.me/"))
    payload = link.split("start=ci_", 1)[1]
    await an.send(f"/start ci_{payload}")
    done = await an.wait_for(lambda m: "Điểm danh thành công" in m.text)
    assert "4 giờ (0,5 ngày công)" in done.text
    await an.send("/start ci_AAAAAAAAAAAAAAAAAAAAAA")  # a guessed token
    await an.wait_for(lambda m: "Mã điểm danh này không hợp lệ" in m.text)

    # Someone who never used the bot scans the code: onboarding first, then the check-in,
    # which waits for the cadre because they had not registered.
    new = emulator.user(7899, first_name="Cúc", last_name="Phạm")
    await new.send(f"/start ci_{payload}")
    await new.wait_for(lambda m: "Nghị định 13/2023" in m.text)
    await new.click("✅ Đồng ý")
    await new.wait_for(lambda m: "họ và tên đầy đủ" in m.text)
    await new.send("Phạm Thị Cúc")
    await new.wait_for(lambda m: "chọn" in m.text and "đơn vị" in m.text)
    await new.send("tu phap")
    found = await new.wait_for(lambda m: "Tìm thấy" in m.text)
    await new.click(found.buttons[0][0].text)
    await new.wait_for(lambda m: "Bước 3/4" in m.text)
    await new.send("Bỏ qua")
    await new.wait_for(lambda m: "Bước 4/4" in m.text)
    await new.send("Bỏ qua")
    await new.click("✅ Xác nhận")
    await new.wait_for(lambda m: "Nhịp Cầu đã báo cán bộ" in m.text)
    notice = await lan.wait_for(lambda m: "Phạm Thị Cúc" in m.text and "quét mã" in m.text)
    await lan.click("✅ Xác nhận có mặt", message_id=notice.message_id)
    walk_in = await new.wait_for(lambda m: "đã xác nhận bạn có mặt" in m.text)
    assert "4 giờ (0,5 ngày công)" in walk_in.text
    attended = await bot.svc.db.fetch_all(
        "SELECT m.telegram_id, t.method, t.hours FROM attendance t "
        "JOIN members m ON m.id = t.member_id WHERE t.present = 1 ORDER BY 1"
    )
    assert [tuple(r) for r in attended] == [(7801, "qr", 4.0), (7899, "walk_in", 4.0)]

    # The activity is now full: a third walk-in waits, and the cadre cannot take them in.
    late = await member(bot, emulator, 7802)
    await late.send(f"/start ci_{payload}")
    await late.wait_for(lambda m: "Nhịp Cầu đã báo cán bộ" in m.text)
    notice = await lan.wait_for(lambda m: "Đoàn viên 7802" in m.text)
    refused = await press(lan, "✅ Xác nhận có mặt", message_id=notice.message_id)
    assert refused.text is not None and "đã đủ 2 chỗ" in refused.text
    _clock(bot).set(activity.ends_at + timedelta(minutes=1))
    await late.send(f"/start ci_{payload}")
    await late.wait_for(lambda m: "đã cũ" in m.text)


async def test_cadre_ticks_attendance_and_attendees_are_thanked_the_day_after(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    lan = await cadre(bot, emulator)
    activity = await create_activity(bot, 7001)
    an = await member(bot, emulator, 7901, name="Nguyễn Văn An")
    binh = await member(bot, emulator, 7902, name="Lê Thị Bình")
    for telegram_id in (7901, 7902):
        await bot.svc.activities.register(
            await bot.svc.member_service.actor(telegram_id), activity.id
        )
    _clock(bot).set(activity.starts_at + timedelta(minutes=30))
    await lan.send("/manage")
    await lan.click(f"⚙️ 1. {activity.title}")
    await lan.click("📋 Danh sách đăng ký")
    listing = await lan.wait_for(lambda m: "người đăng ký" in m.text)
    assert "1. Nguyễn Văn An — ☐ chưa điểm danh" in listing.text
    await lan.click("✅ 1 — có mặt")
    ticked = await lan.wait_for(lambda m: "1. Nguyễn Văn An — ✅ có mặt" in m.text)
    assert "2. Lê Thị Bình — ☐ chưa điểm danh" in ticked.text and "1 có mặt" in ticked.text
    assert (
        await bot.svc.db.fetch_value(
            "SELECT hours FROM attendance t JOIN members m ON m.id = t.member_id "
            "WHERE m.telegram_id = 7901 AND t.present = 1"
        )
        == 3.5
    )

    scheduler = bot.svc.reminders.scheduler
    assert scheduler is not None
    _clock(bot).set(activity.ends_at + timedelta(hours=5))  # the same evening: not yet
    scheduler.wake()
    await scheduler.idle()
    assert not any("Cảm ơn bạn đã tham gia" in m.text for m in an.messages)
    _clock(bot).set(datetime(2026, 12, 21, 8, 5, tzinfo=TZ))
    scheduler.wake()
    thanks = await an.wait_for(lambda m: "Cảm ơn bạn đã tham gia" in m.text)
    assert "3,5 giờ (0,44 ngày công)" in thanks.text
    scheduler.wake()
    await scheduler.idle()  # a second pass sends nothing more
    await an.send("📅 Đăng ký của tôi")
    mine = await an.wait_for(lambda m: "Đăng ký của tôi" in m.text)
    assert "có mặt, ghi nhận 3,5 giờ" in mine.text and "Tổng cộng: 1 hoạt động" in mine.text
    assert sum("Cảm ơn bạn đã tham gia" in m.text for m in an.messages) == 1
    assert not any("Cảm ơn bạn đã tham gia" in m.text for m in binh.messages)
    await an.send("/profile")
    card = await an.wait_for(lambda m: "Hồ sơ của bạn" in m.text)
    assert "Tình nguyện: 1 hoạt động, 3,5 giờ (0,44 ngày công)" in card.text


# --- edit and cancel --------------------------------------------------------------------------


async def test_edits_and_cancellation_notify_registrants(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    lan = await cadre(bot, emulator)
    activity = await create_activity(bot, 7001, capacity=1)
    an = await member(bot, emulator, 8001)
    binh = await member(bot, emulator, 8002)
    for telegram_id in (8001, 8002):
        await bot.svc.activities.register(
            await bot.svc.member_service.actor(telegram_id), activity.id
        )
    await lan.send("/manage")
    await lan.click(f"⚙️ 1. {activity.title}")
    await lan.click("✏️ Địa điểm")
    await lan.wait_for(lambda m: "địa điểm mới" in m.text)
    await lan.send("Bệnh viện Bạch Mai")
    await lan.wait_for(lambda m: "Đã cập nhật" in m.text)
    changed = await an.wait_for(lambda m: "có thay đổi" in m.text)
    assert "Viện Huyết học, Cầu Giấy → Bệnh viện Bạch Mai" in changed.text
    await binh.wait_for(lambda m: "có thay đổi" in m.text)  # the waitlist hears it too

    await lan.click("✏️ Thời gian")
    await lan.wait_for(lambda m: "thời gian bắt đầu mới" in m.text)
    await lan.send("20/12/2026 13:00")
    await lan.send("20/12/2026 12:00")
    await lan.wait_for(lambda m: "phải sau thời gian bắt đầu" in m.text)
    await lan.send("20/12/2026 16:00")
    moved = await an.wait_for(lambda m: "13:00–16:00" in m.text)
    assert "08:00–11:00 ngày 20/12/2026 → 13:00–16:00 ngày 20/12/2026" in moved.text

    await lan.click("✏️ Số chỗ")
    await lan.wait_for(lambda m: "số chỗ mới" in m.text)
    await lan.send("0")
    await lan.wait_for(lambda m: "phải là số nguyên từ 1" in m.text)
    await lan.send("2")
    await binh.wait_for(lambda m: "Tin vui" in m.text)
    assert await registration_rows(bot, activity.id) == {8001: "confirmed", 8002: "confirmed"}

    await lan.click("🚫 Huỷ hoạt động")
    await lan.click("🚫 Có, huỷ hoạt động")
    await lan.wait_for(lambda m: "Đã huỷ hoạt động" in m.text)
    for user in (an, binh):
        await user.wait_for(lambda m: "đã bị huỷ" in m.text and "Hiến máu" in m.text)
    assert await bot.svc.db.fetch_value("SELECT status FROM activities") == "cancelled"


# --- import -----------------------------------------------------------------------------------

HEADER = "title,kind,place,start,end,deadline,hours,capacity,unit_code\n"
GOOD = "Hiến máu,regular,Hà Nội,20/12/2026 08:00,20/12/2026 11:00,19/12/2026 17:00,3,50,\n"


async def test_import_validates_every_row_and_imports_all_or_nothing(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    lan = await cadre(bot, emulator)
    await lan.send("/template")
    template = await lan.wait_for(lambda m: m.document is not None)
    assert template.document is not None
    assert template.document.content.startswith("\ufefftitle,".encode())

    await lan.send("/import")
    await lan.wait_for(lambda m: "Nhập hoạt động từ tệp" in m.text)
    bad = (
        HEADER
        + GOOD
        + "Trồng cây,picnic,Ba Vì,2026-12-21,21/12/2026 11:00,22/12/2026 17:00,4,-3,\n"
    )
    await lan.send_document(bad.encode(), "hoat-dong.csv", "text/csv")
    report = await lan.wait_for(lambda m: "Chưa nhập hoạt động nào" in m.text)
    assert "Dòng 3, cột «kind»" in report.text
    assert "Dòng 3, cột «start»: Thời gian chưa đúng dạng" in report.text
    assert "Dòng 3, cột «capacity»: Số chỗ phải là số nguyên" in report.text
    assert await bot.svc.db.fetch_value("SELECT COUNT(*) FROM activities") == 0

    for content, name, expected in (
        (b"%PDF-1.4 not a table", "ke-hoach.pdf", "chỉ nhận tệp CSV hoặc XLSX"),
        (b"", "trong.csv", "không có dòng dữ liệu"),
        (b"title,place\nA,B\n", "thieu-cot.csv", "cột «kind»: thiếu cột này"),
        ((HEADER + GOOD * 100_000).encode(), "qua-lon.csv", "Tệp quá lớn"),
        ((HEADER + GOOD * 1_001).encode(), "qua-nhieu.csv", "hơn 1000 dòng"),
    ):
        mark = after(lan)
        await lan.send_document(content, name)
        await wait_new(lan, mark, expected, timeout=15)
    assert await bot.svc.db.fetch_value("SELECT COUNT(*) FROM activities") == 0

    await lan.send_document(
        (HEADER + GOOD + GOOD.replace("Hiến máu", "Trồng cây")).encode(), "ok.csv"
    )
    await lan.wait_for(lambda m: "Đã nhập 2 hoạt động" in m.text)
    titles = await bot.svc.db.fetch_all("SELECT title FROM activities ORDER BY id")
    assert [r[0] for r in titles] == ["Hiến máu", "Trồng cây"]

    # The template's example row, saved as XLSX (as Excel would), imports too.
    await lan.send("/import")
    await lan.wait_for(
        lambda m: "Nhập hoạt động từ tệp" in m.text and m.message_id > report.message_id
    )
    await lan.send_document(_xlsx_of(template.document.content), "mau.xlsx")
    await lan.wait_for(lambda m: "Đã nhập 1 hoạt động" in m.text)
    assert await bot.svc.db.fetch_value("SELECT COUNT(*) FROM activities") == 3


async def test_hostile_import_files_are_refused_at_once_and_delay_nobody(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    lan = await cadre(bot, emulator)
    binh = await member(bot, emulator, 7410, name="Vũ Thị Bình")
    await lan.send("/import")
    await lan.wait_for(lambda m: "Nhập hoạt động từ tệp" in m.text)
    good = workbook_bytes([HEADER.strip().split(","), GOOD.strip().split(",")])
    for content, refusal in (
        (zip_bomb(good, megabytes=200), "khi giải nén lớn hơn 10 MB"),
        (corner_cell(good), "Tệp có hơn 1000 dòng"),
    ):
        mark, other = after(lan), after(binh)
        await lan.send_document(content, "hoat-dong.xlsx")
        await binh.send("/profile")  # someone else, at the same moment
        await wait_new(binh, other, "Hồ sơ của bạn", timeout=5)
        await wait_new(lan, mark, refusal, timeout=10)
    assert await bot.svc.db.fetch_value("SELECT COUNT(*) FROM activities") == 0
    # The declared used range alone (A1:XFD1048576) is no reason to refuse: rows are read as
    # they are in the file.
    mark = after(lan)
    await lan.send_document(whole_grid_dimension(good), "hoat-dong.xlsx")
    await wait_new(lan, mark, "Đã nhập 1 hoạt động", timeout=10)


def _xlsx_of(csv_bytes: bytes) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in csv.reader(io.StringIO(csv_bytes.decode("utf-8-sig"))):
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
