"""Memory benchmark (SPEC 4: ≤ 150 MB RSS with 90,000 members).

A database the size of the union: 90,000 members in 56 units, 2,000 activities (most of them
past, some upcoming), 200,000 registrations, bulk-inserted. The real bot (a child process) is
started on it; its resident memory is read from /proc/<pid>/status when idle, and again after
10,000 mixed updates (browse, open a card, register, cancel, /profile) from thousands of
different members. Peak = VmHWM, the most the process ever had resident.

    python bench/memory.py
    python bench/memory.py --updates 2000 --people 1000   # quicker
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import NOW, TOKEN, BotProcess, print_table, seed_members, write_config
from bench.load import (
    ReplyWatch,
    closed_loop,
    latency_ms,
    member_cycle,
    memory_mb,
    wait_for_polling,
)
from bot.domain.activities import ActivityKind, Audience, NewActivity
from bot.emulator import BotApiEmulator
from storage import Database
from storage.seeding import bulk_insert_activities, bulk_insert_registrations
from storage.units import UnitRepository

IDLE_SETTLE = 3.0  # seconds after start-up before the idle reading


async def seed_history(
    database: Path, activities: int, registrations: int, rng: random.Random
) -> list[int]:
    """``activities`` spread over the last 300 days and the next 60 (one in six upcoming, open
    to everyone), ``registrations`` confirmed ones spread over them; returns the upcoming ids."""
    db = await Database.open(database)
    try:
        unit_ids = [u.id for u in await UnitRepository(db).all()]
        member_ids = [int(r[0]) for r in await db.fetch_all("SELECT id FROM members")]
        new: list[NewActivity] = []
        for n in range(activities):
            upcoming = n % 6 == 0
            day = rng.randint(2, 60) if upcoming else -rng.randint(1, 300)
            starts_at = NOW + timedelta(days=day, hours=rng.randint(0, 10))
            new.append(
                NewActivity(
                    title=f"Hoạt động tình nguyện số {n + 1}",
                    description="Mang theo nước uống và mũ. " * rng.randint(1, 5),
                    kind=ActivityKind.REGULAR,
                    campaign_id=None,
                    unit_id=unit_ids[n % len(unit_ids)],
                    open_to=Audience.ALL if upcoming or n % 2 else Audience.UNIT,
                    place="Nhà văn hoá phường",
                    starts_at=starts_at,
                    ends_at=starts_at + timedelta(hours=3),
                    deadline_at=starts_at - timedelta(hours=12),
                    capacity=None,
                    hours=3.0,
                    reminder_offsets=None,
                    created_by=1,
                )
            )
        ids = await bulk_insert_activities(db, new, NOW - timedelta(days=301))
        per_activity = registrations // len(ids)
        pairs = [
            (activity_id, member_id)
            for activity_id in ids
            for member_id in rng.sample(member_ids, per_activity)
        ]
        await bulk_insert_registrations(db, pairs, NOW - timedelta(days=1))
        return [ids[n] for n in range(activities) if n % 6 == 0]
    finally:
        await db.close()


def table_sizes(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as conn:
        return {
            table: int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
            for table in ("units", "members", "activities", "registrations")
        }


async def run(args: argparse.Namespace) -> dict[str, object]:
    rng = random.Random(4)
    with tempfile.TemporaryDirectory(prefix="nhipcau-bench-") as folder_name:
        folder = Path(folder_name)
        database = folder / "bench.sqlite3"
        ids = await seed_members(database, args.members)
        upcoming = await seed_history(database, args.activities, args.registrations, rng)
        sizes = table_sizes(database)
        async with BotApiEmulator(token=TOKEN, bot_username="nhipcau_bench_bot") as emulator:
            watch = ReplyWatch()
            people = [watch.track(emulator.user(i)) for i in rng.sample(ids, args.people)]
            # A high reply limit only makes the run shorter; memory does not depend on it.
            config = write_config(
                folder, emulator.url, database, telegram={"rate_limit_per_second": 1000}
            )
            before = emulator.stats.method_calls["getUpdates"]
            bot = await BotProcess.start(config)
            pid = bot.process.pid
            try:
                await wait_for_polling(emulator, before)
                await asyncio.sleep(IDLE_SETTLE)
                idle = memory_mb(pid)
                load = await closed_loop(
                    watch,
                    people,
                    member_cycle(upcoming, rng),
                    concurrency=args.concurrency,
                    max_updates=args.updates,
                )
                after = memory_mb(pid)
            finally:
                await bot.stop()
    answered = {chat.id for chat in people if any(m.message_id for m in chat.all_messages)}
    return {
        **{f"db_{table}": count for table, count in sizes.items()},
        "updates_sent": load.issued,
        "updates_answered": len(load.latencies),
        "unanswered": load.failures,
        "different_people": len(answered),
        "load_seconds": round(load.ended - load.started, 1),
        "rss_idle_mb": idle["VmRSS"],
        "rss_after_mb": after["VmRSS"],
        "rss_peak_mb": after["VmHWM"],
        "target_peak_mb": 150,
        **{f"reply_{k}": v for k, v in latency_ms(load.latencies).items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=90_000)
    parser.add_argument("--activities", type=int, default=2_000)
    parser.add_argument("--registrations", type=int, default=200_000)
    parser.add_argument("--updates", type=int, default=10_000)
    parser.add_argument("--people", type=int, default=5_000, help="different members sending")
    parser.add_argument("--concurrency", type=int, default=50, help="updates in flight")
    args = parser.parse_args()
    figures = asyncio.run(run(args))
    print_table(
        f"Memory of the running bot: {args.members} members, {args.activities} activities, "
        f"{args.registrations} registrations, {args.updates} updates",
        [
            ("database: members / activities / registrations", _sizes(figures)),
            (
                "updates answered (of sent)",
                f"{figures['updates_answered']} of {figures['updates_sent']}",
            ),
            ("different people who got replies", figures["different_people"]),
            ("RSS idle (MB)", figures["rss_idle_mb"]),
            ("RSS after the updates (MB)", figures["rss_after_mb"]),
            ("peak RSS, VmHWM (MB, target ≤ 150)", figures["rss_peak_mb"]),
            ("load duration (s)", figures["load_seconds"]),
        ],
        figures,
    )


def _sizes(figures: dict[str, object]) -> str:
    return f"{figures['db_members']} / {figures['db_activities']} / {figures['db_registrations']}"


if __name__ == "__main__":
    main()
