"""One member, many channels: a one-time code shown in the settings of one channel and typed in
the other links the accounts both ways (Telegram → Zalo for a Zalo newcomer, Zalo → Telegram with
/link); a guessed code is refused and a few wrong ones pause the account; an account that is
already another member's is never taken; once linked, it is one member everywhere, and the
messenger honours the channel the member chose."""

from __future__ import annotations

import re

from bot.domain.members import Channel, Person, Role
from bot.emulator import BotApiEmulator, EmulatedUser
from bot.emulator.zalo_users import ZaloUser
from tests.e2e.conftest import ADMIN_ID, BotHarness, press, say_and_read, zalo_say
from tests.e2e.test_privacy import _activity

ZALO_ID = "6ede9afa66b88fe6d6a9"
CODE = re.compile(r"\b(\d{6})\b")


def wrong(code: str, k: int) -> str:
    """A code that is surely not ``code``."""
    return f"{(int(code) + 1 + k) % 1_000_000:06d}"


async def telegram_code_for_zalo(user: EmulatedUser) -> str:
    card = await say_and_read(user, "/settings")
    assert "🔗 Liên kết tài khoản Zalo" in card.button_texts()
    await user.click("🔗 Liên kết tài khoản Zalo", message_id=card.message_id)
    shown = await user.wait_for(lambda m: m.text.startswith("🔗 Mã liên kết tài khoản Zalo"))
    found = CODE.search(shown.text)
    assert found is not None
    code = found.group(1)
    assert shown.text == (
        f"🔗 Mã liên kết tài khoản Zalo của bạn: {code}\n\n"
        f"Mở Nhịp Cầu trên Zalo và gửi: /link {code}\n"
        "Nếu bạn chưa từng nhắn cho Nhịp Cầu trên Zalo, hãy nhắn bất kỳ, chọn “Tôi đã dùng Nhịp "
        "Cầu trên Telegram” rồi gõ mã.\n\n"
        "Mã dùng được một lần, trong 10 phút. Đừng đưa mã này cho ai khác."
    )
    return code


async def zalo_code_for_telegram(user: ZaloUser) -> str:
    settings = await zalo_say(user, "/settings")
    assert "5. 🔗 Liên kết tài khoản Telegram" in settings.text
    shown = await zalo_say(user, "5")
    assert shown.text.startswith("🔗 Mã liên kết tài khoản Telegram của bạn: ")
    found = CODE.search(shown.text)
    assert found is not None
    return found.group(1)


async def test_a_telegram_member_links_zalo_as_a_newcomer_there(
    zalo_bot: BotHarness, emulator: BotApiEmulator
) -> None:
    an_tg = await zalo_bot.add_member(emulator.user(6101), name="Nguyễn Văn An")
    member = await zalo_bot.member_of(Person.telegram(6101))
    code = await telegram_code_for_zalo(an_tg)
    stored = await zalo_bot.svc.db.fetch_all("SELECT code_hash, channel FROM link_codes")
    assert [r["channel"] for r in stored] == ["zalo"]
    assert code not in stored[0]["code_hash"]  # only a hash is kept

    an_zalo = emulator.zalo_user(ZALO_ID, "An Nguyễn")
    consent = await zalo_say(an_zalo, "chào bạn")
    assert "3. 🔗 Tôi đã dùng Nhịp Cầu trên Telegram" in consent.text
    ask = await zalo_say(an_zalo, "3")
    assert ask.text == (
        "Mời bạn gõ mã liên kết gồm 6 chữ số. Bạn lấy mã trong Nhịp Cầu ở ứng dụng bạn đã dùng: "
        "👤 Hồ sơ → ⚙️ Cài đặt → “🔗 Liên kết tài khoản”. Gõ /cancel để thoát."
    )
    guessed = await zalo_say(an_zalo, wrong(code, 0))
    assert guessed.text == (
        "Mã này không đúng hoặc đã hết hạn. Bạn còn 4 lần thử: mời bạn kiểm tra lại mã, hoặc lấy "
        "mã mới trong ⚙️ Cài đặt ở ứng dụng kia."
    )
    assert await zalo_bot.svc.members.by_zalo_id(ZALO_ID) is None
    not_a_code = await zalo_say(an_zalo, "12 34")
    assert not_a_code.text.startswith("Mã liên kết gồm đúng 6 chữ số")
    an_tg.skip_pending()
    linked = await zalo_say(an_zalo, code)
    assert linked.text == (
        "✅ Đã liên kết! Từ nay bạn dùng Nhịp Cầu trên Zalo với cùng hồ sơ của Nguyễn Văn An: "
        "đăng ký, giờ tình nguyện và sáng kiến giống nhau ở mọi nơi.\n\n"
        "1. 🙋 Hoạt động\n2. 📅 Đăng ký của tôi\n3. 💡 Sáng kiến\n4. 👤 Hồ sơ\n5. ❓ Trợ giúp"
    )
    told = await an_tg.next_message()  # the account the code came from hears of it
    assert told.text.startswith("🔗 Một tài khoản Zalo vừa được liên kết với hồ sơ")
    after = await zalo_bot.member_of(Person.zalo(ZALO_ID))
    assert (after.id, after.telegram_id, after.zalo_id) == (member.id, 6101, ZALO_ID)
    assert await zalo_bot.svc.db.fetch_value("SELECT COUNT(*) FROM members") == 1
    # The code was spent: typing it again from another newcomer links nothing.
    other = emulator.zalo_user("0123456789abcdef0123")
    await zalo_say(other, "/link " + code)
    assert "không đúng hoặc đã hết hạn" in (other.last_message.text if other.last_message else "")
    profile = await zalo_say(an_zalo, "4")
    assert profile.text.startswith("👤 Hồ sơ của bạn\nHọ tên: Nguyễn Văn An\nĐơn vị: Bộ Tư pháp")


async def test_a_zalo_member_links_telegram_with_link_and_the_pause_after_wrong_codes(
    zalo_bot: BotHarness, emulator: BotApiEmulator
) -> None:
    binh = await zalo_bot.add_zalo_member(emulator.zalo_user(ZALO_ID), name="Trần Thị Bình")
    member = await zalo_bot.member_of(Person.zalo(ZALO_ID))
    code = await zalo_code_for_telegram(binh)
    stranger = emulator.user(6201)
    for k in range(4):
        reply = await say_and_read(stranger, f"/link {wrong(code, k)}")
        assert f"Bạn còn {4 - k} lần thử" in reply.text
    paused = await say_and_read(stranger, f"/link {wrong(code, 4)}")
    assert paused.text == (
        "Bạn đã gõ sai mã nhiều lần. Để bảo vệ tài khoản của bạn, mời bạn thử lại sau 15 phút."
    )
    # Even the right code waits out the pause (per account: someone else may still link).
    still = await say_and_read(stranger, f"/link {code}")
    assert still.text.startswith("Bạn đã gõ sai mã nhiều lần.")
    assert (await zalo_bot.member_of(Person.zalo(ZALO_ID))).telegram_id is None

    binh_tg = emulator.user(6202)
    linked = await say_and_read(binh_tg, f"/link {code}")
    assert linked.text.startswith(
        "✅ Đã liên kết! Từ nay bạn dùng Nhịp Cầu trên Telegram với cùng hồ sơ của Trần Thị Bình"
    )
    keyboard = binh_tg.reply_keyboard or []
    assert [b.text for b in keyboard[0]] == ["🙋 Hoạt động", "📅 Đăng ký của tôi"]
    after = await zalo_bot.member_of(Person.telegram(6202))
    assert (after.id, after.zalo_id) == (member.id, ZALO_ID)
    told = await binh.next_message()
    assert told.text.startswith("🔗 Một tài khoản Telegram vừa được liên kết với hồ sơ")


async def test_an_account_of_another_member_is_never_taken(
    zalo_bot: BotHarness, emulator: BotApiEmulator
) -> None:
    an_tg = await zalo_bot.add_member(emulator.user(6301), name="Nguyễn Văn An")
    code = await telegram_code_for_zalo(an_tg)
    chi = await zalo_bot.add_zalo_member(emulator.zalo_user(ZALO_ID), name="Lê Chi")
    refused = await zalo_say(chi, f"/link {code}")
    assert refused.text == (
        "Tài khoản Zalo này đã thuộc về một hồ sơ Nhịp Cầu khác, nên không thể liên kết: mỗi tài "
        "khoản chỉ thuộc về một hồ sơ."
    )
    an = await zalo_bot.member_of(Person.telegram(6301))
    assert an.zalo_id is None
    assert (await zalo_bot.member_of(Person.zalo(ZALO_ID))).full_name == "Lê Chi"


async def test_a_linked_member_is_one_member_on_both_channels(
    zalo_bot: BotHarness, emulator: BotApiEmulator
) -> None:
    an_tg = await zalo_bot.add_member(emulator.user(6401), name="Nguyễn Văn An")
    code = await telegram_code_for_zalo(an_tg)
    an_zalo = emulator.zalo_user(ZALO_ID, "An")
    await zalo_say(an_zalo, f"/link {code}")
    # Registered on Telegram …
    activity_id = await _activity(zalo_bot, "Chạy vì trẻ em", capacity=None)
    await an_tg.send(f"/start act_{activity_id}")
    await an_tg.wait_for(lambda m: "Chạy vì trẻ em" in m.text and "Ghi nhận" in m.text)
    await an_tg.click("✅ Đăng ký tham gia")
    await an_tg.wait_for(lambda m: "Bạn đã đăng ký thành công" in m.text)
    # … seen on Zalo.
    data = await zalo_say(an_zalo, "/mydata")
    assert "Đăng ký hoạt động: 1\n" in data.text
    assert "Tài khoản liên kết: Telegram (mã 6401), Zalo (mã 6ede9afa66b88fe6d6a9)\n" in data.text

    # Announcements go where the member chooses: Telegram (used last) until Zalo is chosen.
    settings = await zalo_say(an_zalo, "/settings")
    assert "5. 📬 Nhận tin qua Telegram\n6. ✓ 📬 Nhận tin qua Zalo\n7. ✂️ Huỷ liên kết Telegram" in (
        settings.text
    )  # Zalo is the one used last now
    chosen = await zalo_say(an_zalo, "5")
    assert chosen.text.startswith("Đã lưu: thông báo và nhắc lịch sẽ đến bạn qua Telegram.")
    member = await zalo_bot.member_of(Person.zalo(ZALO_ID))
    assert member.notify_channel is Channel.TELEGRAM
    await zalo_say(an_zalo, "/settings")
    chosen = await zalo_say(an_zalo, "6")
    assert chosen.text.startswith("Đã lưu: thông báo và nhắc lịch sẽ đến bạn qua Zalo.")
    # An admin grants a role on Telegram: the member is told on Zalo, not on Telegram.
    admin = await zalo_bot.add_member(emulator.user(ADMIN_ID), name="Quản Trị", role=Role.ADMIN)
    on_telegram = len(an_tg.messages)
    an_zalo.skip_pending()
    ask = await say_and_read(admin, "/grant 6401 cadre BTP")
    await press(admin, ask.buttons[0][0].text, message_id=ask.message_id)
    told = await an_zalo.next_message()
    assert told.text.startswith("🎖 Bạn vừa được cấp vai trò Cán bộ đoàn")
    assert len(an_tg.messages) == on_telegram  # once, on the channel chosen


async def test_unlinking_leaves_the_member_on_the_other_channel(
    zalo_bot: BotHarness, emulator: BotApiEmulator
) -> None:
    an_tg = await zalo_bot.add_member(emulator.user(6501), name="Nguyễn Văn An")
    code = await telegram_code_for_zalo(an_tg)
    an_zalo = emulator.zalo_user(ZALO_ID, "An")
    await zalo_say(an_zalo, f"/link {code}")
    card = await say_and_read(an_tg, "/settings")
    assert card.button_texts()[-3:] == [
        "📬 Nhận tin qua Telegram",
        "✓ 📬 Nhận tin qua Zalo",
        "✂️ Huỷ liên kết Zalo",
    ]
    await an_tg.click("✂️ Huỷ liên kết Zalo", message_id=card.message_id)
    ask = await an_tg.wait_for(lambda m: m.text.startswith("Huỷ liên kết tài khoản Zalo"))
    await an_tg.click("✂️ Huỷ liên kết", message_id=ask.message_id)
    await an_tg.wait_for(lambda m: m.text == "Đã huỷ liên kết tài khoản Zalo.")
    member = await zalo_bot.member_of(Person.telegram(6501))
    assert member.zalo_id is None and member.telegram_id == 6501
    again = await zalo_say(an_zalo, "4")  # a newcomer on Zalo now
    assert "Nghị định 13/2023" in again.text


async def test_forgetme_on_one_channel_erases_the_member_on_both(
    zalo_bot: BotHarness, emulator: BotApiEmulator
) -> None:
    an_tg = await zalo_bot.add_member(emulator.user(6701), name="Nguyễn Văn An")
    member = await zalo_bot.member_of(Person.telegram(6701))
    code = await telegram_code_for_zalo(an_tg)
    an_zalo = emulator.zalo_user(ZALO_ID, "An")
    await zalo_say(an_zalo, f"/link {code}")
    ask = await zalo_say(an_zalo, "/forgetme")
    assert ask.text.endswith("1. 🗑 Xoá dữ liệu của tôi\n2. Không, giữ lại\n\n0. Về menu chính")
    gone = await zalo_say(an_zalo, "1")
    assert gone.text.startswith("✅ Đã xoá dữ liệu cá nhân của bạn.")
    row = await zalo_bot.svc.db.fetch_one(
        "SELECT telegram_id, zalo_id, deleted_at FROM members WHERE id = ?", (member.id,)
    )
    assert row is not None and (row["telegram_id"], row["zalo_id"]) == (None, None)
    assert row["deleted_at"] is not None
    again = await say_and_read(an_tg, "/start")  # a newcomer on Telegram too
    assert "Nghị định 13/2023" in again.text
