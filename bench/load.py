"""Load shared by the throughput, memory and flood benchmarks: emulated members doing what
members do (browse activities, open a card, register, cancel, /profile), timed from the moment
an update is queued at the emulator to the moment the bot's reply (a new or edited message in
that chat) arrives there; plus the bot process's CPU time and memory from /proc."""

from __future__ import annotations

import asyncio
import math
import os
import random
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from bench.common import NOW, ROOT, wait_until
from bot.domain.activities import ActivityKind, Audience, NewActivity
from bot.emulator import BotApiEmulator, EmulatedUser
from bot.i18n import Catalogue
from bot.units import read_units_csv
from storage import Database
from storage.seeding import bulk_insert_activities
from storage.units import UnitRepository

MENU_ACTIVITIES = Catalogue.load().plain("vi", "menu.activities")
REPLY_TIMEOUT = 15.0


@dataclass(frozen=True, slots=True)
class Step:
    """One update a person sends: typed text, or a press of an inline button (by its data)."""

    kind: str  # "text" or "press"
    value: str


StepsFor = Callable[[EmulatedUser], Sequence[Step]]


def member_cycle(activity_ids: Sequence[int], rng: random.Random) -> StepsFor:
    """Browse "🙋 Hoạt động", open a card, register, cancel (ask, confirm), then /profile."""

    def steps(user: EmulatedUser) -> Sequence[Step]:
        activity = rng.choice(activity_ids)
        return (
            Step("text", MENU_ACTIVITIES),
            Step("press", f"act:v:{activity}"),
            Step("press", f"act:reg:{activity}"),
            Step("press", f"act:can:{activity}"),
            Step("press", f"act:cy:{activity}"),
            Step("text", "/profile"),
        )

    return steps


def echo_cycle() -> StepsFor:
    counter = iter(range(1 << 62))

    def steps(user: EmulatedUser) -> Sequence[Step]:
        return (Step("text", f"xin chào {next(counter)}"),)

    return steps


class ReplyWatch:
    """Resolves a person's pending step when the bot's reply arrives: its next message (sent or
    edited) in their chat, or an answer to a press that shows a text (a refusal such as
    "already registered"); a bare acknowledgement of a press is not a reply. The emulator calls
    ``changed`` synchronously as it records either."""

    def __init__(self) -> None:
        self._waiting: dict[int, asyncio.Future[float]] = {}

    def track(self, user: EmulatedUser) -> EmulatedUser:
        original = user.changed
        waiting = self._waiting

        def changed(kind: str, item_id: int) -> None:
            if kind == "bot" or (kind == "answer" and user.answers[item_id].text):
                future = waiting.pop(user.id, None)
                if future is not None and not future.done():
                    future.set_result(time.perf_counter())
            original(kind, item_id)

        user.changed = changed  # type: ignore[method-assign]
        return user

    async def step(self, user: EmulatedUser, step: Step, timeout: float) -> float | None:  # noqa: ASYNC109
        """Send one update; the seconds until the reply arrived, or None after ``timeout``."""
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiting[user.id] = future
        started = time.perf_counter()
        try:
            if step.kind == "text":
                await user.send(step.value)
            else:
                await user.click(data=step.value, timeout=timeout)
            done = await asyncio.wait_for(future, timeout)
        except TimeoutError:
            self._waiting.pop(user.id, None)
            return None
        return done - started


@dataclass
class LoadResult:
    started: float = 0.0
    ended: float = 0.0
    done_at: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    issued: int = 0
    missed_ticks: int = 0  # paced load only: a tick found every person busy

    def rate_between(self, start: float, end: float) -> float:
        return sum(1 for t in self.done_at if start <= t < end) / (end - start)


async def closed_loop(
    watch: ReplyWatch,
    users: Sequence[EmulatedUser],
    steps_for: StepsFor,
    *,
    concurrency: int,
    duration: float | None = None,
    max_updates: int | None = None,
) -> LoadResult:
    """``concurrency`` people at a time each send their next update as soon as the previous one
    is answered (enough of them keep the bot saturated); stops after ``duration`` seconds or
    ``max_updates`` updates sent."""
    result = LoadResult(started=time.perf_counter())
    idle = deque(users)
    deadline = math.inf if duration is None else result.started + duration
    limit = math.inf if max_updates is None else max_updates

    def more() -> bool:
        return time.perf_counter() < deadline and result.issued < limit

    async def worker() -> None:
        while more() and idle:
            user = idle.popleft()
            for step in steps_for(user):
                if not more():
                    break
                result.issued += 1
                latency = await watch.step(user, step, REPLY_TIMEOUT)
                if latency is None:
                    result.failures += 1
                    break  # the person's state is unknown: start a fresh cycle next time
                result.latencies.append(latency)
                result.done_at.append(time.perf_counter())
            idle.append(user)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.ended = time.perf_counter()
    return result


async def paced(
    watch: ReplyWatch,
    users: Sequence[EmulatedUser],
    steps_for: StepsFor,
    *,
    rate: float,
    duration: float,
) -> LoadResult:
    """An open loop: one update every ``1/rate`` s from the next person not waiting for a
    reply, each person walking through their cycle, whatever the bot's speed."""
    result = LoadResult(started=time.perf_counter())
    idle = deque(users)
    plans: dict[int, deque[Step]] = {}
    tasks: set[asyncio.Task[None]] = set()

    async def one(user: EmulatedUser, step: Step) -> None:
        latency = await watch.step(user, step, REPLY_TIMEOUT)
        if latency is None:
            result.failures += 1
            plans.pop(user.id, None)
        else:
            result.latencies.append(latency)
            result.done_at.append(time.perf_counter())
        idle.append(user)

    ticks = int(rate * duration)
    for tick in range(ticks):
        delay = result.started + tick / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if not idle:
            result.missed_ticks += 1
            continue
        user = idle.popleft()
        plan = plans.get(user.id)
        if not plan:
            plan = plans[user.id] = deque(steps_for(user))
        result.issued += 1
        task = asyncio.create_task(one(user, plan.popleft()))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.gather(*tasks)
    result.ended = time.perf_counter()
    return result


async def flood(user: EmulatedUser, rate: float, duration: float) -> int:
    """One person sending ``rate`` messages a second without waiting for answers."""
    started = time.perf_counter()
    sent = 0
    for n in range(int(rate * duration)):
        delay = started + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        await user.send(f"spam {n}")
        sent += 1
    return sent


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def latency_ms(values: Sequence[float]) -> dict[str, float]:
    return {
        f"p{int(f * 100)}_ms": round(percentile(values, f) * 1000, 1) for f in (0.5, 0.95, 0.99)
    } | {"max_ms": round(max(values, default=0.0) * 1000, 1)}


# --- the bot process --------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mb(pid: int) -> dict[str, float]:
    """VmRSS (now) and VmHWM (peak resident) in MB."""
    values: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = round(int(rest.split()[0]) / 1024, 1)
    return values


async def wait_for_polling(emulator: BotApiEmulator, before: int, timeout: float = 60) -> None:  # noqa: ASYNC109
    """Until the bot started polling (its first getUpdates after ``before`` calls)."""
    await wait_until(lambda: emulator.stats.method_calls["getUpdates"] > before, timeout)


# --- seeding ------------------------------------------------------------------------------------


async def seed_open_activities(path: Path, count: int) -> list[int]:
    """``count`` upcoming activities open to every member, no questions, no seat limit."""
    db = await Database.open(path)
    try:
        units = UnitRepository(db)
        if await units.count() == 0:
            await units.upsert_many(read_units_csv(ROOT / "bot" / "data" / "units.csv"))
        unit_ids = [u.id for u in await units.all()]
        activities = []
        for n in range(count):
            starts_at = NOW + timedelta(days=7 + n % 30, hours=n % 10)
            activities.append(
                NewActivity(
                    title=f"Hoạt động tình nguyện số {n + 1}",
                    description="Mang theo nước uống và mũ.",
                    kind=ActivityKind.REGULAR,
                    campaign_id=None,
                    unit_id=unit_ids[n % len(unit_ids)],
                    open_to=Audience.ALL,
                    place="Nhà văn hoá phường",
                    starts_at=starts_at,
                    ends_at=starts_at + timedelta(hours=3),
                    deadline_at=starts_at - timedelta(hours=12),
                    capacity=None,
                    hours=3.0,
                    reminder_offsets=None,
                    created_by=1,
                )
            )
        return await bulk_insert_activities(db, activities, NOW - timedelta(days=1))
    finally:
        await db.close()
