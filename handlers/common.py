"""What every person has, on every channel: help, the main menu, and the answers to what no
journey claims (an unknown command, an expired button, a sticker, text outside any flow)."""

from __future__ import annotations

from handlers.dialog import Command, Press, Turn, Unsupported
from handlers.dispatch import Routes


async def help_command(turn: Turn) -> None:
    actor = await turn.actor()
    keyboard = await turn.main_menu() if actor.is_member else None
    await turn.say("help.text", keyboard=keyboard)


async def show_main_menu(turn: Turn) -> None:
    """``/menu`` (and Zalo's ``0``): the main menu, or onboarding first for a newcomer."""
    actor = await turn.actor()
    if not actor.is_member:
        await turn.say("onboarding.start_first")
        return
    await turn.services.flows.clear(turn.person)  # the menu always leaves a half-done flow
    await turn.say("common.main_menu", keyboard=await turn.main_menu())


async def outside_any_flow(turn: Turn) -> None:
    """Typed text, a contact or a file when no flow waits for one; stickers and the like."""
    if isinstance(turn.input, Unsupported):
        key = "common.protected_user" if turn.input.protected else "flow.message_unexpected"
        await turn.say(key)
        return
    actor = await turn.actor()
    if actor.is_member:
        await turn.say("common.use_menu", keyboard=await turn.main_menu())
    elif not turn.chat.capabilities.deep_links:
        # No /start button where there are no commands: whatever a newcomer sends first
        # opens the door (consent comes first, nothing is stored before it).
        start = turn.routes.commands.get("start")
        if start is not None:
            await start(turn)
    else:
        await turn.say("onboarding.start_first")


async def unclaimed(turn: Turn) -> None:
    match turn.input:
        case Press():
            await turn.answer("common.button_expired")
        case Command():
            await turn.say("common.unknown_command")
        case _:
            await outside_any_flow(turn)


def register(routes: Routes) -> None:
    routes.commands["help"] = help_command
    routes.commands["menu"] = show_main_menu
    routes.menu["menu.help"] = help_command
    routes.fallback = outside_any_flow
    routes.unclaimed = unclaimed
