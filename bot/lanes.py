"""One lane per key: work of one key runs one piece after another, in the order it was handed
in; different keys' work runs side by side. Both channels key it by the person, so that a
person's messages are answered in the order they sent them while nobody waits for anyone else.

A lane exists only while someone holds or waits for it, so the table stays as small as the work
in flight. ``asyncio.Lock`` is fair (waiters acquire in the order they asked, and a newcomer
does not overtake them), which is what keeps the order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


class _Lane:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class KeyedLanes(Generic[K]):
    def __init__(self) -> None:
        self._lanes: dict[K, _Lane] = {}

    @property
    def open_lanes(self) -> int:
        return len(self._lanes)

    def __contains__(self, key: K) -> bool:
        return key in self._lanes

    async def run(self, key: K, work: Awaitable[T]) -> T:
        """Await ``work`` once every earlier piece of ``key`` is done."""
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _Lane()
        lane.users += 1
        try:
            async with lane.lock:
                return await work
        finally:
            lane.users -= 1
            if lane.users == 0:
                del self._lanes[key]
