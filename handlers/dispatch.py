"""Where each input goes, for every channel: commands and pressed actions to the journey that
owns them, typed text, shared contacts and files to the step of the flow the person is in
(durable state in SQLite), menu labels to their journey, deep links by prefix. Refusals that
escape a journey still get their reply; anything else is logged and apologised for."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.domain.errors import InvalidInput, NotAllowed
from bot.flows import FlowState
from handlers.dialog import (
    Command,
    Press,
    SharedContact,
    Turn,
    Typed,
    Unreachable,
    Unsupported,
    Upload,
)
from handlers.menus import MENU_KEYS

log = logging.getLogger(__name__)

TurnHandler = Callable[[Turn], Awaitable[None]]
StepHandler = Callable[[Turn, FlowState], Awaitable[None]]
DeepLinkHandler = Callable[[Turn, str], Awaitable[None]]
# What to do once a unit is picked, by flow (onboarding and profile share the unit picker).
UnitChosen = Callable[[Turn, FlowState, int], Awaitable[None]]
Route = Callable[[], Awaitable[None]]


@dataclass
class Routes:
    commands: dict[str, TurnHandler] = field(default_factory=dict)
    actions: dict[str, TurnHandler] = field(default_factory=dict)  # by callback namespace
    text_steps: dict[tuple[str, str], StepHandler] = field(default_factory=dict)
    contact_steps: dict[tuple[str, str], StepHandler] = field(default_factory=dict)
    file_steps: dict[tuple[str, str], StepHandler] = field(default_factory=dict)
    menu: dict[str, TurnHandler] = field(default_factory=dict)
    deep_links: dict[str, DeepLinkHandler] = field(default_factory=dict)
    unit_chosen: dict[str, UnitChosen] = field(default_factory=dict)
    # When nothing else takes typed text, a contact, a file or the rest (set by common).
    fallback: TurnHandler | None = None

    def deep_link_for(self, payload: str) -> tuple[DeepLinkHandler, str] | None:
        for prefix, handler in self.deep_links.items():
            if payload.startswith(prefix) and len(payload) > len(prefix):
                return handler, payload[len(prefix) :]
        return None

    async def find(self, turn: Turn) -> Route | None:
        """The route for this turn's input, or None when no journey here takes it."""
        match turn.input:
            case Command(name=name):
                command = self.commands.get(name)
                return None if command is None else (lambda: command(turn))
            case Press():
                parsed = turn.pressed
                action = self.actions.get(parsed.namespace) if parsed else None
                return None if action is None else (lambda: action(turn))
            case Typed(text=text):
                menu_key = menu_key_of(turn, text)
                if menu_key is not None and menu_key in self.menu:
                    entry = self.menu[menu_key]

                    async def open_menu_entry() -> None:
                        if (await turn.actor()).is_member:
                            # The menu always leaves a half-done flow.
                            await turn.services.flows.clear(turn.person)
                            await entry(turn)
                        elif self.fallback is not None:
                            await self.fallback(turn)

                    return open_menu_entry
                return await self._step(turn, self.text_steps)
            case SharedContact():
                return await self._step(turn, self.contact_steps)
            case Upload():
                return await self._step(turn, self.file_steps)
            case Unsupported():
                return self._fallback(turn)
        return None

    def _fallback(self, turn: Turn) -> Route | None:
        fallback = self.fallback
        return None if fallback is None else (lambda: fallback(turn))

    async def _step(self, turn: Turn, steps: dict[tuple[str, str], StepHandler]) -> Route | None:
        state = await turn.services.flows.get(turn.person)
        if state is None:
            return self._fallback(turn)
        step = steps.get((state.flow, state.step))
        return None if step is None else (lambda: step(turn, state))


def menu_key_of(turn: Turn, text: str) -> str | None:
    """The main-menu entry a label stands for, in either language."""
    catalogue = turn.services.catalogue
    return next((key for key in MENU_KEYS if catalogue.matches(key, text)), None)


async def run(turn: Turn, route: Route) -> None:
    """Run one route; what escapes it is answered here, never crashes the channel."""
    try:
        await route()
    except Unreachable:
        log.info("person %s is unreachable on %s", "<hidden>", turn.channel.value)
        await turn.services.member_service.mark_unreachable(turn.person)
    except (InvalidInput, NotAllowed) as error:
        # A refusal from a service that the journey did not catch is still a refusal, not a
        # fault: it gets its own reply, and is logged as a bug in that journey.
        log.error("a journey let a refusal through: %s", type(error).__name__)
        key = error.key if isinstance(error, InvalidInput) else error.reason
        params = error.params if isinstance(error, InvalidInput) else {}
        try:
            await turn.refuse(key, **params)
        except Exception:
            log.warning("could not send a refusal")
    except Exception as error:
        log.error(
            "error while answering %s: %s", turn.channel.value, type(error).__name__, exc_info=error
        )
        try:
            await turn.say("common.error")
        except Exception:  # the apology failing must not loop back
            log.warning("could not send the apology")
