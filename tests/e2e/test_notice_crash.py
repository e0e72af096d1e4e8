"""Kill -9 while an activity's cancellation notices are going out: a real bot process is killed
after the cadre cancelled and before the last registrant heard it, then started again; every
registrant gets the notice, only the messages in flight may repeat, and the cadre's
/broadcasts report stays free of these system notices."""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import timedelta
from pathlib import Path

from bench.common import (
    NOW,
    TOKEN,
    BotProcess,
    seed_activity,
    seed_members,
    wait_until,
    write_config,
)
from bot.emulator import BotApiEmulator

REGISTRANTS = 1500
RATE = 250.0
NOTICE = "Rất tiếc, hoạt động Hiến máu tình nguyện"


def notices(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as conn:
        return dict(conn.execute("SELECT state, COUNT(*) FROM notices GROUP BY state").fetchall())


def make_cadre(database: Path, telegram_id: int) -> None:
    """The member becomes cadre of the unit that organises the seeded activity."""
    with sqlite3.connect(database) as conn:
        unit_id = conn.execute("SELECT unit_id FROM activities").fetchone()[0]
        conn.execute("UPDATE members SET unit_id = ? WHERE telegram_id = ?", (unit_id, telegram_id))
        conn.execute(
            "INSERT INTO roles (member_id, role, unit_id, granted_by, granted_at) "
            "SELECT id, 'cadre', ?, 0, '2026-01-01T00:00:00+00:00' FROM members "
            "WHERE telegram_id = ?",
            (unit_id, telegram_id),
        )


async def test_sigkill_between_a_cancellation_and_its_last_notice(tmp_path: Path) -> None:
    database = tmp_path / "crash.sqlite3"
    ids = await seed_members(database, REGISTRANTS + 1)
    cadre_id, registrants = ids[0], ids[1:]
    await seed_activity(database, starts_at=NOW + timedelta(days=3), registrants=registrants)
    make_cadre(database, cadre_id)
    async with BotApiEmulator(token=TOKEN, bot_username="nhipcau_crash_bot") as emulator:
        for telegram_id in registrants:
            emulator.user(telegram_id)
        cadre = emulator.user(cadre_id)
        config = write_config(tmp_path, emulator.url, database, broadcast={"rate_per_second": RATE})
        bot = await BotProcess.start(config)
        try:
            await cadre.send("/manage")
            await cadre.click("⚙️ 1. Hiến máu tình nguyện", timeout=30)
            await cadre.click("🚫 Huỷ hoạt động")
            await cadre.click("🚫 Có, huỷ hoạt động")
            done = await cadre.wait_for(lambda m: "Đã huỷ hoạt động" in m.text, timeout=30)
            assert "1500" in done.text  # how many will be told

            def delivered() -> int:
                return sum(
                    sum(NOTICE in m.text for m in emulator.chat(t).all_messages)  # type: ignore[union-attr]
                    for t in registrants
                )

            await wait_until(lambda: delivered() >= REGISTRANTS * 0.4, timeout=60)
            bot.kill()
            await bot.process.wait()
            # delivered by the bot but not recorded as sent: the messages in flight at the kill
            in_flight = delivered() - notices(database).get("sent", 0)
            assert delivered() < REGISTRANTS  # really between the cancellation and the last
            assert notices(database).get("pending", 0) > 0
            bot = await BotProcess.start(config)
            await wait_until(lambda: "pending" not in notices(database), timeout=90, step=0.1)
            cadre.skip_pending()
            await cadre.send("/broadcasts")
            report = await cadre.wait_for(lambda m: "Chưa có thông báo" in m.text, timeout=30)
        finally:
            await bot.stop()
        received = Counter(
            {
                t: sum(NOTICE in m.text for m in emulator.chat(t).all_messages)  # type: ignore[union-attr]
                for t in registrants
            }
        )
        assert not any(NOTICE in m.text for m in cadre.all_messages)
    missed = [t for t in registrants if received[t] == 0]
    duplicates = sum(n - 1 for n in received.values() if n > 1)
    assert missed == []
    assert duplicates <= in_flight, (duplicates, in_flight)
    assert notices(database) == {"sent": REGISTRANTS}
    assert "Chưa có thông báo nào" in report.text  # system notices are not broadcasts
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT COUNT(*) FROM broadcasts").fetchone()[0] == 0
