"""Kill -9 mid-broadcast: a real bot process delivering to a few thousand members is killed with
SIGKILL and started again; nobody is lost and only the messages in flight may repeat."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

from bench.broadcast import TEXT, queue_broadcast
from bench.common import TOKEN, BotProcess, seed_members, wait_until, write_config
from bot.emulator import BotApiEmulator

MEMBERS = 2500
RATE = 250.0


def recorded_sent(database: Path) -> int:
    with sqlite3.connect(database) as conn:
        query = "SELECT COUNT(*) FROM broadcast_recipients WHERE state = 'sent'"
        return int(conn.execute(query).fetchone()[0])


def status(database: Path) -> str:
    with sqlite3.connect(database) as conn:
        return str(conn.execute("SELECT status FROM broadcasts WHERE id = 1").fetchone()[0])


async def test_sigkill_mid_broadcast_loses_nobody(tmp_path: Path) -> None:
    database = tmp_path / "crash.sqlite3"
    ids = await seed_members(database, MEMBERS)
    assert await queue_broadcast(database) == 1
    async with BotApiEmulator(token=TOKEN, bot_username="nhipcau_crash_bot") as emulator:
        for telegram_id in ids:
            emulator.user(telegram_id)
        config = write_config(
            tmp_path, emulator.url, database, broadcast={"rate_per_second": RATE, "paid": True}
        )
        bot = await BotProcess.start(config)
        try:
            await wait_until(lambda: emulator.stats.sent_messages >= MEMBERS * 0.4, timeout=60)
            bot.kill()
            await bot.process.wait()
            # sent by the bot but not recorded as sent: the messages in flight at the crash
            in_flight = emulator.stats.sent_messages - recorded_sent(database)
            assert emulator.stats.sent_messages < MEMBERS  # really mid-way
            bot = await BotProcess.start(config)
            await wait_until(lambda: status(database) == "done", timeout=90, step=0.1)
        finally:
            await bot.stop()

        received: Counter[int] = Counter()
        for telegram_id in ids:
            chat = emulator.chat(telegram_id)
            assert chat is not None
            received[telegram_id] = sum(m.html == TEXT for m in chat.all_messages)
    lost = [t for t in ids if received[t] == 0]
    duplicates = sum(n - 1 for n in received.values() if n > 1)
    assert lost == []
    assert duplicates <= in_flight, (duplicates, in_flight)
    with sqlite3.connect(database) as conn:
        states = dict(
            conn.execute(
                "SELECT state, COUNT(*) FROM broadcast_recipients GROUP BY state"
            ).fetchall()
        )
    assert states == {"sent": MEMBERS}
