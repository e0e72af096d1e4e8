"""Reminder journeys through the emulator with a moved clock: the reminder and its buttons,
cancelling from it promotes the waitlist at once, the cadre's deadline digest, muting."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.clock import Clock, ManualClock
from bot.emulator import BotApiEmulator
from tests.e2e.conftest import BotHarness, press
from tests.e2e.test_activities import (
    START,
    _clock,
    cadre,
    create_activity,
    member,
    registration_rows,
)


@pytest.fixture
def clock(manual_clock: ManualClock) -> Clock:
    return manual_clock


async def tick(bot: BotHarness) -> None:
    scheduler = bot.svc.reminders.scheduler
    assert scheduler is not None
    scheduler.wake()
    await scheduler.idle()


async def test_cancelling_from_a_reminder_frees_the_seat_for_the_waitlist(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    await cadre(bot, emulator)
    activity = await create_activity(bot, 7001, capacity=1)
    an = await member(bot, emulator, 7101, name="Nguyễn Văn An")
    binh = await member(bot, emulator, 7102, name="Lê Thị Bình")
    for person in (7101, 7102):
        await bot.svc.activities.register(await bot.svc.member_service.actor(person), activity.id)
    assert await registration_rows(bot, activity.id) == {7101: "confirmed", 7102: "waitlisted"}

    _clock(bot).set(START - timedelta(hours=24))
    await tick(bot)
    reminder = await an.wait_for(lambda m: "Nhắc lịch" in m.text)
    assert "Hiến máu tình nguyện" in reminder.text and "08:00" in reminder.text
    assert "còn 1 ngày" in reminder.text
    assert reminder.button_texts() == ["✅ Tôi sẽ tham gia", "❌ Không thể tham gia — huỷ"]
    assert not any("Nhắc lịch" in m.text for m in binh.messages)  # waitlisted: no reminder

    answer = await press(an, "❌ Không thể tham gia — huỷ", message_id=reminder.message_id)
    assert not answer.show_alert  # accepted, not refused
    await an.wait_for(lambda m: m.message_id == reminder.message_id and "Đã huỷ đăng ký" in m.text)
    assert await registration_rows(bot, activity.id) == {7101: "cancelled", 7102: "confirmed"}
    await binh.wait_for(lambda m: "Hiến máu tình nguyện" in m.text and m.buttons)

    # the promoted member gets the 2 h reminder; the one who cancelled does not
    _clock(bot).set(START - timedelta(hours=2))
    await tick(bot)
    second = await binh.wait_for(lambda m: "Nhắc lịch" in m.text)
    assert "còn 2 giờ" in second.text
    assert not any("còn 2 giờ" in m.text for m in an.messages)
    # a forged "cancel" on someone else's seat cancels only the presser's own (none)
    answer = await press(an, data=f"rm:no:{activity.id}", message_id=reminder.message_id)
    assert answer.text == bot.svc.catalogue.plain("vi", "activities.not_registered")
    assert await registration_rows(bot, activity.id) == {7101: "cancelled", 7102: "confirmed"}


async def test_ill_be_there_confirms_and_keeps_the_seat(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    await cadre(bot, emulator)
    activity = await create_activity(bot, 7001)
    an = await member(bot, emulator, 7201)
    await bot.svc.activities.register(await bot.svc.member_service.actor(7201), activity.id)
    _clock(bot).set(START - timedelta(hours=24))
    await tick(bot)
    reminder = await an.wait_for(lambda m: "Nhắc lịch" in m.text)
    answer = await press(an, "✅ Tôi sẽ tham gia", message_id=reminder.message_id)
    assert answer.text == "Hẹn gặp bạn!"
    await an.wait_for(
        lambda m: m.message_id == reminder.message_id and "Cảm ơn bạn đã xác nhận" in m.text
    )
    assert await registration_rows(bot, activity.id) == {7201: "confirmed"}


async def test_cadre_digest_and_muted_reminders(bot: BotHarness, emulator: BotApiEmulator) -> None:
    lan = await cadre(bot, emulator)
    activity = await create_activity(bot, 7001, capacity=2)
    quiet = await member(bot, emulator, 7301)
    for person in (7301, 7302, 7303):
        if person != 7301:
            await member(bot, emulator, person)
        await bot.svc.activities.register(await bot.svc.member_service.actor(person), activity.id)
    await quiet.send("/settings")
    card = await quiet.wait_for(lambda m: "Cài đặt" in m.text)
    await quiet.click("⏰ Nhắc lịch hoạt động: Bật", message_id=card.message_id)
    await quiet.wait_for(lambda m: "⏰ Nhắc lịch hoạt động: Tắt" in m.button_texts())

    _clock(bot).set(activity.deadline_at - timedelta(hours=24))
    await tick(bot)
    digest = await lan.wait_for(lambda m: "Sắp hết hạn đăng ký" in m.text)
    assert "2/2" in digest.text and "Danh sách chờ: 1" in digest.text
    assert "📋 Xem danh sách đăng ký" in digest.button_texts()

    _clock(bot).set(START - timedelta(hours=24))
    await tick(bot)
    other = emulator.user(7302)
    await other.wait_for(lambda m: "Nhắc lịch" in m.text)
    assert not any("Nhắc lịch" in m.text for m in quiet.messages)
