"""Broadcast journeys through the emulator: compose, exact preview, audiences, opt-outs, bad
HTML, 429 and 403 handling, pause/resume/cancel and scheduling."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import Clock, ManualClock
from bot.domain.members import Person, Role
from bot.emulator import BotApiEmulator, EmulatedUser
from tests.e2e.conftest import ADMIN_ID, BotHarness, press, say_and_read


async def members(
    bot: BotHarness, emulator: BotApiEmulator, first: int, count: int, unit: str
) -> list[EmulatedUser]:
    return [
        await bot.add_member(emulator.user(first + i), name=f"Đoàn Viên {i}", unit=unit)
        for i in range(count)
    ]


async def compose(admin: EmulatedUser, text: str) -> None:
    reply = await say_and_read(admin, "/broadcast")
    assert "Soạn thông báo" in reply.text
    reply = await say_and_read(admin, text)
    assert "Gửi thông báo này tới ai?" in reply.text, reply.text


async def test_admin_sends_to_everyone_except_opted_out_and_sees_the_final_report(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    admin = await bot.add_member(emulator.user(ADMIN_ID), name="Quản Trị")
    crowd = await members(bot, emulator, 7000, 12, "BTP")
    muted = crowd[0]
    await bot.svc.members.update(
        (await bot.svc.members.by_telegram_id(muted.user_id)).id,
        bot.svc.clock.now(),
        announcements_muted=True,
    )  # type: ignore[union-attr]

    await compose(admin, "<b>Họp chi đoàn</b> lúc 8 giờ &amp; mang áo xanh")
    await admin.click("👥 Toàn bộ đoàn viên")
    count = await admin.wait_for(lambda m: "sẽ được gửi tới" in m.text)
    assert "<b>12</b>" in count.html  # 12 members + the admin - the muted one
    preview = [
        m for m in admin.messages if m.html == "<b>Họp chi đoàn</b> lúc 8 giờ &amp; mang áo xanh"
    ]
    assert len(preview) == 1  # the exact message, as members will get it
    await admin.click("✅ Gửi ngay", message_id=count.message_id)
    report = await admin.wait_for(lambda m: "đã gửi xong." in m.text, timeout=15)
    assert "Đã gửi: 12/12" in report.text

    for person in crowd[1:]:
        received = [m for m in person.messages if "Họp chi đoàn" in m.text]
        assert len(received) == 1 and received[0].html.startswith("<b>Họp chi đoàn</b>")
    assert not any("Họp chi đoàn" in m.text for m in muted.messages)
    sent = await bot.svc.db.fetch_value(
        "SELECT COUNT(*) FROM broadcast_recipients WHERE state = 'sent'"
    )
    assert sent == 12


async def test_bad_html_is_reported_and_nothing_goes_out(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    admin = await bot.add_member(emulator.user(ADMIN_ID))
    await say_and_read(admin, "/broadcast")
    reply = await say_and_read(admin, "<b>Chào <i>cả nhà</b></i>")
    assert "HTML chưa đúng" in reply.text and "chưa có tin nào được gửi" in reply.text
    reply = await say_and_read(admin, "Xin chào <blink>")
    assert "HTML chưa đúng" in reply.text
    assert await bot.svc.db.fetch_value("SELECT COUNT(*) FROM broadcasts") == 0


async def test_cadre_reaches_only_their_unit_and_members_cannot_broadcast(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    cadre = await bot.add_member(emulator.user(7100), role=Role.CADRE, unit="BYT")
    own = await members(bot, emulator, 7110, 3, "BYT")
    other = await members(bot, emulator, 7120, 3, "BTC")
    await compose(cadre, "Chi đoàn Bộ Y tế sinh hoạt chiều nay")
    audience = cadre.last_message
    assert audience is not None and "🏢 Đoàn viên đơn vị tôi" in audience.button_texts()
    assert "👥 Toàn bộ đoàn viên" not in audience.button_texts()
    # a forged "everyone" press is refused and changes nothing
    await press(cadre, data="bc:aud:all", message_id=audience.message_id)
    await cadre.wait_for(lambda m: "không có quyền" in m.text)
    state = await bot.svc.conversations.get(Person.telegram(7100))
    assert state is not None and state.step == "audience"  # still choosing, nothing chosen
    assert await bot.svc.db.fetch_value("SELECT COUNT(*) FROM broadcasts") == 0
    await cadre.click("🏢 Đoàn viên đơn vị tôi", message_id=audience.message_id)
    count = await cadre.wait_for(lambda m: "sẽ được gửi tới" in m.text)
    assert "<b>4</b>" in count.html  # three members and the cadre
    await cadre.click("✅ Gửi ngay", message_id=count.message_id)
    await cadre.wait_for(lambda m: "đã gửi xong." in m.text, timeout=15)
    assert all(any("sinh hoạt chiều nay" in m.text for m in p.messages) for p in own)
    assert not any(any("sinh hoạt chiều nay" in m.text for m in p.messages) for p in other)

    member = own[0]
    assert "không có quyền" in (await say_and_read(member, "/broadcast")).text
    assert "không có quyền" in (await say_and_read(member, "/broadcasts")).text


async def test_blocked_members_are_marked_and_skipped_until_they_come_back(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    admin = await bot.add_member(emulator.user(ADMIN_ID))
    crowd = await members(bot, emulator, 7200, 4, "BTP")
    crowd[0].block()
    await compose(admin, "Lần một")
    await admin.click("👥 Toàn bộ đoàn viên")
    count = await admin.wait_for(lambda m: "sẽ được gửi tới" in m.text)
    assert "<b>5</b>" in count.html
    await admin.click("✅ Gửi ngay", message_id=count.message_id)
    report = await admin.wait_for(lambda m: "#1 đã gửi xong." in m.text, timeout=15)
    assert "Đã chặn bot: 1" in report.text
    member = await bot.svc.members.by_telegram_id(7200)
    assert member is not None and not member.reachable

    await compose(admin, "Lần hai")
    await admin.click("👥 Toàn bộ đoàn viên")
    count = await admin.wait_for(lambda m: "sẽ được gửi tới" in m.text and "<b>4</b>" in m.html)
    # the member unblocks the bot and says /start: reachable again
    crowd[0].unblock()
    await say_and_read(crowd[0], "/start")
    member = await bot.svc.members.by_telegram_id(7200)
    assert member is not None and member.reachable


async def test_telegram_429_is_waited_out_and_nobody_is_lost_or_doubled(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    admin = await bot.add_member(emulator.user(ADMIN_ID))
    crowd = await members(bot, emulator, 7300, 30, "BTP")
    emulator.global_rate_limit = 10  # slower than the bot's 25/s: Telegram will say 429
    await compose(admin, "Thử giới hạn tốc độ")
    await admin.click("👥 Toàn bộ đoàn viên")
    count = await admin.wait_for(lambda m: "sẽ được gửi tới" in m.text)
    await admin.click("✅ Gửi ngay", message_id=count.message_id)
    report = await admin.wait_for(lambda m: "đã gửi xong." in m.text, timeout=30)
    assert "Đã gửi: 31/31" in report.text
    assert emulator.stats.rate_limited > 0
    for person in crowd:
        assert sum("Thử giới hạn" in m.text for m in person.messages) == 1


async def test_pause_resume_and_cancel_from_the_progress_message(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    bot.reconfigure("broadcast", rate_per_second=4.0)
    await bot.restart()
    admin = await bot.add_member(emulator.user(ADMIN_ID))
    await members(bot, emulator, 7400, 40, "BTP")
    await compose(admin, "Tin chậm")
    await admin.click("👥 Toàn bộ đoàn viên")
    count = await admin.wait_for(lambda m: "sẽ được gửi tới" in m.text)
    await admin.click("✅ Gửi ngay", message_id=count.message_id)
    progress = await admin.wait_for(lambda m: "⏸ Tạm dừng" in m.button_texts())
    answer = await press(admin, "⏸ Tạm dừng", message_id=progress.message_id)
    assert answer.text == "Đã tạm dừng"
    await admin.wait_for(
        lambda m: (
            m.message_id == progress.message_id
            and "▶️ Tiếp tucj" not in m.text
            and "tạm dừng" in m.text
        )
    )
    await bot.svc.broadcasts.sender.idle()  # type: ignore[union-attr]
    paused_at = (await bot.svc.broadcasts.counts(1)).sent
    assert paused_at < 41
    await press(admin, "▶️ Tiếp tục", message_id=progress.message_id)
    await admin.wait_for(lambda m: m.message_id == progress.message_id and "đang gửi" in m.text)
    answer = await press(admin, "✖️ Huỷ gửi", message_id=progress.message_id)
    assert answer.text == "Đã huỷ"
    final = await admin.wait_for(lambda m: "đã bị huỷ" in m.text, timeout=15)
    counts = await bot.svc.broadcasts.counts(1)
    assert counts.pending > 0 and f"Chưa gửi: {counts.pending}" in final.text
    # a cancelled broadcast cannot be resumed by a forged press
    answer = await press(admin, data="bc:resume:1", message_id=progress.message_id)
    assert "không ở trạng thái tạm dừng" in (answer.text or "")


async def test_pause_and_resume_hold_on_double_taps_and_old_copies(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    """«Tạm dừng» only pauses and «Tiếp tục» only resumes, however often they are pressed and
    on whichever copy (the progress message, the /broadcasts list); a copy pressed late is
    redrawn with the buttons that apply now."""
    bot.reconfigure("broadcast", rate_per_second=4.0)
    await bot.restart()
    admin = await bot.add_member(emulator.user(ADMIN_ID))
    await members(bot, emulator, 7450, 40, "BTP")
    await compose(admin, "Tin chậm hai")
    await admin.click("👥 Toàn bộ đoàn viên")
    count = await admin.wait_for(lambda m: "sẽ được gửi tới" in m.text)
    await admin.click("✅ Gửi ngay", message_id=count.message_id)
    progress = await admin.wait_for(lambda m: "⏸ Tạm dừng" in m.button_texts())
    admin.skip_pending()
    await admin.send("/broadcasts")
    copy = await admin.wait_for(
        lambda m: m.message_id > progress.message_id and "⏸ Tạm dừng" in m.button_texts()
    )

    async def status() -> str:
        return str(await bot.svc.db.fetch_value("SELECT status FROM broadcasts WHERE id = 1"))

    async def tap(label: str, message_id: int, times: int = 1) -> list[str | None]:
        seen = len(admin.answers)
        for _ in range(times):
            await admin.click(label, message_id=message_id)
        await emulator.wait_until(lambda: len(admin.answers) >= seen + times)
        return [a.text for a in admin.answers[seen : seen + times]]

    assert await tap("⏸ Tạm dừng", progress.message_id, times=2) == ["Đã tạm dừng"] * 2
    assert await status() == "paused"
    assert await tap("⏸ Tạm dừng", copy.message_id) == ["Đã tạm dừng"]  # the older copy
    assert await status() == "paused"
    await admin.wait_for(
        lambda m: m.message_id == copy.message_id and "▶️ Tiếp tục" in m.button_texts()
    )
    assert await tap("▶️ Tiếp tục", progress.message_id, times=2) == ["Đang gửi tiếp"] * 2
    assert await status() == "sending"
    # The list copy still offers «Tiếp tục»: pressing it keeps sending (it never pauses).
    assert await tap("▶️ Tiếp tục", copy.message_id) == ["Đang gửi tiếp"]
    assert await status() == "sending"
    await admin.wait_for(
        lambda m: m.message_id == copy.message_id and "⏸ Tạm dừng" in m.button_texts()
    )
    assert await tap("✖️ Huỷ gửi", progress.message_id, times=2) == ["Đã huỷ"] * 2
    assert await status() == "cancelled"
    # Pausing what is cancelled is refused, and that copy loses its buttons.
    refused = await tap("⏸ Tạm dừng", copy.message_id)
    assert refused == ["Thông báo này không còn đang gửi."]
    await admin.wait_for(lambda m: m.message_id == copy.message_id and not m.buttons)
    assert await status() == "cancelled"


async def test_unit_choices_hold_on_double_taps(bot: BotHarness, emulator: BotApiEmulator) -> None:
    admin = await bot.add_member(emulator.user(ADMIN_ID), unit="BTC")
    await members(bot, emulator, 7480, 3, "BTP")
    await members(bot, emulator, 7490, 2, "BYT")
    await compose(admin, "Cho hai đơn vị")
    await admin.click("🏢 Chọn đơn vị")
    picker = await admin.wait_for(lambda m: "Chọn các đơn vị" in m.text)
    for name in ("Bộ Tư pháp", "Bộ Y tế"):  # each tapped twice before the list is redrawn
        seen = len(admin.answers)
        await admin.click(name, message_id=picker.message_id)
        await admin.click(name, message_id=picker.message_id)
        await emulator.wait_until(lambda seen=seen: len(admin.answers) >= seen + 2)
    await admin.wait_for(
        lambda m: (
            m.message_id == picker.message_id
            and {"✓ Bộ Tư pháp", "✓ Bộ Y tế", "✅ Xong (2 đơn vị)"} <= set(m.button_texts())
        )
    )
    seen = len(admin.answers)
    await admin.click("✓ Bộ Y tế", message_id=picker.message_id)
    await admin.click("✓ Bộ Y tế", message_id=picker.message_id)
    await emulator.wait_until(lambda: len(admin.answers) >= seen + 2)
    await admin.wait_for(
        lambda m: m.message_id == picker.message_id and "✅ Xong (1 đơn vị)" in m.button_texts()
    )
    await admin.click("✅ Xong (1 đơn vị)", message_id=picker.message_id)
    count = await admin.wait_for(lambda m: "sẽ được gửi tới" in m.text)
    assert "<b>3</b>" in count.html


@pytest.fixture
def clock(manual_clock: ManualClock) -> Clock:
    return manual_clock


async def test_scheduled_broadcast_goes_out_at_its_time_and_can_be_cancelled_before(
    bot: BotHarness, emulator: BotApiEmulator, manual_clock: ManualClock
) -> None:
    admin = await bot.add_member(emulator.user(ADMIN_ID))
    person = (await members(bot, emulator, 7500, 1, "BTP"))[0]
    for text in ("Hẹn giờ một", "Hẹn giờ hai"):
        await compose(admin, text)
        mark = admin.last_message.message_id  # type: ignore[union-attr]
        await admin.click("👥 Toàn bộ đoàn viên")
        count = await admin.wait_for(
            lambda m, mark=mark: "sẽ được gửi tới" in m.text and m.message_id > mark
        )
        admin.skip_pending()
        await admin.click("🕒 Hẹn giờ gửi", message_id=count.message_id)
        assert "thời điểm gửi" in (await admin.next_message()).text
        assert "đã qua" in (await say_and_read(admin, "01/12/2026 07:00")).text  # 00:00 UTC
        confirmed = await say_and_read(admin, "01/12/2026 09:00")  # 02:00 UTC, an hour ahead
        assert "01/12/2026 09:00" in confirmed.text
    await press(admin, "✖️ Huỷ gửi", message_id=confirmed.message_id)  # cancels "hai"
    manual_clock.advance(timedelta(hours=1, minutes=1))
    bot.svc.broadcasts.sender.wake()  # type: ignore[union-attr]
    await person.wait_for(lambda m: "Hẹn giờ một" in m.text)
    await admin.wait_for(lambda m: "#1 đã gửi xong." in m.text)
    assert not any("Hẹn giờ hai" in m.text for m in person.messages)


async def test_a_scheduled_broadcast_whose_author_lost_the_role_is_not_sent(
    bot: BotHarness, emulator: BotApiEmulator, manual_clock: ManualClock
) -> None:
    """The cadre schedules for their unit, an admin revokes the role before it is due: when it
    falls due nothing goes out, the broadcast is cancelled with the reason, the author hears
    why, and the admin's /broadcasts shows it."""
    admin = await bot.add_member(emulator.user(ADMIN_ID), name="Quản Trị", unit="BTC")
    cadre = await bot.add_member(emulator.user(7700), role=Role.CADRE, unit="BYT")
    crowd = await members(bot, emulator, 7710, 3, "BYT")
    await compose(cadre, "Sinh hoạt chi đoàn sáng mai")
    await cadre.click("🏢 Đoàn viên đơn vị tôi")
    count = await cadre.wait_for(lambda m: "sẽ được gửi tới" in m.text)
    cadre.skip_pending()
    await cadre.click("🕒 Hẹn giờ gửi", message_id=count.message_id)
    assert "thời điểm gửi" in (await cadre.next_message()).text
    confirmed = await say_and_read(cadre, "01/12/2026 09:00")  # an hour ahead
    assert "01/12/2026 09:00" in confirmed.text
    assert "thu hồi" in (await say_and_read(admin, "/revoke 7700")).text

    manual_clock.advance(timedelta(hours=1, minutes=1))
    bot.svc.broadcasts.sender.wake()  # type: ignore[union-attr]
    told = await cadre.wait_for(lambda m: "đã được huỷ" in m.text)
    assert told.text == (
        "🚫 Thông báo #1 hẹn gửi lúc 01/12/2026 09:00 đã được huỷ và chưa gửi tới ai: đến giờ "
        "gửi, bạn không còn quyền gửi tới nhóm người nhận này (vai trò cán bộ đoàn hoặc quản trị "
        "của bạn đã thay đổi). Nếu thông báo vẫn cần gửi, mời bạn liên hệ quản trị viên."
    )
    row = await bot.svc.db.fetch_one("SELECT status, cancel_reason, total FROM broadcasts")
    assert row is not None and tuple(row) == ("cancelled", "author_not_allowed", 0)
    assert await bot.svc.db.fetch_value("SELECT COUNT(*) FROM broadcast_recipients") == 0
    assert not any("Sinh hoạt chi đoàn" in m.text for p in crowd for m in p.messages)
    admin.skip_pending()
    await admin.send("/broadcasts")
    listed = await admin.wait_for(lambda m: "Thông báo #1" in m.text)
    assert "đã huỷ vì người soạn không còn quyền gửi" in listed.text and not listed.buttons


async def test_announcement_with_a_photo_and_caption(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    admin = await bot.add_member(emulator.user(ADMIN_ID))
    person = (await members(bot, emulator, 7600, 1, "BTP"))[0]
    await say_and_read(admin, "/broadcast")
    png = bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6300010000050001"
        "0d0a2db40000000049454e44ae426082"
    )
    admin.skip_pending()
    await admin.send_photo(png, caption="Ảnh hoạt động tuần qua")
    await admin.wait_for(lambda m: "tới ai" in m.text)
    await admin.click("👥 Toàn bộ đoàn viên")
    count = await admin.wait_for(lambda m: "sẽ được gửi tới" in m.text)
    await admin.click("✅ Gửi ngay", message_id=count.message_id)
    got = await person.wait_for(lambda m: m.photo is not None)
    assert got.caption == "Ảnh hoạt động tuần qua"
