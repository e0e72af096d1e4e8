"""Attendance journeys through the emulator (issue 13): the QR message renews its code while it
is open and an old or forwarded link stops working; a typed code works; a member checked in
cannot cancel; a walk-in waits for the cadre (or is refused when the activity is not open to
them); double taps and old copies of the registrant list never flip attendance; the QR message
pauses after a while and a restart leaves no old code valid."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.activities import Activity, Audience
from bot.clock import Clock, ManualClock
from bot.emulator import BotApiEmulator, BotMessage, EmulatedUser
from tests.e2e.conftest import BotHarness, press
from tests.e2e.test_activities import START, cadre, create_activity, member


@pytest.fixture
def clock(manual_clock: ManualClock) -> Clock:
    return manual_clock


def _clock(bot: BotHarness) -> ManualClock:
    assert isinstance(bot.clock, ManualClock)
    return bot.clock


def _link(message: BotMessage) -> str:
    return next(w for w in (message.caption or "").split() if w.startswith("https://t.me/"))


def _payload(message: BotMessage) -> str:
    return _link(message).split("start=ci_", 1)[1]


def _code(message: BotMessage) -> str:
    line = next(ln for ln in (message.caption or "").splitlines() if ln.startswith("🔢"))
    return line.removeprefix("🔢").strip()


async def _register(bot: BotHarness, telegram_id: int, activity: Activity) -> None:
    await bot.svc.activities.register(await bot.svc.member_service.actor(telegram_id), activity.id)


async def _show_qr(lan: EmulatedUser, activity: Activity) -> BotMessage:
    await lan.send("/manage")
    await lan.click(f"⚙️ 1. {activity.title}")
    before = {m.message_id for m in lan.messages if m.photo is not None}
    await lan.click("📷 Mã QR điểm danh")
    return await lan.wait_for(lambda m: m.photo is not None and m.message_id not in before)


async def _attendance(bot: BotHarness) -> list[tuple[object, ...]]:
    rows = await bot.svc.db.fetch_all(
        "SELECT m.telegram_id, t.present, t.hours, t.method FROM attendance t "
        "JOIN members m ON m.id = t.member_id ORDER BY m.telegram_id"
    )
    return [tuple(r) for r in rows]


async def _changes(bot: BotHarness) -> list[tuple[object, ...]]:
    rows = await bot.svc.db.fetch_all(
        "SELECT m.telegram_id, b.telegram_id, c.from_present, c.to_present, c.reason "
        "FROM attendance_changes c JOIN members m ON m.id = c.member_id "
        "LEFT JOIN members b ON b.id = c.by_member ORDER BY c.id"
    )
    return [tuple(r) for r in rows]


async def test_the_qr_renews_itself_and_a_forwarded_old_link_is_refused(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    lan = await cadre(bot, emulator)
    activity = await create_activity(bot, 7001)
    an = await member(bot, emulator, 8101, name="Nguyễn Văn An")
    binh = await member(bot, emulator, 8102, name="Lê Thị Bình")
    chi = await member(bot, emulator, 8103, name="Phạm Thu Chi")
    for telegram_id in (8101, 8102, 8103):
        await _register(bot, telegram_id, activity)
    _clock(bot).set(START - timedelta(minutes=30))

    qr = await _show_qr(lan, activity)
    first_caption, first_code, first_photo = qr.caption, _code(qr), qr.photo
    assert first_code.isdigit() and len(first_code) == 6
    assert "Mã tự đổi mỗi phút" in (first_caption or "")
    old_link = _payload(qr)
    await an.send(f"/start ci_{old_link}")
    await an.wait_for(lambda m: "Điểm danh thành công" in m.text)

    # A minute later the bot edits the picture: a new code in the same message.
    _clock(bot).advance(timedelta(seconds=61))
    renewed = await lan.wait_for(
        lambda m: m.message_id == qr.message_id and m.caption != first_caption
    )
    assert emulator.stats.method_calls["editMessageMedia"] >= 1
    second_code = _code(renewed)  # the message object changes in place as it is edited
    assert second_code != first_code and _payload(renewed) != old_link
    assert renewed.photo is not None and renewed.photo is not first_photo
    assert renewed.button_texts() == ["🔄 Làm mới mã"]

    # The first link, forwarded: still fine one window on, refused two windows on.
    await binh.send(f"/start ci_{old_link}")
    await binh.wait_for(lambda m: "Điểm danh thành công" in m.text)
    _clock(bot).advance(timedelta(seconds=60))
    await chi.send(f"/start ci_{old_link}")
    refused = await chi.wait_for(lambda m: "đã cũ" in m.text)
    assert "Hiến máu tình nguyện" in refused.text
    assert [r[0] for r in await _attendance(bot)] == [8101, 8102]

    # Chi types the code on the screen instead.
    latest = await lan.wait_for(
        lambda m: m.message_id == qr.message_id and _code(m) not in (first_code, second_code)
    )
    await chi.send("/checkin")
    await chi.wait_for(lambda m: "mã số điểm danh" in m.text)
    await chi.send("000000" if _code(latest) != "000000" else "000001")
    await chi.wait_for(lambda m: "chưa đúng hoặc đã hết hạn" in m.text)
    await chi.send(_code(latest))
    done = await chi.wait_for(lambda m: "Điểm danh thành công" in m.text)
    assert "3,5 giờ (0,44 ngày công)" in done.text
    assert await _attendance(bot) == [
        (8101, 1, 3.5, "qr"),
        (8102, 1, 3.5, "qr"),
        (8103, 1, 3.5, "qr"),
    ]
    # Scanning again says when, and credits nothing more.
    await an.send(f"/start ci_{_payload(latest)}")
    again = await an.wait_for(lambda m: "Bạn đã điểm danh" in m.text)
    assert "lúc 07:30 20/12/2026" in again.text
    assert len(await _changes(bot)) == 3


async def test_cancelling_after_check_in_is_refused_with_the_reason(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    lan = await cadre(bot, emulator)
    activity = await create_activity(bot, 7001)
    an = await member(bot, emulator, 8201)
    await _register(bot, 8201, activity)
    _clock(bot).set(START - timedelta(minutes=40))
    await an.send(f"/start act_{activity.id}")
    card = await an.wait_for(lambda m: "❌ Huỷ đăng ký" in m.button_texts())
    await an.click("❌ Huỷ đăng ký", message_id=card.message_id)
    ask = await an.wait_for(lambda m: "Có, huỷ đăng ký" in m.button_texts())

    qr = await _show_qr(lan, activity)
    await an.send(f"/start ci_{_payload(qr)}")
    await an.wait_for(lambda m: "Điểm danh thành công" in m.text)

    # Both old buttons: the card's cancel and the confirmation asked before the check-in.
    for label, message in (("❌ Huỷ đăng ký", card), ("Có, huỷ đăng ký", ask)):
        refused = await press(an, label, message_id=message.message_id)
        assert refused.show_alert and refused.text == (
            "Bạn đã điểm danh hoạt động này lúc 07:20 20/12/2026, nên đăng ký không thể huỷ "
            "nữa. Giờ tình nguyện đã ghi nhận vẫn được giữ nguyên cho bạn. Nếu có nhầm lẫn, bạn "
            "vui lòng báo cán bộ đoàn phụ trách."
        ), label
    assert await bot.svc.db.fetch_value("SELECT status FROM registrations") == "confirmed"
    assert await _attendance(bot) == [(8201, 1, 3.5, "qr")]
    # Nothing offers to cancel any more.
    await an.send(f"/start act_{activity.id}")
    fresh = await an.wait_for(
        lambda m: m.message_id > ask.message_id and "Bạn đã điểm danh" in m.text
    )
    assert "❌ Huỷ đăng ký" not in fresh.button_texts()
    await an.send("📅 Đăng ký của tôi")
    mine = await an.wait_for(lambda m: "Đăng ký của tôi" in m.text)
    assert "❌ 1. Huỷ đăng ký" not in mine.button_texts()
    assert "ℹ️ 1. Chi tiết" in mine.button_texts()


async def test_a_walk_in_from_another_unit_is_refused_for_a_unit_only_activity(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    lan = await cadre(bot, emulator)
    activity = await create_activity(bot, 7001, open_to=Audience.UNIT)
    outsider = await member(bot, emulator, 8301, unit="BTC")
    _clock(bot).set(START - timedelta(minutes=10))
    qr = await _show_qr(lan, activity)
    await outsider.send(f"/start ci_{_payload(qr)}")
    await outsider.wait_for(lambda m: "chỉ dành cho đoàn viên của đơn vị tổ chức" in m.text)
    await outsider.send(f"/checkin {_code(qr)}")  # the typed code: the same answer
    await outsider.wait_for(
        lambda _: sum("chỉ dành cho đoàn viên" in m.text for m in outsider.messages) == 2
    )
    assert all(
        "Hiến máu tình nguyện" in m.text
        for m in outsider.messages
        if "chỉ dành cho đoàn viên" in m.text
    )
    assert await bot.svc.db.fetch_value("SELECT COUNT(*) FROM walk_in_requests") == 0
    assert await bot.svc.db.fetch_value("SELECT COUNT(*) FROM registrations") == 0
    assert not any("quét mã điểm danh" in m.text for m in lan.messages)


async def test_a_walk_in_waits_for_the_cadre_and_is_credited_once_confirmed(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    lan = await cadre(bot, emulator)
    activity = await create_activity(bot, 7001, open_to=Audience.ALL)
    visitor = await member(bot, emulator, 8401, unit="BTC", name="Hoàng Minh Đức")
    _clock(bot).set(START + timedelta(minutes=5))
    qr = await _show_qr(lan, activity)
    await visitor.send(f"/start ci_{_payload(qr)}")
    waiting = await visitor.wait_for(lambda m: "Nhịp Cầu đã báo cán bộ" in m.text)
    assert "giờ tình nguyện sẽ được ghi nhận" in waiting.text
    assert await _attendance(bot) == []
    notice = await lan.wait_for(lambda m: "Có người xin điểm danh tại chỗ" in m.text)
    assert "Hoàng Minh Đức (đơn vị: Bộ Tài chính)" in notice.text
    assert notice.button_texts() == ["✅ Xác nhận có mặt", "✖️ Từ chối"]
    # Scanning again does not ask again.
    await visitor.send(f"/start ci_{_payload(qr)}")
    await visitor.wait_for(lambda m: "vẫn đang chờ cán bộ đoàn xác nhận" in m.text)
    assert sum("Có người xin điểm danh" in m.text for m in lan.messages) == 1

    # The registrant list shows who waits.
    await lan.send("/manage")
    await lan.click(f"⚙️ 1. {activity.title}")
    await lan.click("📋 Danh sách đăng ký")
    listing = await lan.wait_for(lambda m: "Chờ xác nhận tại chỗ (1)" in m.text)
    assert "A. Hoàng Minh Đức — quét mã lúc 08:05 20/12/2026" in listing.text
    assert {"✅ Nhận A", "✖️ Từ chối A"} <= set(listing.button_texts())

    await lan.click("✅ Xác nhận có mặt", message_id=notice.message_id)
    decided = await lan.wait_for(
        lambda m: m.message_id == notice.message_id and "đã xác nhận có mặt" in m.text
    )
    assert decided.buttons == [] and "bởi Trần Thị Lan lúc 08:05 20/12/2026" in decided.text
    told = await visitor.wait_for(lambda m: "đã xác nhận bạn có mặt" in m.text)
    assert "3,5 giờ (0,44 ngày công)" in told.text
    assert await _attendance(bot) == [(8401, 1, 3.5, "walk_in")]

    # The same press again (a double tap), and the old list's buttons: nothing more.
    member_id = await bot.svc.db.fetch_value("SELECT id FROM members WHERE telegram_id = 8401")
    again = await press(lan, data=f"att:wy:{activity.id}:{member_id}", message_id=notice.message_id)
    assert again.show_alert and again.text is not None and "đã được xử lý trước đó" in again.text
    stale = await press(lan, "✖️ Từ chối A", message_id=listing.message_id)
    assert stale.text is not None and "đã xác nhận có mặt" in stale.text
    assert await _attendance(bot) == [(8401, 1, 3.5, "walk_in")]
    assert await _changes(bot) == [(8401, 7001, None, 1, None)]
    refreshed = await lan.wait_for(
        lambda m: m.message_id == listing.message_id and "Hoàng Minh Đức — ✅ có mặt" in m.text
    )
    assert "Chờ xác nhận tại chỗ" not in refreshed.text


async def test_double_taps_and_stale_lists_never_flip_attendance(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    lan = await cadre(bot, emulator)
    activity = await create_activity(bot, 7001)
    await member(bot, emulator, 8501, name="Nguyễn Văn An")
    await member(bot, emulator, 8502, name="Lê Thị Bình")
    for telegram_id in (8501, 8502):
        await _register(bot, telegram_id, activity)
    _clock(bot).set(START + timedelta(minutes=15))

    async def open_list() -> BotMessage:
        before = {m.message_id for m in lan.messages if "người đăng ký" in m.text}
        await lan.send("/manage")
        await lan.click(f"⚙️ 1. {activity.title}")
        await lan.click("📋 Danh sách đăng ký")
        return await lan.wait_for(
            lambda m: "người đăng ký" in m.text and m.message_id not in before
        )

    old = await open_list()
    new = await open_list()
    # A double tap: both presses are queued before the bot answers the first.
    answered = len(lan.answers)
    tick = new.find_button("✅ 1 — có mặt")
    assert tick is not None and tick.callback_data is not None
    # Both presses carry the button's data, as a phone sends a tap on the same button twice.
    await lan.click(data=tick.callback_data, message_id=new.message_id)
    await lan.click(data=tick.callback_data, message_id=new.message_id)
    await lan.wait_for(
        lambda m: m.message_id == new.message_id and "1. Nguyễn Văn An — ✅ có mặt" in m.text
    )
    await emulator.wait_until(lambda: len(lan.answers) >= answered + 2)
    assert [a.text for a in lan.answers[answered:]] == [
        "✅ Đã ghi nhận có mặt.",
        "Người này đã được ghi nhận có mặt, không có gì thay đổi.",
    ]
    # The old copy still says "✅ 1 — có mặt": pressing it keeps An present.
    stale = await press(lan, "✅ 1 — có mặt", message_id=old.message_id)
    assert stale.text == "Người này đã được ghi nhận có mặt, không có gì thay đổi."
    assert await _changes(bot) == [(8501, 7001, None, 1, None)]

    # Correcting to absent asks why; a quick reason is kept with who and when.
    await lan.click("✖️ 1 — vắng", message_id=new.message_id)
    ask = await lan.wait_for(lambda m: "Vì sao sửa điểm danh của" in m.text)
    assert "Nguyễn Văn An" in ask.text
    assert ask.button_texts() == ["vắng mặt", "điểm danh nhầm", "◀️ Giữ nguyên có mặt"]
    await lan.click("điểm danh nhầm", message_id=ask.message_id)
    await lan.wait_for(
        lambda m: m.message_id == ask.message_id and "1. Nguyễn Văn An — ✖️ vắng" in m.text
    )
    # The same reason button again, and the old list's "✖️ 1 — vắng": nothing more.
    registration_id = await bot.svc.db.fetch_value(
        "SELECT r.id FROM registrations r JOIN members m ON m.id = r.member_id "
        "WHERE m.telegram_id = 8501"
    )
    again = await press(lan, data=f"att:re:{activity.id}:{registration_id}:0")
    assert again.text == "Người này hiện không được ghi nhận có mặt, không có gì thay đổi."
    stale = await press(lan, "✖️ 1 — vắng", message_id=new.message_id)
    assert stale.text == "Người này hiện không được ghi nhận có mặt, không có gì thay đổi."
    assert await _attendance(bot) == [(8501, 0, 0.0, "cadre")]

    # Bình: asked why, the cadre thinks again and keeps her present; text typed afterwards
    # is not taken as a reason.
    await lan.click("✅ 2 — có mặt", message_id=ask.message_id)
    await lan.wait_for(lambda m: "2. Lê Thị Bình — ✅ có mặt" in m.text)
    await lan.click("✖️ 2 — vắng")
    second = await lan.wait_for(lambda m: "Vì sao sửa điểm danh của" in m.text and "Bình" in m.text)
    await lan.click("◀️ Giữ nguyên có mặt", message_id=second.message_id)
    await lan.wait_for(lambda m: m.message_id == second.message_id and "người đăng ký" in m.text)
    await lan.send("Về sớm")
    await lan.wait_for(lambda m: "Mời bạn chọn một mục trong menu" in m.text)
    assert (await _attendance(bot))[1] == (8502, 1, 3.5, "cadre")
    # Then a typed reason after all, after a too short one.
    await lan.click("✖️ 2 — vắng", message_id=second.message_id)
    await lan.wait_for(
        lambda m: m.message_id > second.message_id and "Vì sao sửa điểm danh của" in m.text
    )
    await lan.send("x")
    await lan.wait_for(lambda m: "Lý do cần từ 2 đến 200 ký tự" in m.text)
    await lan.send("Về sớm, không tham gia buổi chiều")
    await lan.wait_for(lambda m: "2. Lê Thị Bình — ✖️ vắng" in m.text and m.buttons != [])
    assert await _changes(bot) == [
        (8501, 7001, None, 1, None),
        (8501, 7001, 1, 0, "điểm danh nhầm"),
        (8502, 7001, None, 1, None),
        (8502, 7001, 1, 0, "Về sớm, không tham gia buổi chiều"),
    ]
    assert await _attendance(bot) == [(8501, 0, 0.0, "cadre"), (8502, 0, 0.0, "cadre")]


async def test_the_qr_pauses_after_a_while_and_a_restart_leaves_no_old_code_valid(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    lan = await cadre(bot, emulator)
    activity = await create_activity(bot, 7001)
    an = await member(bot, emulator, 8601)
    await _register(bot, 8601, activity)
    _clock(bot).set(START - timedelta(minutes=50))
    qr = await _show_qr(lan, activity)
    last = _payload(qr)

    _clock(bot).advance(timedelta(minutes=16))
    paused = await lan.wait_for(
        lambda m: m.message_id == qr.message_id and "dừng làm mới" in m.content
    )
    assert paused.button_texts() == ["🔄 Làm mới mã"] and "Liên kết" not in paused.content
    edits = paused.edit_count
    _clock(bot).advance(timedelta(minutes=2))
    await an.send(f"/start ci_{last}")
    await an.wait_for(lambda m: "đã cũ" in m.text)
    assert paused.edit_count == edits  # a paused message is left alone

    await bot.restart()
    await an.send(f"/start ci_{last}")
    await an.wait_for(lambda m: sum("đã cũ" in x.text for x in an.messages) == 2)
    await lan.click("🔄 Làm mới mã", message_id=qr.message_id)
    shown = await lan.wait_for(lambda m: m.message_id == qr.message_id and "Liên kết" in m.content)
    shown_code = _code(shown)
    # Kept fresh again after the restart.
    _clock(bot).advance(timedelta(seconds=61))
    renewed = await lan.wait_for(
        lambda m: (
            m.message_id == qr.message_id and "Liên kết" in m.content and _code(m) != shown_code
        )
    )
    await an.send(f"/start ci_{_payload(renewed)}")
    await an.wait_for(lambda m: "Điểm danh thành công" in m.text)
    assert await _attendance(bot) == [(8601, 1, 3.5, "qr")]
