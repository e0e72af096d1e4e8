"""Local Telegram Bot API emulator: an HTTP server PTB can poll, a test client and a web chat."""

from bot.emulator.chats import EmulatedChat, EmulatedGroup, EmulatedUser
from bot.emulator.models import (
    ApiError,
    BotMessage,
    CallbackAnswer,
    EmulatedFile,
    EmulatorStats,
    InlineButton,
    KeyboardButton,
    Persona,
)
from bot.emulator.server import BotApiEmulator
from bot.telegram_html import HtmlParseError, ParsedText, parse_html

__all__ = [
    "ApiError",
    "BotApiEmulator",
    "BotMessage",
    "CallbackAnswer",
    "EmulatedChat",
    "EmulatedFile",
    "EmulatedGroup",
    "EmulatedUser",
    "EmulatorStats",
    "HtmlParseError",
    "InlineButton",
    "KeyboardButton",
    "ParsedText",
    "Persona",
    "parse_html",
]
