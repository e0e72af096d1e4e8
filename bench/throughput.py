"""Throughput benchmark (SPEC 4: ≥ 50% of a bare python-telegram-bot echo bot on the same
emulator, same run).

One emulator drives, one after the other, (a) the echo bot of bench/echo_bot.py and (b) Nhịp
Cầu (the real bot, a child process) with 2,000 members doing a realistic mix: browse
"🙋 Hoạt động", open a card, register, cancel (ask and confirm), /profile. ``--concurrency``
people each send their next update as soon as the previous one is answered, which keeps either
bot saturated; an update counts as done when the bot's reply to it reached the emulator.

Both bots use PTB's AIORateLimiter at the same overall rate (``--rate-limit``, default 1000/s,
Nhịp Cầu through ``telegram.rate_limit_per_second``). At the production 30/s both would measure
the limiter, not the bot, and the ratio would say nothing.

The echo bot is PTB as it comes (httpx, one update at a time); ``--echo-concurrent N`` lets
it handle N updates at once, for comparison with Nhịp Cầu's per-person lanes.

The two bots run in alternating rounds (echo, Nhịp Cầu, echo, Nhịp Cầu, …) so that noise from
a shared machine falls on both; the ratio is of the means over the rounds.

    python bench/throughput.py
    python bench/throughput.py --profile /tmp/nhipcau.txt    # pyinstrument, last round
    python bench/throughput.py --profile /tmp/nhipcau.prof   # cProfile, last round
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import ROOT, TOKEN, BotProcess, print_table, seed_members, write_config
from bench.load import (
    LoadResult,
    ReplyWatch,
    StepsFor,
    closed_loop,
    cpu_seconds,
    echo_cycle,
    latency_ms,
    member_cycle,
    seed_open_activities,
    wait_for_polling,
)
from bot.emulator import BotApiEmulator, EmulatedUser


async def measure(
    emulator: BotApiEmulator,
    pid: int,
    watch: ReplyWatch,
    users: list[EmulatedUser],
    steps_for: StepsFor,
    *,
    concurrency: int,
    warmup: float,
    duration: float,
) -> dict[str, float]:
    """Saturate the bot for ``warmup + duration`` s; figures over the last ``duration`` s."""
    load = asyncio.create_task(
        closed_loop(watch, users, steps_for, concurrency=concurrency, duration=warmup + duration)
    )
    await asyncio.sleep(warmup)
    window_start, cpu_start, own_start = time.perf_counter(), cpu_seconds(pid), time.process_time()
    calls_start = Counter(emulator.stats.method_calls)
    await asyncio.sleep(duration)
    window_end, cpu_end, own_end = time.perf_counter(), cpu_seconds(pid), time.process_time()
    calls = Counter(emulator.stats.method_calls)
    calls.subtract(calls_start)
    result: LoadResult = await load
    in_window = [
        lat
        for lat, t in zip(result.latencies, result.done_at, strict=True)
        if window_start <= t < window_end
    ]
    elapsed = window_end - window_start
    return {
        "updates_per_s": round(result.rate_between(window_start, window_end), 1),
        "updates_done": len(in_window),
        "failures": result.failures,
        "bot_cpu_share": round((cpu_end - cpu_start) / elapsed, 2),
        "emulator_cpu_share": round((own_end - own_start) / elapsed, 2),
        "api_calls_per_update": {
            method: round(count / max(len(in_window), 1), 2)
            for method, count in sorted(calls.items())
            if count > 0
        },
        **latency_ms(in_window),
    }


async def run(args: argparse.Namespace) -> dict[str, object]:
    rng = random.Random(9)
    with tempfile.TemporaryDirectory(prefix="nhipcau-bench-") as folder_name:
        folder = Path(folder_name)
        database = folder / "bench.sqlite3"
        ids = await seed_members(database, args.members)
        activity_ids = await seed_open_activities(database, args.activities)
        async with BotApiEmulator(token=TOKEN, bot_username="nhipcau_bench_bot") as emulator:
            watch = ReplyWatch()
            users = [watch.track(emulator.user(i)) for i in ids]
            rng.shuffle(users)
            settings: dict[str, Any] = {
                "concurrency": args.concurrency,
                "warmup": args.warmup,
                "duration": args.duration,
            }
            config = write_config(
                folder, emulator.url, database, telegram={"rate_limit_per_second": args.rate_limit}
            )
            echo_rounds: list[dict[str, Any]] = []
            our_rounds: list[dict[str, Any]] = []
            # Alternate the bots so that noise from a shared machine falls on both alike.
            for round_number in range(args.rounds):
                before = emulator.stats.method_calls["getUpdates"]
                echo = await asyncio.create_subprocess_exec(
                    sys.executable,
                    str(ROOT / "bench" / "echo_bot.py"),
                    "--api-url",
                    emulator.url,
                    "--token",
                    TOKEN,
                    "--rate",
                    str(args.rate_limit),
                    "--concurrent",
                    str(args.echo_concurrent),
                    cwd=ROOT,
                )
                try:
                    await wait_for_polling(emulator, before)
                    echo_rounds.append(
                        await measure(emulator, echo.pid, watch, users, echo_cycle(), **settings)
                    )
                finally:
                    echo.terminate()
                    await asyncio.wait_for(echo.wait(), 30)

                wrapper: tuple[str, ...] = ()
                if args.profile is not None and round_number == args.rounds - 1:
                    if args.profile.suffix == ".prof":
                        wrapper = ("-m", "cProfile", "-o", str(args.profile))
                    else:
                        wrapper = (
                            "-m",
                            "pyinstrument",
                            "--renderer",
                            "text",
                            "-o",
                            str(args.profile),
                        )
                before = emulator.stats.method_calls["getUpdates"]
                bot = await BotProcess.start(config, wrapper=wrapper)
                try:
                    await wait_for_polling(emulator, before)
                    our_rounds.append(
                        await measure(
                            emulator,
                            bot.process.pid,
                            watch,
                            users,
                            member_cycle(activity_ids, rng),
                            **settings,
                        )
                    )
                finally:
                    await bot.stop()
    echo_rate = sum(r["updates_per_s"] for r in echo_rounds) / len(echo_rounds)
    our_rate = sum(r["updates_per_s"] for r in our_rounds) / len(our_rounds)
    return {
        "members": args.members,
        "concurrency": args.concurrency,
        "rate_limit_per_second": args.rate_limit,
        "measured_seconds_per_round": args.duration,
        "rounds": args.rounds,
        "echo_concurrent_updates": args.echo_concurrent or 1,
        "echo_updates_per_s": round(echo_rate, 1),
        "nhipcau_updates_per_s": round(our_rate, 1),
        "ratio": round(our_rate / echo_rate, 3),
        "ratio_per_round": [
            round(b["updates_per_s"] / a["updates_per_s"], 3)
            for a, b in zip(echo_rounds, our_rounds, strict=True)
        ],
        "target_ratio": 0.5,
        "echo": echo_rounds[-1],
        "nhipcau": our_rounds[-1],
        "profiled": args.profile is not None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--activities", type=int, default=40)
    parser.add_argument("--concurrency", type=int, default=100, help="updates in flight")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--duration", type=float, default=10.0, help="measured s per round")
    parser.add_argument("--rounds", type=int, default=2, help="echo then Nhịp Cầu, repeated")
    parser.add_argument(
        "--echo-concurrent",
        type=int,
        default=0,
        help="let the echo bot handle this many updates at once (default: PTB's one at a time)",
    )
    parser.add_argument("--rate-limit", type=float, default=1000.0, help="AIORateLimiter, msg/s")
    parser.add_argument("--profile", type=Path, default=None, help="pyinstrument text report")
    args = parser.parse_args()
    figures = asyncio.run(run(args))
    echo, ours = figures["echo"], figures["nhipcau"]
    assert isinstance(echo, dict) and isinstance(ours, dict)
    rows: list[tuple[str, object]] = [
        ("(a) echo bot: updates/s (mean of rounds)", figures["echo_updates_per_s"]),
        ("(b) Nhịp Cầu: updates/s (mean of rounds)", figures["nhipcau_updates_per_s"]),
        ("ratio b/a (target ≥ 0.5)", figures["ratio"]),
        ("ratio in each round", figures["ratio_per_round"]),
    ]
    for name, values in (("(a) echo, last round", echo), ("(b) Nhịp Cầu, last round", ours)):
        rows += [
            (f"{name}: reply p50 / p95 / p99 (ms)", _triple(values)),
            (f"{name}: bot CPU share (1.0 = one core)", values["bot_cpu_share"]),
            (f"{name}: emulator CPU share", values["emulator_cpu_share"]),
            (f"{name}: API calls per update", values["api_calls_per_update"]),
            (f"{name}: unanswered updates", values["failures"]),
        ]
    print_table(
        f"Update throughput, {args.members} members, {args.concurrency} updates in flight, "
        f"rate limiter {args.rate_limit:g}/s for both, {args.rounds} alternating rounds, "
        f"echo bot {args.echo_concurrent or 1} update(s) at a time",
        rows,
        figures,
    )


def _triple(values: dict[str, float]) -> str:
    return f"{values['p50_ms']} / {values['p95_ms']} / {values['p99_ms']}"


if __name__ == "__main__":
    main()
