"""A person chats with a tiny PTB bot through the emulator's web page, as in Telegram."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Page, expect
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.emulator import BotApiEmulator, Persona

TOKEN = "123456:TEST"
PERSONAS = (
    Persona(1001, "Đoàn viên mới", "An", "Nguyễn", username="an_nguyen"),
    Persona(1002, "Cán bộ đoàn", "Bình", "Trần", phone_number="+84900000002"),
)

pytestmark = pytest.mark.browser


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        "Chào bạn! Hãy chia sẻ số điện thoại.",
        reply_markup=ReplyKeyboardMarkup(
            [[KeyboardButton("Chia sẻ số điện thoại", request_contact=True)]],
            resize_keyboard=True,
        ),
    )


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None and message.text is not None
    await message.reply_text(
        f"<b>Bạn nói:</b> {html.escape(message.text)}",
        parse_mode=ParseMode.HTML,
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("Bấm thử", callback_data="t")]]),
    )


async def contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    assert message is not None and message.contact is not None
    await message.reply_text(f"Số của bạn: {message.contact.phone_number}")


async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None
    await query.answer("Đã nhận")
    await query.edit_message_text("Đã bấm nút ✅")


@pytest.fixture
async def emulator_with_bot() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN, personas=PERSONAS) as emu:
        app = (
            Application.builder()
            .token(TOKEN)
            .base_url(emu.api_base_url)
            .base_file_url(emu.file_base_url)
            .build()
        )
        app.add_handler(CommandHandler("start", start))
        app.add_handler(MessageHandler(filters.CONTACT, contact))
        app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
        app.add_handler(CallbackQueryHandler(pressed))
        await app.initialize()
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        try:
            yield emu
        finally:
            await app.updater.stop()
            await app.stop()
            await app.shutdown()


async def test_persona_chats_clicks_and_shares_contact(
    emulator_with_bot: BotApiEmulator, browser_page: Page
) -> None:
    emu = emulator_with_bot
    page = browser_page
    await page.goto(emu.url)
    await expect(page.locator("body")).to_have_attribute("data-ready", "true")
    await expect(page.locator("#persona option")).to_have_count(4)  # hint + 2 + random
    await page.select_option("#persona", "1001")
    await expect(page.locator("#who")).to_contain_text("An Nguyễn")

    await page.fill("#message-input", "Xin chào <bot>")
    await page.click("#send-button")
    await expect(page.locator(".bubble.user")).to_have_text("Xin chào <bot>")
    reply = page.locator(".bubble.bot")
    await expect(reply).to_contain_text("Bạn nói: Xin chào <bot>")
    await expect(reply.locator("b")).to_have_text("Bạn nói:")

    await page.locator(".inline-button", has_text="Bấm thử").click()
    await expect(reply).to_contain_text("Đã bấm nút ✅")
    await expect(reply).to_have_count(1)  # edited in place, not a new bubble
    await expect(page.locator(".inline-button")).to_have_count(0)
    await expect(page.locator("#toast")).to_have_text("Đã nhận")

    await page.fill("#message-input", "/start")
    await page.press("#message-input", "Enter")
    await expect(page.locator(".reply-button")).to_have_text("Chia sẻ số điện thoại")
    await page.click(".reply-button")
    user = emu.user(1001)
    await expect(page.locator(".bubble.bot").last).to_have_text(
        re.compile("Số của bạn: " + re.escape(user.phone_number))
    )
    assert [m.text for m in user.messages][-1] == f"Số của bạn: {user.phone_number}"


async def test_random_user_gets_a_fresh_chat(
    emulator_with_bot: BotApiEmulator, browser_page: Page
) -> None:
    page = browser_page
    await page.goto(emulator_with_bot.url)
    await expect(page.locator("body")).to_have_attribute("data-ready", "true")
    await page.select_option("#persona", "random")
    await expect(page.locator("#who")).to_contain_text("Khách")
    await page.fill("#message-input", "alo")
    await page.click("#send-button")
    await expect(page.locator(".bubble.bot")).to_contain_text("Bạn nói: alo")
