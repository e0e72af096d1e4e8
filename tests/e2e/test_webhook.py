"""Webhook mode behind the emulator: updates with the right secret token are processed; a wrong
or missing token is refused with 403 and never processed; /health answers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from pathlib import Path

import aiohttp

from bot.app import Running, serve
from bot.config import parse_config
from bot.emulator import BotApiEmulator
from bot.services import Services
from tests.e2e.conftest import TOKEN, UNITS, say_and_read

SECRET = "s3cret-Token_42"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def update_from(user_id: int, update_id: int) -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1_790_000_000,
            "chat": {"id": user_id, "type": "private", "first_name": "Kẻ lạ"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Kẻ lạ"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


async def test_webhook_mode_checks_the_secret_token(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    config = parse_config(
        {
            "telegram": {
                "token": TOKEN,
                "api_base_url": emulator.api_base_url,
                "api_file_url": emulator.file_base_url,
                "mode": "webhook",
                "webhook": {"url": url, "secret_token": SECRET},
            },
            # The bot's one web server takes Telegram's webhook (and Zalo's, and file links).
            "web": {"listen": "127.0.0.1", "port": port},
            "database": {"path": str(tmp_path / "hook.sqlite3")},
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
        assert emulator.webhook_url == url

        user = emulator.user(9101)
        reply = await say_and_read(user, "/start")  # delivered by the emulator with the secret
        assert "Nghị định 13/2023" in reply.text
        assert emulator.stats.webhook_deliveries >= 1

        stranger = emulator.user(9102)
        async with aiohttp.ClientSession() as http:
            for headers in ({"X-Telegram-Bot-Api-Secret-Token": "wrong"}, {}):
                async with http.post(url, json=update_from(9102, 777), headers=headers) as response:
                    assert response.status == 403
            async with http.get(f"http://127.0.0.1:{port}/health?deep=1") as response:
                assert response.status == 200
                assert json.loads(await response.text())["status"] == "ok"
        # a later legitimate update is processed; the refused ones never were
        again = await say_and_read(user, "/help")
        assert "Nhịp Cầu có thể giúp bạn" in again.text
        assert stranger.messages == []
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, timeout=15)
        await services.close()
