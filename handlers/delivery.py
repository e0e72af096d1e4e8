"""Telegram's answers to a send, translated into the outcomes the courier understands."""

from __future__ import annotations

import warnings
from collections.abc import Awaitable
from datetime import timedelta

from telegram import Message
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.warnings import PTBDeprecationWarning

from bot.delivery import Blocked, Delivered, Failed, Outcome, RetryLater


async def outcome_of(send: Awaitable[Message]) -> Outcome:
    try:
        message = await send
    except RetryAfter as exc:
        with warnings.catch_warnings():  # PTB 22 warns it will become a timedelta
            warnings.simplefilter("ignore", PTBDeprecationWarning)
            wait = exc.retry_after
        return RetryLater(wait.total_seconds() if isinstance(wait, timedelta) else float(wait))
    except Forbidden as exc:  # blocked, or the account is gone
        return Blocked(exc.message)
    except BadRequest as exc:  # chat not found, bad markup: another try would fail the same
        return Failed(exc.message, retryable=False)
    except TelegramError as exc:  # network trouble, timeouts: worth another try
        return Failed(f"{type(exc).__name__}: {exc.message}", retryable=True)
    return Delivered(message.message_id)
