"""Keyed lanes (both channels' per-person order): one key's work in the order handed in, other
keys' alongside, and no lane outlives its work."""

from __future__ import annotations

import asyncio

from bot.flood import FloodGuard, Verdict
from bot.lanes import KeyedLanes


async def test_a_keys_work_runs_in_order_and_other_keys_alongside() -> None:
    lanes: KeyedLanes[str] = KeyedLanes()
    log: list[str] = []
    gate = asyncio.Event()

    async def work(name: str, wait: bool) -> str:
        log.append(f"start {name}")
        if wait:
            await gate.wait()
        log.append(f"end {name}")
        return name

    first = asyncio.create_task(lanes.run("6ede9a", work("a1", True)))
    queued = [asyncio.create_task(lanes.run("6ede9a", work(f"a{n}", False))) for n in (2, 3, 4)]
    other = asyncio.create_task(lanes.run("b0b0b0", work("b1", False)))
    assert await other == "b1"  # not held up by the slow one
    assert log == ["start a1", "start b1", "end b1"]
    assert lanes.open_lanes == 1 and "6ede9a" in lanes
    gate.set()
    assert await asyncio.gather(first, *queued) == ["a1", "a2", "a3", "a4"]
    assert log[3:] == ["end a1", "start a2", "end a2", "start a3", "end a3", "start a4", "end a4"]
    assert lanes.open_lanes == 0


async def test_a_failing_piece_frees_its_lane_for_the_next() -> None:
    lanes: KeyedLanes[int] = KeyedLanes()

    async def boom() -> None:
        raise RuntimeError("boom")

    async def fine() -> str:
        return "fine"

    failing = asyncio.create_task(lanes.run(1, boom()))
    after = asyncio.create_task(lanes.run(1, fine()))
    assert isinstance((await asyncio.gather(failing, return_exceptions=True))[0], RuntimeError)
    assert await after == "fine"
    assert lanes.open_lanes == 0


def test_the_flood_guard_takes_zalo_ids_too() -> None:
    guard = FloodGuard(2, 0.001)
    assert [guard.check("6ede9afa66b88fe6d6a9") for _ in range(4)] == [
        Verdict.ALLOW,
        Verdict.ALLOW,
        Verdict.WARN,
        Verdict.DROP,
    ]
    assert guard.check(6101) is Verdict.ALLOW  # a Telegram id is someone else
