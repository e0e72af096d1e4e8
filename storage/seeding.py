"""Bulk inserts for the demo and the benchmarks: many registrations in one transaction, where
going through the one-at-a-time business path would measure the setup instead of the system."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

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
