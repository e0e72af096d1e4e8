"""Wiring of the journeys into the Telegram application (until every journey runs through the
channel-neutral dispatcher)."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, MessageHandler, filters

from handlers import (
    activities,
    admin,
    attendance,
    broadcasts,
    common,
    exports,
    flood,
    initiatives,
    manage,
    onboarding,
    profile,
    reminders,
    router,
)


def register_handlers(app: Application[Any, Any, Any, Any, Any, Any]) -> router.Router:
    """Wire every journey's handlers. Commands and buttons first; typed text, contacts and
    files last, routed by the durable flow state."""
    routes = router.Router()
    app.bot_data["router"] = routes
    common.register(app, routes)
    flood.register(app)
    onboarding.register(app, routes)
    profile.register(app, routes)
    admin.register(app)
    manage.register(app, routes)
    broadcasts.register(app, routes)
    reminders.register(app)
    activities.register(app, routes)
    attendance.register(app, routes)
    initiatives.register(app, routes)
    exports.register(app, routes)
    private = filters.ChatType.PRIVATE
    app.add_handler(MessageHandler(private & filters.TEXT & ~filters.COMMAND, router.on_text))
    app.add_handler(MessageHandler(private & filters.CONTACT, router.on_contact))
    app.add_handler(
        MessageHandler(private & (filters.Document.ALL | filters.PHOTO), router.on_file)
    )
    app.add_handler(
        MessageHandler(private & ~filters.COMMAND & ~filters.StatusUpdate.ALL, router.on_other)
    )
    common.register_fallbacks(app)
    return routes
