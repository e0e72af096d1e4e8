"""Config: defaults, the environment token, and one clear line for every kind of mistake."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import TOKEN_ENV, ZALO_TOKEN_ENV, ConfigError, load_config, parse_config

TOKEN = "123456789:AAEexampleexampleexampleexample"
ZALO_TOKEN = "12345689:abc-xyz"
WEB = {"public_base_url": "https://nhipcau.example.vn"}
ROOT = Path(__file__).resolve().parents[2]


def test_example_config_documents_a_valid_config() -> None:
    config = load_config(ROOT / "config.example.toml", env={TOKEN_ENV: TOKEN})
    assert config.telegram.token == TOKEN
    assert config.telegram.mode == "polling"
    assert not config.zalo.enabled and config.zalo.mode == "polling"
    assert (config.web.listen, config.web.port) == ("127.0.0.1", 8443)
    assert config.bot.timezone == "Asia/Ho_Chi_Minh"
    assert config.reminders.offsets == (timedelta(hours=24), timedelta(hours=2))
    assert config.broadcast.rate_per_second == 25


def test_environment_token_overrides_the_file() -> None:
    config = parse_config({"telegram": {"token": "1:" + "x" * 30}}, env={TOKEN_ENV: TOKEN})
    assert config.telegram.token == TOKEN


def test_every_key_of_the_schema_is_documented_in_the_example() -> None:
    import tomllib

    from bot.config import _SCHEMA

    example = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    for section, checkers in _SCHEMA.items():
        node = example
        for part in section.split("."):
            node = node[part]
        assert set(checkers) <= set(node), section
    # Scripts and operators rely on these names: exactly these keys.
    assert set(example["zalo"]) == {"token", "api_base_url", "mode", "url", "secret_token"}
    assert set(example["web"]) == {"listen", "port", "public_base_url"}


@pytest.mark.parametrize(
    ("raw", "key", "expected"),
    [
        ({"telegram": {"mode": "carrier-pigeon"}}, "telegram.mode", "one of polling, webhook"),
        ({"telegram": {"tokn": "x"}}, "telegram.tokn", "unknown key"),
        ({"telegrm": {}}, "telegrm", "unknown section"),
        ({"bot": {"admins": "12345"}}, "bot.admins", "list of Telegram user ids"),
        ({"bot": {"admins": [1, "two"]}}, "bot.admins", "list of Telegram user ids"),
        ({"bot": {"timezone": "Mars/Olympus"}}, "bot.timezone", "IANA time zone"),
        ({"bot": {"default_language": "fr"}}, "bot.default_language", "one of vi, en"),
        ({"broadcast": {"rate_per_second": "fast"}}, "broadcast.rate_per_second", "a number"),
        ({"broadcast": {"rate_per_second": 0}}, "broadcast.rate_per_second", "from 0.1"),
        ({"reminders": {"offsets": ["24 hours"]}}, "reminders.offsets", "duration"),
        ({"reminders": {"offsets": []}}, "reminders.offsets", "non-empty list"),
        ({"database": {"busy_timeout_ms": True}}, "database.busy_timeout_ms", "an integer"),
        ({"web": {"port": 70000}}, "web.port", "1 to 65535"),
        ({"web": {"public_base_url": "nhipcau.vn"}}, "web.public_base_url", "http(s) URL"),
        # The Telegram webhook is served by the one web server now: the old keys say where.
        ({"telegram": {"webhook": {"port": 8443}}}, "telegram.webhook.port", "moved to web.port"),
        (
            {"telegram": {"webhook": {"listen": "0.0.0.0"}}},
            "telegram.webhook.listen",
            "moved to web.listen",
        ),
        ({"zalo": {"mode": "push"}}, "zalo.mode", "one of polling, webhook"),
        ({"zalo": {"tokn": "x"}}, "zalo.tokn", "unknown key"),
        ({"zalo": {"token": "12345689"}, "web": WEB}, "zalo.token", "12345689:abc-xyz"),
        ({"zalo": {"token": ZALO_TOKEN}}, "web.public_base_url", "https:// address"),
        (
            {"zalo": {"token": ZALO_TOKEN, "mode": "webhook"}, "web": WEB},
            "zalo.url",
            "https:// URL",
        ),
        (
            {
                "zalo": {
                    "token": ZALO_TOKEN,
                    "mode": "webhook",
                    "url": "https://nhipcau.example.vn/zalo",
                    "secret_token": "short",
                },
                "web": WEB,
            },
            "zalo.secret_token",
            "8-256 visible ASCII",
        ),
        ({"telegram": {"api_base_url": "ftp://x"}}, "telegram.api_base_url", "http(s) URL"),
        ({"telegram": {"mode": "webhook"}}, "telegram.webhook.url", "https:// URL"),
        (
            {"telegram": {"mode": "webhook", "webhook": {"url": "https://x.vn/hook"}}},
            "telegram.webhook.secret_token",
            "1-256 characters",
        ),
        ({"telegram": {"token": "not-a-token"}}, "telegram.token", "123456789:AA"),
    ],
)
def test_mistakes_name_the_key_and_what_is_expected(
    raw: dict[str, object], key: str, expected: str
) -> None:
    raw.setdefault("telegram", {})
    telegram = raw["telegram"]
    assert isinstance(telegram, dict)
    if key != "telegram.token":
        telegram.setdefault("token", TOKEN)
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, env={})
    assert caught.value.key == key
    assert expected in caught.value.expected


def test_missing_token_is_an_error_outside_the_demo_only() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({}, env={})
    assert caught.value.key == "telegram.token"
    assert "zalo.token" in caught.value.expected and ZALO_TOKEN_ENV in caught.value.expected
    assert parse_config({}, env={}, require_token=False).telegram.token == ""


def test_zalo_may_run_alone_with_its_token_from_the_environment() -> None:
    config = parse_config({"web": WEB}, env={ZALO_TOKEN_ENV: ZALO_TOKEN})
    assert config.zalo.enabled and not config.telegram.enabled
    assert config.zalo.token == ZALO_TOKEN
    assert config.zalo.api_base_url == "https://bot-api.zaloplatforms.com/bot"
    assert config.zalo.mode == "polling"
    assert config.needs_web_server  # file links


def test_both_channels_with_webhooks_share_the_web_server() -> None:
    config = parse_config(
        {
            "telegram": {
                "token": TOKEN,
                "mode": "webhook",
                "webhook": {"url": "https://nhipcau.example.vn/telegram", "secret_token": "t0k"},
            },
            "zalo": {
                "token": ZALO_TOKEN,
                "mode": "webhook",
                "url": "https://nhipcau.example.vn/hooks/zalo",
                "secret_token": "z@lo-secret-42",
            },
            "web": {"listen": "0.0.0.0", "port": 9000, **WEB},
        },
        env={},
    )
    assert config.zalo.webhook_path == "/hooks/zalo"
    assert (config.web.listen, config.web.port) == ("0.0.0.0", 9000)
    assert config.telegram.webhook.path == "telegram"


def test_telegram_alone_in_polling_needs_no_web_server() -> None:
    config = parse_config({"telegram": {"token": TOKEN}}, env={})
    assert not config.zalo.enabled and not config.needs_web_server


def test_broken_toml_is_reported_not_raised(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[telegram\ntoken = ", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path, env={})


def test_cli_prints_one_line_and_exits_2_on_bad_config(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[bot]\ntimezone = "Hanoi/Nowhere"\n', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--config", str(path)],
        capture_output=True,
        text=True,
        env={TOKEN_ENV: TOKEN, "PATH": "/usr/bin:/bin"},
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "bot.timezone" in lines[0] and "Traceback" not in result.stderr


def test_cli_refuses_to_run_without_a_token(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "telegram.token" in result.stderr and TOKEN_ENV in result.stderr
    assert "zalo.token" in result.stderr and ZALO_TOKEN_ENV in result.stderr
