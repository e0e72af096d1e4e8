"""One lane per person: a person's updates run one after another, different people's at once.

PTB either handles every update in turn (one slow Bot API round trip holds up everyone behind
it) or all of them at once (then a double-tapped button or two quick messages from the same
person would race each other through the same flow state). Members expect their own taps to
be handled in the order they made them, and nothing else; so updates are keyed by the person
(or, for updates without one, the chat) and each key gets a FIFO lock. Locks exist only while
someone holds or waits for them, so the table stays as small as the work in flight.

``pace_intake`` runs before each getUpdates. A long poll returns as soon as one update waits,
so a busy bot polled once per update (a request and a parse each, a fifth of its CPU); while
``BUSY`` updates or more are in hand it first waits ``PAUSE`` seconds, and what arrives
meanwhile comes in one batch. A bot that is not busy polls at once, so latency is untouched.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.lanes import KeyedLanes

BUSY = 4  # updates in hand
PAUSE = 0.02  # seconds


def lane_of(update: object) -> int | None:
    """The person (or chat) whose updates must not overlap; None for anything else."""
    if not isinstance(update, Update):
        return None
    if update.effective_user is not None:
        return update.effective_user.id
    if update.effective_chat is not None:
        return update.effective_chat.id
    return None


class PerPersonUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._lanes: KeyedLanes[int] = KeyedLanes()

    @property
    def open_lanes(self) -> int:
        return self._lanes.open_lanes

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = lane_of(update)
        if key is None:
            await coroutine
            return
        await self._lanes.run(key, coroutine)

    async def pace_intake(self) -> None:
        if self.current_concurrent_updates >= BUSY:
            await asyncio.sleep(PAUSE)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass
