"""The broadcast outbox: announcements, their recipients and each recipient's delivery state."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime

import aiosqlite

from bot.domain.broadcasts import (
    Audience,
    AudienceKind,
    Broadcast,
    BroadcastContent,
    BroadcastStatus,
    DeliveryCounts,
    DeliveryResult,
    DeliveryState,
    Recipient,
)
from storage.db import Database, from_db_time, to_db_time

_COLUMNS = (
    "id, created_by, sender_unit_id, text_html, media_kind, media_file_id, activity_id, "
    "audience_kind, audience_units, audience_activity, status, scheduled_at, created_at, "
    "started_at, finished_at, total, progress_chat_id, progress_message_id, cancel_reason"
)

# Who can be reached at all: onboarded, not deleted, not known to have blocked the bot, and
# not opted out of announcements.
_REACHABLE = (
    "m.deleted_at IS NULL AND m.telegram_id IS NOT NULL AND m.reachable = 1 "
    "AND m.announcements_muted = 0"
)


def _audience_filter(audience: Audience) -> tuple[str, tuple[object, ...]]:
    if audience.kind is AudienceKind.ALL:
        return _REACHABLE, ()
    if audience.kind is AudienceKind.UNITS:
        return (
            f"{_REACHABLE} AND m.unit_id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(audience.unit_ids)),),
        )
    if audience.kind is AudienceKind.ACTIVITY:
        return (
            f"{_REACHABLE} AND m.id IN (SELECT member_id FROM registrations "
            "WHERE activity_id = ? AND status = 'confirmed')",
            (audience.activity_id,),
        )
    return (
        f"{_REACHABLE} AND m.id IN (SELECT member_id FROM roles WHERE role = 'cadre')",
        (),
    )


def _broadcast(row: sqlite3.Row) -> Broadcast:
    created = from_db_time(row["created_at"])
    assert created is not None
    return Broadcast(
        id=row["id"],
        created_by=row["created_by"],
        sender_unit_id=row["sender_unit_id"],
        content=BroadcastContent(
            text_html=row["text_html"],
            media_kind=row["media_kind"],
            media_file_id=row["media_file_id"],
            activity_id=row["activity_id"],
        ),
        audience=Audience(
            kind=AudienceKind(row["audience_kind"]),
            unit_ids=tuple(json.loads(row["audience_units"])),
            activity_id=row["audience_activity"],
        ),
        status=BroadcastStatus(row["status"]),
        scheduled_at=from_db_time(row["scheduled_at"]),
        created_at=created,
        started_at=from_db_time(row["started_at"]),
        finished_at=from_db_time(row["finished_at"]),
        total=row["total"],
        progress_chat_id=row["progress_chat_id"],
        progress_message_id=row["progress_message_id"],
        cancel_reason=row["cancel_reason"],
    )


class BroadcastRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def count_audience(self, audience: Audience) -> int:
        where, params = _audience_filter(audience)
        return int(
            await self._db.fetch_value(f"SELECT COUNT(*) FROM members m WHERE {where}", params)
        )

    async def create(
        self,
        *,
        created_by: int,
        sender_unit_id: int | None,
        content: BroadcastContent,
        audience: Audience,
        scheduled_at: datetime | None,
        progress_chat_id: int | None,
        now: datetime,
    ) -> Broadcast:
        """Write the broadcast; unless scheduled, its recipients too, in the same transaction."""
        status = BroadcastStatus.SCHEDULED if scheduled_at else BroadcastStatus.SENDING
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO broadcasts (created_by, sender_unit_id, text_html, media_kind, "
                "media_file_id, activity_id, audience_kind, audience_units, audience_activity, "
                "status, scheduled_at, created_at, progress_chat_id) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    created_by,
                    sender_unit_id,
                    content.text_html,
                    content.media_kind,
                    content.media_file_id,
                    content.activity_id,
                    audience.kind.value,
                    json.dumps(list(audience.unit_ids)),
                    audience.activity_id,
                    status.value,
                    to_db_time(scheduled_at) if scheduled_at else None,
                    to_db_time(now),
                    progress_chat_id,
                ),
            )
            broadcast_id = int(cursor.lastrowid or 0)
            if status is BroadcastStatus.SENDING:
                await self._materialise(conn, broadcast_id, audience, now)
        found = await self.get(broadcast_id)
        assert found is not None
        return found

    async def start_scheduled(self, broadcast_id: int, now: datetime) -> bool:
        """A scheduled broadcast falls due: write its recipients and start sending (once)."""
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM broadcasts WHERE id = ?", (broadcast_id,)
        )
        if row is None:
            return False
        audience = _broadcast(row).audience
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE broadcasts SET status = 'sending' WHERE id = ? AND status = 'scheduled'",
                (broadcast_id,),
            )
            if cursor.rowcount == 0:
                return False
            await self._materialise(conn, broadcast_id, audience, now)
        return True

    async def cancel_scheduled(self, broadcast_id: int, reason: str, now: datetime) -> bool:
        """Cancel a broadcast still waiting for its time, saying why (False: it was not)."""
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE broadcasts SET status = 'cancelled', cancel_reason = ?, finished_at = ? "
                "WHERE id = ? AND status = 'scheduled'",
                (reason, to_db_time(now), broadcast_id),
            )
            return cursor.rowcount > 0

    async def _materialise(
        self, conn: aiosqlite.Connection, broadcast_id: int, audience: Audience, now: datetime
    ) -> None:
        where, params = _audience_filter(audience)
        cursor = await conn.execute(
            "INSERT INTO broadcast_recipients (broadcast_id, member_id, telegram_id, language) "
            f"SELECT ?, m.id, m.telegram_id, m.language FROM members m WHERE {where}",
            (broadcast_id, *params),
        )
        await conn.execute(
            "UPDATE broadcasts SET total = ?, started_at = ? WHERE id = ?",
            (cursor.rowcount, to_db_time(now), broadcast_id),
        )

    async def get(self, broadcast_id: int) -> Broadcast | None:
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM broadcasts WHERE id = ?", (broadcast_id,)
        )
        return None if row is None else _broadcast(row)

    async def with_status(self, *statuses: BroadcastStatus) -> list[Broadcast]:
        marks = ", ".join("?" for _ in statuses)
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM broadcasts WHERE status IN ({marks}) ORDER BY id",
            tuple(s.value for s in statuses),
        )
        return [_broadcast(r) for r in rows]

    async def recent(self, limit: int, *, unit_id: int | None = None) -> list[Broadcast]:
        if unit_id is None:
            rows = await self._db.fetch_all(
                f"SELECT {_COLUMNS} FROM broadcasts ORDER BY id DESC LIMIT ?", (limit,)
            )
        else:
            rows = await self._db.fetch_all(
                f"SELECT {_COLUMNS} FROM broadcasts WHERE sender_unit_id = ? "
                "ORDER BY id DESC LIMIT ?",
                (unit_id, limit),
            )
        return [_broadcast(r) for r in rows]

    async def pending(
        self, broadcast_id: int, *, after_member_id: int, limit: int
    ) -> list[Recipient]:
        rows = await self._db.fetch_all(
            "SELECT broadcast_id, member_id, telegram_id, language, attempts "
            "FROM broadcast_recipients "
            "WHERE broadcast_id = ? AND state = 'pending' AND member_id > ? "
            "ORDER BY member_id LIMIT ?",
            (broadcast_id, after_member_id, limit),
        )
        return [Recipient(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    async def record(
        self, broadcast_id: int, results: Sequence[DeliveryResult], now: datetime
    ) -> None:
        """Store outcomes (one transaction); members who blocked the bot become unreachable."""
        if not results:
            return
        stamp = to_db_time(now)
        async with self._db.transaction() as conn:
            await conn.executemany(
                "UPDATE broadcast_recipients SET state = ?, attempts = ?, message_id = ?, "
                "error = ?, updated_at = ? WHERE broadcast_id = ? AND member_id = ?",
                [
                    (
                        r.state.value,
                        r.attempts,
                        r.message_id,
                        r.error,
                        stamp,
                        broadcast_id,
                        r.member_id,
                    )
                    for r in results
                ],
            )
            blocked = [(r.member_id,) for r in results if r.state is DeliveryState.BLOCKED]
            if blocked:
                await conn.executemany("UPDATE members SET reachable = 0 WHERE id = ?", blocked)

    async def counts(self, broadcast_id: int) -> DeliveryCounts:
        rows = await self._db.fetch_all(
            "SELECT state, COUNT(*) FROM broadcast_recipients WHERE broadcast_id = ? "
            "GROUP BY state",
            (broadcast_id,),
        )
        by_state = {r[0]: int(r[1]) for r in rows}
        return DeliveryCounts(
            sent=by_state.get("sent", 0),
            failed=by_state.get("failed", 0),
            blocked=by_state.get("blocked", 0),
            pending=by_state.get("pending", 0),
        )

    async def set_status(
        self,
        broadcast_id: int,
        status: BroadcastStatus,
        now: datetime,
        *,
        only_from: Sequence[BroadcastStatus],
    ) -> bool:
        marks = ", ".join("?" for _ in only_from)
        finished = (
            to_db_time(now) if status in (BroadcastStatus.DONE, BroadcastStatus.CANCELLED) else None
        )
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                f"UPDATE broadcasts SET status = ?, finished_at = COALESCE(?, finished_at) "
                f"WHERE id = ? AND status IN ({marks})",
                (status.value, finished, broadcast_id, *(s.value for s in only_from)),
            )
            return cursor.rowcount > 0

    async def set_progress_message(self, broadcast_id: int, chat_id: int, message_id: int) -> None:
        await self._db.execute(
            "UPDATE broadcasts SET progress_chat_id = ?, progress_message_id = ? WHERE id = ?",
            (chat_id, message_id, broadcast_id),
        )

    async def activity_choices(
        self, unit_id: int | None, now: datetime, limit: int = 20
    ) -> list[tuple[int, str]]:
        """Upcoming, not cancelled activities (of one unit, or all) whose registrants a
        broadcast may target, soonest first."""
        rows = await self._db.fetch_all(
            "SELECT id, title FROM activities WHERE status != 'cancelled' AND ends_at > ? "
            "AND (? IS NULL OR unit_id = ?) ORDER BY starts_at, id LIMIT ?",
            (to_db_time(now), unit_id, unit_id, limit),
        )
        return [(int(r[0]), str(r[1])) for r in rows]

    async def activity_unit(self, activity_id: int) -> int | None:
        value = await self._db.fetch_value(
            "SELECT unit_id FROM activities WHERE id = ?", (activity_id,)
        )
        return None if value is None else int(value)
