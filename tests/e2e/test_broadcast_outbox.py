"""What a broadcast's outbox sends on Telegram, through the emulator: the author's progress and
report in the author's own language, and the announcement's "open the activity" choice, which
opens the activity's card for the member who pressed it."""

from __future__ import annotations

import pytest

from bot.clock import Clock, ManualClock
from bot.emulator import BotApiEmulator
from tests.e2e.conftest import ADMIN_ID, BotHarness, press, say_and_read
from tests.e2e.test_activities import cadre, create_activity, member


@pytest.fixture
def clock(manual_clock: ManualClock) -> Clock:
    return manual_clock


async def test_an_english_author_follows_their_broadcast_in_english(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    admin = await bot.add_member(emulator.user(ADMIN_ID), name="Quản Trị", language="en")
    for i in range(3):
        await bot.add_member(emulator.user(7800 + i), name=f"Đoàn Viên {i}")
    await say_and_read(admin, "/broadcast")
    asked = await say_and_read(admin, "Họp chi đoàn lúc 8 giờ")
    assert asked.text == "Who should receive this announcement?"
    await admin.click("👥 All members")
    count = await admin.wait_for(lambda m: "will go to" in m.text)
    await admin.click("✅ Send now", message_id=count.message_id)
    report = await admin.wait_for(lambda m: "is done." in m.text, timeout=15)
    assert report.text == "✅ Announcement #1 is done.\nSent: 4/4 · Failed: 0 · Blocked the bot: 0"
    progress = await admin.wait_for(lambda m: m.text.startswith("📢 Announcement #1"))
    assert progress.text.startswith("📢 Announcement #1 — done\n✅ Sent: 4\n")
    assert not progress.buttons  # the live message lost its controls once done


async def test_the_announcement_button_opens_the_activity_card(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    lan = await cadre(bot, emulator)
    activity = await create_activity(bot, 7001)
    an = await member(bot, emulator, 7811, name="Nguyễn Văn An")
    await bot.svc.activities.register(await bot.svc.member_service.actor(7811), activity.id)

    await say_and_read(lan, "/broadcast")
    await say_and_read(lan, "Nhớ mang căn cước nhé")
    await lan.click("🙋 Người đã đăng ký một hoạt động")
    await lan.wait_for(lambda m: "Chọn hoạt động" in m.text)
    await lan.click("Hiến máu tình nguyện")
    await lan.wait_for(lambda m: "Gắn nút «Xem hoạt động»" in m.text)
    await lan.click("Có")
    count = await lan.wait_for(lambda m: "sẽ được gửi tới" in m.text)
    preview = next(m for m in lan.messages if m.text == "Nhớ mang căn cước nhé")
    assert preview.button_texts() == ["🙋 Xem hoạt động"]  # what members get, to the button
    await lan.click("✅ Gửi ngay", message_id=count.message_id)
    await lan.wait_for(lambda m: "đã gửi xong." in m.text, timeout=15)

    got = await an.wait_for(lambda m: m.text == "Nhớ mang căn cước nhé")
    assert got.button_texts() == ["🙋 Xem hoạt động"]
    an.skip_pending()
    await press(an, "🙋 Xem hoạt động", message_id=got.message_id)
    card = await an.wait_for(lambda m: "Viện Huyết học, Cầu Giấy" in m.text)
    assert "Hiến máu tình nguyện" in card.text and card.message_id != got.message_id
    assert (await an.wait_for(lambda m: m.message_id == got.message_id)).text == (
        "Nhớ mang căn cước nhé"  # the announcement itself stays as it was
    )
