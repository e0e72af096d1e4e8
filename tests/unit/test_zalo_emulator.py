"""The Zalo emulator answers like the Zalo Bot Platform: exact JSON over real HTTP.

Each test calls ``/zalo/bot<token>/<method>`` with raw aiohttp (the shapes are the point) and
checks both the answer and what the test client (:class:`ZaloUser`) records.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.emulator import BotApiEmulator

TOKEN = "12345689:abc-xyz"
USER_ID = "6ede9afa66b88fe6d6a9"
HEX_ID = re.compile(r"[0-9a-f]{20}")
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99"
    b"=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(zalo_token=TOKEN, zalo_allow_insecure_webhooks=True) as emulator:
        yield emulator


async def call(
    emu: BotApiEmulator, method: str, token: str = TOKEN, **params: Any
) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{emu.zalo_api_base_url}{token}/{method}", json=params) as response,
    ):
        return response.status, await response.json()


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Run ``app`` on a free loopback port; yields its base URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert isinstance(server, asyncio.Server)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def quota_exceeded() -> dict[str, Any]:
    return {"ok": False, "error_code": 429, "description": "Quota exceeded"}


# -- protocol basics ---------------------------------------------------------------------------
async def test_get_me_answers_by_post_and_get(emu: BotApiEmulator) -> None:
    expected = {
        "ok": True,
        "result": {
            "id": "12345689",
            "account_name": "bot.nhipcau",
            "account_type": "BASIC",
            "can_join_groups": False,
        },
    }
    assert await call(emu, "getMe") == (200, expected)
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{emu.zalo_api_base_url}{TOKEN}/getMe") as response,
    ):
        assert response.status == 200
        assert await response.json() == expected


async def test_wrong_token_is_401_and_unknown_method_is_404(emu: BotApiEmulator) -> None:
    assert await call(emu, "getMe", token="12345689:wrong") == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    not_found = {"ok": False, "error_code": 404, "description": "Not Found"}
    assert await call(emu, "sendDocument") == (404, not_found)
    # Method names are case-sensitive on Zalo.
    assert await call(emu, "getme") == (404, not_found)


async def test_parameters_come_from_query_string_and_form_too(emu: BotApiEmulator) -> None:
    user = emu.zalo_user(USER_ID, display_name="Ted")
    await user.send("Xin chào")
    url = f"{emu.zalo_api_base_url}{TOKEN}/sendMessage"
    async with aiohttp.ClientSession() as session:
        async with session.get(url, params={"chat_id": USER_ID, "text": "qua query"}) as response:
            assert response.status == 200
        async with session.post(url, data={"chat_id": USER_ID, "text": "qua form"}) as response:
            assert response.status == 200
        async with session.post(
            url, data=b"{not json", headers={"Content-Type": "application/json"}
        ) as response:
            assert response.status == 400
            assert (await response.json())[
                "description"
            ] == "Bad Request: can't parse the JSON body"
    assert [m.text for m in user.messages] == ["qua query", "qua form"]


# -- getUpdates --------------------------------------------------------------------------------
async def test_get_updates_hands_out_one_event_per_call_then_408(emu: BotApiEmulator) -> None:
    user = emu.zalo_user(USER_ID, display_name="Ted")
    first = await user.send("Xin chào")
    second = await user.send("1")
    status, body = await call(emu, "getUpdates", timeout="1")
    assert status == 200
    assert body == {"ok": True, "result": first}
    assert body["result"] == {
        "event_name": "message.text.received",
        "message": {
            "from": {"id": USER_ID, "display_name": "Ted", "is_bot": False},
            "chat": {"id": USER_ID, "chat_type": "PRIVATE"},
            "text": "Xin chào",
            "message_id": first["message"]["message_id"],
            "date": first["message"]["date"],
        },
    }
    assert HEX_ID.fullmatch(first["message"]["message_id"])
    assert abs(first["message"]["date"] - time.time() * 1000) < 60_000
    assert await call(emu, "getUpdates", timeout=1) == (200, {"ok": True, "result": second})

    started = time.monotonic()
    status, body = await call(emu, "getUpdates", timeout="0.2")
    waited = time.monotonic() - started
    assert (status, body) == (
        408,
        {"ok": False, "error_code": 408, "description": "Request timeout"},
    )
    assert 0.19 <= waited < 2
    assert emu.zalo.stats.events_polled == 2
    for bad in ("soon", "nan", "inf", True):
        assert await call(emu, "getUpdates", timeout=bad) == (
            400,
            {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: timeout must be a number",
            },
        ), bad


async def test_a_waiting_poll_wakes_as_soon_as_an_event_arrives(emu: BotApiEmulator) -> None:
    user = emu.zalo_user(USER_ID)
    poll = asyncio.create_task(call(emu, "getUpdates", timeout=20))
    await emu.zalo.wait_until(lambda: emu.zalo.waiting_polls == 1)
    started = time.monotonic()
    event = await user.send("có ai không?")
    status, body = await asyncio.wait_for(poll, 5)
    assert time.monotonic() - started < 2
    assert (status, body["result"]) == (200, event)


async def test_stopping_the_emulator_releases_a_waiting_poll() -> None:
    emulator = BotApiEmulator(zalo_token=TOKEN)
    await emulator.start()
    poll = asyncio.create_task(call(emulator, "getUpdates", timeout=30))
    await emulator.zalo.wait_until(lambda: emulator.zalo.waiting_polls == 1)
    started = time.monotonic()
    await emulator.stop()
    status, body = await asyncio.wait_for(poll, 5)
    assert (status, body["error_code"]) == (408, 408)
    assert time.monotonic() - started < 5


async def test_events_sent_while_nobody_polls_can_be_lost_when_asked(emu: BotApiEmulator) -> None:
    emu.zalo.drop_unpolled_events = True
    user = emu.zalo_user(USER_ID)
    await user.send("lúc bot không nghe")
    assert emu.zalo.stats.events_lost == 1
    assert (await call(emu, "getUpdates", timeout=0.1))[0] == 408
    poll = asyncio.create_task(call(emu, "getUpdates", timeout=20))
    await emu.zalo.wait_until(lambda: emu.zalo.waiting_polls == 1)
    event = await user.send("lúc bot đang nghe")
    assert (await poll)[1]["result"] == event


async def test_each_event_kind_has_zalos_shape(emu: BotApiEmulator) -> None:
    user = emu.zalo_user(USER_ID, display_name="Ted")
    image = await user.send_image(PNG, caption="Ảnh minh chứng", content_type="image/png")
    linked = await user.send_image("https://example.org/a.jpg")
    sticker = await user.send_sticker("abc123")
    voice = await user.send_voice()
    protected = await user.send_unsupported()
    events = [(await call(emu, "getUpdates", timeout=1))[1]["result"] for _ in range(5)]
    assert events == [image, linked, sticker, voice, protected]
    assert [e["event_name"] for e in events] == [
        "message.image.received",
        "message.image.received",
        "message.sticker.received",
        "message.voice.received",
        "message.unsupported.received",
    ]
    photo_url = image["message"]["photo"]
    assert photo_url.startswith(f"{emu.url}/zalo/cdn/")
    assert image["message"]["caption"] == "Ảnh minh chứng"
    async with aiohttp.ClientSession() as session, session.get(photo_url) as response:
        assert response.status == 200
        assert response.content_type == "image/png"
        assert await response.read() == PNG
    assert linked["message"]["photo"] == "https://example.org/a.jpg"
    assert "caption" not in linked["message"]
    assert sticker["message"]["sticker"] == "abc123"
    assert sticker["message"]["url"] == f"{emu.url}/zalo/cdn/sticker-abc123.webp"
    assert voice["message"]["url"].startswith(f"{emu.url}/zalo/cdn/")
    # A protected user's event carries who and where, never what.
    assert set(protected["message"]) == {"from", "chat", "message_id", "date"}


# -- sending -----------------------------------------------------------------------------------
async def test_send_message_answers_an_id_and_the_user_sees_it(emu: BotApiEmulator) -> None:
    user = emu.zalo_user(USER_ID)
    await user.send("Xin chào")
    status, body = await call(emu, "sendMessage", chat_id=USER_ID, text="Chào bạn!\nGõ 1 để …")
    assert status == 200
    assert set(body) == {"ok", "result"}
    assert set(body["result"]) == {"message_id", "date"}
    message = await user.next_message()
    assert message.text == "Chào bạn!\nGõ 1 để …"
    assert message.message_id == body["result"]["message_id"]
    assert HEX_ID.fullmatch(message.message_id)
    assert message.date == body["result"]["date"]
    assert message.chat_id == USER_ID
    assert emu.zalo.stats.sent_messages == 1


async def test_send_message_text_must_be_1_to_2000_characters(emu: BotApiEmulator) -> None:
    user = emu.zalo_user(USER_ID)
    await user.send("Xin chào")
    refused = {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: text must be 1 to 2000 characters",
    }
    assert await call(emu, "sendMessage", chat_id=USER_ID, text="") == (400, refused)
    assert await call(emu, "sendMessage", chat_id=USER_ID) == (400, refused)
    assert await call(emu, "sendMessage", chat_id=USER_ID, text="ạ" * 2001) == (400, refused)
    assert (await call(emu, "sendMessage", chat_id=USER_ID, text="ạ" * 2000))[0] == 200
    assert [len(m.text) for m in user.messages] == [2000]
    status, body = await call(emu, "sendMessage", chat_id=USER_ID, text="x", parse_mode="bbcode")
    assert (status, body["description"]) == (
        400,
        "Bad Request: parse_mode must be markdown or html",
    )


async def test_the_bot_can_only_write_to_people_who_wrote_to_it(emu: BotApiEmulator) -> None:
    not_found = {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: chat not found (the user has not messaged the bot)",
    }
    assert await call(emu, "sendMessage", chat_id="ffffffffffffffffffff", text="Chào") == (
        400,
        not_found,
    )
    silent = emu.zalo_user(USER_ID)
    assert await call(emu, "sendMessage", chat_id=USER_ID, text="Chào") == (400, not_found)
    assert await call(emu, "sendChatAction", chat_id=USER_ID, action="typing") == (400, not_found)
    status, body = await call(emu, "sendMessage", text="Chào")
    assert (status, body["description"]) == (400, "Bad Request: chat_id is required")
    await silent.send("Xin chào")
    assert (await call(emu, "sendMessage", chat_id=USER_ID, text="Chào"))[0] == 200
    silent.block()
    assert await call(emu, "sendMessage", chat_id=USER_ID, text="Chào") == (
        403,
        {"ok": False, "error_code": 403, "description": "Forbidden: the user has blocked the bot"},
    )
    assert [m.text for m in silent.messages] == ["Chào"]


async def test_send_photo_downloads_the_url_like_zalo(emu: BotApiEmulator) -> None:
    async def image(request: web.Request) -> web.Response:
        return web.Response(body=PNG, content_type="image/png")

    async def page(request: web.Request) -> web.Response:
        return web.Response(text="<html></html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/qr.png", image)
    app.router.add_get("/page", page)
    user = emu.zalo_user(USER_ID)
    await user.send("Xin chào")
    async with serve(app) as base:
        status, body = await call(
            emu, "sendPhoto", chat_id=USER_ID, photo=f"{base}/qr.png", caption="Mã QR của bạn"
        )
        assert status == 200
        assert set(body["result"]) == {"message_id", "date"}
        message = await user.next_message()
        assert (message.kind, message.photo_url, message.caption) == (
            "photo",
            f"{base}/qr.png",
            "Mã QR của bạn",
        )
        assert message.photo is not None
        assert (message.photo.content, message.photo.content_type) == (PNG, "image/png")
        # The emulator keeps its own copy, as Zalo's CDN would.
        async with aiohttp.ClientSession() as session, session.get(message.photo.url) as response:
            assert await response.read() == PNG

        for url, description in [
            (f"{base}/missing.png", "Bad Request: can't download the photo (HTTP 404)"),
            (f"{base}/page", "Bad Request: the photo URL is not an image"),
            ("http://127.0.0.1:9/nothing.png", "Bad Request: can't download the photo"),
            ("ftp://example.org/a.png", "Bad Request: photo must be the URL of an image"),
            ("", "Bad Request: photo is required"),
        ]:
            assert await call(emu, "sendPhoto", chat_id=USER_ID, photo=url) == (
                400,
                {"ok": False, "error_code": 400, "description": description},
            ), url
    assert len(user.messages) == 1
    assert emu.zalo.stats.sent_photos == 1


async def test_stickers_and_chat_actions(emu: BotApiEmulator) -> None:
    user = emu.zalo_user(USER_ID)
    await user.send("Xin chào")
    assert (await call(emu, "sendSticker", chat_id=USER_ID, sticker="bfe458bf"))[0] == 200
    assert (await user.next_message()).sticker == "bfe458bf"
    assert await call(emu, "sendChatAction", chat_id=USER_ID, action="typing") == (
        200,
        {"ok": True, "result": True},
    )
    assert user.last_chat_action == "typing"
    status, body = await call(emu, "sendChatAction", chat_id=USER_ID, action="dancing")
    assert (status, body["description"]) == (
        400,
        "Bad Request: action must be typing or upload_photo",
    )
    status, body = await call(emu, "sendSticker", chat_id=USER_ID)
    assert (status, body["description"]) == (400, "Bad Request: sticker is required")


# -- webhook -----------------------------------------------------------------------------------
class Receiver:
    """A bot's webhook endpoint: checks the secret as a bot must, records what came."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.bodies: list[Any] = []
        self.headers: list[str | None] = []

    async def handle(self, request: web.Request) -> web.Response:
        header = request.headers.get("X-Bot-Api-Secret-Token")
        self.headers.append(header)
        if header != self.secret:
            return web.Response(status=403)
        self.bodies.append(await request.json())
        return web.json_response({"message": "Success"})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/zalo-webhook", self.handle)
        return app


async def test_webhook_set_info_delivery_and_delete(emu: BotApiEmulator) -> None:
    receiver = Receiver("s3cret-token")
    user = emu.zalo_user(USER_ID, display_name="Ted")
    async with serve(receiver.app()) as base:
        url = f"{base}/zalo-webhook"
        status, body = await call(emu, "setWebhook", url=url, secret_token="s3cret-token")
        assert status == 200
        assert body["result"]["url"] == url
        updated_at = body["result"]["updated_at"]
        assert isinstance(updated_at, int) and abs(updated_at - time.time() * 1000) < 60_000
        assert await call(emu, "getWebhookInfo") == (
            200,
            {"ok": True, "result": {"url": url, "updated_at": updated_at}},
        )
        status, body = await call(emu, "getUpdates", timeout=0.1)
        assert (status, body["description"]) == (
            400,
            "Bad Request: webhook is active, call deleteWebhook before getUpdates",
        )

        event = await user.send("Xin chào")
        delivery = await emu.zalo.wait_for_delivery(event["message"]["message_id"])
        assert (delivery.status, delivery.error, delivery.accepted) == (200, None, True)
        assert delivery.event_name == "message.text.received"
        assert receiver.bodies == [{"ok": True, "result": event}]
        assert receiver.headers == ["s3cret-token"]
        assert emu.zalo.stats.webhook_deliveries == 1

        status, body = await call(emu, "deleteWebhook")
        assert status == 200
        assert body["result"]["url"] == ""
        assert (await call(emu, "getWebhookInfo"))[1]["result"]["url"] == ""
        later = await user.send("sau khi xoá webhook")
        assert await call(emu, "getUpdates", timeout=1) == (200, {"ok": True, "result": later})
    assert len(receiver.bodies) == 1


async def test_a_wrong_secret_is_answered_403_and_recorded_not_retried(
    emu: BotApiEmulator,
) -> None:
    receiver = Receiver("the-bot-expects-this")
    user = emu.zalo_user(USER_ID)
    async with serve(receiver.app()) as base:
        await call(emu, "setWebhook", url=f"{base}/zalo-webhook", secret_token="another-secret")
        event = await user.send("Xin chào")
        delivery = await emu.zalo.wait_for_delivery(event["message"]["message_id"])
    assert (delivery.status, delivery.accepted) == (403, False)
    assert receiver.headers == ["another-secret"]
    assert emu.zalo.stats.webhook_failures == 1
    assert emu.zalo.pending_events == 0


async def test_an_unreachable_webhook_is_recorded_with_its_error(emu: BotApiEmulator) -> None:
    user = emu.zalo_user(USER_ID)
    await call(emu, "setWebhook", url="http://127.0.0.1:9/hook", secret_token="12345678")
    event = await user.send("Xin chào")
    delivery = await emu.zalo.wait_for_delivery(event["message"]["message_id"])
    assert delivery.status is None
    assert delivery.error is not None and "Connect" in delivery.error


async def test_set_webhook_validates_url_and_secret(emu: BotApiEmulator) -> None:
    async def refused(description: str, **params: Any) -> None:
        assert await call(emu, "setWebhook", **params) == (
            400,
            {"ok": False, "error_code": 400, "description": f"Bad Request: {description}"},
        ), params

    public = "https://bot.example.org/zalo"
    await refused("url is required", secret_token="12345678")
    await refused("secret_token is required", url=public)
    await refused("secret_token must be 8 to 256 characters", url=public, secret_token="1234567")
    await refused("secret_token must be 8 to 256 characters", url=public, secret_token="x" * 257)
    await refused(
        "secret_token contains unallowed characters", url=public, secret_token="bí mật 123"
    )
    assert (await call(emu, "setWebhook", url=public, secret_token="x" * 256))[0] == 200
    assert (await call(emu, "setWebhook", url=public, secret_token="12345678"))[0] == 200
    assert (await call(emu, "setWebhook", url="http://127.0.0.1:8443/z", secret_token="12345678"))[
        0
    ] == 200

    # Without the test option, as on Zalo: public https only.
    emu.zalo.allow_insecure_webhooks = False
    for url in [
        "http://bot.example.org/zalo",
        "https://127.0.0.1/zalo",
        "https://localhost:8443/zalo",
        "https://10.1.2.3/zalo",
        "https://[::1]/zalo",
        "not a url",
    ]:
        await refused("url must be a public https URL", url=url, secret_token="12345678")
    assert (await call(emu, "setWebhook", url=public, secret_token="12345678"))[0] == 200
    assert (await call(emu, "getWebhookInfo"))[1]["result"]["url"] == public
    await call(emu, "deleteWebhook")


async def test_events_queued_before_a_webhook_are_delivered_to_it(emu: BotApiEmulator) -> None:
    receiver = Receiver("12345678")
    user = emu.zalo_user(USER_ID)
    first = await user.send("một")
    second = await user.send("hai")
    async with serve(receiver.app()) as base:
        await call(emu, "setWebhook", url=f"{base}/zalo-webhook", secret_token="12345678")
        await emu.zalo.wait_until(lambda: len(receiver.bodies) == 2)
    assert receiver.bodies == [{"ok": True, "result": first}, {"ok": True, "result": second}]


# -- rate limits and faults --------------------------------------------------------------------
async def test_per_chat_and_global_limits_answer_quota_exceeded(emu: BotApiEmulator) -> None:
    first, second = emu.zalo_user("a" * 20), emu.zalo_user("b" * 20)
    await first.send("hi")
    await second.send("hi")
    emu.zalo.per_chat_rate_limit = 2
    assert (await call(emu, "sendMessage", chat_id=first.user_id, text="1"))[0] == 200
    assert (await call(emu, "sendMessage", chat_id=first.user_id, text="2"))[0] == 200
    assert await call(emu, "sendMessage", chat_id=first.user_id, text="3") == (
        429,
        quota_exceeded(),
    )
    assert (await call(emu, "sendMessage", chat_id=second.user_id, text="1"))[0] == 200

    emu.zalo.per_chat_rate_limit = None
    emu.zalo.global_rate_limit = 1
    assert (await call(emu, "sendMessage", chat_id=second.user_id, text="2"))[0] == 200
    assert await call(emu, "sendMessage", chat_id=first.user_id, text="4") == (
        429,
        quota_exceeded(),
    )
    assert [m.text for m in first.messages] == ["1", "2"]
    assert [m.text for m in second.messages] == ["1", "2"]
    assert emu.zalo.stats.rate_limited == 2
    assert emu.zalo.stats.injected_failures == 0
    # Per-chat send times, for benchmarks that check spacing.
    assert first.messages[0].sent_at <= first.messages[1].sent_at


async def test_injected_quota_errors_next_n_and_fraction(emu: BotApiEmulator) -> None:
    user = emu.zalo_user(USER_ID)
    await user.send("hi")
    emu.zalo.fail_next(2)
    assert await call(emu, "sendMessage", chat_id=USER_ID, text="1") == (429, quota_exceeded())
    assert (await call(emu, "getMe"))[0] == 200  # not a send method: not counted
    assert await call(emu, "sendPhoto", chat_id=USER_ID, photo="x") == (429, quota_exceeded())
    assert (await call(emu, "sendMessage", chat_id=USER_ID, text="2"))[0] == 200

    emu.zalo.fail_next(1, methods=["getUpdates"])
    assert await call(emu, "getUpdates", timeout=0) == (429, quota_exceeded())

    emu.zalo.fail_fraction(0.5, seed=7)
    statuses = [(await call(emu, "sendMessage", chat_id=USER_ID, text="x"))[0] for _ in range(200)]
    assert 60 <= statuses.count(429) <= 140
    assert set(statuses) == {200, 429}
    emu.zalo.fail_fraction(0)
    assert (await call(emu, "sendMessage", chat_id=USER_ID, text="3"))[0] == 200
    stats = emu.zalo.stats
    assert stats.injected_failures == 3 + statuses.count(429)
    assert stats.rate_limited == stats.injected_failures
    assert stats.sent_messages == 2 + statuses.count(200)
    assert stats.method_calls["sendMessage"] == 203


async def test_many_sends_stay_fast(emu: BotApiEmulator) -> None:
    # O(1) per call: 2,000 sends with both limits on take about as long as 2,000 requests.
    user = emu.zalo_user(USER_ID)
    await user.send("hi")
    emu.zalo.global_rate_limit = 100_000
    emu.zalo.per_chat_rate_limit = 100_000
    url = f"{emu.zalo_api_base_url}{TOKEN}/sendMessage"
    started = time.monotonic()
    async with aiohttp.ClientSession() as session:

        async def send(i: int) -> int:
            async with session.post(url, json={"chat_id": USER_ID, "text": str(i)}) as response:
                return response.status

        for start in range(0, 2000, 100):
            statuses = await asyncio.gather(*(send(i) for i in range(start, start + 100)))
            assert set(statuses) == {200}
    assert len(user.messages) == 2000
    assert time.monotonic() - started < 30


# -- the test client ---------------------------------------------------------------------------
async def test_waiting_for_the_bot_is_event_driven(emu: BotApiEmulator) -> None:
    user = emu.zalo_user(USER_ID)
    await user.send("hi")
    with pytest.raises(TimeoutError, match="No new bot message to Zalo user"):
        await user.next_message(timeout=0.05)

    waiting = asyncio.create_task(user.wait_for(lambda m: m.text.startswith("Gõ 1"), timeout=5))
    await asyncio.sleep(0)  # let it start waiting (a yield, not a pause)
    assert not waiting.done()
    await call(emu, "sendMessage", chat_id=USER_ID, text="Chưa phải")
    await call(emu, "sendMessage", chat_id=USER_ID, text="Gõ 1 để đăng ký")
    message = await waiting
    assert message.text == "Gõ 1 để đăng ký"
    assert user.last_message is message
    await call(emu, "sendMessage", chat_id=USER_ID, text="cũ")
    user.skip_pending()
    await call(emu, "sendMessage", chat_id=USER_ID, text="mới")
    assert (await user.next_message()).text == "mới"
    assert emu.zalo_user(USER_ID) is user
    assert "hi" in user.dump() and "mới" in user.dump()


# -- the web chat's Zalo pane ------------------------------------------------------------------
async def test_web_chat_zalo_endpoints(emu: BotApiEmulator) -> None:
    async with aiohttp.ClientSession(base_url=emu.url) as session:
        async with session.post("/chat/api/zalo/session", json={"random": True}) as response:
            body = await response.json()
        assert HEX_ID.fullmatch(body["user_id"])
        assert body["name"] == f"Khách {body['user_id'][-4:]}"
        assert body["bot"] == "Bot Nhịp Cầu"
        user = emu.zalo.chat(body["user_id"])
        assert user is not None

        async with session.post(
            "/chat/api/zalo/send", json={"user_id": user.user_id, "text": "1"}
        ) as response:
            assert response.status == 200
        async with session.post(
            "/chat/api/zalo/send", json={"user_id": "nobody", "text": "1"}
        ) as response:
            assert response.status == 404
        async with session.post(
            "/chat/api/zalo/send", json={"user_id": user.user_id, "text": "  "}
        ) as response:
            assert response.status == 400
        form = aiohttp.FormData()
        form.add_field("user_id", user.user_id)
        form.add_field("file", b"%PDF-1.4", filename="a.pdf", content_type="application/pdf")
        async with session.post("/chat/api/zalo/upload", data=form) as response:
            assert response.status == 400  # Zalo takes photos only
        await call(emu, "sendMessage", chat_id=user.user_id, text="Bạn vừa gõ: 1")
        async with session.get(
            "/chat/api/zalo/updates", params={"user_id": user.user_id, "cursor": "0"}
        ) as response:
            updates = await response.json()
    assert updates == {
        "cursor": 2,
        "items": [
            {"kind": "user", "id": 0, "text": "1"},
            {"kind": "bot", "id": 0, "text": "Bạn vừa gõ: 1"},
        ],
    }
    assert [e["message"]["text"] for e in user.sent_events] == ["1"]
