"""Bulk inserts for the demo and the benchmarks: many registrations in one transaction, where
going through the one-at-a-time business path would measure the setup instead of the system."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from bot.domain.activities import NewActivity
from storage.db import Database, to_db_time


async def bulk_confirm_registrations(
    db: Database, activity_id: int, telegram_ids: Sequence[int], now: datetime
) -> None:
    """Confirmed registrations of these members (by Telegram id) for one activity."""
    stamp = to_db_time(now)
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO registrations (activity_id, member_id, status, registered_at, "
            "confirmed_at, updated_at) SELECT ?, id, 'confirmed', ?, ?, ? FROM members "
            "WHERE telegram_id = ?",
            [(activity_id, stamp, stamp, stamp, telegram_id) for telegram_id in telegram_ids],
        )


async def bulk_insert_activities(
    db: Database, activities: Sequence[NewActivity], now: datetime
) -> list[int]:
    """Many activities in one transaction, without questions or check-in tokens; returns ids."""
    stamp = to_db_time(now)
    async with db.transaction() as conn:
        first = await (
            await conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM activities")
        ).fetchone()
        assert first is not None
        start = int(first[0])
        await conn.executemany(
            "INSERT INTO activities (id, title, description, kind, campaign_id, unit_id, open_to, "
            "place, starts_at, ends_at, deadline_at, capacity, hours, created_by, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    start + n,
                    a.title,
                    a.description,
                    a.kind.value,
                    a.campaign_id,
                    a.unit_id,
                    a.open_to.value,
                    a.place,
                    to_db_time(a.starts_at),
                    to_db_time(a.ends_at),
                    to_db_time(a.deadline_at),
                    a.capacity,
                    a.hours,
                    a.created_by,
                    stamp,
                    stamp,
                )
                for n, a in enumerate(activities)
            ],
        )
    return list(range(start, start + len(activities)))


async def bulk_insert_registrations(
    db: Database, pairs: Iterable[tuple[int, int]], now: datetime
) -> int:
    """Confirmed registrations from (activity id, member id) pairs (not Telegram ids: at
    hundreds of thousands of rows the lookup by Telegram id would dominate); returns the count."""
    stamp = to_db_time(now)
    rows = [(activity_id, member_id, stamp, stamp, stamp) for activity_id, member_id in pairs]
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO registrations (activity_id, member_id, status, registered_at, "
            "confirmed_at, updated_at) VALUES (?, ?, 'confirmed', ?, ?, ?)",
            rows,
        )
    return len(rows)
