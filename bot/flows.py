"""Durable multi-step flow state: where each person stands, kept in SQLite across restarts."""

from __future__ import annotations

from typing import Any

from bot.clock import Clock
from bot.domain.members import FlowState, Person
from storage.conversations import ConversationRepository

__all__ = ["FlowService", "FlowState"]


def _person(who: Person | int) -> Person:
    # A bare int is a Telegram id: the Telegram-only handlers still pass one.
    return who if isinstance(who, Person) else Person.telegram(who)


class FlowService:
    def __init__(self, repository: ConversationRepository, clock: Clock) -> None:
        self._repository = repository
        self._clock = clock

    async def get(self, person: Person | int) -> FlowState | None:
        return await self._repository.get(_person(person))

    async def start(self, person: Person | int, flow: str, step: str, **data: Any) -> FlowState:
        state = FlowState(flow, step, dict(data))
        await self._repository.put(_person(person), state, self._clock.now())
        return state

    async def move(
        self, person: Person | int, state: FlowState, step: str, **changes: Any
    ) -> FlowState:
        moved = FlowState(state.flow, step, {**state.data, **changes})
        await self._repository.put(_person(person), moved, self._clock.now())
        return moved

    async def clear(self, person: Person | int) -> None:
        await self._repository.clear(_person(person))
