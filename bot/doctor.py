"""``nhipcau doctor``: checks config, database, migrations and the token, and says what is wrong
in words an operator can act on. Read-only: it never migrates or writes."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from telegram import Bot
from telegram.error import InvalidToken, NetworkError, TelegramError

from bot.config import Config
from storage.migrations import inspect_database

Report = Callable[[bool, str], None]


def _printer(lines: list[str]) -> Report:
    def report(ok: bool, text: str) -> None:
        lines.append(f"{'✓' if ok else '✗'} {text}")

    return report


async def diagnose(config: Config) -> tuple[bool, list[str]]:
    """(all good, one line per check)."""
    lines: list[str] = []
    report = _printer(lines)
    healthy = True

    def check(ok: bool, text: str) -> None:
        nonlocal healthy
        healthy = healthy and ok
        report(ok, text)

    report(True, f"config: mode {config.telegram.mode}, time zone {config.bot.timezone}")
    check(bool(config.bot.admins), f"config: {len(config.bot.admins)} admin(s) in bot.admins")

    path = config.database.path
    try:
        schema = inspect_database(path)
    except sqlite3.Error as exc:
        check(False, f"database {path}: cannot be read ({exc})")
    else:
        if not schema.exists:
            check(False, f"database {path}: missing (run `nhipcau migrate` to create it)")
        elif schema.current > schema.latest:
            check(
                False,
                f"database: schema {schema.current} is newer than this program ({schema.latest})",
            )
        else:
            pending = schema.pending
            check(
                pending == 0,
                f"database: schema {schema.current}/{schema.latest}"
                + (f", {pending} migration(s) pending (applied at start-up)" if pending else ""),
            )
            check(schema.journal_mode == "wal", f"database: journal mode {schema.journal_mode}")
            check(schema.integrity == "ok", f"database: integrity {schema.integrity}")

    bot = Bot(
        config.telegram.token or "0:missing",
        base_url=config.telegram.api_base_url,
        base_file_url=config.telegram.api_file_url,
    )
    try:
        async with bot:
            me = await bot.get_me()
            check(True, f"token: valid, the bot is @{me.username}")
            if config.telegram.mode == "webhook":
                info = await bot.get_webhook_info()
                check(
                    info.url == config.telegram.webhook.url,
                    f"webhook: Telegram posts to {info.url or '(nothing)'}"
                    + (
                        f"; last error: {info.last_error_message}"
                        if info.last_error_message
                        else ""
                    ),
                )
    except InvalidToken:
        check(False, "token: rejected by Telegram (get a new one from @BotFather)")
    except NetworkError as exc:
        check(
            False,
            f"token: Telegram API at {config.telegram.api_base_url} unreachable ({exc.message})",
        )
    except TelegramError as exc:
        check(False, f"token: {exc.message}")
    return healthy, lines
