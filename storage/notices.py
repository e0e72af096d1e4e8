"""The notice outbox: messages owed to registrants because an activity changed, was cancelled
or gave them a seat. ``queue_*`` run inside the transaction that makes the change (a crash
after it cannot lose them); the repository hands pending rows to the sender and records what
came back."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import aiosqlite

from bot.domain.broadcasts import DeliveryState
from bot.domain.notices import ActivityFacts, Notice, NoticeKind, NoticeOutcome
from storage.db import Database, from_db_time, to_db_time


def _facts(row: Mapping[str, Any] | sqlite3.Row) -> ActivityFacts:
    starts, ends = from_db_time(row["starts_at"]), from_db_time(row["ends_at"])
    assert starts is not None and ends is not None
    return ActivityFacts(row["title"], row["place"], starts, ends)


# Who is told: everyone holding a seat or a waitlist place. Whether they can be reached is
# decided at send time (they may come back, or leave, before their turn).
_HOLDERS = (
    "SELECT member_id FROM registrations WHERE activity_id = ? "
    "AND status IN ('confirmed', 'waitlisted')"
)


async def queue_for_registrants(
    conn: aiosqlite.Connection,
    kind: NoticeKind,
    activity_id: int,
    now: datetime,
    payload: Mapping[str, Any] | None = None,
) -> int:
    """One notice for each registrant (call inside the change's transaction); how many."""
    cursor = await conn.execute(
        "INSERT INTO notices (kind, activity_id, member_id, payload, created_at) "
        f"SELECT ?, ?, member_id, ?, ? FROM ({_HOLDERS}) ORDER BY member_id",
        (
            kind.value,
            activity_id,
            json.dumps(payload or {}, ensure_ascii=False),
            to_db_time(now),
            activity_id,
        ),
    )
    return cursor.rowcount


async def queue_for_members(
    conn: aiosqlite.Connection,
    kind: NoticeKind,
    activity_id: int,
    member_ids: Sequence[int],
    now: datetime,
) -> None:
    """One notice for each of these members (call inside the change's transaction)."""
    if not member_ids:
        return
    stamp = to_db_time(now)
    await conn.executemany(
        "INSERT INTO notices (kind, activity_id, member_id, created_at) VALUES (?, ?, ?, ?)",
        [(kind.value, activity_id, member_id, stamp) for member_id in member_ids],
    )


def change_payload(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any] | None:
    """What registrants are told of an edit (None: nothing they need to hear, e.g. the title)."""
    moved = (before["starts_at"], before["ends_at"]) != (after["starts_at"], after["ends_at"])
    if (
        not moved
        and before["place"] == after["place"]
        and before["description"] == after["description"]
    ):
        return None
    told = ("title", "place", "starts_at", "ends_at")
    return {
        "before": {key: before[key] for key in told},
        "after": {key: after[key] for key in told},
        "description_changed": before["description"] != after["description"],
    }


_PENDING = (
    "SELECT n.id, n.kind, n.activity_id, n.member_id, n.attempts, n.payload, m.telegram_id, "
    "m.language, m.reachable AND m.deleted_at IS NULL AS reachable, a.title, a.place, "
    "a.starts_at, a.ends_at, a.status = 'cancelled' AS cancelled "
    "FROM notices n JOIN members m ON m.id = n.member_id "
    "JOIN activities a ON a.id = n.activity_id "
    "WHERE n.state = 'pending' AND n.id > ? ORDER BY n.id LIMIT ?"
)


def _notice(row: sqlite3.Row) -> Notice:
    payload = json.loads(row["payload"])
    before, after = payload.get("before"), payload.get("after")
    return Notice(
        id=row["id"],
        kind=NoticeKind(row["kind"]),
        activity_id=row["activity_id"],
        member_id=row["member_id"],
        telegram_id=row["telegram_id"],
        language=row["language"],
        reachable=bool(row["reachable"]),
        attempts=row["attempts"],
        activity=_facts(row),
        activity_cancelled=bool(row["cancelled"]),
        before=None if before is None else _facts(before),
        after=None if after is None else _facts(after),
        description_changed=bool(payload.get("description_changed")),
    )


class NoticeRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def pending(self, *, after_id: int, limit: int) -> list[Notice]:
        return [_notice(r) for r in await self._db.fetch_all(_PENDING, (after_id, limit))]

    async def record(self, outcomes: Sequence[NoticeOutcome], now: datetime) -> None:
        """Store outcomes (one transaction); members who blocked the bot become unreachable."""
        if not outcomes:
            return
        stamp = to_db_time(now)
        async with self._db.transaction() as conn:
            await conn.executemany(
                "UPDATE notices SET state = ?, attempts = ?, message_id = ?, error = ?, "
                "updated_at = ? WHERE id = ?",
                [
                    (str(o.state), o.attempts, o.message_id, o.error, stamp, o.notice_id)
                    for o in outcomes
                ],
            )
            blocked = [(o.member_id,) for o in outcomes if o.state == DeliveryState.BLOCKED]
            if blocked:
                await conn.executemany("UPDATE members SET reachable = 0 WHERE id = ?", blocked)

    async def counts(self, activity_id: int | None = None) -> dict[str, int]:
        """Notices by state (of one activity, or all)."""
        rows = await self._db.fetch_all(
            "SELECT state, COUNT(*) FROM notices WHERE ? IS NULL OR activity_id = ? GROUP BY state",
            (activity_id, activity_id),
        )
        return {str(r[0]): int(r[1]) for r in rows}
