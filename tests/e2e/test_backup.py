"""Backup while the bot keeps writing, then restore: the copy is consistent and the bot runs on
it with the members it held."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import sys
from pathlib import Path

from bot.emulator import BotApiEmulator
from tests.e2e.conftest import BotHarness, say_and_read


async def run_backup(
    config: Path, output: str | Path, *, cwd: Path | None = None
) -> tuple[int, str]:
    """``nhipcau backup OUTPUT --config CONFIG``: (exit code, what it printed)."""
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
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    printed, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, printed.decode()


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
            # mutes or unmutes announcements: a write either way
            await user.click(data="st:ann:off" if count % 2 == 0 else "st:ann:on")
            count += 1
        return count

    writer = asyncio.create_task(keep_writing())
    code, printed = await run_backup(config, output)
    writing = False
    writes = await asyncio.wait_for(writer, timeout=30)
    assert code == 0, printed
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


async def test_backup_refuses_to_write_over_the_live_database(
    bot: BotHarness, emulator: BotApiEmulator, tmp_path: Path
) -> None:
    """The live file, a symlink to it, a relative path to it, its -wal or -shm: each is refused
    with one line and a non-zero exit, and the running bot's data stays whole."""
    for i in range(5):
        await bot.add_member(emulator.user(9400 + i), name=f"Thành Viên {i}")
    live = bot.database
    config = tmp_path / "backup.toml"
    config.write_text(f'[database]\npath = "{live}"\n', encoding="utf-8")
    link = tmp_path / "looks-like-a-backup.sqlite3"
    link.symlink_to(live)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert Path(f"{live}-wal").exists() and Path(f"{live}-shm").exists()  # the bot is running
    before = {suffix: Path(f"{live}{suffix}").stat().st_ino for suffix in ("", "-wal", "-shm")}
    targets: list[tuple[str | Path, Path | None, str]] = [
        (live, None, "is the live database ("),
        (link, None, "is the live database ("),
        (Path("..") / live.name, elsewhere, "is the live database ("),
        (f"{live}-wal", None, "is the live database's wal file"),
        (f"{live}-shm", None, "is the live database's shm file"),
        (tmp_path, None, "is a folder"),
    ]
    for target, cwd, reason in targets:
        code, printed = await run_backup(config, target, cwd=cwd)
        assert code != 0, target
        assert printed.count("\n") == 1 and printed.startswith("nhipcau: backup refused: "), printed
        assert reason in printed, printed
    assert {s: Path(f"{live}{s}").stat().st_ino for s in ("", "-wal", "-shm")} == before
    assert link.is_symlink() and not list(tmp_path.glob("*.part"))
    reply = await say_and_read(emulator.user(9403), "/start")
    assert "Thành Viên 3" in reply.text
    with sqlite3.connect(live) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT COUNT(*) FROM members").fetchone()[0] == 5
    # and a real backup next to it still works
    code, printed = await run_backup(config, tmp_path / "copy.sqlite3")
    assert code == 0, printed
    with sqlite3.connect(tmp_path / "copy.sqlite3") as conn:
        assert conn.execute("SELECT COUNT(*) FROM members").fetchone()[0] == 5
