"""Shared pieces of the benchmarks: an emulator in this process, the real bot in a child
process (so the two do not share one core's event loop), seeded databases and printing."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.domain.activities import ActivityKind, Audience, NewActivity
from bot.domain.members import NewMember
from bot.units import read_units_csv
from storage import Database
from storage.activities import ActivityRepository
from storage.members import bulk_insert_members
from storage.seeding import bulk_confirm_registrations
from storage.units import UnitRepository

ROOT = Path(__file__).resolve().parents[1]

TOKEN = "123456789:BENCH-nhipcau-local-emulator-token"
FIRST_MEMBER_ID = 10_000_000
NOW = datetime.now(UTC)


async def seed_members(path: Path, count: int) -> list[int]:
    """A database with the 56 units and ``count`` members spread over them; returns ids."""
    db = await Database.open(path)
    try:
        units = UnitRepository(db)
        await units.upsert_many(read_units_csv(ROOT / "bot" / "data" / "units.csv"))
        unit_ids = [u.id for u in await units.all()]
        ids = [FIRST_MEMBER_ID + i for i in range(count)]
        batch: list[NewMember] = []
        for i, telegram_id in enumerate(ids):
            batch.append(
                NewMember(
                    telegram_id,
                    f"Đoàn Viên {i}",
                    None,
                    unit_ids[i % len(unit_ids)],
                    None,
                    None,
                    "vi",
                    NOW - timedelta(days=30),
                )
            )
            if len(batch) == 10_000:
                await bulk_insert_members(db, batch, NOW)
                batch = []
        if batch:
            await bulk_insert_members(db, batch, NOW)
    finally:
        await db.close()
    return ids


def write_config(folder: Path, api_url: str, database: Path, **sections: dict[str, Any]) -> Path:
    """A config for the bot on the emulator; ``telegram={...}`` adds keys to [telegram]."""
    telegram = sections.pop("telegram", {})
    lines = [
        "[telegram]",
        f'token = "{TOKEN}"',
        f'api_base_url = "{api_url}/bot"',
        f'api_file_url = "{api_url}/file/bot"',
        *(f"{key} = {json.dumps(value)}" for key, value in telegram.items()),
        "[database]",
        f'path = "{database}"',
        "[logging]",
        'level = "WARNING"',
    ]
    for section, values in sections.items():
        lines.append(f"[{section}]")
        for key, value in values.items():
            lines.append(f"{key} = {json.dumps(value)}")
    path = folder / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@dataclass
class BotProcess:
    process: asyncio.subprocess.Process

    @classmethod
    async def start(cls, config: Path, *, wrapper: Sequence[str] = ()) -> BotProcess:
        """``wrapper``: arguments before ``-m bot``, e.g. ``("-m", "pyinstrument", ...)``."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *wrapper,
            "-m",
            "bot",
            "run",
            "--config",
            str(config),
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        return cls(process)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)

    async def stop(self) -> int:
        if self.process.returncode is None:
            self.process.terminate()
        return await asyncio.wait_for(self.process.wait(), timeout=30)


async def wait_until(predicate: Callable[[], bool], timeout: float, step: float = 0.05) -> None:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met within {timeout} s")
        await asyncio.sleep(step)


def print_table(title: str, rows: Sequence[tuple[str, object]], figures: dict[str, Any]) -> None:
    """A readable table, then the same figures as one JSON object on the last line."""
    width = max(len(name) for name, _ in rows)
    print(title)
    print("-" * len(title))
    for name, value in rows:
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        print(f"{name.ljust(width)}  {shown}")
    print(json.dumps(figures, ensure_ascii=False))


async def seed_activity(
    path: Path,
    *,
    starts_at: datetime,
    registrants: Sequence[int],
    reminder_offsets: tuple[int, ...] | None = None,
) -> int:
    """One open activity of the first unit with these members confirmed; returns its id."""
    db = await Database.open(path)
    try:
        unit = (await UnitRepository(db).page(limit=1))[0]
        activity_id = await ActivityRepository(db).create(
            NewActivity(
                title="Hiến máu tình nguyện",
                description="Mang theo căn cước công dân.",
                kind=ActivityKind.REGULAR,
                campaign_id=None,
                unit_id=unit.id,
                open_to=Audience.ALL,
                place="Viện Huyết học - Truyền máu Trung ương",
                starts_at=starts_at,
                ends_at=starts_at + timedelta(hours=3),
                deadline_at=starts_at - timedelta(hours=1),
                capacity=None,
                hours=3.0,
                reminder_offsets=reminder_offsets,
                created_by=1,
                checkin_token="bench-token",
            ),
            NOW - timedelta(days=7),
        )
        await bulk_confirm_registrations(db, activity_id, registrants, NOW - timedelta(days=7))
        return activity_id
    finally:
        await db.close()


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Keep the cyclic garbage collector out of a measured run of the emulator.

    The emulator shares the bench process; with tens of thousands of chats, a gen-2 collection
    paused it for 90-150 ms, and the requests queued meanwhile were then counted as one burst
    (429s that real Telegram would not send). Long-lived objects are frozen, collection waits
    for the end, and reference counting frees what the run makes meanwhile."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()
