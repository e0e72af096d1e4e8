"""One harness for every journey: the emulator, a temp SQLite database and the real PTB
Application polling the emulator over HTTP, started through the same ``serve`` as production.
``zalo_bot`` is the same bot with the Zalo channel on too (polling the emulator's Zalo Bot API)
and the bot's web server for file links."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import BotApplication, Running, serve
from bot.clock import Clock, ManualClock, SystemClock
from bot.config import Config, parse_config
from bot.domain.members import Member, NewMember, Person, Role, RoleGrant
from bot.emulator import BotApiEmulator, BotMessage, CallbackAnswer, EmulatedUser
from bot.emulator.zalo import DEFAULT_ZALO_TOKEN
from bot.emulator.zalo_models import ZaloBotMessage
from bot.emulator.zalo_users import ZaloUser
from bot.services import Services

TOKEN = "123456789:TEST-nhipcau-end-to-end-token-abc"
ZALO_TOKEN = DEFAULT_ZALO_TOKEN
ADMIN_ID = 900001
UNITS = [
    ("BTP", "Bộ Tư pháp"),
    ("BTC", "Bộ Tài chính"),
    ("BYT", "Bộ Y tế"),
    ("DTH", "Đài Truyền hình Việt Nam"),
    ("BNG", "Bộ Ngoại giao"),
    ("KTNN", "Kiểm toán Nhà nước"),
    ("TTXVN", "Thông tấn xã Việt Nam"),
    ("VPQH", "Văn phòng Quốc hội"),
    ("VPCP", "Văn phòng Chính phủ"),
    ("NHNN", "Ngân hàng Nhà nước Việt Nam"),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class BotHarness:
    """A running bot on the emulator that tests can stop, restart and look inside."""

    def __init__(
        self, emulator: BotApiEmulator, database: Path, clock: Clock, *, zalo: bool = False
    ) -> None:
        self.emulator = emulator
        self.database = database
        self.clock = clock
        raw: dict[str, object] = {
            "telegram": {
                "token": TOKEN,
                "api_base_url": emulator.api_base_url,
                "api_file_url": emulator.file_base_url,
            },
            "database": {"path": str(database)},
            "bot": {"admins": [ADMIN_ID]},
            # Tests press and type far faster than people; test_flood sets the defaults.
            "flood": {"burst": 10_000, "per_second": 1000},
        }
        self.web_url = ""
        if zalo:
            port = free_port()
            self.web_url = f"http://127.0.0.1:{port}"
            raw["zalo"] = {"token": ZALO_TOKEN, "api_base_url": emulator.zalo_api_base_url}
            raw["web"] = {"listen": "127.0.0.1", "port": port, "public_base_url": self.web_url}
        self.config: Config = parse_config(raw, env={})
        self.services: Services | None = None
        self.app: BotApplication | None = None
        self.running: Running | None = None
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def svc(self) -> Services:
        assert self.services is not None, "the bot is not running"
        return self.services

    async def start(self) -> None:
        self.services = await Services.open(self.config, clock=self.clock)
        if await self.services.units.count() == 0:
            await self.services.units.upsert_many(UNITS)
        ready = asyncio.Event()
        self._stop = asyncio.Event()

        async def on_ready(running: Running) -> None:
            self.running = running
            self.app = running.telegram
            ready.set()

        self._task = asyncio.create_task(
            serve(self.services, stop=self._stop, ready=on_ready, poll_timeout=1)
        )
        done, _ = await asyncio.wait(
            {self._task, asyncio.create_task(ready.wait())},
            timeout=15,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if self._task in done:
            self._task.result()  # start-up failed: raise its error here
        assert ready.is_set(), "the bot did not start within 15 s"

    async def stop(self) -> None:
        if self._task is None or self._stop is None:
            return
        self._stop.set()
        await asyncio.wait_for(self._task, timeout=15)
        self._task = None
        self.app = None
        self.running = None
        if self.services is not None:
            await self.services.close()
            self.services = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    def reconfigure(self, section: str, **values: object) -> None:
        """Change config values (takes effect at the next start or restart)."""
        current = getattr(self.config, section)
        self.config = dataclasses.replace(
            self.config, **{section: dataclasses.replace(current, **values)}
        )

    async def unit_id(self, code: str) -> int:
        unit = await self.svc.units.get_by_code(code)
        assert unit is not None
        return unit.id

    async def role_of(self, telegram_id: int) -> RoleGrant | None:
        """The role granted to the member with this Telegram id (roles belong to members)."""
        member = await self.svc.members.by_telegram_id(telegram_id)
        return None if member is None else await self.svc.roles.get(member.id)

    async def add_member(
        self,
        user: EmulatedUser,
        *,
        name: str = "Nguyễn Văn An",
        unit: str = "BTP",
        role: Role = Role.MEMBER,
        language: str = "vi",
    ) -> EmulatedUser:
        """A member who onboarded earlier (their chat with the bot is already open)."""
        now = self.svc.clock.now()
        unit_id = await self.unit_id(unit)
        member = await self.svc.members.create(
            NewMember(
                telegram_id=user.user_id,
                full_name=name,
                username=user.username,
                unit_id=unit_id,
                phone=None,
                email=None,
                language=language,
                consent_at=now - timedelta(days=1),
            ),
            now,
        )
        if role is not Role.MEMBER:
            await self.svc.roles.set(
                RoleGrant(
                    member.id,
                    role,
                    unit_id if role is Role.CADRE else None,
                    granted_by=0,  # a config admin
                    granted_at=now,
                )
            )
        return user

    async def add_zalo_member(
        self,
        user: ZaloUser,
        *,
        name: str = "Nguyễn Văn An",
        unit: str = "BTP",
        role: Role = Role.MEMBER,
        language: str = "vi",
    ) -> ZaloUser:
        """A member who onboarded on Zalo earlier (and has written to the bot since, so Zalo
        lets the bot write to them)."""
        now = self.svc.clock.now()
        unit_id = await self.unit_id(unit)
        member = await self.svc.members.create(
            NewMember(
                telegram_id=None,
                zalo_id=user.user_id,
                full_name=name,
                username=None,
                unit_id=unit_id,
                phone=None,
                email=None,
                language=language,
                consent_at=now - timedelta(days=1),
            ),
            now,
        )
        if role is not Role.MEMBER:
            await self.svc.roles.set(
                RoleGrant(
                    member.id,
                    role,
                    unit_id if role is Role.CADRE else None,
                    granted_by=0,
                    granted_at=now,
                )
            )
        user.interacted = True
        return user

    async def member_of(self, person: Person) -> Member:
        member = await self.svc.members.by_person(person)
        assert member is not None
        return member


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(token=TOKEN, bot_username="nhipcau_test_bot") as emu:
        yield emu


@pytest.fixture
def clock() -> Clock:
    return SystemClock()


@pytest.fixture
async def bot(emulator: BotApiEmulator, tmp_path: Path, clock: Clock) -> AsyncIterator[BotHarness]:
    harness = BotHarness(emulator, tmp_path / "nhipcau.sqlite3", clock)
    await harness.start()
    try:
        yield harness
    finally:
        with contextlib.suppress(Exception):
            await harness.stop()


@pytest.fixture
async def zalo_bot(
    emulator: BotApiEmulator, tmp_path: Path, clock: Clock
) -> AsyncIterator[BotHarness]:
    """The bot on both channels: Telegram and Zalo (polling the emulator), one database."""
    harness = BotHarness(emulator, tmp_path / "nhipcau.sqlite3", clock, zalo=True)
    await harness.start()
    try:
        yield harness
    finally:
        with contextlib.suppress(Exception):
            await harness.stop()


@pytest.fixture
def manual_clock() -> ManualClock:
    return ManualClock(datetime(2026, 12, 1, 1, 0, tzinfo=UTC))


async def say_and_read(user: EmulatedUser, text: str, timeout: float = 5.0) -> BotMessage:  # noqa: ASYNC109
    """Send ``text`` and return the first message the bot sends after it."""
    user.skip_pending()
    await user.send(text)
    return await user.next_message(timeout)


async def press(
    user: EmulatedUser,
    label: str | None = None,
    *,
    data: str | None = None,
    message_id: int | None = None,
) -> CallbackAnswer:
    """Press an inline button and return the bot's answer to that very press."""
    before = len(user.answers)
    if label is not None:
        await user.click(label, message_id=message_id)
    else:
        await user.click(data=data, message_id=message_id)
    await user._emu.wait_until(lambda: len(user.answers) > before)
    return user.answers[before]


async def zalo_say(user: ZaloUser, text: str, timeout: float = 5.0) -> ZaloBotMessage:  # noqa: ASYNC109
    """Send ``text`` on Zalo and return the first message the bot sends after it."""
    user.skip_pending()
    await user.send(text)
    return await user.next_message(timeout)
