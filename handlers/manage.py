"""The "🛠 Quản lý" panel: every cadre and admin command as a button, so nobody has to remember
commands. A press runs the same handler as the typed command, which checks the role itself."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler

from bot.domain.members import Role
from handlers import callbacks
from handlers.context import BotContext
from handlers.menus import MENU_COMMANDS
from handlers.router import Router
from handlers.ui import answer, inline, say

# (command, label key), in the order shown; only those the person's role has are offered.
PANEL: tuple[tuple[str, str], ...] = (
    ("newactivity", "manage.new_activity"),
    ("manage", "manage.activities"),
    ("import", "manage.import"),
    ("broadcast", "manage.broadcast"),
    ("broadcasts", "manage.broadcasts"),
    ("review", "manage.review"),
    ("export", "manage.export"),
    ("stats", "manage.stats"),
    ("roles", "manage.roles"),
)


def _role_of(is_admin: bool, is_cadre: bool) -> Role | None:
    return Role.ADMIN if is_admin else Role.CADRE if is_cadre else None


async def show_panel(update: Update, context: BotContext) -> None:
    actor = await context.actor(update)
    role = _role_of(actor.is_admin, actor.is_cadre)
    if role is None:
        await say(update, context, "access.denied")
        return
    allowed = set(MENU_COMMANDS[role])
    buttons = [
        (await context.label(update, key), callbacks.pack("mg", command))
        for command, key in PANEL
        if command in allowed
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    await say(update, context, "manage.panel", reply_markup=inline(rows))


def _command_callback(app: Application[Any, Any, Any, Any, Any, Any], command: str) -> Any:
    for group in app.handlers.values():
        for handler in group:
            if isinstance(handler, CommandHandler) and command in handler.commands:
                return handler.callback
    return None


async def on_callback(update: Update, context: BotContext) -> None:
    parsed = callbacks.parse(update.callback_query.data if update.callback_query else None)
    actor = await context.actor(update)
    role = _role_of(actor.is_admin, actor.is_cadre)
    command = parsed.action if parsed else ""
    if role is None or command not in MENU_COMMANDS[role] or command not in dict(PANEL):
        await answer(update, context, "access.denied", alert=True)
        return
    target = _command_callback(context.application, command)
    if target is None:
        await answer(update, context, "common.button_expired")
        return
    context.args = []
    await target(update, context)
    await answer(update, context)  # unless the command answered the press itself


def register(app: Application[Any, Any, Any, Any, Any, Any], router: Router) -> None:
    app.add_handler(CallbackQueryHandler(on_callback, pattern=r"^mg:"))
    router.menu["menu.manage"] = show_panel
