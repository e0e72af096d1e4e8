"""Configuration: a TOML file (plus the token from the environment) validated into frozen values.

Every key is declared once in ``_SCHEMA``; a wrong type, an unknown key or a bad value stops
start-up with one line that names the key and what it expects.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

TOKEN_ENV = "NHIPCAU_TELEGRAM_TOKEN"
ZALO_TOKEN_ENV = "NHIPCAU_ZALO_TOKEN"
DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_API_FILE_URL = "https://api.telegram.org/file/bot"
DEFAULT_ZALO_API_BASE_URL = "https://bot-api.zaloplatforms.com/bot"
DEFAULT_ZALO_WEBHOOK_PATH = "/zalo"
SUPPORTED_LANGUAGES = ("vi", "en")


class ConfigError(Exception):
    """A configuration problem, worded for the operator: ``<key>: <what is expected>``."""

    def __init__(self, key: str, expected: str) -> None:
        super().__init__(f"{key}: {expected}")
        self.key = key
        self.expected = expected


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """Telegram's webhook; it is served by the bot's own web server (``[web]``)."""

    url: str = ""
    path: str = "telegram"
    secret_token: str = ""


@dataclass(frozen=True, slots=True)
class TelegramConfig:
    token: str = ""
    api_base_url: str = DEFAULT_API_BASE_URL
    api_file_url: str = DEFAULT_API_FILE_URL
    mode: str = "polling"
    # Replies to people go through PTB's AIORateLimiter at this overall rate (Telegram allows
    # about 30 messages/s per bot); benchmarks raise it to measure the bot rather than the cap.
    rate_limit_per_second: float = 30.0
    webhook: WebhookConfig = field(default_factory=WebhookConfig)

    @property
    def enabled(self) -> bool:
        return bool(self.token)


@dataclass(frozen=True, slots=True)
class ZaloConfig:
    """The Zalo Bot Platform channel; an empty token leaves Zalo off."""

    token: str = ""
    api_base_url: str = DEFAULT_ZALO_API_BASE_URL
    mode: str = "polling"
    url: str = ""  # webhook mode: the public https URL Zalo posts events to
    secret_token: str = ""  # webhook mode: sent back in X-Bot-Api-Secret-Token

    @property
    def enabled(self) -> bool:
        return bool(self.token)

    @property
    def webhook_path(self) -> str:
        """Where the bot's web server takes Zalo's events: the path of ``url``."""
        return urlsplit(self.url).path.rstrip("/") or DEFAULT_ZALO_WEBHOOK_PATH


@dataclass(frozen=True, slots=True)
class WebConfig:
    """The bot's own HTTP server: Telegram's and Zalo's webhooks, file links, /health."""

    listen: str = "127.0.0.1"
    port: int = 8443
    public_base_url: str = ""  # how members' phones reach it; file links are built on it


@dataclass(frozen=True, slots=True)
class FloodConfig:
    """Per-person flood guard: a token bucket of ``burst`` updates refilled at ``per_second``."""

    burst: int = 10
    per_second: float = 2.0


@dataclass(frozen=True, slots=True)
class DatabaseConfig:
    path: Path = Path("data/nhipcau.sqlite3")
    busy_timeout_ms: int = 5000


@dataclass(frozen=True, slots=True)
class BotConfig:
    admins: tuple[int, ...] = ()
    default_language: str = "vi"
    timezone: str = "Asia/Ho_Chi_Minh"
    hours_per_day: float = 8.0

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class BroadcastConfig:
    rate_per_second: float = 25.0
    per_chat_interval_seconds: float = 1.0
    paid: bool = False


@dataclass(frozen=True, slots=True)
class RemindersConfig:
    offsets: tuple[timedelta, ...] = (timedelta(hours=24), timedelta(hours=2))
    deadline_digest_before: timedelta = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class UnitsConfig:
    file: Path | None = None


@dataclass(frozen=True, slots=True)
class LoggingConfig:
    level: str = "INFO"
    json: bool = False


@dataclass(frozen=True, slots=True)
class Config:
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    bot: BotConfig = field(default_factory=BotConfig)
    broadcast: BroadcastConfig = field(default_factory=BroadcastConfig)
    reminders: RemindersConfig = field(default_factory=RemindersConfig)
    units: UnitsConfig = field(default_factory=UnitsConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    flood: FloodConfig = field(default_factory=FloodConfig)
    zalo: ZaloConfig = field(default_factory=ZaloConfig)
    web: WebConfig = field(default_factory=WebConfig)

    @property
    def needs_web_server(self) -> bool:
        """Webhooks and file links (Zalo carries no documents) need the bot's own server."""
        return self.telegram.mode == "webhook" or self.zalo.enabled


# --- value checkers: each returns the converted value or raises ConfigError ------------------

Checker = Callable[[str, Any], Any]


def _string(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigError(key, f"expected a string, got {_shown(value)}")
    return value


def _url(key: str, value: Any) -> str:
    text = _string(key, value)
    if text and not re.match(r"^https?://[^\s/]+", text):
        raise ConfigError(key, f"expected an http(s) URL, got {text!r}")
    return text.rstrip("/") if text.endswith("//") else text


def _integer(low: int, high: int) -> Checker:
    def check(key: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(key, f"expected an integer, got {_shown(value)}")
        if not low <= value <= high:
            raise ConfigError(key, f"expected an integer from {low} to {high}, got {value}")
        return value

    return check


def _number(low: float, high: float) -> Checker:
    def check(key: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(key, f"expected a number, got {_shown(value)}")
        if not low <= value <= high:
            raise ConfigError(key, f"expected a number from {low:g} to {high:g}, got {value}")
        return float(value)

    return check


def _boolean(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(key, f"expected true or false, got {_shown(value)}")
    return value


def _one_of(*choices: str) -> Checker:
    def check(key: str, value: Any) -> str:
        text = _string(key, value)
        if text not in choices:
            raise ConfigError(key, f"expected one of {', '.join(choices)}, got {text!r}")
        return text

    return check


def _timezone(key: str, value: Any) -> str:
    text = _string(key, value)
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            key, f"expected an IANA time zone such as Asia/Ho_Chi_Minh, got {text!r}"
        ) from None
    return text


def _user_ids(key: str, value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value
    ):
        raise ConfigError(
            key, f"expected a list of Telegram user ids (integers), got {_shown(value)}"
        )
    return tuple(value)


_DURATION = re.compile(r"^\s*(\d+)\s*([dhm])\s*$")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60}


def parse_duration(text: str) -> timedelta | None:
    """``"24h"``, ``"90m"``, ``"2d"`` → timedelta; anything else → None."""
    match = _DURATION.match(text)
    if not match:
        return None
    return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def _duration(key: str, value: Any) -> timedelta:
    parsed = parse_duration(value) if isinstance(value, str) else None
    if parsed is None or parsed <= timedelta(0):
        raise ConfigError(
            key, f'expected a duration such as "24h", "90m" or "2d", got {_shown(value)}'
        )
    return parsed


def _durations(key: str, value: Any) -> tuple[timedelta, ...]:
    if not isinstance(value, list) or not value:
        raise ConfigError(
            key,
            f'expected a non-empty list of durations such as ["24h", "2h"], got {_shown(value)}',
        )
    return tuple(sorted({_duration(key, v) for v in value}, reverse=True))


def _optional_path(key: str, value: Any) -> Path | None:
    text = _string(key, value)
    return Path(text) if text else None


def _path(key: str, value: Any) -> Path:
    text = _string(key, value)
    if not text:
        raise ConfigError(key, "expected a file path, got an empty string")
    return Path(text)


def _shown(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"[:80]


_SCHEMA: dict[str, dict[str, Checker]] = {
    "telegram": {
        "token": _string,
        "api_base_url": _url,
        "api_file_url": _url,
        "mode": _one_of("polling", "webhook"),
        "rate_limit_per_second": _number(1, 1000),
    },
    "telegram.webhook": {"url": _url, "path": _string, "secret_token": _string},
    "zalo": {
        "token": _string,
        "api_base_url": _url,
        "mode": _one_of("polling", "webhook"),
        "url": _url,
        "secret_token": _string,
    },
    "web": {"listen": _string, "port": _integer(1, 65535), "public_base_url": _url},
    "database": {"path": _path, "busy_timeout_ms": _integer(0, 600_000)},
    "bot": {
        "admins": _user_ids,
        "default_language": _one_of(*SUPPORTED_LANGUAGES),
        "timezone": _timezone,
        "hours_per_day": _number(1, 24),
    },
    "broadcast": {
        "rate_per_second": _number(0.1, 1000),
        "per_chat_interval_seconds": _number(0, 60),
        "paid": _boolean,
    },
    "reminders": {"offsets": _durations, "deadline_digest_before": _duration},
    "units": {"file": _optional_path},
    "logging": {"level": _one_of("DEBUG", "INFO", "WARNING", "ERROR"), "json": _boolean},
    "flood": {"burst": _integer(1, 10_000), "per_second": _number(0.1, 1000)},
}

_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# Zalo's secret travels in an HTTP header: visible ASCII, 8 to 256 characters.
_ZALO_SECRET_TOKEN = re.compile(r"^[!-~]{8,256}$")
# Keys that moved, and where to (an old config names them; say where they went).
_MOVED = {
    "telegram.webhook.listen": "web.listen",
    "telegram.webhook.port": "web.port",
}


def _section_values(raw: Mapping[str, Any], section: str) -> dict[str, Any]:
    node: Any = raw
    for part in section.split("."):
        node = node.get(part, {}) if isinstance(node, Mapping) else {}
    if not isinstance(node, Mapping):
        raise ConfigError(section, f"expected a table [{section}], got {_shown(node)}")
    checkers = _SCHEMA[section]
    values: dict[str, Any] = {}
    for key, value in node.items():
        if isinstance(value, Mapping) and f"{section}.{key}" in _SCHEMA:
            continue
        if f"{section}.{key}" in _MOVED:
            raise ConfigError(
                f"{section}.{key}",
                f"moved to {_MOVED[f'{section}.{key}']} (one web server for webhooks and file "
                "links)",
            )
        if key not in checkers:
            raise ConfigError(
                f"{section}.{key}", f"unknown key (known: {', '.join(sorted(checkers))})"
            )
        values[key] = checkers[key](f"{section}.{key}", value)
    return values


def parse_config(
    raw: Mapping[str, Any], env: Mapping[str, str] | None = None, *, require_token: bool = True
) -> Config:
    """Validate a parsed TOML document into a Config (raises ConfigError)."""
    env = os.environ if env is None else env
    for top in raw:
        if top not in {s.split(".")[0] for s in _SCHEMA}:
            raise ConfigError(top, f"unknown section (known: {', '.join(sorted(_SCHEMA))})")
    telegram = _section_values(raw, "telegram")
    if env.get(TOKEN_ENV):
        telegram["token"] = env[TOKEN_ENV]
    webhook = WebhookConfig(**_section_values(raw, "telegram.webhook"))
    zalo = _section_values(raw, "zalo")
    if env.get(ZALO_TOKEN_ENV):
        zalo["token"] = env[ZALO_TOKEN_ENV]
    config = Config(
        telegram=TelegramConfig(webhook=webhook, **telegram),
        database=DatabaseConfig(**_section_values(raw, "database")),
        bot=BotConfig(**_section_values(raw, "bot")),
        broadcast=BroadcastConfig(**_section_values(raw, "broadcast")),
        reminders=RemindersConfig(**_section_values(raw, "reminders")),
        units=UnitsConfig(**_section_values(raw, "units")),
        logging=LoggingConfig(**_section_values(raw, "logging")),
        flood=FloodConfig(**_section_values(raw, "flood")),
        zalo=ZaloConfig(**zalo),
        web=WebConfig(**_section_values(raw, "web")),
    )
    _check_whole(config, require_token=require_token)
    return config


def _is_public_or_local_https(url: str) -> bool:
    """A URL a platform can post to: https, or plain http on this machine (a local Bot API
    server, the emulator)."""
    local = re.match(r"^http://(127\.0\.0\.1|localhost)(:\d+)?(/|$)", url)
    return url.startswith("https://") or local is not None


def _check_whole(config: Config, *, require_token: bool) -> None:
    token = config.telegram.token
    if require_token and not token and not config.zalo.token:
        raise ConfigError(
            "telegram.token",
            f"expected the bot token from @BotFather (in the file or in ${TOKEN_ENV}), or "
            f"zalo.token (or ${ZALO_TOKEN_ENV}) for Zalo: at least one channel must run",
        )
    if token and not re.match(r"^\d+:[A-Za-z0-9_-]{20,}$", token):
        raise ConfigError(
            "telegram.token", "expected a token of the form 123456789:AA... from @BotFather"
        )
    webhook = config.telegram.webhook
    if config.telegram.mode == "webhook":
        # Telegram only posts to https; a local Bot API server or emulator may use plain http.
        if not _is_public_or_local_https(webhook.url):
            raise ConfigError(
                "telegram.webhook.url", "expected the public https:// URL in webhook mode"
            )
        if not _SECRET_TOKEN.match(webhook.secret_token):
            raise ConfigError(
                "telegram.webhook.secret_token",
                "expected 1-256 characters A-Z, a-z, 0-9, _ or - in webhook mode",
            )
    _check_zalo(config)


def _check_zalo(config: Config) -> None:
    from bot.channels.zalo.client import is_valid_token

    zalo = config.zalo
    if not zalo.token:
        return
    if not is_valid_token(zalo.token):
        raise ConfigError(
            "zalo.token", "expected a token of the form 12345689:abc-xyz from Zalo Bot Manager"
        )
    if zalo.mode == "webhook":
        if not _is_public_or_local_https(zalo.url):
            raise ConfigError("zalo.url", "expected the public https:// URL in webhook mode")
        if not _ZALO_SECRET_TOKEN.match(zalo.secret_token):
            raise ConfigError(
                "zalo.secret_token",
                "expected 8-256 visible ASCII characters (no spaces) in webhook mode",
            )
    if not _is_public_or_local_https(config.web.public_base_url):
        raise ConfigError(
            "web.public_base_url",
            "expected the https:// address where members' phones reach the bot's web server "
            "(Zalo gets files and photos as links to it)",
        )


def load_config(
    path: Path | None, env: Mapping[str, str] | None = None, *, require_token: bool = True
) -> Config:
    """Read ``path`` (None = defaults only) and validate it."""
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError("--config", f"file not found: {path}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("--config", f"{path} is not valid TOML ({exc})") from None
        except UnicodeDecodeError:
            raise ConfigError("--config", f"{path} is not UTF-8 text") from None
    return parse_config(raw, env, require_token=require_token)
