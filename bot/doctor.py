"""``nhipcau doctor``: checks config, database, migrations and the tokens (Telegram's, Zalo's),
and says what is wrong in words an operator can act on. Read-only: it never migrates or writes
(not even the webhooks: it only reads where they point)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from telegram import Bot
from telegram.error import InvalidToken, NetworkError, TelegramError

from bot.channels.zalo.client import (
    ZaloApiError,
    ZaloBotApi,
    ZaloError,
    ZaloNetworkError,
    ZaloUnauthorized,
)
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

    channels = [
        f"{name} ({mode})"
        for name, on, mode in (
            ("Telegram", config.telegram.enabled, config.telegram.mode),
            ("Zalo", config.zalo.enabled, config.zalo.mode),
        )
        if on
    ]
    report(True, f"config: {', '.join(channels) or 'no channel'}, time zone {config.bot.timezone}")
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
            pending = schema.latest - schema.current
            check(
                pending == 0,
                f"database: schema {schema.current}/{schema.latest}"
                + (f", {pending} migration(s) pending (applied at start-up)" if pending else ""),
            )
            check(schema.journal_mode == "wal", f"database: journal mode {schema.journal_mode}")
            check(schema.integrity == "ok", f"database: integrity {schema.integrity}")

    if config.telegram.enabled or not config.zalo.enabled:
        await _check_telegram(config, check)
    if config.zalo.enabled:
        await _check_zalo(config, check)
    return healthy, lines


async def _check_telegram(config: Config, check: Report) -> None:
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


async def _check_zalo(config: Config, check: Report) -> None:
    zalo = config.zalo
    try:
        async with ZaloBotApi(zalo.api_base_url, zalo.token) as api:
            me = await api.get_me()
            check(True, f"Zalo token: valid, the bot is {me.account_name or me.id}")
            info = await api.get_webhook_info()
            if zalo.mode == "webhook":
                check(
                    info.url == zalo.url,
                    f"Zalo webhook: Zalo posts to {info.url or '(nothing)'}"
                    + ("" if info.url == zalo.url else f", not to zalo.url {zalo.url}"),
                )
            else:
                # Polling deletes a webhook at start-up; say so if one is set now.
                check(
                    True,
                    "Zalo: polling"
                    + (f" (a webhook to {info.url} will be removed)" if info.url else ""),
                )
    except ZaloUnauthorized:
        check(False, "Zalo token: rejected by Zalo (reset it in Zalo Bot Manager)")
    except ZaloNetworkError as exc:
        check(False, f"Zalo token: Zalo API at {zalo.api_base_url} unreachable ({exc.reason})")
    except ZaloApiError as exc:
        check(False, f"Zalo token: {exc.error_code} {exc.description}")
    except ZaloError as exc:
        check(False, f"Zalo token: {exc}")
