"""Member journeys: restart mid-onboarding, /cancel, languages, profile, settings, privacy,
roles, deep links and every bad input of the onboarding issue, through the emulator."""

from __future__ import annotations

import json

from bot.domain.members import Person, Role
from bot.emulator import BotApiEmulator, EmulatedUser
from handlers.dialog import Reply, Turn
from handlers.dispatch import Routes
from tests.e2e.conftest import ADMIN_ID, BotHarness, press, say_and_read
from tests.e2e.test_onboarding import MENU, menu_labels, onboard


async def start_onboarding(user: EmulatedUser) -> None:
    await user.send("/start")
    await user.wait_for(lambda m: "Nghị định 13/2023" in m.text)
    await user.click("✅ Đồng ý")
    await user.wait_for(lambda m: "họ và tên đầy đủ" in m.text)


async def test_restart_in_the_middle_of_onboarding_continues_from_the_same_step(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    user = emulator.user(5101, first_name="Lan")
    await start_onboarding(user)
    reply = await say_and_read(user, "Phạm Thị Lan")
    assert "đơn vị" in reply.text

    await bot.restart()

    resumed = await say_and_read(user, "/start")
    assert "tiếp tục" in resumed.text
    units = await user.next_message()
    assert "đơn vị" in units.text and units.buttons
    await user.send("y te")
    found = await user.wait_for(lambda m: "Tìm thấy 1 đơn vị" in m.text)
    await user.click("Bộ Y tế", message_id=found.message_id)
    await user.wait_for(lambda m: "Bước 3/4" in m.text)
    await user.send("Bỏ qua")
    await user.wait_for(lambda m: "Bước 4/4" in m.text)
    await user.send("Bỏ qua")
    summary = await user.wait_for(lambda m: "kiểm tra lại" in m.text)
    assert "Phạm Thị Lan" in summary.text and "Bộ Y tế" in summary.text
    await user.click("✅ Xác nhận")
    await user.wait_for(lambda m: "tham gia Nhịp Cầu" in m.text)
    member = await bot.svc.members.by_telegram_id(5101)
    assert member is not None and member.full_name == "Phạm Thị Lan"
    assert member.phone is None and member.email is None


async def test_cancel_leaves_onboarding_and_keeps_nothing(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    user = emulator.user(5102)
    await start_onboarding(user)
    await say_and_read(user, "Trần Văn Nam")
    reply = await say_and_read(user, "/cancel")
    assert "không được lưu" in reply.text
    assert await bot.svc.conversations.get(Person.telegram(5102)) is None
    assert await bot.svc.members.by_telegram_id(5102) is None
    again = await say_and_read(user, "/start")
    assert "Nghị định 13/2023" in again.text  # a fresh start, consent first


async def test_bad_names_are_asked_again_with_an_example(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    user = emulator.user(5103, first_name="<b>Hack</b> & Co")
    consent = await say_and_read(user, "/start")
    assert "&lt;b&gt;Hack&lt;/b&gt; &amp; Co" in consent.html  # Telegram name shown escaped
    await user.click("✅ Đồng ý")
    await user.wait_for(lambda m: "họ và tên đầy đủ" in m.text)
    for bad in ("x" * 5000, "😀😀😀", "<b>An</b>", "A", "Nguyễn & Co"):
        reply = await say_and_read(user, bad)
        assert "Nguyễn Văn An" in reply.text, bad  # the example
        state = await bot.svc.conversations.get(Person.telegram(5103))
        assert state is not None and state.step == "name"
    reply = await say_and_read(user, "  Nguyễn   Văn   An  ")
    assert "đơn vị" in reply.text
    state = await bot.svc.conversations.get(Person.telegram(5103))
    assert state is not None and state.data["full_name"] == "Nguyễn Văn An"


async def test_button_expected_text_given_and_vice_versa(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    user = emulator.user(5104)
    await user.send("/start")
    await user.wait_for(lambda m: "Nghị định" in m.text)
    # text while the consent buttons are waiting: nothing stored, a hint to /start
    reply = await say_and_read(user, "xin chào")
    assert "/start" in reply.text
    await user.click("✅ Đồng ý")
    await user.wait_for(lambda m: "họ và tên" in m.text)
    await say_and_read(user, "Đỗ Minh Tuấn")
    # a contact where a unit is expected
    user.skip_pending()
    await user.share_contact(phone_number="84900000000")
    assert "không cần danh bạ" in (await user.next_message()).text
    # a unit button pressed in the name step of another flow: expired
    await user.send("tai chinh")
    found = await user.wait_for(lambda m: "Tìm thấy" in m.text)
    await user.click("Bộ Tài chính", message_id=found.message_id)
    await user.wait_for(lambda m: "Bước 3/4" in m.text)
    answer = await press(
        user, data=f"un:pick:{await bot.unit_id('BYT')}", message_id=found.message_id
    )
    assert "không còn hiệu lực" in (answer.text or "")
    # typing a phone number instead of pressing the share button
    reply = await say_and_read(user, "0901234567")
    assert "Chia sẻ số điện thoại" in reply.text
    # someone else's contact card
    user.skip_pending()
    await user.share_contact(phone_number="84911111111", user_id=42)
    assert "chính bạn" in (await user.next_message()).text
    state = await bot.svc.conversations.get(Person.telegram(5104))
    assert state is not None and state.step == "phone" and "phone" not in state.data


async def test_bad_email_then_fix_a_field_from_the_summary(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    user = emulator.user(5105)
    await start_onboarding(user)
    await say_and_read(user, "Vũ Thu Hà")
    await user.send("kiem toan")
    found = await user.wait_for(lambda m: "Tìm thấy" in m.text)
    await user.click("Kiểm toán Nhà nước", message_id=found.message_id)
    await user.wait_for(lambda m: "Bước 3/4" in m.text)
    await say_and_read(user, "Bỏ qua")
    reply = await say_and_read(user, "not-an-email")
    assert "chưa đúng định dạng" in reply.text
    summary = await say_and_read(user, "ha.vu@sav.gov.vn")
    assert "ha.vu@sav.gov.vn" in summary.text
    await user.click("✏️ Sửa họ tên")
    await user.wait_for(lambda m: "Bước 1/4" in m.text and m.message_id > summary.message_id)
    fixed = await say_and_read(user, "Vũ Thu Hằng")
    assert "kiểm tra lại" in fixed.text and "Vũ Thu Hằng" in fixed.text  # straight back to summary
    await user.click("✅ Xác nhận", message_id=fixed.message_id)
    await user.wait_for(lambda m: "tham gia Nhịp Cầu" in m.text)
    member = await bot.svc.members.by_telegram_id(5105)
    assert member is not None and member.full_name == "Vũ Thu Hằng"
    assert member.email == "ha.vu@sav.gov.vn"
    # the old summary's confirm button now does nothing
    answer = await press(user, data="ob:confirm", message_id=summary.message_id)
    assert "đã là thành viên" in (answer.text or "")
    assert await bot.svc.db.fetch_value("SELECT COUNT(*) FROM members") == 1


async def test_unit_list_pages_through_eight_at_a_time(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    user = emulator.user(5106)
    await start_onboarding(user)
    units = await say_and_read(user, "Lê Văn Tám")
    unit_buttons = [
        row[0].text for row in units.buttons if row[0].callback_data.startswith("un:pick")
    ]
    assert len(unit_buttons) == 8
    assert "Sau ▶️" in units.button_texts() and "1/2" in units.button_texts()
    await user.click("Sau ▶️", message_id=units.message_id)
    page2 = await user.wait_for(
        lambda m: m.message_id == units.message_id and "2/2" in m.button_texts()
    )
    assert "◀️ Trước" in page2.button_texts()
    assert len([r for r in page2.buttons if r[0].callback_data.startswith("un:pick")]) == 2
    none = await say_and_read(user, "khong ton tai")
    assert "Không tìm thấy" in none.text and "📋 Xem tất cả đơn vị" in none.button_texts()


async def test_english_speaker_onboards_in_english(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    user = emulator.user(5107, first_name="Mai", language_code="en")
    await user.send("/start")
    await user.wait_for(lambda m: "Decree 13/2023" in m.text)
    await user.click("✅ I agree")
    await user.wait_for(lambda m: "full name" in m.text)
    await user.send("Hoàng Thị Mai")
    await user.wait_for(lambda m: "Step 2/4" in m.text)
    await user.send("ngoai giao")
    found = await user.wait_for(lambda m: "Found 1 units" in m.text)
    await user.click("Bộ Ngoại giao", message_id=found.message_id)
    await user.wait_for(lambda m: "Step 3/4" in m.text)
    await user.send("Skip")
    await user.wait_for(lambda m: "Step 4/4" in m.text)
    await user.send("Skip")
    await user.wait_for(lambda m: "check your details" in m.text)
    await user.click("✅ Confirm")
    await user.wait_for(lambda m: "Welcome to Nhịp Cầu" in m.text)
    assert menu_labels(user) == [
        "🙋 Activities",
        "📅 My registrations",
        "💡 Initiatives",
        "👤 Profile",
        "❓ Help",
    ]
    member = await bot.svc.members.by_telegram_id(5107)
    assert member is not None and member.language == "en"


async def test_settings_switch_language_and_mute_separately(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    user = await bot.add_member(emulator.user(5108))
    card = await say_and_read(user, "/settings")
    assert "Cài đặt" in card.text
    await user.click("English", message_id=card.message_id)
    switched = await user.wait_for(lambda m: "Switched to English" in m.text)
    assert switched is not None
    assert menu_labels(user)[0] == "🙋 Activities"
    await user.wait_for(
        lambda m: m.message_id == card.message_id and "✓ English" in m.button_texts()
    )
    await user.click("📢 Announcements: On", message_id=card.message_id)
    await user.wait_for(lambda m: "📢 Announcements: Off" in m.button_texts())
    member = await bot.svc.members.by_telegram_id(5108)
    assert member is not None and member.language == "en"
    assert member.announcements_muted and not member.reminders_muted
    await user.click("⏰ Activity reminders: On", message_id=card.message_id)
    await user.wait_for(lambda m: "⏰ Activity reminders: Off" in m.button_texts())
    member = await bot.svc.members.by_telegram_id(5108)
    assert member is not None and member.reminders_muted
    help_reply = await say_and_read(user, "❓ Help")
    assert "Nhịp Cầu can help you" in help_reply.text


async def test_mute_switches_hold_on_double_taps_and_old_copies_of_the_settings(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    """A switch sets the state it promises: tapping it twice, or on a settings card drawn
    before, leaves that state instead of flipping it back."""
    user = await bot.add_member(emulator.user(5118))

    async def muted() -> tuple[bool, bool]:
        member = await bot.svc.members.by_telegram_id(5118)
        assert member is not None
        return member.announcements_muted, member.reminders_muted

    async def tap(label: str, message_id: int, times: int = 1) -> None:
        seen = len(user.answers)
        for _ in range(times):  # all presses leave before the bot redraws the card
            await user.click(label, message_id=message_id)
        await emulator.wait_until(lambda: len(user.answers) >= seen + times)

    old = await say_and_read(user, "/settings")
    card = await say_and_read(user, "/settings")
    await tap("📢 Thông báo chung: Bật", card.message_id, times=2)
    assert await muted() == (True, False)
    await user.wait_for(
        lambda m: m.message_id == card.message_id and "📢 Thông báo chung: Tắt" in m.button_texts()
    )
    # The old card still says "On": pressing it means "turn off", and off it stays.
    await tap("📢 Thông báo chung: Bật", old.message_id)
    assert await muted() == (True, False)
    await user.wait_for(
        lambda m: m.message_id == old.message_id and "📢 Thông báo chung: Tắt" in m.button_texts()
    )
    await tap("⏰ Nhắc lịch hoạt động: Bật", card.message_id, times=2)
    assert await muted() == (True, True)
    await tap("📢 Thông báo chung: Tắt", card.message_id, times=2)
    assert await muted() == (False, True)
    await tap("⏰ Nhắc lịch hoạt động: Bật", old.message_id)  # drawn before reminders muted
    assert await muted() == (False, True)
    await tap("⏰ Nhắc lịch hoạt động: Tắt", card.message_id)
    assert await muted() == (False, False)
    await tap("⏰ Nhắc lịch hoạt động: Tắt", old.message_id)  # drawn before the unmute
    assert await muted() == (False, False)
    await user.wait_for(
        lambda m: (
            m.message_id == old.message_id
            and m.button_texts()[2:] == ["📢 Thông báo chung: Bật", "⏰ Nhắc lịch hoạt động: Bật"]
        )
    )
    # A switch drawn before they carried their state ("st:ann"): nothing changes.
    answer = await press(user, data="st:ann", message_id=card.message_id)
    assert "không còn hiệu lực" in (answer.text or "")
    assert await muted() == (False, False)


async def test_profile_shows_data_and_edits_each_field(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    user = await bot.add_member(emulator.user(5109), name="Ngô Bảo Châu")
    card = await say_and_read(user, "👤 Hồ sơ")
    assert "Ngô Bảo Châu" in card.text and "Bộ Tư pháp" in card.text
    assert "Tình nguyện: 0 hoạt động, 0 giờ (0 ngày công)" in card.text
    await user.click("✏️ Sửa họ tên", message_id=card.message_id)
    await user.wait_for(lambda m: "họ tên mới" in m.text)
    await say_and_read(user, "Ngô Bảo Châu Anh")
    await user.wait_for(lambda m: "Hồ sơ của bạn" in m.text and "Ngô Bảo Châu Anh" in m.text)
    card = user.last_message
    assert card is not None
    await user.click("✏️ Sửa đơn vị", message_id=card.message_id)
    await user.send("y te")
    found = await user.wait_for(lambda m: "Tìm thấy" in m.text)
    await user.click("Bộ Y tế", message_id=found.message_id)
    await user.wait_for(lambda m: "Hồ sơ của bạn" in m.text and "Bộ Y tế" in m.text)
    card = user.last_message
    assert card is not None
    await user.click("✏️ Sửa email", message_id=card.message_id)
    await user.wait_for(lambda m: "email mới" in m.text)
    await say_and_read(user, "chau@moh.gov.vn")
    await user.wait_for(lambda m: "Hồ sơ của bạn" in m.text and "chau@moh.gov.vn" in m.text)
    card = user.last_message
    assert card is not None
    await user.click("✏️ Sửa điện thoại", message_id=card.message_id)
    await user.wait_for(lambda m: "Chia sẻ số điện thoại" in m.text)
    await user.share_contact(phone_number="84987654321")
    await user.wait_for(lambda m: "Hồ sơ của bạn" in m.text and "+84987654321" in m.text)
    member = await bot.svc.members.by_telegram_id(5109)
    assert member is not None
    assert (member.full_name, member.email, member.phone) == (
        "Ngô Bảo Châu Anh",
        "chau@moh.gov.vn",
        "+84987654321",
    )
    assert member.unit_id == await bot.unit_id("BYT")


async def test_mydata_sends_everything_and_forgetme_erases_personal_fields(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    user = await bot.add_member(emulator.user(5110, username="quynh"), name="Lý Thu Quỳnh")
    await bot.svc.members.update(
        (await bot.svc.members.by_telegram_id(5110)).id,  # type: ignore[union-attr]
        bot.svc.clock.now(),
        phone="+84912345678",
        email="quynh@example.vn",
    )
    summary = await say_and_read(user, "/mydata")
    assert "Lý Thu Quỳnh" in summary.text and "+84912345678" in summary.text
    document = await user.next_message()
    assert document.document is not None
    data = json.loads(document.document.content)
    profile = data["profile"]
    assert profile["full_name"] == "Lý Thu Quỳnh" and profile["email"] == "quynh@example.vn"
    assert profile["unit"]["name"] == "Bộ Tư pháp"

    ask = await say_and_read(user, "/forgetme")
    await user.click("Không, giữ lại", message_id=ask.message_id)
    await user.wait_for(lambda m: "giữ nguyên" in m.text)
    assert await bot.svc.members.by_telegram_id(5110) is not None

    ask = await say_and_read(user, "/forgetme")
    await user.click("🗑 Xoá dữ liệu của tôi", message_id=ask.message_id)
    await user.wait_for(lambda m: "đăng ký mới" in m.text)
    assert await bot.svc.members.by_telegram_id(5110) is None
    row = await bot.svc.db.fetch_one("SELECT * FROM members")
    assert row is not None
    assert row["telegram_id"] is None and row["full_name"] == "" and row["phone"] is None
    assert row["email"] is None and row["username"] is None and row["deleted_at"] is not None
    assert row["unit_id"] == await bot.unit_id("BTP")  # counts per unit stay right
    again = await say_and_read(user, "/start")
    assert "Nghị định 13/2023" in again.text  # starts fresh


async def test_deep_link_payload_survives_onboarding(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    assert bot.app is not None
    routes: Routes = bot.app.bot_data["routes"]
    seen: list[tuple[int | None, str]] = []

    async def stub(turn: Turn, argument: str) -> None:
        seen.append((turn.person.telegram_id, argument))
        await turn.send(Reply(f"stub ran with {argument}"))

    routes.deep_links["stub_"] = stub
    newcomer = emulator.user(5111)
    await newcomer.send("/start stub_42")
    await newcomer.wait_for(lambda m: "Nghị định" in m.text)
    assert seen == []  # not before onboarding
    await onboard(newcomer, name="Hà Văn Khánh")
    await newcomer.wait_for(lambda m: "stub ran with 42" in m.text)
    member = await bot.add_member(emulator.user(5112))
    reply = await say_and_read(member, "/start stub_7")
    assert reply.text == "stub ran with 7"
    assert seen == [(5111, "42"), (5112, "7")]
    bad = await say_and_read(member, "/start nothing_here")
    assert "không hợp lệ" in bad.text


async def test_group_chats_get_a_pointer_to_the_private_chat_only(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    group = emulator.group(-100777, title="Chi đoàn Bộ Tư pháp")
    member = emulator.user(5113)
    await group.send(from_user=member, text="/start")
    reply = await group.wait_for(lambda m: "cuộc trò chuyện riêng" in m.text)
    assert "t.me/nhipcau_test_bot" in reply.text
    await group.send(from_user=member, text="chào cả nhà")
    await group.send(from_user=member, text="/help")
    await emulator.wait_until(lambda: len(group.messages) == 2)
    assert await bot.svc.members.by_telegram_id(5113) is None


async def test_admin_grants_and_revokes_roles_and_menus_follow(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    admin = emulator.user(ADMIN_ID)
    member = await bot.add_member(emulator.user(5114, username="tuan_cb"), name="Đinh Công Tuấn")
    asked = await say_and_read(admin, "/grant @tuan_cb cadre BYT")
    assert "Đinh Công Tuấn" in asked.text and "Bộ Y tế" in asked.text
    assert await bot.role_of(5114) is None  # nothing granted before the confirmation
    await admin.click("✅ Cấp cho Đinh Công Tuấn (Bộ Tư pháp)", message_id=asked.message_id)
    reply = await admin.wait_for(
        lambda m: m.message_id == asked.message_id and "Đã cấp quyền" in m.text
    )
    assert "Đinh Công Tuấn" in reply.text and "Bộ Y tế" in reply.text and not reply.buttons
    grant = await bot.role_of(5114)
    assert (
        grant is not None and grant.role is Role.CADRE and grant.unit_id == await bot.unit_id("BYT")
    )
    told = await member.wait_for(lambda m: "Cán bộ đoàn" in m.text)
    assert "Bộ Y tế" in told.text
    await emulator.wait_until(lambda: bool(emulator.commands(("chat", 5114))))
    listing = await say_and_read(admin, "/roles")
    assert "Đinh Công Tuấn" in listing.text and "Bộ Y tế" in listing.text
    reply = await say_and_read(admin, "/revoke 5114")
    assert "thu hồi" in reply.text
    assert await bot.role_of(5114) is None
    for bad, expected in (
        ("/grant", "Cách dùng"),
        ("/grant @nobody_here cadre BYT", "Không tìm thấy"),
        ("/grant 5114 cadre NOPE", "Không có đơn vị"),
        ("/grant 5114 king", "Cách dùng"),
        (f"/revoke {ADMIN_ID}", "tệp cấu hình"),
    ):
        assert expected in (await say_and_read(admin, bad)).text, bad


async def test_grant_by_username_shows_who_it_resolves_to_and_waits_for_confirmation(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    """A @username the bot learnt long ago may now belong to someone else: the admin sees the
    person it resolves to (name, unit, id, since when) and nothing happens until they confirm;
    cancelling, or pressing an old copy afterwards, grants nothing."""
    admin = emulator.user(ADMIN_ID)
    await bot.add_member(emulator.user(5120, username="ha_cb"), name="Lê Thu Hà", unit="BTC")
    await bot.svc.db.execute(
        "UPDATE members SET username_at = '2025-01-10T03:00:00+00:00' WHERE telegram_id = 5120"
    )
    asked = await say_and_read(admin, "/grant @ha_cb cadre BYT")
    assert asked.text == (
        "Cấp quyền cán bộ đoàn đơn vị Bộ Y tế cho người này?\n"
        "• Lê Thu Hà — Bộ Tài chính, mã Telegram 5120, dùng @ha_cb từ 10/01/2025\n\n"
        "Mời bạn kiểm tra đúng người rồi bấm xác nhận."
    )
    assert asked.button_texts() == ["✅ Cấp cho Lê Thu Hà (Bộ Tài chính)", "✖️ Huỷ"]
    confirm = asked.buttons[0][0].callback_data
    assert confirm is not None
    answer = await press(admin, "✖️ Huỷ", message_id=asked.message_id)
    assert answer.text is None
    await admin.wait_for(
        lambda m: m.message_id == asked.message_id and m.text == "Đã huỷ, chưa cấp quyền cho ai."
    )
    late = await press(admin, data=confirm, message_id=asked.message_id)  # the old button
    assert "không còn hiệu lực" in (late.text or "")
    assert await bot.role_of(5120) is None


async def test_grant_picks_the_right_person_when_a_username_was_reused(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    """Two members once had the same @username: both are shown, newest first, each button
    names its person; a double tap grants once and tells the person once; a forged button
    for someone not shown grants nothing."""
    admin = emulator.user(ADMIN_ID)
    old = await bot.add_member(emulator.user(5121), name="Phạm Văn Cũ", unit="BTP")
    new = await bot.add_member(emulator.user(5122), name="Vũ Thị Mới", unit="BNG")
    outsider = await bot.add_member(emulator.user(5123), name="Người Ngoài", unit="BTP")
    for telegram_id, since in (
        (5121, "2024-03-01T03:00:00+00:00"),
        (5122, "2026-11-20T03:00:00+00:00"),
    ):
        await bot.svc.db.execute(
            "UPDATE members SET username = 'doan_vien', username_at = ? WHERE telegram_id = ?",
            (since, telegram_id),
        )
    asked = await say_and_read(admin, "/grant @doan_vien admin")
    assert asked.text == (
        "⚠️ Có 2 người từng dùng “@doan_vien” với Nhịp Cầu (tên người dùng Telegram có thể được "
        "chuyển sang người khác). Bạn muốn cấp quyền quản trị cho ai?\n"
        "• Vũ Thị Mới — Bộ Ngoại giao, mã Telegram 5122, dùng @doan_vien từ 20/11/2026\n"
        "• Phạm Văn Cũ — Bộ Tư pháp, mã Telegram 5121, dùng @doan_vien từ 01/03/2024"
    )
    assert asked.button_texts() == [
        "✅ Cấp cho Vũ Thị Mới (Bộ Ngoại giao)",
        "✅ Cấp cho Phạm Văn Cũ (Bộ Tư pháp)",
        "✖️ Huỷ",
    ]
    data = asked.buttons[0][0].callback_data
    assert data is not None
    nonce = data.rsplit(":", 1)[1]
    outsider_member = await bot.svc.members.by_telegram_id(5123)
    assert outsider_member is not None
    forged = await press(admin, data=f"rg:ok:{outsider_member.id}:{nonce}")
    assert "không còn hiệu lực" in (forged.text or "")
    seen = len(admin.answers)
    await admin.click("✅ Cấp cho Vũ Thị Mới (Bộ Ngoại giao)", message_id=asked.message_id)
    await admin.click("✅ Cấp cho Vũ Thị Mới (Bộ Ngoại giao)", message_id=asked.message_id)
    await emulator.wait_until(lambda: len(admin.answers) >= seen + 2)
    assert "không còn hiệu lực" in (admin.answers[seen + 1].text or "")
    await admin.wait_for(
        lambda m: (
            m.message_id == asked.message_id and "Đã cấp quyền quản trị cho Vũ Thị Mới" in m.text
        )
    )
    holders = {
        (await bot.svc.members.by_id(g.member_id)).telegram_id: g.role  # type: ignore[union-attr]
        for g in await bot.svc.roles.all()
    }
    assert holders == {5122: Role.ADMIN}
    await new.wait_for(lambda m: "Quản trị viên" in m.text)
    assert sum("Bạn vừa được cấp vai trò" in m.text for m in new.messages) == 1
    assert not any("Bạn vừa được cấp vai trò" in m.text for m in old.messages + outsider.messages)


async def test_grant_by_telegram_id_also_shows_the_person_and_asks(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    admin = emulator.user(ADMIN_ID)
    await bot.add_member(emulator.user(5124), name="Hoàng Minh", unit="BYT")
    asked = await say_and_read(admin, "/grant 5124 cadre BYT")
    assert "• Hoàng Minh — Bộ Y tế, mã Telegram 5124\n" in asked.text  # no username part
    assert await bot.role_of(5124) is None
    await admin.click("✅ Cấp cho Hoàng Minh (Bộ Y tế)", message_id=asked.message_id)
    await admin.wait_for(lambda m: m.message_id == asked.message_id and "Đã cấp" in m.text)
    grant = await bot.role_of(5124)
    assert grant is not None and grant.role is Role.CADRE
    # Roles belong to members: someone who has not onboarded yet cannot hold one.
    refused = await say_and_read(admin, "/grant 5199 admin")
    assert refused.text == (
        "Không tìm thấy người dùng «5199». Dùng mã Telegram (số) hoặc @username của người đã "
        "dùng Nhịp Cầu."
    )
    assert await bot.svc.members.by_telegram_id(5199) is None


async def test_command_menus_are_published_per_role(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    default = [name for name, _ in emulator.commands("all_private_chats")]
    assert "profile" in default and "grant" not in default
    admin = [name for name, _ in emulator.commands(("chat", ADMIN_ID))]
    assert {"grant", "revoke", "roles"} <= set(admin)


async def test_unknown_commands_and_stickers_get_a_polite_reply(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    user = await bot.add_member(emulator.user(5115))
    assert "chưa hiểu lệnh" in (await say_and_read(user, "/fly")).text
    user.skip_pending()
    await user.send_update(
        {
            "sticker": {
                "file_id": "s1",
                "file_unique_id": "u1",
                "width": 1,
                "height": 1,
                "is_animated": False,
                "is_video": False,
                "type": "regular",
            }
        }
    )
    assert "chữ và các nút" in (await user.next_message()).text
    assert menu_labels(user) == [] or menu_labels(user) == MENU


async def test_an_old_or_forged_delete_button_erases_nothing(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    user = await bot.add_member(emulator.user(5116), name="Phan Văn Đức")
    first = await say_and_read(user, "/forgetme")
    await say_and_read(user, "/forgetme")  # a newer confirmation replaces the first
    for data, message_id in (
        ("pv:forget:yes", None),
        ("pv:forget:yes:deadbeef", None),
        (first.buttons[0][0].callback_data, first.message_id),
    ):
        answer = await press(user, data=data, message_id=message_id)
        assert "không còn hiệu lực" in (answer.text or ""), data
    assert await bot.svc.members.by_telegram_id(5116) is not None
    latest = user.last_message
    assert latest is not None
    await press(user, "🗑 Xoá dữ liệu của tôi", message_id=latest.message_id)
    await user.wait_for(lambda m: "đăng ký mới" in m.text)
    assert await bot.svc.members.by_telegram_id(5116) is None


async def test_a_refusal_a_handler_forgot_to_catch_still_reaches_the_person(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    from bot.domain.errors import InvalidInput, NotAllowed

    async def careless(turn: Turn) -> None:
        raise InvalidInput("onboarding.email_invalid")

    async def careless_button(turn: Turn) -> None:
        raise NotAllowed()

    assert bot.app is not None
    routes: Routes = bot.app.bot_data["routes"]
    routes.commands["careless"] = careless
    routes.actions["zz"] = careless_button
    user = await bot.add_member(emulator.user(5117))
    reply = await say_and_read(user, "/careless")
    assert "Email chưa đúng định dạng" in reply.text  # not the generic apology
    answer = await press(user, data="zz:x:1")
    assert answer.show_alert and "không có quyền" in (answer.text or "")
