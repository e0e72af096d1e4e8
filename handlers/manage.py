"""The "🛠 Quản lý" panel: every cadre and admin command as a choice, so nobody has to remember
commands. A choice runs the same journey as the typed command, which checks the role itself."""

from __future__ import annotations

from bot.domain.members import Role
from handlers import callbacks
from handlers.dialog import Command, Turn
from handlers.dispatch import Routes
from handlers.menus import MENU_COMMANDS

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


async def show_panel(turn: Turn) -> None:
    actor = await turn.actor()
    role = _role_of(actor.is_admin, actor.is_cadre)
    if role is None:
        await turn.say("access.denied")
        return
    allowed = set(MENU_COMMANDS[role])
    buttons = [
        await turn.button(key, callbacks.pack("mg", command))
        for command, key in PANEL
        if command in allowed
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    await turn.say("manage.panel", buttons=rows)


async def on_press(turn: Turn) -> None:
    parsed = turn.pressed
    actor = await turn.actor()
    role = _role_of(actor.is_admin, actor.is_cadre)
    command = parsed.action if parsed else ""
    if role is None or command not in MENU_COMMANDS[role] or command not in dict(PANEL):
        await turn.answer("access.denied", alert=True)
        return
    await turn.answer()
    # The same journey as the typed command, as if it had been typed.
    as_typed = Turn(turn.services, turn.routes, turn.chat, turn.user, Command(command))
    as_typed.answered = True
    route = await turn.routes.find(as_typed)
    if route is None:
        await turn.say("common.unknown_command")
        return
    await route()


def register(routes: Routes) -> None:
    routes.actions["mg"] = on_press
    routes.menu["menu.manage"] = show_panel
