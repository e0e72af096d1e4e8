"""Kill -9 while reminders are going out: a real bot process is killed mid-batch and started
again; every registrant gets the reminder, and only messages in flight may repeat."""

from __future__ import annotations

import sqlite3
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import TOKEN, BotProcess, seed_activity, seed_members, wait_until, write_config
from bot.emulator import BotApiEmulator

REGISTRANTS = 1500
RATE = 250.0


def sent(database: Path) -> int:
    with sqlite3.connect(database) as conn:
        return int(
            conn.execute("SELECT COUNT(*) FROM reminder_log WHERE state = 'sent'").fetchone()[0]
        )


async def test_sigkill_while_reminding_misses_nobody(tmp_path: Path) -> None:
    database = tmp_path / "crash.sqlite3"
    ids = await seed_members(database, REGISTRANTS)
    async with BotApiEmulator(token=TOKEN, bot_username="nhipcau_crash_bot") as emulator:
        for telegram_id in ids:
            emulator.user(telegram_id)
        config = write_config(tmp_path, emulator.url, database, broadcast={"rate_per_second": RATE})
        due = datetime.fromtimestamp(time.time() + 3, UTC).replace(microsecond=0)
        await seed_activity(
            database, starts_at=due + timedelta(hours=2), registrants=ids, reminder_offsets=(120,)
        )
        bot = await BotProcess.start(config)
        try:
            await wait_until(lambda: emulator.stats.sent_messages >= REGISTRANTS * 0.4, timeout=60)
            bot.kill()
            await bot.process.wait()
            # sent by the bot but not recorded as sent: the messages in flight at the crash
            in_flight = emulator.stats.sent_messages - sent(database)
            assert emulator.stats.sent_messages < REGISTRANTS  # really mid-way
            bot = await BotProcess.start(config)
            await wait_until(lambda: sent(database) == REGISTRANTS, timeout=90, step=0.1)
        finally:
            await bot.stop()
        received = Counter(
            {t: sum("Nhắc lịch" in m.text for m in emulator.chat(t).all_messages) for t in ids}  # type: ignore[union-attr]
        )
    missed = [t for t in ids if received[t] == 0]
    duplicates = sum(n - 1 for n in received.values() if n > 1)
    assert missed == []
    assert duplicates <= in_flight, (duplicates, in_flight)
