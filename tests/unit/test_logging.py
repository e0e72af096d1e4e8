"""Logs in both modes (plain and JSON lines) carry no token, phone number or email, whether in
the message, its arguments, a traceback or a stack."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.logging_setup import configure_logging

TOKEN = "987654321:AAHsecret-token-of-the-real-bot-xyz"
SECRETS = (TOKEN, "+84912345678", "0987654321", "an.nguyen@example.vn")


def _fail_to_send() -> None:
    # The literal values make them appear in the traceback's source lines as well.
    raise RuntimeError(
        "POST https://api.telegram.org/bot987654321:AAHsecret-token-of-the-real-bot-xyz/send "
        "phone=+84912345678 alt=0987654321 email=an.nguyen@example.vn"
    )


@pytest.fixture
def root_restored() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _log_everything(stream: io.StringIO, *, json_lines: bool) -> str:
    configure_logging("INFO", json_lines=json_lines, secrets=(TOKEN,), stream=stream)
    log = logging.getLogger("nhipcau.test")
    try:
        _fail_to_send()
    except RuntimeError:
        log.exception("could not notify %s (%s)", "0987654321", "an.nguyen@example.vn")
    log.warning("where am I: call an.nguyen@example.vn on +84912345678", stack_info=True)
    return stream.getvalue()


@pytest.mark.usefixtures("root_restored")
def test_plain_logs_redact_message_arguments_traceback_and_stack() -> None:
    text = _log_everything(io.StringIO(), json_lines=False)
    for secret in SECRETS:
        assert secret not in text, secret
    assert "could not notify <phone> (<email>)" in text
    assert "Traceback (most recent call last)" in text
    assert "RuntimeError: POST https://api.telegram.org/bot<token>/send" in text
    assert "phone=<phone> alt=<phone> email=<email>" in text
    assert "Stack (most recent call last)" in text
    assert "where am I: call <email> on <phone>" in text


@pytest.mark.usefixtures("root_restored")
def test_json_logs_redact_message_arguments_traceback_and_stack() -> None:
    text = _log_everything(io.StringIO(), json_lines=True)
    for secret in SECRETS:
        assert secret not in text, secret
    failure, stack = (json.loads(line) for line in text.splitlines())
    assert failure["level"] == "ERROR"
    assert failure["message"] == "could not notify <phone> (<email>)"
    assert failure["exception"].startswith("Traceback (most recent call last)")
    assert "RuntimeError: POST https://api.telegram.org/bot<token>/send" in failure["exception"]
    assert "phone=<phone> alt=<phone> email=<email>" in failure["exception"]
    assert stack["message"] == "where am I: call <email> on <phone>"
    assert stack["stack"].startswith("Stack (most recent call last)")
    assert "_log_everything" in stack["stack"]
