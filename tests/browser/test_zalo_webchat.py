"""A person picks Zalo in the web chat and talks to a tiny stand-in bot built on ZaloBotApi.

The real bot's Zalo channel is built elsewhere; this bot only echoes, which is enough to show
that the pane sends typed numbers, photos and protected-user messages as Zalo events and shows
the bot's plain-text and photo replies.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Page, expect

from bot.channels.zalo.client import ZaloBotApi, ZaloEventKind
from bot.emulator import BotApiEmulator, Persona
from bot.emulator.zalo import persona_zalo_id

TOKEN = "12345689:abc-xyz"
PERSONAS = (
    Persona(1001, "Đoàn viên mới", "An", "Nguyễn"),
    Persona(1002, "Cán bộ đoàn", "Bình", "Trần"),
)
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99"
    b"=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)

pytestmark = pytest.mark.browser


async def echo_bot(api: ZaloBotApi) -> None:
    while True:
        event = await api.get_update(timeout=1)
        if event is None:
            continue
        if event.kind is ZaloEventKind.TEXT:
            await api.send_message(event.chat_id, f"Bạn vừa gõ: {event.text}")
        elif event.kind is ZaloEventKind.IMAGE and event.photo_url:
            await api.send_photo(event.chat_id, event.photo_url, caption="Nhịp Cầu đã nhận ảnh")
        elif event.kind is ZaloEventKind.UNSUPPORTED:
            await api.send_message(event.chat_id, "Nhịp Cầu chưa đọc được tin nhắn này.")


@pytest.fixture
async def emulator_with_zalo_bot() -> AsyncIterator[BotApiEmulator]:
    async with (
        BotApiEmulator(personas=PERSONAS, zalo_token=TOKEN) as emu,
        ZaloBotApi(emu.zalo_api_base_url, TOKEN) as api,
    ):
        bot = asyncio.create_task(echo_bot(api))
        try:
            yield emu
        finally:
            bot.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await bot


async def test_a_persona_chats_on_zalo_with_numbers_and_a_photo(
    emulator_with_zalo_bot: BotApiEmulator, browser_page: Page
) -> None:
    emu = emulator_with_zalo_bot
    page = browser_page
    await page.goto(emu.url)
    await expect(page.locator("body")).to_have_attribute("data-ready", "true")
    await page.select_option("#channel", "zalo")
    await expect(page.locator("#zalo-pane")).to_be_visible()
    await expect(page.locator("#telegram-pane")).to_be_hidden()
    await expect(page.locator("#subtitle")).to_have_text("Trình giả lập Zalo (chạy cục bộ)")
    await page.select_option("#persona", "1001")
    zalo_id = persona_zalo_id(1001)
    await expect(page.locator("#who")).to_have_text(f"Bạn là: An Nguyễn · Zalo ID {zalo_id}")
    await expect(page.locator("#bot-name")).to_have_text("Bot Nhịp Cầu")

    await page.fill("#zalo-input", "1")
    await page.click("#zalo-send")
    await expect(page.locator(".zalo-bubble.user")).to_have_text("1")
    bot_bubbles = page.locator(".zalo-bubble.bot")
    await expect(bot_bubbles).to_have_text(["Bạn vừa gõ: 1"])
    await expect(page.locator(".zalo-bubble button")).to_have_count(0)  # Zalo has no buttons

    await page.set_input_files(
        "#zalo-file-input",
        files=[{"name": "minh-chung.png", "mimeType": "image/png", "buffer": PNG}],
    )
    user_photo = page.locator(".zalo-bubble.user img.photo")
    await expect(user_photo).to_have_js_property("naturalWidth", 1)
    bot_photo = bot_bubbles.nth(1)
    await expect(bot_photo).to_have_text("Nhịp Cầu đã nhận ảnh")
    await expect(bot_photo.locator("img.photo")).to_have_js_property("naturalWidth", 1)

    await page.click("#zalo-unsupported")
    await expect(page.locator(".zalo-bubble.user").last).to_have_text(
        "🛡 Nội dung được Zalo ẩn (người dùng được bảo vệ)"
    )
    await expect(bot_bubbles.last).to_have_text("Nhịp Cầu chưa đọc được tin nhắn này.")

    user = emu.zalo_user(zalo_id)
    assert user.display_name == "An Nguyễn"
    assert [(m.kind, m.content) for m in user.messages] == [
        ("text", "Bạn vừa gõ: 1"),
        ("photo", "Nhịp Cầu đã nhận ảnh"),
        ("text", "Nhịp Cầu chưa đọc được tin nhắn này."),
    ]
    photo = user.messages[1].photo
    assert photo is not None and photo.content == PNG
    assert [e["event_name"] for e in user.sent_events] == [
        "message.text.received",
        "message.image.received",
        "message.unsupported.received",
    ]

    # Another persona gets their own Zalo conversation; going back shows the first one again.
    await page.select_option("#persona", "1002")
    await expect(page.locator("#who")).to_contain_text("Bình Trần")
    await expect(page.locator(".zalo-bubble")).to_have_count(0)
    await page.fill("#zalo-input", "2")
    await page.press("#zalo-input", "Enter")
    await expect(bot_bubbles).to_have_text(["Bạn vừa gõ: 2"])
    await page.select_option("#persona", "1001")
    await expect(bot_bubbles).to_have_count(3)

    # Back on Telegram, the Telegram pane is the one shown and the persona is a Telegram user.
    await page.select_option("#channel", "telegram")
    await expect(page.locator("#telegram-pane")).to_be_visible()
    await expect(page.locator("#zalo-pane")).to_be_hidden()
    await expect(page.locator("#who")).to_contain_text("ID 1001")
    await expect(page.locator("#bot-name")).to_have_text("Nhịp Cầu (@nhipcau_bot)")
    await expect(page.locator("#message-input")).to_be_enabled()
