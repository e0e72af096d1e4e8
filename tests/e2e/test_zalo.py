"""The Zalo channel through the emulator's Zalo Bot API, driving the real bot started with
``serve`` (Telegram and Zalo both on): numbered choices answered however they are typed,
onboarding with a typed Vietnamese phone, profile, settings, help, privacy with files as links,
and everything a member may send that the journeys do not expect."""

from __future__ import annotations

import re

import aiohttp

from bot.domain.members import Person
from bot.emulator import BotApiEmulator
from bot.emulator.zalo_models import ZaloBotMessage
from bot.emulator.zalo_users import ZaloUser
from tests.e2e.conftest import BotHarness

AN = "6ede9afa66b88fe6d6a9"
MENU_LINES = "1. 🙋 Hoạt động\n2. 📅 Đăng ký của tôi\n3. 💡 Sáng kiến\n4. 👤 Hồ sơ\n5. ❓ Trợ giúp"
CONSENT_CHOICES = (
    "1. ✅ Đồng ý\n2. Không đồng ý\n3. 🔗 Tôi đã dùng Nhịp Cầu trên Telegram\n\n0. Về menu chính"
)
LINK = re.compile(r"(http://127\.0\.0\.1:\d+/f/[A-Za-z0-9_-]+/[A-Za-z0-9._-]+)")


async def turn(user: ZaloUser, text: str, count: int = 1) -> list[ZaloBotMessage]:
    """Send ``text`` and return the ``count`` messages the bot answers with."""
    user.skip_pending()
    await user.send(text)
    return [await user.next_message() for _ in range(count)]


async def test_a_newcomer_onboards_by_typing_numbers_however_they_come(
    zalo_bot: BotHarness, emulator: BotApiEmulator
) -> None:
    an = emulator.zalo_user(AN, "Nguyễn Văn An")
    # A Zalo id never seen before sends "3": nothing to choose yet, so it opens the door.
    [consent] = await turn(an, "3")
    assert consent.text.startswith("Xin chào Nguyễn Văn An! 👋 Chào mừng bạn đến với Nhịp Cầu")
    assert consent.text.endswith("Bạn có đồng ý không?\n\n" + CONSENT_CHOICES)
    # Nothing stored before consent, not even the choices just shown (kept in memory).
    assert await zalo_bot.svc.flows.get(Person.zalo(AN)) is None
    assert await zalo_bot.svc.db.fetch_value("SELECT COUNT(*) FROM channel_menus") == 0

    [given] = await turn(an, "1.")
    assert given.text.startswith("✅ Bạn đã đồng ý xử lý dữ liệu cá nhân lúc ")
    assert given.text.endswith(
        "Bước 1/4. Mời bạn nhập họ và tên đầy đủ (ví dụ: Nguyễn Thị Minh Anh).\n\n"
        "1. Dùng tên «Nguyễn Văn An»\n\n0. Về menu chính"
    )
    [units] = await turn(an, "１")  # full-width, as some Vietnamese keyboards type it
    assert units.text.startswith("Bước 2/4. Mời bạn chọn đơn vị")
    assert "\n\n1. Bộ Ngoại giao\n2. Bộ Tài chính\n3. Bộ Tư pháp\n" in units.text
    [found] = await turn(an, "tu phap")
    assert found.text == (
        "Tìm thấy 1 đơn vị khớp «tu phap». Mời bạn chọn:\n\n1. Bộ Tư pháp\n"
        "2. 📋 Xem tất cả đơn vị\n\n0. Về menu chính"
    )
    [phone] = await turn(an, "1")
    assert phone.text == (
        "Đơn vị: Bộ Tư pháp ✅\n\n"
        "Bước 3/4. Bạn có muốn để lại số điện thoại để cán bộ đoàn liên hệ khi cần không? "
        "Gõ số của bạn, ví dụ 0912 345 678, hoặc chọn “Bỏ qua”.\n\n"
        "Hoặc gõ một trong các lựa chọn:\n• Bỏ qua\n\n0. Về menu chính"
    )
    # A stale "2" from the unit list is no choice here: it is a (wrong) phone number.
    [stale] = await turn(an, "2")
    assert stale.text.startswith("Số này chưa giống một số điện thoại Việt Nam.")
    [email] = await turn(an, "0912 345 678")
    assert email.text.startswith("Bước 4/4.") and email.text.endswith(
        "1. Bỏ qua\n\n0. Về menu chính"
    )
    [summary] = await turn(an, "bo qua")  # the label typed loosely
    assert "📱 Điện thoại: +84912345678" in summary.text
    assert summary.text.endswith(
        "1. ✅ Xác nhận\n2. ✏️ Sửa họ tên\n3. ✏️ Sửa đơn vị\n4. ✏️ Sửa điện thoại\n"
        "5. ✏️ Sửa email\n\n0. Về menu chính"
    )
    [welcome] = await turn(an, "1")
    assert welcome.text == (
        "✅ Đã lưu thông tin của bạn.\n\n🎉 Chào mừng Nguyễn Văn An đã tham gia Nhịp Cầu! Menu "
        "chính luôn ở bên dưới: xem hoạt động, đăng ký của bạn, sáng kiến và hồ sơ.\n\n"
        + MENU_LINES
    )
    menu = await zalo_bot.svc.db.fetch_value("SELECT options FROM channel_menus")
    assert '"label": "🙋 Hoạt động"' in menu  # a member's choices outlive a restart
    member = await zalo_bot.member_of(Person.zalo(AN))
    assert (member.telegram_id, member.zalo_id, member.full_name, member.phone) == (
        None,
        AN,
        "Nguyễn Văn An",
        "+84912345678",
    )
    assert member.last_channel is not None and member.last_channel.value == "zalo"


async def test_numbers_out_of_range_and_text_where_a_number_is_expected_keep_the_choices(
    zalo_bot: BotHarness, emulator: BotApiEmulator
) -> None:
    binh = emulator.zalo_user("a1b2c3d4e5f60718293a", "Trần Thị Bình")
    await turn(binh, "Xin chào")
    [out_of_range] = await turn(binh, "7")
    assert out_of_range.text == (
        "Không có lựa chọn số 7. Mời bạn gõ một số từ 1 đến 3:\n\n" + CONSENT_CHOICES
    )
    assert await zalo_bot.svc.flows.get(Person.zalo(binh.user_id)) is None
    await turn(binh, "1")  # consent
    await turn(binh, "1")  # the name Zalo shows
    await turn(binh, "3")  # Bộ Tư pháp
    await turn(binh, "Bỏ qua")
    await turn(binh, "1")  # no email: the summary
    # The summary takes a choice, not text: say so, and show the same choices again.
    [use_numbers] = await turn(binh, "xác nhận giúp mình nhé")
    assert use_numbers.text == (
        "Mời bạn trả lời bằng số của một lựa chọn dưới đây (hoặc gõ /cancel để thoát):\n\n"
        "1. ✅ Xác nhận\n2. ✏️ Sửa họ tên\n3. ✏️ Sửa đơn vị\n4. ✏️ Sửa điện thoại\n"
        "5. ✏️ Sửa email\n\n0. Về menu chính"
    )
    [again] = await turn(binh, "9")
    assert again.text.startswith("Không có lựa chọn số 9. Mời bạn gõ một số từ 1 đến 5:\n\n1. ✅")
    [welcome] = await turn(binh, "1")  # the numbers still mean what they meant
    assert welcome.text.startswith("✅ Đã lưu thông tin của bạn.")
    member = await zalo_bot.member_of(Person.zalo(binh.user_id))
    assert member.full_name == "Trần Thị Bình" and member.phone is None


async def test_zero_is_the_main_menu_and_a_stale_number_after_it_moved_on(
    zalo_bot: BotHarness, emulator: BotApiEmulator
) -> None:
    chi = await zalo_bot.add_zalo_member(emulator.zalo_user("c0ffee00c0ffee00c0fe"), name="Lê Chi")
    [menu] = await turn(chi, "0")
    assert menu.text == "Menu chính của Nhịp Cầu. Bạn muốn làm gì?\n\n" + MENU_LINES
    [card] = await turn(chi, "4")  # 👤 Hồ sơ
    assert card.text.startswith("👤 Hồ sơ của bạn") and "Lê Chi" in card.text
    assert "\n\n1. ✏️ Sửa họ tên\n2. ✏️ Sửa đơn vị\n3. ✏️ Sửa điện thoại\n4. ✏️ Sửa email\n" in (
        card.text
    )
    [ask] = await turn(chi, "1")
    assert ask.text.startswith("Mời bạn nhập họ tên mới")
    # "5" was help on the menu two turns ago; the profile card had no 5; now a name is asked.
    [refused] = await turn(chi, "5")
    assert (
        refused.text == "Họ tên cần dài từ 2 đến 100 ký tự. Mời bạn nhập lại, ví dụ: Nguyễn Văn An."
    )
    assert (await zalo_bot.member_of(Person.zalo(chi.user_id))).full_name == "Lê Chi"


async def test_profile_edit_and_settings_on_zalo(
    zalo_bot: BotHarness, emulator: BotApiEmulator
) -> None:
    dung = await zalo_bot.add_zalo_member(
        emulator.zalo_user("d00d00d00d00d00d00d0"), name="Phạm Dũng"
    )
    [card] = await turn(dung, "/profile")
    assert "3. ✏️ Sửa điện thoại" in card.text
    [ask] = await turn(dung, "3")
    assert ask.text == (
        "Mời bạn gõ số điện thoại mới, ví dụ 0912 345 678, hoặc chọn xoá / giữ nguyên.\n\n"
        "Hoặc gõ một trong các lựa chọn:\n• 🗑 Xoá thông tin này\n• Giữ nguyên\n\n0. Về menu chính"
    )
    [wrong] = await turn(dung, "12345")
    assert wrong.text.startswith("Số này chưa giống một số điện thoại Việt Nam.")
    [updated] = await turn(dung, "0987.654.321")  # one turn, one message: both replies
    assert updated.text.startswith("✅ Đã cập nhật hồ sơ.\n\n👤 Hồ sơ của bạn\n")
    assert "Điện thoại: +84987654321" in updated.text
    member = await zalo_bot.member_of(Person.zalo(dung.user_id))
    assert member.phone == "+84987654321"

    [settings] = await turn(dung, "/settings")
    assert settings.text == (
        "⚙️ Cài đặt\nChọn ngôn ngữ, và bật/tắt thông báo chung hoặc nhắc lịch hoạt động.\n\n"
        "1. ✓ Tiếng Việt\n2. English\n3. 📢 Thông báo chung: Bật\n"
        "4. ⏰ Nhắc lịch hoạt động: Bật\n5. 🔗 Liên kết tài khoản Telegram\n\n0. Về menu chính"
    )
    [saved] = await turn(dung, "3")
    assert saved.text.startswith("Đã lưu\n\n⚙️ Cài đặt") and "3. 📢 Thông báo chung: Tắt" in (
        saved.text
    )
    member = await zalo_bot.member_of(Person.zalo(dung.user_id))
    assert member.announcements_muted and not member.reminders_muted
    [english] = await turn(dung, "2")
    # The card again (in English now), then the switch; the hints follow the new language.
    assert english.text.startswith("Saved\n\n⚙️ Settings\n")
    assert "\n\n1. Tiếng Việt\n2. ✓ English\n3. 📢 Announcements: Off\n" in english.text
    assert english.text.endswith("Switched to English.\n\n0. Back to the main menu")
    assert (await zalo_bot.member_of(Person.zalo(dung.user_id))).language == "en"


async def test_help_and_what_the_journeys_do_not_take(
    zalo_bot: BotHarness, emulator: BotApiEmulator
) -> None:
    em = await zalo_bot.add_zalo_member(emulator.zalo_user("e11e11e11e11e11e11e1"), name="Võ Em")
    [help_reply] = await turn(em, "/help")
    assert help_reply.text.startswith("Nhịp Cầu có thể giúp bạn:\n• Xem và đăng ký")
    assert help_reply.text.endswith(MENU_LINES)
    # A protected user's message carries no content: a kind word, nothing else.
    em.skip_pending()
    await em.send_unsupported()
    protected = await em.next_message()
    assert protected.text == (
        "Xin lỗi bạn, Nhịp Cầu không đọc được tin nhắn này: Zalo không chuyển nội dung của tài "
        "khoản được bảo vệ đến các bot. Nếu cần hỗ trợ, mời bạn liên hệ trực tiếp cán bộ đoàn "
        "của đơn vị."
    )
    em.skip_pending()
    await em.send_sticker()
    sticker = await em.next_message()
    unexpected = zalo_bot.svc.catalogue.text("vi", "flow.message_unexpected")
    assert sticker.text == unexpected
    # 5,000 characters are read like any text: a polite reply, within Zalo's 2,000.
    [long_reply] = await turn(em, "Nhịp Cầu ơi " * 416 + "abcdefgh")
    assert long_reply.text.startswith("Mời bạn chọn một mục trong menu bên dưới")
    assert len(long_reply.text) <= 2000
    await turn(em, "/profile")
    [ask] = await turn(em, "1")
    assert ask.text.startswith("Mời bạn nhập họ tên mới")
    [too_long] = await turn(em, "Nguyễn " * 715)
    assert too_long.text == (
        "Họ tên cần dài từ 2 đến 100 ký tự. Mời bạn nhập lại, ví dụ: Nguyễn Văn An."
    )


async def test_mydata_comes_as_a_link_that_opens_once_for_that_person(
    zalo_bot: BotHarness, emulator: BotApiEmulator
) -> None:
    giang = await zalo_bot.add_zalo_member(
        emulator.zalo_user("96a96a96a96a96a96a96"), name="Hồ Thu Giang"
    )
    [summary] = await turn(giang, "/mydata")
    assert summary.text.startswith(
        "📄 Dữ liệu Nhịp Cầu lưu về bạn\nHọ tên: Hồ Thu Giang\nĐơn vị: Bộ Tư pháp\n"
    )
    assert "Tài khoản liên kết: Zalo (mã 96a96a96a96a96a96a96)\n" in summary.text
    assert "Toàn bộ dữ liệu của bạn (JSON)." in summary.text
    found = LINK.search(summary.text)
    assert found is not None, summary.text
    url = found.group(1)
    assert url.startswith(zalo_bot.web_url + "/f/")
    assert f"📎 Tải tệp nhipcau-du-lieu-cua-toi.json: {url}" in summary.text
    async with aiohttp.ClientSession() as http:
        async with http.get(url) as response:
            assert response.status == 200
            assert response.content_type == "application/json"
            assert response.headers["Content-Disposition"].startswith(
                'attachment; filename="nhipcau-du-lieu-cua-toi.json"'
            )
            data = await response.json(content_type=None)
        assert data["profile"]["full_name"] == "Hồ Thu Giang"
        assert data["profile"]["zalo_id"] == "96a96a96a96a96a96a96"
        assert data["profile"]["telegram_id"] is None
        async with http.get(url) as again:  # made for one person, opened once
            assert again.status == 404
        guessed = url.rsplit("/", 2)[0] + "/AAAAAAAAAAAAAAAAAAAAAA/nhipcau-du-lieu-cua-toi.json"
        async with http.get(guessed) as response:
            assert response.status == 404
    member = await zalo_bot.member_of(Person.zalo(giang.user_id))
    rows = await zalo_bot.svc.db.fetch_all("SELECT member_id, uses_left FROM file_links")
    assert [(r["member_id"], r["uses_left"]) for r in rows] == [(member.id, 0)]


async def test_forgetme_on_zalo(zalo_bot: BotHarness, emulator: BotApiEmulator) -> None:
    hoa = await zalo_bot.add_zalo_member(emulator.zalo_user("f0f0f0f0f0f0f0f0f0f0"), name="Đỗ Hoa")
    member = await zalo_bot.member_of(Person.zalo(hoa.user_id))
    await turn(hoa, "/mydata")  # a link made for her, erased with her
    [ask] = await turn(hoa, "/forgetme")
    assert ask.text.endswith("1. 🗑 Xoá dữ liệu của tôi\n2. Không, giữ lại\n\n0. Về menu chính")
    [gone] = await turn(hoa, "1")
    assert gone.text == (
        "✅ Đã xoá dữ liệu cá nhân của bạn.\n\nCảm ơn bạn đã đồng hành cùng Nhịp Cầu. Nếu muốn "
        "quay lại, gõ /start để đăng ký mới."
    )
    row = await zalo_bot.svc.db.fetch_one(
        "SELECT telegram_id, zalo_id, full_name, deleted_at FROM members WHERE id = ?",
        (member.id,),
    )
    assert row is not None
    assert (row["telegram_id"], row["zalo_id"], row["full_name"]) == (None, None, "")
    assert row["deleted_at"] is not None
    links = await zalo_bot.svc.db.fetch_all("SELECT member_id FROM file_links")
    assert [r["member_id"] for r in links] == [None]  # expired now; the sweep deletes the file
    assert await zalo_bot.svc.db.fetch_value("SELECT COUNT(*) FROM channel_menus") == 0
    [again] = await turn(hoa, "xin chào")  # a newcomer again: consent first
    assert again.text.startswith("Xin chào")
    assert "Nghị định 13/2023" in again.text


async def test_an_image_is_kept_and_one_that_cannot_be_fetched_gets_a_polite_reply(
    zalo_bot: BotHarness, emulator: BotApiEmulator
) -> None:
    khoa = await zalo_bot.add_zalo_member(emulator.zalo_user("0a0a0a0a0a0a0a0a0a0a"), name="Khoa")
    khoa.skip_pending()
    await khoa.send_image(f"{emulator.zalo.cdn_base_url}/missing-photo.jpg")
    failed = await khoa.next_message()
    assert failed.text == (
        "Xin lỗi, Nhịp Cầu chưa tải được ảnh bạn vừa gửi. Mời bạn gửi lại sau ít phút (ảnh JPG "
        "hoặc PNG, tối đa 10 MB)."
    )
    picture = b"\xff\xd8\xff\xe0" + b"nhipcau" * 100
    khoa.skip_pending()
    await khoa.send_image(picture, caption="Ảnh hoạt động")
    answered = await khoa.next_message()  # no flow takes a photo now: the menu
    assert answered.text.startswith("Mời bạn chọn một mục trong menu bên dưới")
    kept = list((zalo_bot.svc.files_folder / "zalo").iterdir())
    assert [p.read_bytes() for p in kept] == [picture]
    assert kept[0].name.endswith(".jpg") and len(kept[0].stem) == 64


async def test_429_from_zalo_on_a_reply_is_retried_and_nothing_is_lost(
    zalo_bot: BotHarness, emulator: BotApiEmulator
) -> None:
    lan = await zalo_bot.add_zalo_member(emulator.zalo_user("1a1a1a1a1a1a1a1a1a1a"), name="Lan")
    emulator.zalo.fail_next(2)  # "Quota exceeded" twice, then Zalo takes it
    before = emulator.zalo.stats.rate_limited
    [help_reply] = await turn(lan, "/help")
    assert help_reply.text.startswith("Nhịp Cầu có thể giúp bạn:")
    assert emulator.zalo.stats.rate_limited == before + 2
    assert len(lan.messages) == 1  # once, not three times


async def test_the_choices_mean_the_same_after_a_restart(
    zalo_bot: BotHarness, emulator: BotApiEmulator
) -> None:
    mai = await zalo_bot.add_zalo_member(emulator.zalo_user("3a3a3a3a3a3a3a3a3a3a"), name="Mai")
    await turn(mai, "0")
    await zalo_bot.restart()
    [card] = await turn(mai, "4")
    assert card.text.startswith("👤 Hồ sơ của bạn\nHọ tên: Mai\n")


async def test_a_zalo_member_sending_faster_than_anyone_types_is_slowed_down_once(
    zalo_bot: BotHarness, emulator: BotApiEmulator
) -> None:
    zalo_bot.reconfigure("flood", burst=3, per_second=0.001)
    await zalo_bot.restart()
    nga = await zalo_bot.add_zalo_member(emulator.zalo_user("4b4b4b4b4b4b4b4b4b4b"), name="Nga")
    await turn(nga, "0")  # the menu, then a burst of choices
    nga.skip_pending()
    for _ in range(5):
        await nga.send("5")
    running = zalo_bot.running
    assert running is not None and running.zalo is not None
    zalo = running.zalo
    await emulator.zalo.wait_until(lambda: emulator.zalo.pending_events == 0)
    await emulator.zalo.wait_until(lambda: zalo.in_progress == 0 and len(nga.messages) >= 4)
    texts = [m.text for m in nga.messages[1:]]
    assert [t.startswith("Nhịp Cầu có thể giúp bạn") for t in texts] == [True, True, False]
    assert texts[2].startswith("⏳ Bạn đang gửi hơi nhanh.")
    assert "\n\n1. " not in texts[2]  # no choices after "slow down"
    # The choices of the last answer still stand.
    menu = await zalo_bot.svc.db.fetch_value("SELECT options FROM channel_menus")
    assert '"label": "❓ Trợ giúp"' in menu
