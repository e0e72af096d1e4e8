"""Zalo in webhook mode, beside Telegram's webhook on the bot's one web server: events with the
right ``X-Bot-Api-Secret-Token`` are answered; a forged or missing secret gets 403 and nothing
in it is processed; ``/health`` answers on the same port."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot.app import Running, serve
from bot.config import parse_config
from bot.emulator import BotApiEmulator
from bot.services import Services
from tests.e2e.conftest import TOKEN, UNITS, ZALO_TOKEN, free_port, say_and_read

ZALO_SECRET = "z4lo-Secret:42!"
TELEGRAM_SECRET = "t3legram_Secret-42"


@pytest.fixture
async def hooked() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(
        token=TOKEN, zalo_token=ZALO_TOKEN, zalo_allow_insecure_webhooks=True
    ) as emu:
        yield emu


def forged_event(user_id: str) -> dict[str, object]:
    return {
        "ok": True,
        "result": {
            "event_name": "message.text.received",
            "message": {
                "from": {"id": user_id, "display_name": "Kẻ giả mạo", "is_bot": False},
                "chat": {"id": user_id, "chat_type": "PRIVATE"},
                "text": "/start",
                "message_id": "f0rged0000000000000",
                "date": 1790000000000,
            },
        },
    }


async def test_both_webhooks_on_one_server_and_forged_secrets_refused(
    hooked: BotApiEmulator, tmp_path: Path
) -> None:
    emulator = hooked
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = parse_config(
        {
            "telegram": {
                "token": TOKEN,
                "api_base_url": emulator.api_base_url,
                "api_file_url": emulator.file_base_url,
                "mode": "webhook",
                "webhook": {"url": f"{base}/telegram", "secret_token": TELEGRAM_SECRET},
            },
            "zalo": {
                "token": ZALO_TOKEN,
                "api_base_url": emulator.zalo_api_base_url,
                "mode": "webhook",
                "url": f"{base}/hooks/zalo",
                "secret_token": ZALO_SECRET,
            },
            "web": {"listen": "127.0.0.1", "port": port, "public_base_url": base},
            "database": {"path": str(tmp_path / "hooks.sqlite3")},
        },
        env={},
    )
    services = await Services.open(config)
    await services.units.upsert_many(UNITS)
    stop, ready = asyncio.Event(), asyncio.Event()

    async def on_ready(running: Running) -> None:
        ready.set()

    task = asyncio.create_task(serve(services, stop=stop, ready=on_ready))
    try:
        await asyncio.wait_for(ready.wait(), timeout=15)
        assert emulator.zalo.webhook_url == f"{base}/hooks/zalo"
        assert emulator.webhook_url == f"{base}/telegram"

        an = emulator.zalo_user("6ede9afa66b88fe6d6a9", "Nguyễn Văn An")
        event = await an.send("xin chào")  # POSTed by the emulator with the secret
        consent = await an.next_message()
        assert "Nghị định 13/2023" in consent.text
        delivery = await emulator.zalo.wait_for_delivery(event["message"]["message_id"])
        assert delivery.status == 200

        telegram_user = emulator.user(9101)
        reply = await say_and_read(telegram_user, "/start")  # Telegram's webhook, same port
        assert "Nghị định 13/2023" in reply.text

        stranger = emulator.zalo_user("badbadbadbadbadbad00")
        async with aiohttp.ClientSession() as http:
            for headers in (
                {"X-Bot-Api-Secret-Token": "wrong-secret"},
                {"X-Bot-Api-Secret-Token": ZALO_SECRET + "x"},
                {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET},  # the other channel's
                {},
            ):
                async with http.post(
                    f"{base}/hooks/zalo", json=forged_event(stranger.user_id), headers=headers
                ) as response:
                    assert response.status == 403
            async with http.post(
                f"{base}/hooks/zalo",
                data=b"{not json",
                headers={"X-Bot-Api-Secret-Token": ZALO_SECRET},
            ) as response:
                assert response.status == 400
            async with http.get(f"{base}/health?deep=1") as response:
                assert response.status == 200
                assert json.loads(await response.text())["status"] == "ok"
        # A later real event is answered; none of the refused ones ever was.
        an.skip_pending()
        await an.send("2")  # "Không đồng ý"
        refused = await an.next_message()
        assert refused.text == (
            "Nhịp Cầu tôn trọng lựa chọn của bạn. Không có thông tin nào về bạn được lưu lại. Nếu "
            "đổi ý, bạn chỉ cần gõ /start."
        )
        assert stranger.messages == []
        assert await services.members.by_zalo_id(stranger.user_id) is None
        assert emulator.zalo.stats.events_polled == 0  # nothing went through getUpdates
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, timeout=15)
        await services.close()
