"""The aiohttp transport under PTB and the per-person update lanes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime

import pytest
from aiohttp import web
from telegram import Bot, Chat, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update, User
from telegram.error import NetworkError, TimedOut

from bot.emulator import BotApiEmulator
from handlers import lanes
from handlers.aiohttp_request import AiohttpRequest
from handlers.lanes import PerPersonUpdateProcessor

TOKEN = "123456:TEST-transport"


async def test_a_bot_on_the_aiohttp_transport_sends_vietnamese_and_a_keyboard() -> None:
    async with BotApiEmulator(token=TOKEN, bot_username="nhipcau_test_bot") as emulator:
        user = emulator.user(42, first_name="Lan")
        request = AiohttpRequest()
        bot = Bot(TOKEN, base_url=f"{emulator.url}/bot", request=request)
        async with bot:
            keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Đăng ký", callback_data="r")]])
            sent = await bot.send_message(
                42, "Chào <b>Lan</b> 🌸", parse_mode="HTML", reply_markup=keyboard
            )
        assert sent.text == "Chào Lan 🌸"
        received = await user.next_message()
        assert received.text == "Chào Lan 🌸"
        assert received.button_texts() == ["Đăng ký"]


Handler = Callable[[web.Request], Awaitable[web.Response]]


@asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_a_slow_answer_becomes_ptbs_timed_out() -> None:
    never = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        await never.wait()
        return web.json_response({"ok": True, "result": True})

    async with serving(slow) as url, AiohttpRequest(read_timeout=0.2) as request:
        try:
            with pytest.raises(TimedOut):
                await request.post(f"{url}/botX/getMe")
        finally:
            never.set()  # lets the server shut down at once


async def test_an_unreachable_server_becomes_ptbs_network_error() -> None:
    async with AiohttpRequest(connect_timeout=1.0) as request:
        with pytest.raises(NetworkError):  # port 9 (discard) is closed on this machine
            await request.post("http://127.0.0.1:9/botX/getMe")


async def test_parameters_travel_as_one_json_body() -> None:
    bodies: list[tuple[str, object]] = []

    async def record(request: web.Request) -> web.Response:
        if request.path.endswith("/getMe"):
            me = {"id": 1, "is_bot": True, "first_name": "Nhịp Cầu", "username": "nhipcau_bot"}
            return web.json_response({"ok": True, "result": me})
        bodies.append((request.content_type, json.loads(await request.read())))
        message = {"message_id": 1, "date": 0, "chat": {"id": 7, "type": "private"}, "text": "x"}
        return web.json_response({"ok": True, "result": message})

    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    async with serving(record) as url, Bot(TOKEN, f"{url}/bot", request=AiohttpRequest()) as bot:
        await bot.send_message(7, "Tuổi trẻ sáng tạo", reply_markup=keyboard)
    assert bodies == [
        (
            "application/json",
            {
                "chat_id": 7,
                "text": "Tuổi trẻ sáng tạo",
                "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},
            },
        )
    ]


def _update(update_id: int, user_id: int) -> Update:
    user = User(user_id, "U", is_bot=False)
    message = Message(update_id, datetime.now(), Chat(user_id, "private"), from_user=user)
    return Update(update_id, message=message)


async def test_one_persons_updates_run_in_order_and_others_run_alongside() -> None:
    processor = PerPersonUpdateProcessor(16)
    log: list[str] = []
    gate = asyncio.Event()

    async def handle(name: str, wait: bool) -> None:
        log.append(f"start {name}")
        if wait:
            await gate.wait()
        log.append(f"end {name}")

    first = asyncio.create_task(processor.process_update(_update(1, 100), handle("a1", True)))
    second = asyncio.create_task(processor.process_update(_update(2, 100), handle("a2", False)))
    other = asyncio.create_task(processor.process_update(_update(3, 200), handle("b1", False)))
    await other  # person 200 is not held up by person 100's slow update
    assert log == ["start a1", "start b1", "end b1"]
    assert processor.open_lanes == 1
    gate.set()
    await asyncio.gather(first, second)
    assert log[3:] == ["end a1", "start a2", "end a2"]
    assert processor.open_lanes == 0  # no lane outlives its work


async def test_the_next_poll_waits_only_while_many_updates_are_in_hand(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    processor = PerPersonUpdateProcessor(64)
    pauses: list[float] = []

    async def record_sleep(seconds: float) -> None:
        pauses.append(seconds)

    monkeypatch.setattr(lanes.asyncio, "sleep", record_sleep)
    await processor.pace_intake()
    monkeypatch.undo()
    assert pauses == []  # a quiet bot polls at once

    gate, all_in = asyncio.Event(), asyncio.Event()
    started = 0

    async def hold() -> None:
        nonlocal started
        started += 1
        if started == lanes.BUSY:
            all_in.set()
        await gate.wait()

    held = [
        asyncio.create_task(processor.process_update(_update(i, 300 + i), hold()))
        for i in range(lanes.BUSY)
    ]
    await all_in.wait()
    loop = asyncio.get_running_loop()
    before = loop.time()
    await processor.pace_intake()
    assert loop.time() - before >= lanes.PAUSE * 0.9  # a busy bot lets updates gather
    gate.set()
    await asyncio.gather(*held)
