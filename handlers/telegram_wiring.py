"""The journeys not yet written for every channel, on PTB's own handlers, in the group after
the channel-neutral entry (which takes every update a neutral journey claims)."""

from __future__ import annotations

from typing import Any, cast

from telegram.ext import Application, BaseHandler, MessageHandler, filters

from bot.channels.telegram import guards
from bot.channels.telegram.entry import LEGACY_GROUP
from handlers import (
    broadcasts,
    exports,
    initiatives,
    reminders,
    router,
)

AnyApp = Application[Any, Any, Any, Any, Any, Any]


class _LegacyGroup:
    """``add_handler`` into the legacy group (the journeys register as they always did)."""

    def __init__(self, app: AnyApp) -> None:
        self._app = app
        self.bot_data = app.bot_data

    def add_handler(self, handler: BaseHandler[Any, Any, Any], group: int = 0) -> None:
        self._app.add_handler(handler, group=LEGACY_GROUP if group == 0 else group)


def register_legacy(app: AnyApp) -> router.Router:
    legacy = router.Router()
    app.bot_data["router"] = legacy
    shim = cast(AnyApp, _LegacyGroup(app))
    broadcasts.register(shim, legacy)
    reminders.register(shim)
    initiatives.register(shim, legacy)
    exports.register(shim, legacy)
    private = filters.ChatType.PRIVATE
    for handler in (
        MessageHandler(private & filters.TEXT & ~filters.COMMAND, router.on_text),
        MessageHandler(private & filters.CONTACT, router.on_contact),
        MessageHandler(private & (filters.Document.ALL | filters.PHOTO), router.on_file),
        MessageHandler(private & ~filters.COMMAND & ~filters.StatusUpdate.ALL, router.on_other),
    ):
        app.add_handler(handler, group=LEGACY_GROUP)
    guards.register_fallbacks(app, LEGACY_GROUP)
    return legacy
