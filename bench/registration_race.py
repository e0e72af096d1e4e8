"""1,000 members press "Register" at the same moment for an activity with 100 seats.

Runs the full stack as the end-to-end tests do: the local Bot API emulator, the real PTB
Application polling it over HTTP through ``bot.app.serve``, and SQLite in a temporary folder.
Every member has the activity card in their chat (the card one member opened through the
``act_<id>`` deep link, copied to the others' chats so that setting up costs no bot traffic);
all 1,000 presses are queued at once, then the script waits until every member has had an
answer. Expected: exactly 100 confirmed, 900 waitlisted, 0 duplicates, 0 errors.

    .venv/bin/python bench/registration_race.py [--members 1000] [--seats 100]

The last line of output is one JSON object with the same figures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.activities import ActivityDraft, ActivityKind, Audience
from bot.app import Running, serve
from bot.clock import SystemClock
from bot.config import parse_config
from bot.domain.members import NewMember, Role, RoleGrant
from bot.emulator import BotApiEmulator, EmulatedUser
from bot.services import Services

TOKEN = "123456789:BENCH-nhipcau-registration-race-token"
CADRE_ID = 10
FIRST_MEMBER_ID = 100_000
CONFIRMED_TEXT = "Bạn đã đăng ký thành công"
WAITLIST_TEXT = "trong danh sách chờ"
REGISTER_LABEL = "✅ Đăng ký tham gia"


async def race(members: int, seats: int, patience: float) -> dict[str, float | int]:
    with tempfile.TemporaryDirectory(prefix="nhipcau-race-") as folder:
        async with BotApiEmulator(token=TOKEN, bot_username="nhipcau_bench_bot") as emulator:
            config = parse_config(
                {
                    "telegram": {
                        "token": TOKEN,
                        "api_base_url": emulator.api_base_url,
                        "api_file_url": emulator.file_base_url,
                    },
                    "database": {"path": str(Path(folder) / "race.sqlite3")},
                    "logging": {"level": "WARNING"},
                },
                env={},
            )
            services = await Services.open(config, clock=SystemClock())
            stop = asyncio.Event()
            ready = asyncio.Event()

            async def on_ready(running: Running) -> None:
                ready.set()

            bot_task = asyncio.create_task(
                serve(services, stop=stop, ready=on_ready, poll_timeout=1)
            )
            try:
                await asyncio.wait_for(ready.wait(), 30)
                activity_id = await _seed(services, members, seats)
                users = await _cards_in_every_chat(emulator, activity_id, members)
                return await _press_all(services, emulator, users, activity_id, seats, patience)
            finally:
                stop.set()
                await asyncio.wait_for(bot_task, 30)
                await services.close()


async def _seed(services: Services, members: int, seats: int) -> int:
    await services.units.upsert_many([("BTP", "Bộ Tư pháp")])
    unit = await services.units.get_by_code("BTP")
    assert unit is not None
    now = services.clock.now()
    for telegram_id in (CADRE_ID, *range(FIRST_MEMBER_ID, FIRST_MEMBER_ID + members)):
        await services.members.create(
            NewMember(
                telegram_id, f"Đoàn viên {telegram_id}", None, unit.id, None, None, "vi", now
            ),
            now,
        )
    cadre_member = await services.members.by_telegram_id(CADRE_ID)
    assert cadre_member is not None
    await services.roles.set(RoleGrant(cadre_member.id, Role.CADRE, unit.id, 0, now))
    cadre = await services.member_service.actor(CADRE_ID)
    start = now + timedelta(days=7)
    activity = await services.activities.create(
        cadre,
        ActivityDraft(
            title="Hiến máu tình nguyện",
            description="",
            kind=ActivityKind.REGULAR,
            unit_id=unit.id,
            open_to=Audience.ALL,
            place="Viện Huyết học",
            starts_at=start,
            ends_at=start + timedelta(hours=3),
            deadline_at=start - timedelta(days=1),
            capacity=seats,
            hours=3,
        ),
    )
    return activity.id


async def _cards_in_every_chat(
    emulator: BotApiEmulator, activity_id: int, members: int
) -> list[EmulatedUser]:
    users = [emulator.user(FIRST_MEMBER_ID + n) for n in range(members)]
    first = users[0]
    await first.send(f"/start act_{activity_id}")
    card = await first.wait_for(lambda m: REGISTER_LABEL in m.button_texts(), timeout=10)
    for user in users[1:]:
        copy = dataclasses.replace(card, message_id=user.allocate_message_id(), chat_id=user.id)
        user.add_bot_message(copy)
    return users


def _outcome(user: EmulatedUser) -> str | None:
    results = [m.text for m in user.messages if CONFIRMED_TEXT in m.text or WAITLIST_TEXT in m.text]
    if len(results) > 1:
        return "duplicate"
    if results:
        return "confirmed" if CONFIRMED_TEXT in results[0] else "waitlisted"
    if any("lỗi" in m.text for m in user.messages):
        return "error"
    return None


async def _press_all(
    services: Services,
    emulator: BotApiEmulator,
    users: list[EmulatedUser],
    activity_id: int,
    seats: int,
    patience: float,
) -> dict[str, float | int]:
    started = time.perf_counter()
    await asyncio.gather(*(user.click(REGISTER_LABEL) for user in users))
    with contextlib.suppress(TimeoutError):  # unanswered presses count as errors below
        await emulator.wait_until(lambda: all(_outcome(u) for u in users), timeout=patience)
    seconds = time.perf_counter() - started
    outcomes = [_outcome(u) for u in users]
    db = services.db
    rows = {
        r[0]: r[1]
        for r in await db.fetch_all(
            "SELECT status, COUNT(*) FROM registrations WHERE activity_id = ? GROUP BY status",
            (activity_id,),
        )
    }
    extra_rows = int(
        await db.fetch_value(
            "SELECT COUNT(*) - COUNT(DISTINCT member_id) FROM registrations WHERE activity_id = ?",
            (activity_id,),
        )
    )
    positions = [
        r[0]
        for r in await db.fetch_all(
            "SELECT waitlist_seq FROM registrations WHERE activity_id = ? AND status = "
            "'waitlisted' ORDER BY 1",
            (activity_id,),
        )
    ]
    confirmed = outcomes.count("confirmed")
    waitlisted = outcomes.count("waitlisted")
    db_consistent = (
        rows.get("confirmed", 0) == confirmed
        and rows.get("waitlisted", 0) == waitlisted
        and rows.get("confirmed", 0) <= seats
        and positions == list(range(1, len(positions) + 1))
    )
    return {
        "members": len(users),
        "seats": seats,
        "confirmed": confirmed,
        "waitlisted": waitlisted,
        "duplicates": outcomes.count("duplicate") + extra_rows,
        "errors": outcomes.count("error") + outcomes.count(None),
        "db_confirmed": rows.get("confirmed", 0),
        "db_waitlisted": rows.get("waitlisted", 0),
        "db_consistent": int(db_consistent),
        "seconds": round(seconds, 2),
        "presses_per_second": round(len(users) / seconds, 1) if seconds else 0.0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--seats", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for answers")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    result = asyncio.run(race(args.members, args.seats, args.timeout))
    expected_waitlist = max(0, args.members - args.seats)
    print(f"Registration race: {result['members']} members, {result['seats']} seats")
    print(f"{'figure':<22}{'value':>10}{'expected':>10}")
    for name, expected in (
        ("confirmed", min(args.seats, args.members)),
        ("waitlisted", expected_waitlist),
        ("duplicates", 0),
        ("errors", 0),
        ("db_confirmed", min(args.seats, args.members)),
        ("db_waitlisted", expected_waitlist),
        ("db_consistent", 1),
    ):
        print(f"{name:<22}{result[name]:>10}{expected:>10}")
    print(f"{'seconds':<22}{result['seconds']:>10}")
    print(f"{'presses_per_second':<22}{result['presses_per_second']:>10}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
