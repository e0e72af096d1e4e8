"""`nhipcau doctor` against the emulator: a healthy set-up, then a wrong token and no database."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from bot.emulator import BotApiEmulator
from storage import Database
from tests.e2e.conftest import TOKEN, ZALO_TOKEN


async def doctor(config: Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "doctor",
        "--config",
        str(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode or 0, output.decode()


def write(path: Path, token: str, database: Path, api: str) -> Path:
    path.write_text(
        f'[telegram]\ntoken = "{token}"\napi_base_url = "{api}/bot"\n'
        f'api_file_url = "{api}/file/bot"\n[database]\npath = "{database}"\n'
        "[bot]\nadmins = [1]\n",
        encoding="utf-8",
    )
    return path


async def test_doctor_reports_a_healthy_setup(emulator: BotApiEmulator, tmp_path: Path) -> None:
    database = tmp_path / "ok.sqlite3"
    await (await Database.open(database)).close()
    code, output = await doctor(write(tmp_path / "ok.toml", TOKEN, database, emulator.url))
    assert code == 0, output
    assert "✓ token: valid, the bot is @nhipcau_test_bot" in output
    assert "✓ database: integrity ok" in output and "✗" not in output


async def test_doctor_names_what_is_wrong(emulator: BotApiEmulator, tmp_path: Path) -> None:
    missing = tmp_path / "nothing-here.sqlite3"
    wrong = "987654321:WRONG-token-for-the-doctor-test"
    code, output = await doctor(write(tmp_path / "bad.toml", wrong, missing, emulator.url))
    assert code == 1
    assert "✗ token: rejected by Telegram" in output
    assert "✗ database" in output and "missing" in output
    assert wrong not in output and not missing.exists()  # read-only: nothing created


def write_zalo(path: Path, token: str, database: Path, api: str, *, telegram: str = "") -> Path:
    telegram_section = (
        f'[telegram]\ntoken = "{telegram}"\napi_base_url = "{api}/bot"\n'
        f'api_file_url = "{api}/file/bot"\n'
        if telegram
        else ""
    )
    path.write_text(
        telegram_section
        + f'[zalo]\ntoken = "{token}"\napi_base_url = "{api}/zalo/bot"\n'
        + '[web]\npublic_base_url = "https://nhipcau.example.vn"\n'
        + f'[database]\npath = "{database}"\n[bot]\nadmins = [1]\n',
        encoding="utf-8",
    )
    return path


async def test_doctor_checks_the_zalo_token_beside_telegrams(
    emulator: BotApiEmulator, tmp_path: Path
) -> None:
    database = tmp_path / "ok.sqlite3"
    await (await Database.open(database)).close()
    both = write_zalo(tmp_path / "both.toml", ZALO_TOKEN, database, emulator.url, telegram=TOKEN)
    code, output = await doctor(both)
    assert code == 0, output
    assert "✓ config: Telegram (polling), Zalo (polling), time zone Asia/Ho_Chi_Minh" in output
    assert "✓ token: valid, the bot is @nhipcau_test_bot" in output
    assert "✓ Zalo token: valid, the bot is bot.nhipcau" in output
    assert "✓ Zalo: polling" in output and "✗" not in output

    wrong = "12345689:not-the-right-secret"
    code, output = await doctor(write_zalo(tmp_path / "zalo.toml", wrong, database, emulator.url))
    assert code == 1
    assert "✗ Zalo token: rejected by Zalo (reset it in Zalo Bot Manager)" in output
    assert "token: valid, the bot is @" not in output  # Zalo alone: no Telegram check
    assert "not-the-right-secret" not in output
