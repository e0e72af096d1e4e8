"""The main menu (the journeys' entry points, by catalogue key) and the commands each role sees
in a channel's command menu. Which role sees what is decided here; channels only render it."""

from __future__ import annotations

from bot.domain.members import Actor, Role

# Main menu labels, by catalogue key, in rows; cadres and admins get one more row.
MENU_LAYOUT: tuple[tuple[str, ...], ...] = (
    ("menu.activities", "menu.my_registrations"),
    ("menu.initiatives", "menu.profile"),
    ("menu.help",),
)
MANAGER_ROW = ("menu.manage",)
MENU_KEYS = (*(key for row in MENU_LAYOUT for key in row), *MANAGER_ROW)

_MEMBER = ("start", "profile", "checkin", "settings", "mydata", "forgetme", "cancel", "help")
_CADRE = (
    *_MEMBER,
    "newactivity",
    "manage",
    "import",
    "template",
    "broadcast",
    "broadcasts",
    "review",
    "export",
    "stats",
)
MENU_COMMANDS: dict[Role, tuple[str, ...]] = {
    Role.MEMBER: _MEMBER,
    Role.CADRE: _CADRE,
    Role.ADMIN: (*_CADRE, "grant", "revoke", "roles"),
}


def menu_layout(actor: Actor) -> tuple[tuple[str, ...], ...]:
    return (*MENU_LAYOUT, MANAGER_ROW) if actor.is_admin or actor.is_cadre else MENU_LAYOUT
