"""Reminder benchmark: N confirmed registrants whose 24 h reminder falls due at the same moment.
The real bot (a child process) is already running when it falls due; the emulator's rate limit
is the bot's send limit.

Prints how many were sent, how late the first and the last were relative to the due time, the
duplicates (expected 0) and, with ``--kill-at F``, the same after the bot is killed with SIGKILL
once a fraction F was sent and started again.

    python bench/reminders.py --registrations 20000 --rate 1000
    python bench/reminders.py --registrations 3000 --rate 200 --kill-at 0.5
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    TOKEN,
    BotProcess,
    collector_paused,
    print_table,
    seed_activity,
    seed_members,
    wait_until,
    write_config,
)
from bot.emulator import BotApiEmulator

LEAD = 8.0  # seconds between start-up and the due time: the bot is up and waiting


def sent_in_log(database: Path) -> int:
    with sqlite3.connect(database) as conn:
        row = conn.execute(
            "SELECT COUNT(*) FROM reminder_log WHERE kind = 'reminder' AND state = 'sent'"
        ).fetchone()
    return int(row[0])


async def run(registrations: int, rate: float, kill_at: float | None) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="nhipcau-bench-") as folder_name:
        folder = Path(folder_name)
        database = folder / "bench.sqlite3"
        ids = await seed_members(database, registrations)
        async with BotApiEmulator(token=TOKEN, bot_username="nhipcau_bench_bot") as emulator:
            for telegram_id in ids:
                emulator.user(telegram_id)
            emulator.global_rate_limit = rate
            config = write_config(
                folder,
                emulator.url,
                database,
                broadcast={"rate_per_second": rate, "per_chat_interval_seconds": 1.0},
            )
            # the database keeps whole seconds: take the due time as it will be stored
            due = datetime.fromtimestamp(time.time() + LEAD, UTC).replace(microsecond=0)
            due_wall = due.timestamp()
            await seed_activity(
                database,
                starts_at=due + timedelta(hours=24),
                registrants=ids,
                reminder_offsets=(24 * 60,),
            )
            with collector_paused():
                bot = await BotProcess.start(config)
                first_at: float | None = None
                last_at: float | None = None
                watching = True

                async def watch() -> None:
                    nonlocal first_at, last_at
                    seen = 0
                    while watching:
                        count = emulator.stats.sent_messages
                        if count > seen:
                            now = time.time()
                            first_at = first_at if first_at is not None else now
                            last_at = now
                            seen = count
                        await asyncio.sleep(0.005)

                watcher = asyncio.create_task(watch())
                restarts = 0
                in_flight = 0
                try:
                    if kill_at is not None:
                        await wait_until(
                            lambda: emulator.stats.sent_messages >= registrations * kill_at,
                            timeout=LEAD + registrations / rate * 3 + 60,
                        )
                        bot.kill()
                        await bot.process.wait()
                        restarts += 1
                        # sent but not recorded as sent: the messages in flight at the crash
                        in_flight = emulator.stats.sent_messages - sent_in_log(database)
                        bot = await BotProcess.start(config)
                    await wait_until(
                        lambda: sent_in_log(database) >= registrations,
                        timeout=LEAD + registrations / rate * 3 + 60,
                        step=0.1,
                    )
                    await asyncio.sleep(0.2)  # let the watcher see the last message arrive
                finally:
                    watching = False
                    await watcher
                    await bot.stop()
            received: Counter[int] = Counter()
            for telegram_id in ids:
                chat = emulator.chat(telegram_id)
                if chat is not None:
                    received[telegram_id] = sum("Nhắc lịch" in m.text for m in chat.all_messages)
            missed = sum(1 for t in ids if received[t] == 0)
            duplicates = sum(n - 1 for n in received.values() if n > 1)
            assert first_at is not None and last_at is not None
            return {
                "registrations": registrations,
                "rate_limit": rate,
                "sent": sum(1 for t in ids if received[t] > 0),
                "missed": missed,
                "duplicates": duplicates,
                "first_late_s": round(first_at - due_wall, 3),
                "last_late_s": round(last_at - due_wall, 3),
                "ideal_last_late_s": round(registrations / rate, 3),
                "restarts_after_sigkill": restarts,
                "in_flight_at_crash": in_flight,
                "rate_limited_429": emulator.stats.rate_limited,
            }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--registrations", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=1000.0, help="send limit, messages/s")
    parser.add_argument("--kill-at", type=float, default=None)
    args = parser.parse_args()
    figures = asyncio.run(run(args.registrations, args.rate, args.kill_at))
    print_table(
        f"{args.registrations} reminders due at the same moment, {args.rate:g} msg/s limit",
        [
            ("sent", figures["sent"]),
            ("missed (target 0)", figures["missed"]),
            ("duplicates (target 0)", figures["duplicates"]),
            ("first sent after due (s, target ≤ 2)", figures["first_late_s"]),
            ("last sent after due (s)", figures["last_late_s"]),
            ("last at the exact send limit (s)", figures["ideal_last_late_s"]),
            ("429 received", figures["rate_limited_429"]),
            ("restarts after SIGKILL", figures["restarts_after_sigkill"]),
            ("messages in flight at the crash", figures["in_flight_at_crash"]),
        ],
        figures,
    )


if __name__ == "__main__":
    main()
