"""Reply latency and the flood guard, with the production reply limit (30 messages/s).

1. Latency at a steady 30 updates/s (a campaign-launch peak; SPEC 4: p95 ≤ 100 ms,
   p99 ≤ 250 ms): 2,000 members browse, open cards, register, cancel and look at /profile,
   one update every 1/30 s whatever the bot's speed; latency = from the update being queued at
   the emulator to the bot's reply arriving there.
2. The flood guard: the same members at 20 updates/s, first alone, then while one member sends
   50 messages a second, then alone again. The others' latencies with the flooder should be
   within the difference between the two quiet phases (the noise). 20/s rather than 30/s so
   that the flooder's allowed trickle (2/s) does not push replies past the 30/s limit, which
   would measure the limiter rather than the guard.

    python bench/flood.py
    python bench/flood.py --steady-seconds 10 --phase-seconds 10   # quicker
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import TOKEN, BotProcess, print_table, seed_members, write_config
from bench.load import (
    LoadResult,
    ReplyWatch,
    flood,
    latency_ms,
    member_cycle,
    paced,
    seed_open_activities,
    wait_for_polling,
)
from bot.config import FloodConfig, TelegramConfig
from bot.emulator import BotApiEmulator
from bot.i18n import Catalogue

SLOW_DOWN = Catalogue.load().plain("vi", "common.slow_down")


def phase(result: LoadResult) -> dict[str, Any]:
    return {
        **latency_ms(result.latencies),
        "updates": len(result.latencies),
        "unanswered": result.failures,
        "missed_ticks": result.missed_ticks,
    }


async def run(args: argparse.Namespace) -> dict[str, object]:
    rng = random.Random(30)
    with tempfile.TemporaryDirectory(prefix="nhipcau-bench-") as folder_name:
        folder = Path(folder_name)
        database = folder / "bench.sqlite3"
        ids = await seed_members(database, args.members + 1)
        activity_ids = await seed_open_activities(database, args.activities)
        async with BotApiEmulator(token=TOKEN, bot_username="nhipcau_bench_bot") as emulator:
            watch = ReplyWatch()
            flooder = emulator.user(ids[0])
            members = [watch.track(emulator.user(i)) for i in ids[1:]]
            rng.shuffle(members)
            config = write_config(folder, emulator.url, database)  # production defaults
            before = emulator.stats.method_calls["getUpdates"]
            bot = await BotProcess.start(config)
            steps = member_cycle(activity_ids, rng)
            try:
                await wait_for_polling(emulator, before)
                # A short warm-up so that first-use costs do not land in the measurement.
                await paced(watch, members, steps, rate=args.steady_rate, duration=2)
                steady = await paced(
                    watch, members, steps, rate=args.steady_rate, duration=args.steady_seconds
                )
                quiet_before = await paced(
                    watch, members, steps, rate=args.rate, duration=args.phase_seconds
                )
                flooding, sent = await asyncio.gather(
                    paced(watch, members, steps, rate=args.rate, duration=args.phase_seconds),
                    flood(flooder, args.flood_rate, args.phase_seconds),
                )
                await asyncio.sleep(1.0)  # the flood's last updates are handled or dropped
                quiet_after = await paced(
                    watch, members, steps, rate=args.rate, duration=args.phase_seconds
                )
            finally:
                await bot.stop()
            replies = flooder.all_messages
    notices = sum(1 for m in replies if SLOW_DOWN in m.text)
    quiet_a, with_flood, quiet_b = phase(quiet_before), phase(flooding), phase(quiet_after)

    def noise(key: str) -> float:
        return round(abs(quiet_a[key] - quiet_b[key]), 1)

    def excess(key: str) -> float:
        return round(with_flood[key] - (quiet_a[key] + quiet_b[key]) / 2, 1)

    return {
        "members": args.members,
        "reply_limit_per_s": TelegramConfig().rate_limit_per_second,
        "steady_rate": args.steady_rate,
        "steady": phase(steady),
        "target_p95_ms": 100,
        "target_p99_ms": 250,
        "others_rate": args.rate,
        "quiet_before": quiet_a,
        "with_flooder": with_flood,
        "quiet_after": quiet_b,
        "flood_minus_quiet_ms": {k: excess(k) for k in ("p50_ms", "p95_ms", "p99_ms")},
        "noise_between_quiet_phases_ms": {k: noise(k) for k in ("p50_ms", "p95_ms", "p99_ms")},
        "flooder_sent": sent,
        "flooder_answered": len(replies) - notices,
        "flooder_slow_down_notices": notices,
        "flood_guard": {"burst": FloodConfig().burst, "per_second": FloodConfig().per_second},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--activities", type=int, default=40)
    parser.add_argument("--steady-rate", type=float, default=30.0)
    parser.add_argument("--steady-seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=20.0, help="others' updates/s in 2.")
    parser.add_argument("--phase-seconds", type=float, default=20.0)
    parser.add_argument("--flood-rate", type=float, default=50.0)
    args = parser.parse_args()
    figures = asyncio.run(run(args))
    steady, quiet_a = figures["steady"], figures["quiet_before"]
    flooding, quiet_b = figures["with_flooder"], figures["quiet_after"]
    assert isinstance(steady, dict) and isinstance(quiet_a, dict)
    assert isinstance(flooding, dict) and isinstance(quiet_b, dict)
    print_table(
        f"Reply latency (ms, p50 / p95 / p99 / max) through the emulator, reply limit "
        f"{figures['reply_limit_per_s']:g}/s",
        [
            (f"steady {args.steady_rate:g} updates/s (target p95 ≤ 100, p99 ≤ 250)", _ms(steady)),
            (f"others at {args.rate:g}/s, quiet before", _ms(quiet_a)),
            (
                f"others at {args.rate:g}/s, one member flooding {args.flood_rate:g}/s",
                _ms(flooding),
            ),
            (f"others at {args.rate:g}/s, quiet after", _ms(quiet_b)),
            ("flood minus mean of quiet (p50/p95/p99)", figures["flood_minus_quiet_ms"]),
            ("noise: |quiet before - quiet after|", figures["noise_between_quiet_phases_ms"]),
            (
                "unanswered (steady / before / flood / after)",
                _unanswered(steady, quiet_a, flooding, quiet_b),
            ),
            ("flooder: messages sent", figures["flooder_sent"]),
            ("flooder: messages answered", figures["flooder_answered"]),
            ("flooder: slow-down notices", figures["flooder_slow_down_notices"]),
        ],
        figures,
    )


def _ms(values: dict[str, Any]) -> str:
    return f"{values['p50_ms']} / {values['p95_ms']} / {values['p99_ms']} / {values['max_ms']}"


def _unanswered(*phases: dict[str, Any]) -> str:
    return " / ".join(str(p["unanswered"]) for p in phases)


if __name__ == "__main__":
    main()
