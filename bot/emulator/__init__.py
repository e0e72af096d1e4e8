"""Local Telegram and Zalo Bot API emulators: one HTTP server, test clients and a web chat."""

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
from bot.emulator.zalo import ZaloEmulator
from bot.emulator.zalo_models import ZaloBotMessage, ZaloMedia, ZaloStats, ZaloWebhookDelivery
from bot.emulator.zalo_users import ZaloUser
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
    "ZaloBotMessage",
    "ZaloEmulator",
    "ZaloMedia",
    "ZaloStats",
    "ZaloUser",
    "ZaloWebhookDelivery",
    "parse_html",
]
