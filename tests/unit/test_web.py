"""The bot's own web server: a file link opens with its type and name (Vietnamese too) as many
times as it may, then 404; unknown, malformed and HEAD requests get nothing; a webhook without
its secret gets 403 and its body is never handed on; /health answers."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.config import WebConfig, parse_config
from bot.services import Services
from bot.web import WebServer


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[Services, WebServer, str, list[Any]]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = parse_config(
        {"database": {"path": str(tmp_path / "web.sqlite3")}, "web": {"public_base_url": base}},
        env={},
        require_token=False,
    )
    services = await Services.open(config)
    server = WebServer(WebConfig("127.0.0.1", port, base), services.db, services.files)
    received: list[Any] = []

    async def receive(data: Any) -> bool:
        received.append(data)
        return True

    server.add_webhook("/hooks/zalo", "X-Bot-Api-Secret-Token", "s3cret-42", receive, lambda: 0)
    await server.start()
    try:
        yield services, server, base, received
    finally:
        await server.stop()
        await services.close()


async def test_a_file_link_opens_as_often_as_it_may_with_its_type_and_name(
    served: tuple[Services, WebServer, str, list[Any]],
) -> None:
    services, _, base, _ = served
    url = await services.files.publish(
        filename="Đăng ký hoạt động.ics", mime="text/calendar", content=b"BEGIN:VCALENDAR", uses=2
    )
    assert url.startswith(base + "/f/") and url.endswith("/Dang-ky-hoat-dong.ics")
    async with aiohttp.ClientSession() as http:
        async with http.head(url) as response:  # would spend a use: refused
            assert response.status == 405
        for _ in range(2):
            async with http.get(url) as response:
                assert response.status == 200
                assert response.content_type == "text/calendar"
                disposition = response.headers["Content-Disposition"]
                assert disposition.startswith('attachment; filename="Dang-ky-hoat-dong.ics"; ')
                assert "filename*=UTF-8''%C4%90%C4%83ng%20k%C3%BD" in disposition
                assert response.headers["Cache-Control"] == "private, no-store"
                assert await response.read() == b"BEGIN:VCALENDAR"
        async with http.get(url) as response:
            assert response.status == 404
        for bad in ("/f/short/x.ics", "/f/" + "A" * 22 + "/x.ics", "/f/../../etc/passwd"):
            async with http.get(base + bad) as response:
                assert response.status == 404


async def test_a_webhook_takes_only_requests_with_its_secret(
    served: tuple[Services, WebServer, str, list[Any]],
) -> None:
    _, _, base, received = served
    async with aiohttp.ClientSession() as http:
        for headers in ({}, {"X-Bot-Api-Secret-Token": "s3cret-4"}, {"X-Other": "s3cret-42"}):
            async with http.post(f"{base}/hooks/zalo", json={"n": 1}, headers=headers) as answer:
                assert answer.status == 403
        assert received == []
        ok = {"X-Bot-Api-Secret-Token": "s3cret-42"}
        async with http.post(f"{base}/hooks/zalo", json={"n": 2}, headers=ok) as answer:
            assert answer.status == 200
        async with http.post(f"{base}/hooks/zalo", data=b"{", headers=ok) as answer:
            assert answer.status == 400
        async with http.get(f"{base}/health") as answer:
            assert answer.status == 200 and (await answer.json())["status"] == "ok"
    assert received == [{"n": 2}]
