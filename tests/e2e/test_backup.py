"""Backup while the bot keeps writing, then restore: the copy is consistent and the bot runs on
it with the members it held."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import sys
from pathlib import Path

from bot.emulator import BotApiEmulator
from tests.e2e.conftest import BotHarness, say_and_read


async def test_backup_during_writes_then_restore(
    bot: BotHarness, emulator: BotApiEmulator, tmp_path: Path
) -> None:
    for i in range(40):
        await bot.add_member(emulator.user(9300 + i), name=f"Thành Viên {i}")
    config = tmp_path / "backup.toml"
    config.write_text(f'[database]\npath = "{bot.database}"\n', encoding="utf-8")
    output = tmp_path / "backups" / "nhipcau.sqlite3"

    writing = True

    async def keep_writing() -> int:
        """Members change settings through the running bot while the backup runs."""
        count = 0
        while writing:
            user = emulator.user(9300 + count % 40)
            await say_and_read(user, "/settings")
            await user.click(data="st:ann")  # toggles announcements: a write
            count += 1
        return count

    writer = asyncio.create_task(keep_writing())
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "backup",
        str(output),
        "--config",
        str(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    printed, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    writing = False
    writes = await asyncio.wait_for(writer, timeout=30)
    assert process.returncode == 0, printed.decode()
    assert writes > 0

    with sqlite3.connect(output) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT COUNT(*) FROM members").fetchone()[0] == 40

    # restore: stop the bot, put the copy in place, start again
    await bot.stop()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{bot.database}{suffix}").unlink(missing_ok=True)
    shutil.copy(output, bot.database)
    await bot.start()
    reply = await say_and_read(emulator.user(9305), "/start")
    assert "Thành Viên 5" in reply.text
