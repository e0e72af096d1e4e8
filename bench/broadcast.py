"""Broadcast benchmark: the real bot (a child process) delivers one announcement to N members
through the emulator, whose rate limit is set to R messages/s.

Prints the sustained rate as a fraction of R (measured between 5% and 95% delivered), lost and
duplicated messages and 429s received. With ``--kill-at F`` the bot is killed with SIGKILL once
a fraction F has been delivered and started again; it must resume with nothing lost and at most
the messages in flight repeated.

    python bench/broadcast.py --members 3000 --rate 30
    python bench/broadcast.py --members 90000 --rate 1000 --paid
    python bench/broadcast.py --members 3000 --rate 30 --kill-at 0.5
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    NOW,
    TOKEN,
    BotProcess,
    collector_paused,
    print_table,
    seed_members,
    wait_until,
    write_config,
)
from bot.domain.broadcasts import Audience, AudienceKind, BroadcastContent
from bot.emulator import BotApiEmulator
from storage import Database
from storage.broadcasts import BroadcastRepository

TEXT = "<b>Thông báo</b>: Chiến dịch Thanh niên tình nguyện hè 2026 bắt đầu từ thứ Hai."


async def queue_broadcast(database: Path) -> int:
    """Write the announcement and its outbox exactly as the compose flow does on "Send now"."""
    db = await Database.open(database)
    try:
        repository = BroadcastRepository(db)
        broadcast = await repository.create(
            created_by=1,
            sender_unit_id=None,
            content=BroadcastContent(TEXT),
            audience=Audience(AudienceKind.ALL),
            scheduled_at=None,
            progress_chat_id=None,
            now=NOW,
        )
        return broadcast.id
    finally:
        await db.close()


def recorded_sent(database: Path, broadcast_id: int) -> int:
    with sqlite3.connect(database) as conn:
        row = conn.execute(
            "SELECT COUNT(*) FROM broadcast_recipients WHERE broadcast_id = ? AND state = 'sent'",
            (broadcast_id,),
        ).fetchone()
    return int(row[0])


def broadcast_status(database: Path, broadcast_id: int) -> str:
    with sqlite3.connect(database) as conn:
        row = conn.execute("SELECT status FROM broadcasts WHERE id = ?", (broadcast_id,)).fetchone()
    return str(row[0]) if row else "missing"


async def run(members: int, rate: float, paid: bool, kill_at: float | None) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="nhipcau-bench-") as folder_name:
        folder = Path(folder_name)
        database = folder / "bench.sqlite3"
        ids = await seed_members(database, members)
        broadcast_id = await queue_broadcast(database)
        async with BotApiEmulator(token=TOKEN, bot_username="nhipcau_bench_bot") as emulator:
            for telegram_id in ids:
                emulator.user(telegram_id)
            emulator.global_rate_limit = rate
            # The bot is configured at the limit; its courier keeps every sliding second a
            # little longer than a second, so network jitter does not cause 429s.
            bot_rate = rate
            config = write_config(
                folder,
                emulator.url,
                database,
                broadcast={
                    "rate_per_second": bot_rate,
                    "paid": paid,
                    "per_chat_interval_seconds": 1.0,
                },
            )

            def delivered() -> int:
                return emulator.stats.sent_messages

            samples: list[tuple[float, int]] = []
            with collector_paused():
                bot = await BotProcess.start(config)
                started = time.monotonic()
                sampling = True

                async def sample() -> None:
                    while sampling:
                        samples.append((time.monotonic(), delivered()))
                        await asyncio.sleep(0.1)

                sampler = asyncio.create_task(sample())
                restarts = 0
                in_flight = 0
                try:
                    if kill_at is not None:
                        await wait_until(
                            lambda: delivered() >= members * kill_at,
                            timeout=members / rate * 3 + 60,
                        )
                        bot.kill()
                        await bot.process.wait()
                        restarts += 1
                        # sent but not recorded as sent: the messages in flight at the crash
                        in_flight = delivered() - recorded_sent(database, broadcast_id)
                        bot = await BotProcess.start(config)
                    timeout = members / rate * 2 + 120
                    await wait_until(
                        lambda: broadcast_status(database, broadcast_id) == "done",
                        timeout=timeout,
                        step=0.2,
                    )
                finally:
                    sampling = False
                    await sampler
                    await bot.stop()
            elapsed = time.monotonic() - started

            received: Counter[int] = Counter()
            for telegram_id in ids:
                chat = emulator.chat(telegram_id)
                if chat is not None:
                    received[telegram_id] = sum(
                        1 for m in chat.all_messages if m.text.startswith("Thông báo")
                    )
            lost = sum(1 for telegram_id in ids if received[telegram_id] == 0)
            duplicates = sum(count - 1 for count in received.values() if count > 1)
            # Sustained rate: between 5% and 95% delivered (ignores start-up and the tail).
            low = next((t for t, n in samples if n >= members * 0.05), samples[0][0])
            high = next((t for t, n in samples if n >= members * 0.95), samples[-1][0])
            measured = (members * 0.9) / (high - low) if high > low else float("nan")
            return {
                "members": members,
                "rate_limit": rate,
                "paid": paid,
                "sustained_rate": round(measured, 1),
                "fraction_of_limit": round(measured / rate, 3),
                "lost": lost,
                "duplicates": duplicates,
                "rate_limited_429": emulator.stats.rate_limited,
                "restarts_after_sigkill": restarts,
                "in_flight_at_crash": in_flight,
                "seconds": round(elapsed, 1),
            }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--paid", action="store_true", help="allow_paid_broadcast (up to 1000/s)")
    parser.add_argument(
        "--kill-at", type=float, default=None, help="SIGKILL the bot at this fraction"
    )
    args = parser.parse_args()
    figures = asyncio.run(run(args.members, args.rate, args.paid or args.rate > 30, args.kill_at))
    print_table(
        f"Broadcast to {args.members} members at a {args.rate:g} msg/s limit",
        [
            ("sustained rate (msg/s)", figures["sustained_rate"]),
            ("fraction of the limit (target ≥ 0.95)", figures["fraction_of_limit"]),
            ("lost (target 0)", figures["lost"]),
            ("duplicates", figures["duplicates"]),
            ("429 received", figures["rate_limited_429"]),
            ("restarts after SIGKILL", figures["restarts_after_sigkill"]),
            ("messages in flight at the crash", figures["in_flight_at_crash"]),
            ("wall time (s)", figures["seconds"]),
        ],
        figures,
    )


if __name__ == "__main__":
    main()
