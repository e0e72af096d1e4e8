"""The demo as a person meets it: `nhipcau demo` in a subprocess, the web chat in Chromium,
/start answered in Vietnamese and onboarding done by clicking."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

pytestmark = pytest.mark.browser


@pytest.fixture
async def demo_url(tmp_path: Path) -> AsyncIterator[str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "demo",
        "--port",
        "0",
        "--database",
        str(tmp_path / "demo.sqlite3"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    url = None
    seen: list[str] = []
    try:
        async with asyncio.timeout(30):
            while url is None:
                line = (await process.stdout.readline()).decode()
                if not line:
                    break
                seen.append(line)
                match = re.search(r"(http://127\.0\.0\.1:\d+)/", line)
                if match and "chat" in line:
                    url = match.group(1)
        assert url is not None, "the demo did not print its URL:\n" + "".join(seen)
        yield url
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=15)
    assert process.returncode == 0, "the demo did not stop cleanly on SIGTERM"


async def send(page: Page, text: str) -> None:
    await page.fill("#message-input", text)
    await page.click("#send-button")


async def test_member_persona_gets_the_vietnamese_welcome(
    demo_url: str, browser_page: Page
) -> None:
    page = browser_page
    await page.goto(demo_url)
    await expect(page.locator("body")).to_have_attribute("data-ready", "true")
    await page.select_option("#persona", "700001")  # the demo's "Đoàn viên" persona
    await send(page, "/start")
    await expect(page.locator(".bubble.bot").last).to_contain_text("Chào Nguyễn Văn An")
    await expect(page.locator(".reply-button", has_text="Hoạt động")).to_have_count(1)


async def test_new_user_onboards_by_clicking(demo_url: str, browser_page: Page) -> None:
    page = browser_page
    await page.goto(demo_url)
    await expect(page.locator("body")).to_have_attribute("data-ready", "true")
    await page.select_option("#persona", "random")
    await send(page, "/start")
    await expect(page.locator(".bubble.bot").last).to_contain_text("Nghị định 13/2023")
    await page.locator(".inline-button", has_text="Đồng ý").first.click()
    await expect(page.locator(".bubble.bot").last).to_contain_text("họ và tên đầy đủ")
    await send(page, "Nguyễn Thị Thu Trang")
    await expect(page.locator(".bubble.bot").last).to_contain_text("đơn vị")
    await send(page, "bo tu phap")
    await expect(page.locator(".bubble.bot").last).to_contain_text("Tìm thấy 1 đơn vị")
    await page.locator(".inline-button", has_text="Bộ Tư pháp").last.click()
    await expect(page.locator(".bubble.bot").last).to_contain_text("Bước 3/4")
    await page.locator(".reply-button", has_text="Bỏ qua").click()
    await expect(page.locator(".bubble.bot").last).to_contain_text("Bước 4/4")
    await page.locator(".reply-button", has_text="Bỏ qua").click()
    await expect(page.locator(".bubble.bot").last).to_contain_text("Nguyễn Thị Thu Trang")
    await page.locator(".inline-button", has_text="Xác nhận").click()
    await expect(page.locator(".bubble.bot").last).to_contain_text("tham gia Nhịp Cầu")
    await expect(page.locator(".reply-button", has_text="Hồ sơ")).to_have_count(1)


async def test_the_member_persona_is_the_same_member_on_zalo(
    demo_url: str, browser_page: Page
) -> None:
    page = browser_page
    await page.goto(demo_url)
    await expect(page.locator("body")).to_have_attribute("data-ready", "true")
    await page.select_option("#persona", "700001")  # "Đoàn viên", linked on both channels
    await page.select_option("#channel", "zalo")
    await expect(page.locator("#zalo-pane")).to_be_visible()
    await page.fill("#zalo-input", "0")
    await page.click("#zalo-send")
    bot_bubbles = page.locator(".zalo-bubble.bot")
    await expect(bot_bubbles.last).to_contain_text("Menu chính của Nhịp Cầu")
    await expect(bot_bubbles.last).to_contain_text("4. 👤 Hồ sơ")
    await page.fill("#zalo-input", "4")
    await page.click("#zalo-send")
    await expect(bot_bubbles.last).to_contain_text("Họ tên: Nguyễn Văn An")
    await expect(page.locator(".zalo-bubble button")).to_have_count(0)
