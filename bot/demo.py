"""The demo: the bot on the built-in Bot API emulator (Telegram and Zalo), with a web chat and
ready-made personas, each the same member on both channels."""

from __future__ import annotations

import dataclasses
import logging
import socket
from datetime import datetime, time, timedelta
from importlib import resources
from pathlib import Path

from bot.activities import ActivityDraft, ActivityKind, Audience
from bot.app import Running, serve
from bot.config import Config
from bot.domain.members import NewMember, Person, Role, RoleGrant
from bot.emulator.zalo import DEFAULT_ZALO_TOKEN, persona_zalo_id
from bot.services import Services
from bot.units import read_units_csv

log = logging.getLogger(__name__)

DEMO_TOKEN = "123456789:DEMO-nhipcau-local-emulator-token"
DEMO_MEMBER_ID = 700001
DEMO_CADRE_ID = 700002
DEMO_ADMIN_ID = 700003


def bundled_units_file() -> Path:
    return Path(str(resources.files("bot") / "data" / "units.csv"))


def free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def demo_config(config: Config, api_url: str, database: Path, web_port: int) -> Config:
    """The given config pointed at the emulator (Telegram and Zalo, both polling), with the
    bot's web server (file links) on this machine and the demo admin added."""
    telegram = dataclasses.replace(
        config.telegram,
        token=DEMO_TOKEN,
        api_base_url=f"{api_url}/bot",
        api_file_url=f"{api_url}/file/bot",
        mode="polling",
    )
    zalo = dataclasses.replace(
        config.zalo,
        token=DEFAULT_ZALO_TOKEN,
        api_base_url=f"{api_url}/zalo/bot",
        mode="polling",
    )
    web = dataclasses.replace(
        config.web,
        listen="127.0.0.1",
        port=web_port,
        public_base_url=f"http://127.0.0.1:{web_port}",
    )
    admins = tuple(dict.fromkeys((*config.bot.admins, DEMO_ADMIN_ID)))
    return dataclasses.replace(
        config,
        telegram=telegram,
        zalo=zalo,
        web=web,
        database=dataclasses.replace(config.database, path=database),
        bot=dataclasses.replace(config.bot, admins=admins),
        units=dataclasses.replace(config.units, file=config.units.file or bundled_units_file()),
    )


async def seed_demo_people(services: Services) -> None:
    """A member and a cadre of the first unit, and an admin, so every persona works at once."""
    units = await services.units.page(limit=1)
    if not units:
        units_file = services.config.units.file or bundled_units_file()
        await services.units.upsert_many(read_units_csv(units_file))
        units = await services.units.page(limit=1)
    unit = units[0]
    now = services.clock.now()
    people = (
        (DEMO_MEMBER_ID, "Nguyễn Văn An", "an_doanvien"),
        (DEMO_CADRE_ID, "Trần Thị Bình", "binh_canbo"),
        (DEMO_ADMIN_ID, "Lê Minh Cường", "cuong_quantri"),
    )
    for telegram_id, name, username in people:
        if await services.members.by_telegram_id(telegram_id) is None:
            await services.members.create(
                NewMember(
                    telegram_id=telegram_id,
                    full_name=name,
                    username=username,
                    unit_id=unit.id,
                    phone=None,
                    email=None,
                    language="vi",
                    consent_at=now - timedelta(days=30),
                ),
                now,
            )
    for telegram_id, _, _ in people:  # the same member on Zalo (the web chat's Zalo pane)
        member = await services.members.by_telegram_id(telegram_id)
        if member is not None and member.zalo_id is None:
            await services.members.attach_account(
                member.id, Person.zalo(persona_zalo_id(telegram_id)), now
            )
    cadre = await services.members.by_telegram_id(DEMO_CADRE_ID)
    admin = await services.members.by_telegram_id(DEMO_ADMIN_ID)
    assert cadre is not None and admin is not None
    await services.roles.set(
        RoleGrant(cadre.id, Role.CADRE, unit.id, granted_by=admin.id, granted_at=now)
    )
    await seed_demo_activities(services, unit.id)


# Sample activities, in the words of the union's own volunteer movement (days from now, hour,
# hours long, title, place, who may join, seats).
_SAMPLE_ACTIVITIES = (
    (
        3,
        8,
        3,
        "Hiến máu tình nguyện «Giọt hồng Đoàn Khối»",
        "Viện Huyết học - Truyền máu TW",
        Audience.ALL,
        50,
    ),
    (
        5,
        14,
        2,
        "Hỗ trợ chuyển đổi số: hướng dẫn dịch vụ công trực tuyến",
        "Bộ phận một cửa",
        Audience.UNIT,
        12,
    ),
    (
        9,
        7,
        4,
        "Dọn vệ sinh, trồng cây tại khu tập thể",
        "Phường Láng Thượng, Đống Đa",
        Audience.ALL,
        2,
    ),
)


async def seed_demo_activities(services: Services, unit_id: int) -> None:
    """A few upcoming activities so the demo has something to browse and join."""
    admin = await services.member_service.actor(DEMO_ADMIN_ID)
    if (await services.activities.browse(admin)).total > 0:
        return
    tz = services.config.bot.tz
    today = services.clock.now().astimezone(tz).date()
    for days, hour, length, title, place, open_to, seats in _SAMPLE_ACTIVITIES:
        start = datetime.combine(today + timedelta(days=days), time(hour), tzinfo=tz)
        await services.activities.create(
            admin,
            ActivityDraft(
                title=title,
                description="Hoạt động mẫu của bản trình diễn Nhịp Cầu.",
                kind=ActivityKind.ON_THE_SPOT if open_to is Audience.UNIT else ActivityKind.REGULAR,
                unit_id=unit_id,
                open_to=open_to,
                place=place,
                starts_at=start,
                ends_at=start + timedelta(hours=length),
                deadline_at=start - timedelta(days=1),
                capacity=seats,
                hours=float(length),
            ),
        )


async def run_demo(config: Config, host: str, port: int, database: Path) -> int:
    from bot.emulator import BotApiEmulator, Persona

    personas = (
        Persona(DEMO_MEMBER_ID, "Đoàn viên", "An", "Nguyễn Văn", username="an_doanvien"),
        Persona(DEMO_CADRE_ID, "Cán bộ đoàn", "Bình", "Trần Thị", username="binh_canbo"),
        Persona(DEMO_ADMIN_ID, "Quản trị viên", "Cường", "Lê Minh", username="cuong_quantri"),
    )
    emulator = BotApiEmulator(token=DEMO_TOKEN, bot_username="nhipcau_demo_bot", personas=personas)
    await emulator.start(host=host, port=port)
    services = await Services.open(
        demo_config(config, emulator.url, database, free_port("127.0.0.1"))
    )
    try:
        await seed_demo_people(services)

        async def announce(running: Running) -> None:
            print(f"\nNhịp Cầu demo đang chạy. Mở trang chat: {emulator.url}/\n", flush=True)

        await serve(services, ready=announce, poll_timeout=5.0)
    finally:
        await services.close()
        await emulator.stop()
    return 0
