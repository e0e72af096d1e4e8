"""What reminders, deadline digests and thank-yous are due, and the log of what was sent."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime

from bot.domain.broadcasts import DeliveryState
from bot.domain.reminders import Addressee, LoggedMessage, LogKey, UpcomingActivity
from storage.db import Database, from_db_time, to_db_time


def _time(text: str) -> datetime:
    value = from_db_time(text)
    assert value is not None
    return value


def _activity(row: sqlite3.Row) -> UpcomingActivity:
    offsets = row["reminder_offsets"]
    return UpcomingActivity(
        id=row["id"],
        title=row["title"],
        place=row["place"],
        unit_id=row["unit_id"],
        starts_at=_time(row["starts_at"]),
        deadline_at=_time(row["deadline_at"]),
        ends_at=_time(row["ends_at"]),
        capacity=row["capacity"],
        offsets=None if offsets is None else tuple(int(m) for m in json.loads(offsets)),
    )


_ACTIVITY_COLUMNS = (
    "id, title, place, unit_id, starts_at, deadline_at, ends_at, capacity, reminder_offsets"
)
# Members a message may go to at all (not deleted, not known to have blocked the bot).
_REACHABLE = "m.deleted_at IS NULL AND m.telegram_id IS NOT NULL AND m.reachable = 1"


class ReminderRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def starting_between(self, after: datetime, until: datetime) -> list[UpcomingActivity]:
        """Activities that are not cancelled and start in (after, until]."""
        rows = await self._db.fetch_all(
            f"SELECT {_ACTIVITY_COLUMNS} FROM activities WHERE status != 'cancelled' "
            "AND starts_at > ? AND starts_at <= ? ORDER BY starts_at",
            (to_db_time(after), to_db_time(until)),
        )
        return [_activity(r) for r in rows]

    async def deadlines_between(self, after: datetime, until: datetime) -> list[UpcomingActivity]:
        rows = await self._db.fetch_all(
            f"SELECT {_ACTIVITY_COLUMNS} FROM activities WHERE status = 'open' "
            "AND deadline_at > ? AND deadline_at <= ? ORDER BY deadline_at",
            (to_db_time(after), to_db_time(until)),
        )
        return [_activity(r) for r in rows]

    async def activity(self, activity_id: int) -> UpcomingActivity | None:
        row = await self._db.fetch_one(
            f"SELECT {_ACTIVITY_COLUMNS} FROM activities WHERE id = ? AND status != 'cancelled'",
            (activity_id,),
        )
        return None if row is None else _activity(row)

    async def unreminded(
        self, activity: UpcomingActivity, offset_minutes: int, due_at: datetime
    ) -> list[Addressee]:
        """Confirmed registrants who want reminders and have not had this one. Whoever got
        their seat after it fell due has just been told the time: no reminder on top."""
        rows = await self._db.fetch_all(
            "SELECT m.id, m.telegram_id, m.language FROM registrations r "
            "JOIN members m ON m.id = r.member_id "
            f"WHERE r.activity_id = ? AND r.status = 'confirmed' AND {_REACHABLE} "
            "AND r.confirmed_at <= ? AND m.reminders_muted = 0 "
            "AND NOT EXISTS (SELECT 1 FROM reminder_log l WHERE l.kind = 'reminder' "
            "AND l.activity_id = r.activity_id "
            "AND l.member_id = m.id AND l.offset_minutes = ? AND l.anchor_at = ?) "
            "ORDER BY m.id",
            (activity.id, to_db_time(due_at), offset_minutes, to_db_time(activity.starts_at)),
        )
        return [Addressee(r[0], r[1], r[2]) for r in rows]

    async def undigested_cadres(
        self, activity: UpcomingActivity, offset_minutes: int
    ) -> list[Addressee]:
        rows = await self._db.fetch_all(
            "SELECT m.id, m.telegram_id, m.language FROM roles g "
            "JOIN members m ON m.id = g.member_id "
            f"WHERE g.role = 'cadre' AND g.unit_id = ? AND {_REACHABLE} "
            "AND NOT EXISTS (SELECT 1 FROM reminder_log l WHERE l.kind = 'deadline_digest' "
            "AND l.activity_id = ? AND l.member_id = m.id AND l.offset_minutes = ? "
            "AND l.anchor_at = ?) ORDER BY m.id",
            (activity.unit_id, activity.id, offset_minutes, to_db_time(activity.deadline_at)),
        )
        return [Addressee(r[0], r[1], r[2]) for r in rows]

    async def unthanked(
        self, ended_before: datetime, limit: int
    ) -> list[tuple[int, Addressee, float]]:
        """(activity id, attendee, hours credited) for attendees not yet thanked."""
        rows = await self._db.fetch_all(
            "SELECT t.activity_id, m.id, m.telegram_id, m.language, t.hours "
            "FROM attendance t JOIN activities a ON a.id = t.activity_id "
            "JOIN members m ON m.id = t.member_id "
            f"WHERE t.present = 1 AND a.status != 'cancelled' AND a.ends_at <= ? "
            f"AND {_REACHABLE} AND NOT EXISTS (SELECT 1 FROM reminder_log l "
            "WHERE l.kind = 'thank_you' AND l.activity_id = t.activity_id "
            "AND l.member_id = m.id) ORDER BY a.ends_at, t.activity_id, t.member_id LIMIT ?",
            (to_db_time(ended_before), limit),
        )
        return [(r[0], Addressee(r[1], r[2], r[3]), float(r[4])) for r in rows]

    async def counts(self, activity_id: int) -> tuple[int, int]:
        """(confirmed, waitlisted) registrations of an activity."""
        row = await self._db.fetch_one(
            "SELECT COALESCE(SUM(status = 'confirmed'), 0), "
            "COALESCE(SUM(status = 'waitlisted'), 0) FROM registrations WHERE activity_id = ?",
            (activity_id,),
        )
        assert row is not None
        return int(row[0]), int(row[1])

    async def claim(
        self, keys: Sequence[tuple[LogKey, datetime]], now: datetime, *, state: str = "sending"
    ) -> list[LogKey]:
        """Write log rows before sending; returns the keys this call claimed (a key another
        process or an earlier run already holds is not returned)."""
        claimed: list[LogKey] = []
        stamp = to_db_time(now)
        async with self._db.transaction() as conn:
            for key, due_at in keys:
                cursor = await conn.execute(
                    "INSERT INTO reminder_log (kind, activity_id, member_id, offset_minutes, "
                    "anchor_at, due_at, state, claimed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT DO NOTHING",
                    (
                        key.kind,
                        key.activity_id,
                        key.member_id,
                        key.offset_minutes,
                        to_db_time(key.anchor_at),
                        to_db_time(due_at),
                        state,
                        stamp,
                    ),
                )
                if cursor.rowcount:
                    claimed.append(key)
        return claimed

    async def record(
        self,
        outcomes: Sequence[tuple[LogKey, DeliveryState, int | None, str | None]],
        now: datetime,
    ) -> None:
        if not outcomes:
            return
        stamp = to_db_time(now)
        async with self._db.transaction() as conn:
            for key, state, message_id, error in outcomes:
                await conn.execute(
                    "UPDATE reminder_log SET state = ?, sent_at = ?, message_id = ?, error = ? "
                    "WHERE kind = ? AND activity_id = ? AND member_id = ? AND offset_minutes = ? "
                    "AND anchor_at = ?",
                    (
                        state.value,
                        stamp,
                        message_id,
                        error,
                        key.kind,
                        key.activity_id,
                        key.member_id,
                        key.offset_minutes,
                        to_db_time(key.anchor_at),
                    ),
                )
                if state is DeliveryState.BLOCKED:
                    await conn.execute(
                        "UPDATE members SET reachable = 0 WHERE id = ?", (key.member_id,)
                    )
                if key.kind == "thank_you" and state is DeliveryState.SENT:
                    await conn.execute(
                        "UPDATE registrations SET thanked_at = ? WHERE activity_id = ? "
                        "AND member_id = ? AND thanked_at IS NULL",
                        (stamp, key.activity_id, key.member_id),
                    )

    async def mark_dropped(self, keys: Sequence[LogKey]) -> None:
        if not keys:
            return
        await self._db.executemany(
            "UPDATE reminder_log SET state = 'dropped' WHERE kind = ? AND activity_id = ? "
            "AND member_id = ? AND offset_minutes = ? AND anchor_at = ?",
            [
                (k.kind, k.activity_id, k.member_id, k.offset_minutes, to_db_time(k.anchor_at))
                for k in keys
            ],
        )

    async def hours_credited(self, activity_id: int, member_id: int) -> float:
        value = await self._db.fetch_value(
            "SELECT hours FROM attendance WHERE activity_id = ? AND member_id = ? AND present = 1",
            (activity_id, member_id),
        )
        return float(value or 0)

    async def in_flight(self) -> list[LoggedMessage]:
        """Rows claimed but never recorded: the messages in flight when the bot last stopped."""
        rows = await self._db.fetch_all(
            "SELECT l.kind, l.activity_id, l.member_id, l.offset_minutes, l.anchor_at, l.due_at, "
            "m.telegram_id, m.language FROM reminder_log l JOIN members m ON m.id = l.member_id "
            "WHERE l.state = 'sending'"
        )
        return [
            LoggedMessage(LogKey(r[0], r[1], r[2], r[3], _time(r[4])), _time(r[5]), r[6], r[7])
            for r in rows
        ]

    async def log_count(self, kind: str, state: str) -> int:
        return int(
            await self._db.fetch_value(
                "SELECT COUNT(*) FROM reminder_log WHERE kind = ? AND state = ?", (kind, state)
            )
        )
