"""Headless Chromium for the browser tests, driven through Playwright's async API.

Debian's Chromium is used (Playwright's own download needs the internet). A missing browser is a
failure with instructions, never a skip: the web chat must be checked on every full run.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Page, async_playwright

CHROMIUM = os.environ.get("NHIPCAU_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def browser_page() -> AsyncIterator[Page]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}. Install it (`make browser-deps` or "
            "`apt-get install chromium`) or point NHIPCAU_CHROMIUM at a Chromium binary.",
            pytrace=False,
        )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = await browser.new_context(locale="vi-VN")
            page = await context.new_page()
            page.set_default_timeout(10_000)
            yield page
        finally:
            await browser.close()
