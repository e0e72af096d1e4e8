"""Onboarding journeys through the emulator: consent, name, unit, phone, email, summary, menu."""

from __future__ import annotations

import io
import logging

from bot.domain.members import Person
from bot.emulator import BotApiEmulator, EmulatedUser
from bot.logging_setup import configure_logging
from tests.e2e.conftest import BotHarness

MENU = ["🙋 Hoạt động", "📅 Đăng ký của tôi", "💡 Sáng kiến", "👤 Hồ sơ", "❓ Trợ giúp"]


def menu_labels(user: EmulatedUser) -> list[str]:
    keyboard = user.reply_keyboard or []
    return [button.text for row in keyboard for button in row]


async def onboard(
    user: EmulatedUser, *, name: str = "Nguyễn Thị Hoa", unit_query: str = "tu phap"
) -> None:
    await user.send("/start")
    await user.wait_for(lambda m: "Nghị định 13/2023" in m.text)
    await user.click("✅ Đồng ý")
    await user.wait_for(lambda m: "họ và tên đầy đủ" in m.text)
    await user.send(name)
    await user.wait_for(lambda m: "chọn <b>đơn vị</b>" in m.html or "chọn đơn vị" in m.text)
    await user.send(unit_query)
    found = await user.wait_for(lambda m: "Tìm thấy" in m.text)
    await user.click(found.buttons[0][0].text)
    await user.wait_for(lambda m: "số điện thoại" in m.text and "Bước 3/4" in m.text)
    await user.share_contact(phone_number="84901234567")
    await user.wait_for(lambda m: "Bước 4/4" in m.text)
    await user.send("hoa.nguyen@moj.gov.vn")
    await user.wait_for(lambda m: "kiểm tra lại thông tin" in m.text)
    await user.click("✅ Xác nhận")
    await user.wait_for(lambda m: "Chào mừng" in m.text and "tham gia Nhịp Cầu" in m.text)


async def test_new_member_onboards_and_lands_on_the_main_menu(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    user = emulator.user(5001, first_name="Hoa", last_name="Nguyễn")
    await onboard(user)

    assert menu_labels(user) == MENU
    member = await bot.svc.members.by_telegram_id(5001)
    assert member is not None
    assert member.full_name == "Nguyễn Thị Hoa"
    assert member.phone == "+84901234567"
    assert member.email == "hoa.nguyen@moj.gov.vn"
    assert member.consent_at is not None
    unit = await bot.svc.units.get(member.unit_id or 0)
    assert unit is not None and unit.name == "Bộ Tư pháp"
    assert (
        await bot.svc.conversations.get(Person.telegram(5001)) is None
    )  # the draft is gone once saved


async def test_refusing_consent_stores_nothing(bot: BotHarness, emulator: BotApiEmulator) -> None:
    user = emulator.user(5002, first_name="Bình")
    await user.send("/start")
    await user.wait_for(lambda m: "Nghị định 13/2023" in m.text)
    await user.click("Không đồng ý")
    await user.wait_for(lambda m: "Không có thông tin nào về bạn được lưu" in m.text)
    assert await bot.svc.members.by_telegram_id(5002) is None
    assert await bot.svc.conversations.get(Person.telegram(5002)) is None
    assert await bot.svc.db.fetch_value("SELECT COUNT(*) FROM members") == 0


async def test_logs_never_contain_phone_numbers_emails_or_the_token(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    # The production handler at DEBUG, where libraries log whole update payloads.
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging("DEBUG", json_lines=True, secrets=(bot.config.telegram.token,), stream=stream)
    try:
        user = emulator.user(5003, first_name="Hoa")
        await onboard(user)
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    output = stream.getvalue()
    assert "sendMessage" in output  # the debug output really was captured
    assert "<phone>" in output and "<email>" in output  # and did carry personal data
    for secret in ("84901234567", "hoa.nguyen@moj.gov.vn", bot.config.telegram.token):
        assert secret not in output
