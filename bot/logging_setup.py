"""Logging: plain or one JSON object per line, with the bot token, phone numbers and emails
redacted from every record by one ``Redactor``, whichever format writes it out."""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import IO

_TOKEN_SHAPE = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")
# Personal data that can reach a log through library debug output (update payloads) or an
# exception's message (a failed request's parameters, a bad row of an import file).
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_PHONE = re.compile(r"(?<![\d:])(?:\+\d{8,15}|84\d{9}|0\d{9})(?!\d)")
PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class Redactor:
    """Replaces the bot token (and anything shaped like one), phone numbers and emails."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        self._secrets = tuple(s for s in secrets if s)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "<token>")
        text = _TOKEN_SHAPE.sub("<token>", text)
        text = _EMAIL.sub("<email>", text)
        return _PHONE.sub("<phone>", text)

    def scrub(self, record: logging.LogRecord) -> None:
        """Redact the record in place: its message with the arguments merged in, the text of
        its exception (formatted here once, so that no formatter formats it again from
        ``exc_info``) and its stack. Doing it twice changes nothing."""
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message or record.args:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)


class RedactingFilter(logging.Filter):
    """The redaction as a filter, for handlers that keep their own formatter."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self._redactor = Redactor(secrets)

    def redact(self, text: str) -> str:
        return self._redactor.redact(text)

    def filter(self, record: logging.LogRecord) -> bool:
        self._redactor.scrub(record)
        return True


class PlainFormatter(logging.Formatter):
    def __init__(self, redactor: Redactor) -> None:
        super().__init__(PLAIN_FORMAT)
        self._redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        self._redactor.scrub(record)
        return super().format(record)


class JsonFormatter(logging.Formatter):
    _EXTRA = ("update_id", "user_id", "handler", "duration_ms")

    def __init__(self, redactor: Redactor | None = None) -> None:
        super().__init__()
        self._redactor = redactor or Redactor()

    def format(self, record: logging.LogRecord) -> str:
        self._redactor.scrub(record)
        payload: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in self._EXTRA:
            if hasattr(record, name):
                payload[name] = getattr(record, name)
        # The scrubbed texts, never a fresh formatting of exc_info (which would undo it).
        if record.exc_text:
            payload["exception"] = record.exc_text
        if record.stack_info:
            payload["stack"] = record.stack_info
        return json.dumps(payload, ensure_ascii=False)


def configure_logging(
    level: str, *, json_lines: bool, secrets: tuple[str, ...] = (), stream: IO[str] | None = None
) -> logging.Handler:
    """Install the one log handler on the root logger; returns it."""
    redactor = Redactor(secrets)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(redactor) if json_lines else PlainFormatter(redactor))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, and Bot API URLs contain the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    return handler
