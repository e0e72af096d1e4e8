"""Where each input goes, for every channel: commands and pressed actions to the journey that
owns them, typed text, shared contacts and files to the step of the flow the person is in
(durable state in SQLite), menu labels to their journey, deep links by prefix. Refusals that
escape a journey still get their reply; anything else is logged and apologised for."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.domain.errors import InvalidInput, NotAllowed
from bot.domain.members import Channel, Member, Person
from bot.flows import FlowState
from handlers.dialog import (
    BotLinks,
    Command,
    Messenger,
    Press,
    Reply,
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


class _NoMessenger:
    async def send(self, member: Member, reply: Reply) -> bool:
        raise RuntimeError("no channel is running to send through")

    async def role_changed(self, member: Member) -> None:
        return None


class PersonMemory:
    """Per-person scratch dicts, the least recently used forgotten beyond ``capacity``."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._memories: OrderedDict[Person, dict[str, Any]] = OrderedDict()

    def of(self, person: Person) -> dict[str, Any]:
        memory = self._memories.get(person)
        if memory is None:
            memory = self._memories[person] = {}
            if len(self._memories) > self._capacity:
                self._memories.popitem(last=False)
        else:
            self._memories.move_to_end(person)
        return memory


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
    # Typed text, contacts and files outside any flow, stickers and the like (set by common).
    fallback: TurnHandler | None = None
    # What no journey claims: an unknown command, an expired button (set by common).
    unclaimed: TurnHandler | None = None
    # Flows whose steps are all registered here (the others still run on PTB's handlers).
    flows: set[str] = field(default_factory=set)
    # A little memory per person between turns, lost on restart (like "what /start carried
    # before consent": refusing consent must store nothing).
    memories: PersonMemory = field(default_factory=lambda: PersonMemory(10_000))
    # Set by the composition once the channels exist.
    messenger: Messenger = field(default_factory=lambda: _NoMessenger())
    links: BotLinks = field(default_factory=BotLinks)
    # The channels running (set by the composition): a journey offers what needs another
    # channel (linking an account there) only when it runs.
    channels: frozenset[Channel] = frozenset()

    def deep_link_for(self, payload: str) -> tuple[DeepLinkHandler, str] | None:
        for prefix, handler in self.deep_links.items():
            if payload.startswith(prefix) and len(payload) > len(prefix):
                return handler, payload[len(prefix) :]
        return None

    async def find(self, turn: Turn) -> Route | None:
        """The route for this turn's input, or None when no journey claims it."""
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
                if menu_key is not None:
                    entry = self.menu.get(menu_key)
                    return None if entry is None else (lambda: self._open_menu_entry(turn, entry))
                return await self._step(turn, self.text_steps, "flow.use_buttons")
            case SharedContact():
                return await self._step(turn, self.contact_steps, "flow.contact_unexpected")
            case Upload():
                return await self._step(turn, self.file_steps, "flow.file_unexpected")
            case Unsupported():
                return self._fallback(turn)
        return None

    async def route(self, turn: Turn) -> Route:
        """The route for this turn, or the one for what nobody claims (common's fallbacks)."""
        found = await self.find(turn)
        if found is not None:
            return found
        unclaimed = self.unclaimed
        if unclaimed is None:
            raise LookupError("no journey registered the fallbacks")
        return lambda: unclaimed(turn)

    async def _open_menu_entry(self, turn: Turn, entry: TurnHandler) -> None:
        if (await turn.actor()).is_member:
            await turn.services.flows.clear(turn.person)  # the menu always leaves a flow
            await entry(turn)
        else:
            await turn.say("onboarding.start_first")

    def _fallback(self, turn: Turn) -> Route | None:
        fallback = self.fallback
        return None if fallback is None else (lambda: fallback(turn))

    async def _step(
        self, turn: Turn, steps: dict[tuple[str, str], StepHandler], miss: str
    ) -> Route | None:
        state = await turn.services.flows.get(turn.person)
        if state is None:
            return self._fallback(turn)
        step = steps.get((state.flow, state.step))
        if step is not None:
            return lambda: step(turn, state)
        if state.flow in self.flows:
            # A flow of ours, at a step that takes no such input: say so, and the choices of
            # the step stand.
            return lambda: _missed(turn, miss)
        return None


async def _missed(turn: Turn, miss: str) -> None:
    if miss == "flow.use_buttons" and not turn.chat.capabilities.buttons:
        miss = "flow.use_numbers"
    await turn.send(Reply(await turn.text(miss), repeat_choices=True))


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
