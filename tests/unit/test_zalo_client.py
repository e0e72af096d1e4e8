"""ZaloBotApi against the Zalo emulator over real HTTP, and ZaloEvent parsing.

Every method's success and error shapes; the token must never show in an error or a log line.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from bot.channels.zalo.client import (
    ZALO_API_BASE_URL,
    ZaloApiError,
    ZaloBotApi,
    ZaloBotInfo,
    ZaloError,
    ZaloEvent,
    ZaloEventKind,
    ZaloForbidden,
    ZaloNetworkError,
    ZaloRateLimited,
    ZaloUnauthorized,
    is_valid_token,
    parse_event,
    webhook_secret_matches,
)
from bot.emulator import BotApiEmulator

TOKEN = "12345689:abc-xyz_SECRET"
SECRET_PART = "abc-xyz_SECRET"
USER_ID = "6ede9afa66b88fe6d6a9"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99"
    b"=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture
async def emu() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(zalo_token=TOKEN, zalo_allow_insecure_webhooks=True) as emulator:
        yield emulator


@pytest.fixture
async def api(emu: BotApiEmulator) -> AsyncIterator[ZaloBotApi]:
    async with ZaloBotApi(emu.zalo_api_base_url, TOKEN) as client:
        yield client


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server
    assert isinstance(server, asyncio.Server)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        await runner.cleanup()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def assert_no_token(error: BaseException) -> None:
    """Neither the token nor its secret half in anything a log could print of ``error``."""
    shown = [
        str(error),
        repr(error),
        repr(error.args),
        "".join(traceback.format_exception(error)),
        repr(vars(error)),
    ]
    for text in shown:
        assert TOKEN not in text
        assert SECRET_PART not in text


# -- token and helpers -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("token", "valid"),
    [
        ("12345689:abc-xyz", True),
        ("1:A_b-9", True),
        ("12345689:", False),
        (":abc", False),
        ("abc:def", False),
        ("12345689:abc xyz", False),
        ("12345689:abc/xyz", False),
        ("12345689:abc-xyz\n", False),
        (" 12345689:abc", False),
        ("12345689:ạbc", False),
        ("", False),
    ],
)
def test_token_form(token: str, valid: bool) -> None:
    assert is_valid_token(token) is valid


def test_a_malformed_token_is_refused_without_being_echoed() -> None:
    with pytest.raises(ValueError) as caught:
        ZaloBotApi(ZALO_API_BASE_URL, "12345689:abc/SECRET")
    assert "SECRET" not in str(caught.value)
    assert SECRET_PART not in repr(ZaloBotApi(ZALO_API_BASE_URL, TOKEN))
    assert ZaloBotApi(ZALO_API_BASE_URL, TOKEN).bot_id == "12345689"


def test_webhook_secret_check() -> None:
    assert webhook_secret_matches("s3cret-token", "s3cret-token")
    assert not webhook_secret_matches("s3cret-tokem", "s3cret-token")
    assert not webhook_secret_matches(None, "s3cret-token")
    assert not webhook_secret_matches("", "")
    assert not webhook_secret_matches("bí mật", "s3cret-token")


# -- methods -----------------------------------------------------------------------------------
async def test_get_me(api: ZaloBotApi) -> None:
    assert await api.get_me() == ZaloBotInfo(
        id="12345689", account_name="bot.nhipcau", account_type="BASIC", can_join_groups=False
    )


async def test_get_update_parses_each_kind_of_event(emu: BotApiEmulator, api: ZaloBotApi) -> None:
    user = emu.zalo_user(USER_ID, display_name="Ted")
    sent = [
        await user.send("Xin chào"),
        await user.send_image(PNG, caption="Minh chứng", content_type="image/png"),
        await user.send_sticker("bfe458bf"),
        await user.send_voice(),
        await user.send_unsupported(),
    ]
    events = [await api.get_update(timeout=1) for _ in sent]
    assert all(isinstance(event, ZaloEvent) for event in events)
    text, image, sticker, voice, protected = (e for e in events if e is not None)
    date = dt.datetime.fromtimestamp(sent[0]["message"]["date"] / 1000, tz=dt.UTC)
    assert text == ZaloEvent(
        kind=ZaloEventKind.TEXT,
        event_name="message.text.received",
        user_id=USER_ID,
        display_name="Ted",
        is_bot=False,
        chat_id=USER_ID,
        chat_type="PRIVATE",
        message_id=sent[0]["message"]["message_id"],
        date=date,
        text="Xin chào",
    )
    assert text.date is not None and text.date.tzinfo is dt.UTC
    assert (image.kind, image.photo_url, image.caption, image.text) == (
        ZaloEventKind.IMAGE,
        sent[1]["message"]["photo"],
        "Minh chứng",
        None,
    )
    assert (sticker.kind, sticker.sticker, sticker.sticker_url) == (
        ZaloEventKind.STICKER,
        "bfe458bf",
        sent[2]["message"]["url"],
    )
    assert (voice.kind, voice.voice_url) == (ZaloEventKind.VOICE, sent[3]["message"]["url"])
    assert protected.kind is ZaloEventKind.UNSUPPORTED
    assert (protected.chat_id, protected.text, protected.photo_url) == (USER_ID, None, None)
    assert [e.message_id for e in (text, image, sticker, voice, protected)] == [
        s["message"]["message_id"] for s in sent
    ]


async def test_an_empty_poll_is_none(api: ZaloBotApi) -> None:
    assert await api.get_update(timeout=0.1) is None


async def test_a_malformed_event_through_http_is_unknown(
    emu: BotApiEmulator, api: ZaloBotApi
) -> None:
    emu.zalo.inject_event({"event_name": "message.text.received", "message": {"text": 5}})
    emu.zalo.inject_event(["not", "an", "event"])
    emu.zalo.inject_event({"event_name": "message.reaction.received", "message": {}})
    first, second, third = [await api.get_update(timeout=1) for _ in range(3)]
    assert first == ZaloEvent(ZaloEventKind.UNKNOWN, "message.text.received")
    assert second == ZaloEvent(ZaloEventKind.UNKNOWN)
    assert third is not None and third.kind is ZaloEventKind.UNKNOWN
    assert third.event_name == "message.reaction.received"


async def test_send_message_returns_the_id_the_user_sees(
    emu: BotApiEmulator, api: ZaloBotApi
) -> None:
    user = emu.zalo_user(USER_ID)
    await user.send("Xin chào")
    message_id = await api.send_message(USER_ID, "Chào bạn!\nGõ 1 để xem hoạt động.")
    message = await user.next_message()
    assert (message.message_id, message.text) == (message_id, "Chào bạn!\nGõ 1 để xem hoạt động.")
    await api.send_message(USER_ID, "*đậm*", parse_mode="markdown")
    assert (await user.next_message()).parse_mode == "markdown"


async def test_send_message_errors(emu: BotApiEmulator, api: ZaloBotApi) -> None:
    user = emu.zalo_user(USER_ID)
    with pytest.raises(ZaloApiError) as caught:
        await api.send_message(USER_ID, "Chào")  # the user has not written yet
    assert (caught.value.error_code, caught.value.method) == (400, "sendMessage")
    assert caught.value.description == (
        "Bad Request: chat not found (the user has not messaged the bot)"
    )
    await user.send("Xin chào")
    for text in ("", "a" * 2001):
        with pytest.raises(ZaloApiError) as caught:
            await api.send_message(USER_ID, text)
        assert caught.value.error_code == 400
        assert str(caught.value) == (
            "Zalo sendMessage failed: 400 Bad Request: text must be 1 to 2000 characters"
        )
    user.block()
    with pytest.raises(ZaloForbidden):
        await api.send_message(USER_ID, "Chào")
    assert user.messages == []


async def test_send_photo_sticker_and_chat_action(emu: BotApiEmulator, api: ZaloBotApi) -> None:
    async def image(request: web.Request) -> web.Response:
        return web.Response(body=PNG, content_type="image/png")

    app = web.Application()
    app.router.add_get("/qr.png", image)
    user = emu.zalo_user(USER_ID)
    await user.send("Xin chào")
    async with serve(app) as base:
        photo_id = await api.send_photo(USER_ID, f"{base}/qr.png", caption="Mã QR")
        photo = await user.next_message()
        assert (photo.message_id, photo.caption) == (photo_id, "Mã QR")
        assert photo.photo is not None and photo.photo.content == PNG
        with pytest.raises(ZaloApiError) as caught:
            await api.send_photo(USER_ID, f"{base}/gone.png")
        assert caught.value.error_code == 400
        assert caught.value.description == "Bad Request: can't download the photo (HTTP 404)"
    sticker_id = await api.send_sticker(USER_ID, "bfe458bf")
    assert (await user.next_message()).message_id == sticker_id
    await api.send_chat_action(USER_ID)
    assert user.last_chat_action == "typing"
    with pytest.raises(ZaloApiError):
        await api.send_chat_action(USER_ID, "recording")


async def test_webhook_set_info_delete(emu: BotApiEmulator, api: ZaloBotApi) -> None:
    url = "https://bot.example.org/zalo"
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    info = await api.set_webhook(url, "s3cret-token")
    assert info.url == url
    assert info.updated_at is not None and info.updated_at >= before
    assert await api.get_webhook_info() == info
    with pytest.raises(ZaloApiError) as caught:
        await api.get_update(timeout=0.1)
    assert caught.value.error_code == 400
    with pytest.raises(ZaloApiError) as caught:
        await api.set_webhook(url, "short")
    assert caught.value.description == "Bad Request: secret_token must be 8 to 256 characters"
    deleted = await api.delete_webhook()
    assert deleted.url == ""
    assert (await api.get_webhook_info()).url == ""
    assert await api.get_update(timeout=0.05) is None


async def test_rate_limits_raise_zalo_rate_limited(emu: BotApiEmulator, api: ZaloBotApi) -> None:
    user = emu.zalo_user(USER_ID)
    await user.send("Xin chào")
    emu.zalo.fail_next(1)
    with pytest.raises(ZaloRateLimited) as caught:
        await api.send_message(USER_ID, "một")
    assert (caught.value.error_code, caught.value.description) == (429, "Quota exceeded")
    emu.zalo.per_chat_rate_limit = 1
    await api.send_message(USER_ID, "hai")
    with pytest.raises(ZaloRateLimited):
        await api.send_message(USER_ID, "ba")
    assert [m.text for m in user.messages] == ["hai"]


async def test_a_wrong_token_raises_unauthorized(emu: BotApiEmulator) -> None:
    async with ZaloBotApi(emu.zalo_api_base_url, "12345689:wrong-SECRET") as api:
        with pytest.raises(ZaloUnauthorized) as caught:
            await api.get_me()
    assert (caught.value.error_code, caught.value.description) == (401, "Unauthorized")
    assert "wrong-SECRET" not in str(caught.value)


async def test_an_answer_that_is_not_zalos_is_an_api_error(emu: BotApiEmulator) -> None:
    # A wrong base URL: the server answers its own 404 page, not Zalo's JSON.
    async with ZaloBotApi(f"{emu.url}/nothing/bot", TOKEN) as api:
        with pytest.raises(ZaloApiError) as caught:
            await api.get_me()
    assert (caught.value.error_code, caught.value.description) == (
        404,
        "unexpected answer (HTTP 404)",
    )
    assert_no_token(caught.value)


# -- the token never shows ---------------------------------------------------------------------
async def test_the_token_never_shows_in_errors_or_logs(
    emu: BotApiEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[ZaloError] = []

    async def failing(api: ZaloBotApi, call: Any) -> None:
        with pytest.raises(ZaloError) as caught:
            await call(api)
        errors.append(caught.value)

    # Zalo echoing the token back in a description (it does not, but a proxy might).
    async def echo(request: web.Request) -> web.Response:
        return web.json_response(
            {"ok": False, "error_code": 400, "description": f"bad path {request.path}"}
        )

    release = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        await release.wait()
        return web.json_response({"ok": True, "result": {}})

    app = web.Application()
    app.router.add_route("*", "/echo/{tail:.*}", echo)
    app.router.add_route("*", "/slow/{tail:.*}", slow)
    async with serve(app) as base:
        async with ZaloBotApi(f"http://127.0.0.1:{closed_port()}/bot", TOKEN) as api:
            await failing(api, lambda a: a.get_me())
        async with ZaloBotApi(f"{base}/echo/bot", TOKEN) as api:
            await failing(api, lambda a: a.send_message(USER_ID, "x"))
        async with ZaloBotApi(f"{base}/slow/bot", TOKEN, request_timeout=0.1) as api:
            await failing(api, lambda a: a.get_webhook_info())
        release.set()
        async with ZaloBotApi("http://[not-a-host/bot", TOKEN) as api:
            await failing(api, lambda a: a.get_me())
        async with ZaloBotApi(emu.zalo_api_base_url, TOKEN) as api:
            await failing(api, lambda a: a.send_message("unknown", "x"))
            emu.zalo.fail_next(1, methods=["getMe"])
            await failing(api, lambda a: a.get_me())

    refused, echoed, timed_out, bad_url, api_error, limited = errors
    assert isinstance(refused, ZaloNetworkError) and refused.method == "getMe"
    assert "ClientConnectorError" in refused.reason
    assert isinstance(echoed, ZaloApiError)
    assert echoed.description == "bad path /echo/bot<token>/sendMessage"
    assert isinstance(timed_out, ZaloNetworkError) and "Timeout" in timed_out.reason
    assert isinstance(bad_url, ZaloNetworkError)
    assert bad_url.reason == "InvalidUrlClientError: http://[not-a-host/bot<token>/getMe"
    assert isinstance(api_error, ZaloApiError) and api_error.error_code == 400
    assert isinstance(limited, ZaloRateLimited)
    for error in errors:
        assert_no_token(error)
        assert error.__cause__ is None
    logged = "\n".join(
        f"{record.name} {record.getMessage()} {record.exc_text or ''}" for record in caplog.records
    )
    assert "Zalo getMe got no answer" in logged
    assert TOKEN not in logged
    assert SECRET_PART not in logged


async def test_a_shared_session_stays_open(emu: BotApiEmulator) -> None:
    async with aiohttp.ClientSession() as session:
        async with ZaloBotApi(emu.zalo_api_base_url, TOKEN, session=session) as api:
            await api.get_me()
        assert not session.closed
        await ZaloBotApi(emu.zalo_api_base_url, TOKEN, session=session).get_me()


# -- parsing -----------------------------------------------------------------------------------
TEXT_EVENT: dict[str, Any] = {
    "event_name": "message.text.received",
    "message": {
        "from": {"id": USER_ID, "display_name": "Ted", "is_bot": False},
        "chat": {"id": USER_ID, "chat_type": "PRIVATE"},
        "text": "Xin chào",
        "message_id": "2d758cb5e222177a4e35",
        "date": 1750316131602,
    },
}


def test_a_documented_event_wrapped_or_bare() -> None:
    expected = ZaloEvent(
        kind=ZaloEventKind.TEXT,
        event_name="message.text.received",
        user_id=USER_ID,
        display_name="Ted",
        chat_id=USER_ID,
        chat_type="PRIVATE",
        message_id="2d758cb5e222177a4e35",
        date=dt.datetime(2025, 6, 19, 6, 55, 31, 602000, tzinfo=dt.UTC),
        text="Xin chào",
    )
    assert parse_event(TEXT_EVENT) == expected
    assert parse_event({"ok": True, "result": TEXT_EVENT}) == expected


def with_message(**changes: Any) -> dict[str, Any]:
    message = {**TEXT_EVENT["message"], **changes}
    return {**TEXT_EVENT, "message": {k: v for k, v in message.items() if v is not None}}


@pytest.mark.parametrize(
    "data",
    [
        None,
        "message.text.received",
        42,
        [],
        {},
        {"ok": True, "result": None},
        {"event_name": "message.text.received"},
        {"event_name": "message.text.received", "message": "Xin chào"},
        {"event_name": 7, "message": TEXT_EVENT["message"]},
        {"event_name": "message.location.received", "message": TEXT_EVENT["message"]},
        with_message(text=None),
        with_message(text=["Xin", "chào"]),
        with_message(chat={"id": None, "chat_type": "GROUP"}),
        with_message(chat="6ede9afa66b88fe6d6a9", **{"from": "Ted"}),
        {"event_name": "message.image.received", "message": TEXT_EVENT["message"]},
    ],
)
def test_a_malformed_event_is_unknown_and_never_raises(data: Any) -> None:
    assert parse_event(data).kind is ZaloEventKind.UNKNOWN


@pytest.mark.parametrize(
    ("changes", "field", "value"),
    [
        ({"date": "not a date"}, "date", None),
        ({"date": 10**30}, "date", None),
        ({"date": True}, "date", None),
        ({"date": "1750316131602"}, "date", dt.datetime(2025, 6, 19, 6, 55, 31, 602000, dt.UTC)),
        ({"from": {"id": 123, "display_name": None}}, "user_id", "123"),
        ({"from": {"id": USER_ID, "display_name": ["Ted"]}}, "display_name", ""),
        ({"from": {"id": USER_ID, "is_bot": "yes"}}, "is_bot", False),
        ({"message_id": None}, "message_id", ""),
        ({"chat": {"id": " 6ede "}}, "chat_id", "6ede"),
    ],
)
def test_odd_fields_are_read_leniently(changes: dict[str, Any], field: str, value: Any) -> None:
    event = parse_event(with_message(**changes))
    assert event.kind is ZaloEventKind.TEXT
    assert getattr(event, field) == value


def test_fields_seen_in_other_clients_are_read_too() -> None:
    image = parse_event(
        {
            "event_name": "message.image.received",
            "message": {
                "from": {"id": USER_ID, "name": "Ted"},
                "chat": {"id": USER_ID},
                "photo_url": "https://example.org/a.jpg",
                "message_id": "m1",
                "date": 1750316131602,
            },
        }
    )
    assert (image.kind, image.photo_url, image.display_name) == (
        ZaloEventKind.IMAGE,
        "https://example.org/a.jpg",
        "Ted",
    )
    # A private chat without a chat object is answered at the sender's id.
    no_chat = parse_event(with_message(chat=None))
    assert (no_chat.kind, no_chat.chat_id) == (ZaloEventKind.TEXT, USER_ID)
