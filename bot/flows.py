"""Durable multi-step flow state: where each person stands, kept in SQLite across restarts."""

from __future__ import annotations

from typing import Any

from bot.clock import Clock
from bot.domain.members import FlowState
from storage.conversations import ConversationRepository

__all__ = ["FlowService", "FlowState"]


class FlowService:
    def __init__(self, repository: ConversationRepository, clock: Clock) -> None:
        self._repository = repository
        self._clock = clock

    async def get(self, telegram_id: int) -> FlowState | None:
        return await self._repository.get(telegram_id)

    async def start(self, telegram_id: int, flow: str, step: str, **data: Any) -> FlowState:
        state = FlowState(flow, step, dict(data))
        await self._repository.put(telegram_id, state, self._clock.now())
        return state

    async def move(
        self, telegram_id: int, state: FlowState, step: str, **changes: Any
    ) -> FlowState:
        moved = FlowState(state.flow, step, {**state.data, **changes})
        await self._repository.put(telegram_id, moved, self._clock.now())
        return moved

    async def clear(self, telegram_id: int) -> None:
        await self._repository.clear(telegram_id)
