"""Routing of what is not a command: typed text, shared contacts and files go to the step of the
flow the person is in (state from SQLite), menu labels to their journey, deep links by prefix."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from telegram import Update

from bot.flows import FlowState
from handlers.context import BotContext
from handlers.ui import main_menu, menu_key_of, say

log = logging.getLogger(__name__)

StepHandler = Callable[[Update, BotContext, FlowState], Awaitable[None]]
MenuHandler = Callable[[Update, BotContext], Awaitable[None]]
DeepLinkHandler = Callable[[Update, BotContext, str], Awaitable[None]]
# What to do once a unit is picked, by flow (onboarding and profile share the unit picker).
UnitChosen = Callable[[Update, BotContext, FlowState, int], Awaitable[None]]


@dataclass
class Router:
    text_steps: dict[tuple[str, str], StepHandler] = field(default_factory=dict)
    contact_steps: dict[tuple[str, str], StepHandler] = field(default_factory=dict)
    file_steps: dict[tuple[str, str], StepHandler] = field(default_factory=dict)
    menu: dict[str, MenuHandler] = field(default_factory=dict)
    deep_links: dict[str, DeepLinkHandler] = field(default_factory=dict)
    unit_chosen: dict[str, UnitChosen] = field(default_factory=dict)

    def deep_link_for(self, payload: str) -> tuple[DeepLinkHandler, str] | None:
        for prefix, handler in self.deep_links.items():
            if payload.startswith(prefix) and len(payload) > len(prefix):
                return handler, payload[len(prefix) :]
        return None


def router_of(context: BotContext) -> Router:
    router: Router = context.bot_data["router"]
    return router


async def run_deep_link(update: Update, context: BotContext, payload: str) -> None:
    route = router_of(context).deep_link_for(payload)
    if route is None:
        await say(
            update, context, "deeplink.invalid", reply_markup=await main_menu(update, context)
        )
        return
    handler, argument = route
    await handler(update, context, argument)


async def on_text(update: Update, context: BotContext) -> None:
    message = update.effective_message
    user = update.effective_user
    if message is None or user is None or message.text is None:
        return
    router = router_of(context)
    actor = await context.actor(update)
    menu_key = await menu_key_of(context, message.text)
    if menu_key is not None and actor.is_member:
        await context.services.flows.clear(user.id)  # the menu always leaves a half-done flow
        await router.menu[menu_key](update, context)
        return
    state = await context.services.flows.get(user.id)
    if state is not None:
        step = router.text_steps.get((state.flow, state.step))
        if step is not None:
            await step(update, context, state)
        else:
            await say(update, context, "flow.use_buttons")
        return
    if actor.is_member:
        await say(update, context, "common.use_menu", reply_markup=await main_menu(update, context))
    else:
        await say(update, context, "onboarding.start_first")


async def _route_by_state(
    update: Update, context: BotContext, steps: dict[tuple[str, str], StepHandler], miss: str
) -> None:
    user = update.effective_user
    if user is None:
        return
    state = await context.services.flows.get(user.id)
    step = steps.get((state.flow, state.step)) if state else None
    if state is not None and step is not None:
        await step(update, context, state)
    else:
        await say(update, context, miss)


async def on_contact(update: Update, context: BotContext) -> None:
    await _route_by_state(
        update, context, router_of(context).contact_steps, "flow.contact_unexpected"
    )


async def on_file(update: Update, context: BotContext) -> None:
    await _route_by_state(update, context, router_of(context).file_steps, "flow.file_unexpected")


async def on_other(update: Update, context: BotContext) -> None:
    """Stickers, locations, voice…: nothing to do with them, say so kindly."""
    await say(update, context, "flow.message_unexpected")
