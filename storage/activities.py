"""Volunteer activities: campaigns, activities, registrations with capacity and waitlist.
Registering, cancelling and promoting each run in one ``BEGIN IMMEDIATE`` transaction, so
capacity holds however many people press at once. Attendance is its own record
(``storage.attendance``); registrations only read it, and a present member cannot cancel."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import aiosqlite

from bot.domain.activities import (
    Activity,
    ActivityFilter,
    ActivityKind,
    ActivityStatus,
    Audience,
    Campaign,
    CancelResult,
    CapacityResult,
    NewActivity,
    Question,
    Recipient,
    RegisterOutcome,
    RegisterResult,
    Registrant,
    Registration,
    RegistrationStatus,
    StatusChange,
    Totals,
)
from bot.domain.notices import NoticeKind
from storage.db import Database, first_row, from_db_time, to_db_time
from storage.notices import change_payload, queue_for_members, queue_for_registrants

# The one transition rule, applied by a conditional UPDATE: cancelled is final, registration
# closes only while open and reopens only while closed.
STATUS_FROM: dict[ActivityStatus, tuple[ActivityStatus, ...]] = {
    ActivityStatus.CANCELLED: (ActivityStatus.OPEN, ActivityStatus.CLOSED),
    ActivityStatus.CLOSED: (ActivityStatus.OPEN,),
    ActivityStatus.OPEN: (ActivityStatus.CLOSED,),
}


QUESTIONS_CACHED = 4096  # activities whose questions are kept in memory

_ACTIVITY_COLUMNS = (
    "a.id, a.title, a.description, a.kind, a.campaign_id, a.unit_id, a.open_to, a.place, "
    "a.starts_at, a.ends_at, a.deadline_at, a.capacity, a.hours, a.reminder_offsets, a.status, "
    "a.created_by, "
    "(SELECT COUNT(*) FROM registrations r WHERE r.activity_id = a.id "
    " AND r.status = 'confirmed') AS confirmed, "
    "(SELECT COUNT(*) FROM registrations r WHERE r.activity_id = a.id "
    " AND r.status = 'waitlisted') AS waitlisted, "
    "(SELECT COUNT(*) FROM attendance t WHERE t.activity_id = a.id AND t.present = 1) "
    " AS attended"
)

_ATTENDANCE_OF_R = (
    "FROM attendance t WHERE t.activity_id = r.activity_id AND t.member_id = r.member_id"
)
_REGISTRATION_COLUMNS = (
    "r.id, r.activity_id, r.member_id, r.status, r.answers, r.registered_at, "
    f"(SELECT CASE WHEN t.present = 1 THEN t.recorded_at END {_ATTENDANCE_OF_R}) AS attended_at, "
    f"COALESCE((SELECT t.hours {_ATTENDANCE_OF_R}), 0) AS hours_credited, "
    f"COALESCE((SELECT t.present = 0 {_ATTENDANCE_OF_R}), 0) AS marked_absent, "
    "CASE WHEN r.status = 'waitlisted' THEN (SELECT COUNT(*) FROM registrations w "
    " WHERE w.activity_id = r.activity_id AND w.status = 'waitlisted' "
    " AND w.waitlist_seq <= r.waitlist_seq) END AS waitlist_position"
)


def _time(text: str) -> datetime:
    moment = from_db_time(text)
    assert moment is not None
    return moment


def _activity(row: sqlite3.Row, questions: tuple[Question, ...] = ()) -> Activity:
    offsets = row["reminder_offsets"]
    return Activity(
        id=row["id"],
        title=row["title"],
        description=row["description"],
        kind=ActivityKind(row["kind"]),
        campaign_id=row["campaign_id"],
        unit_id=row["unit_id"],
        open_to=Audience(row["open_to"]),
        place=row["place"],
        starts_at=_time(row["starts_at"]),
        ends_at=_time(row["ends_at"]),
        deadline_at=_time(row["deadline_at"]),
        capacity=row["capacity"],
        hours=float(row["hours"]),
        reminder_offsets=None if offsets is None else tuple(int(m) for m in json.loads(offsets)),
        status=ActivityStatus(row["status"]),
        created_by=row["created_by"],
        confirmed=int(row["confirmed"]),
        waitlisted=int(row["waitlisted"]),
        attended=int(row["attended"]),
        questions=questions,
    )


def _registration(row: sqlite3.Row | aiosqlite.Row) -> Registration:
    answers = json.loads(row["answers"] or "{}")
    return Registration(
        id=row["id"],
        activity_id=row["activity_id"],
        member_id=row["member_id"],
        status=RegistrationStatus(row["status"]),
        waitlist_position=row["waitlist_position"],
        answers={str(k): str(v) for k, v in answers.items()},
        registered_at=_time(row["registered_at"]),
        attended_at=from_db_time(row["attended_at"]),
        hours_credited=float(row["hours_credited"]),
        marked_absent=bool(row["marked_absent"]),
    )


def _question(row: sqlite3.Row) -> Question:
    choices = row["choices"]
    return Question(
        position=row["position"],
        prompt=row["prompt"],
        choices=None if choices is None else tuple(json.loads(choices)),
        required=bool(row["required"]),
    )


def _campaign(row: sqlite3.Row) -> Campaign:
    return Campaign(
        id=row["id"],
        name=row["name"],
        unit_id=row["unit_id"],
        starts_on=date.fromisoformat(row["starts_on"]),
        ends_on=date.fromisoformat(row["ends_on"]),
    )


async def _one(conn: aiosqlite.Connection, sql: str, params: Sequence[Any]) -> Any:
    return await first_row(conn, sql, params)


class ActivityRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._questions_cache: dict[int, tuple[Question, ...]] = {}

    # --- campaigns -------------------------------------------------------------------------

    async def create_campaign(
        self,
        name: str,
        unit_id: int | None,
        starts_on: date,
        ends_on: date,
        created_by: int,
        now: datetime,
    ) -> Campaign:
        campaign_id = await self._db.execute(
            "INSERT INTO campaigns (name, unit_id, starts_on, ends_on, created_by, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                name,
                unit_id,
                starts_on.isoformat(),
                ends_on.isoformat(),
                created_by,
                to_db_time(now),
            ),
        )
        return Campaign(campaign_id, name, unit_id, starts_on, ends_on)

    async def campaign(self, campaign_id: int) -> Campaign | None:
        row = await self._db.fetch_one("SELECT * FROM campaigns WHERE id = ?", (campaign_id,))
        return None if row is None else _campaign(row)

    async def campaign_by_name(self, name: str) -> Campaign | None:
        row = await self._db.fetch_one(
            "SELECT * FROM campaigns WHERE name = ? COLLATE NOCASE", (name.strip(),)
        )
        return None if row is None else _campaign(row)

    async def campaigns_for_unit(self, unit_id: int | None, on_or_after: date) -> list[Campaign]:
        """Campaigns still running that a unit may file activities under (union-wide ones too);
        ``unit_id`` None (an admin) sees every unit's."""
        rows = await self._db.fetch_all(
            "SELECT * FROM campaigns WHERE ends_on >= ? AND (? IS NULL OR unit_id IS NULL "
            "OR unit_id = ?) ORDER BY starts_on, name LIMIT 20",
            (on_or_after.isoformat(), unit_id, unit_id),
        )
        return [_campaign(r) for r in rows]

    async def campaigns_with_upcoming(self, now: datetime, scope: ActivityFilter) -> list[Campaign]:
        where, params = _visibility(scope)
        rows = await self._db.fetch_all(
            "SELECT DISTINCT c.* FROM campaigns c JOIN activities a ON a.campaign_id = c.id "
            f"WHERE a.status = 'open' AND a.starts_at > ? AND {where} ORDER BY c.starts_on, c.name "
            "LIMIT 20",
            (to_db_time(now), *params),
        )
        return [_campaign(r) for r in rows]

    # --- activities ------------------------------------------------------------------------

    async def create(self, new: NewActivity, now: datetime) -> int:
        async with self._db.transaction() as conn:
            return await self._insert(conn, new, now)

    async def create_many(self, items: Sequence[NewActivity], now: datetime) -> list[int]:
        """All or nothing: an import either lands entirely or not at all."""
        async with self._db.transaction() as conn:
            return [await self._insert(conn, new, now) for new in items]

    async def _insert(self, conn: aiosqlite.Connection, new: NewActivity, now: datetime) -> int:
        stamp = to_db_time(now)
        cursor = await conn.execute(
            "INSERT INTO activities (title, description, kind, campaign_id, unit_id, open_to, "
            "place, starts_at, ends_at, deadline_at, capacity, hours, reminder_offsets, "
            "created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "?, ?, ?)",
            (
                new.title,
                new.description,
                new.kind.value,
                new.campaign_id,
                new.unit_id,
                new.open_to.value,
                new.place,
                to_db_time(new.starts_at),
                to_db_time(new.ends_at),
                to_db_time(new.deadline_at),
                new.capacity,
                new.hours,
                None if new.reminder_offsets is None else json.dumps(list(new.reminder_offsets)),
                new.created_by,
                stamp,
                stamp,
            ),
        )
        activity_id = int(cursor.lastrowid or 0)
        await conn.executemany(
            "INSERT INTO activity_questions (activity_id, position, prompt, choices, required) "
            "VALUES (?, ?, ?, ?, ?)",
            [
                (
                    activity_id,
                    q.position,
                    q.prompt,
                    None if q.choices is None else json.dumps(list(q.choices), ensure_ascii=False),
                    int(q.required),
                )
                for q in new.questions
            ],
        )
        if new.checkin_token:
            await conn.execute(
                "INSERT INTO checkin_tokens (token, activity_id, created_at) VALUES (?, ?, ?)",
                (new.checkin_token, activity_id, stamp),
            )
        return activity_id

    async def get(self, activity_id: int) -> Activity | None:
        row = await self._db.fetch_one(
            f"SELECT {_ACTIVITY_COLUMNS} FROM activities a WHERE a.id = ?", (activity_id,)
        )
        if row is None:
            return None
        return _activity(row, await self._questions(activity_id))

    async def _questions(self, activity_id: int) -> tuple[Question, ...]:
        # An activity's questions are written with it and never change (nor are activities
        # deleted), so once read they are kept: every card and registration needs them.
        questions = self._questions_cache.get(activity_id)
        if questions is None:
            rows = await self._db.fetch_all(
                "SELECT position, prompt, choices, required FROM activity_questions "
                "WHERE activity_id = ? ORDER BY position",
                (activity_id,),
            )
            questions = tuple(_question(r) for r in rows)
            if len(self._questions_cache) >= QUESTIONS_CACHED:
                self._questions_cache.clear()
            self._questions_cache[activity_id] = questions
        return questions

    async def upcoming(
        self, now: datetime, scope: ActivityFilter, *, offset: int, limit: int
    ) -> tuple[list[Activity], int]:
        """Open activities not yet started that ``scope`` may see, soonest first; and the total."""
        where, params = _visibility(scope)
        base = f"FROM activities a WHERE a.status = 'open' AND a.starts_at > ? AND {where}"
        args = (to_db_time(now), *params)
        total = int(await self._db.fetch_value(f"SELECT COUNT(*) {base}", args))
        rows = await self._db.fetch_all(
            f"SELECT {_ACTIVITY_COLUMNS} {base} ORDER BY a.starts_at, a.id LIMIT ? OFFSET ?",
            (*args, limit, offset),
        )
        return [_activity(r) for r in rows], total

    async def managed(
        self, unit_id: int | None, since: datetime, *, offset: int, limit: int
    ) -> tuple[list[Activity], int]:
        """A unit's activities (every unit's when ``unit_id`` is None) ending after ``since``."""
        base = "FROM activities a WHERE a.ends_at > ? AND (? IS NULL OR a.unit_id = ?)"
        args = (to_db_time(since), unit_id, unit_id)
        total = int(await self._db.fetch_value(f"SELECT COUNT(*) {base}", args))
        rows = await self._db.fetch_all(
            f"SELECT {_ACTIVITY_COLUMNS} {base} ORDER BY a.starts_at DESC, a.id DESC "
            "LIMIT ? OFFSET ?",
            (*args, limit, offset),
        )
        return [_activity(r) for r in rows], total

    async def update_details(self, activity_id: int, now: datetime, **fields: object) -> bool:
        """Edit an activity that is not cancelled; registrants' notices of a new time, place
        or description are written in the same transaction. False: it is cancelled (or gone)."""
        allowed = {"title", "description", "place", "starts_at", "ends_at", "deadline_at"}
        unknown = set(fields) - allowed
        if unknown:
            raise ValueError(f"not editable: {sorted(unknown)}")
        values = [to_db_time(v) if isinstance(v, datetime) else v for v in fields.values()]
        assignments = ", ".join(f"{name} = ?" for name in (*fields, "updated_at"))
        told = "title, description, place, starts_at, ends_at"
        async with self._db.transaction() as conn:
            before = await _one(conn, f"SELECT {told} FROM activities WHERE id = ?", (activity_id,))
            cursor = await conn.execute(
                f"UPDATE activities SET {assignments} WHERE id = ? AND status != 'cancelled'",
                (*values, to_db_time(now), activity_id),
            )
            if cursor.rowcount == 0:
                return False
            after = await _one(conn, f"SELECT {told} FROM activities WHERE id = ?", (activity_id,))
            payload = change_payload(before, after)
            if payload is not None:
                await queue_for_registrants(conn, NoticeKind.CHANGED, activity_id, now, payload)
        return True

    async def set_status(
        self, activity_id: int, status: ActivityStatus, now: datetime
    ) -> StatusChange:
        """Move to ``status`` if the transition rule allows it from the status the activity has
        at this very moment (two cadres, or a cancel and a reopen, may press at once). A
        cancellation writes every registrant's notice in the same transaction and returns
        who holds a seat or a waitlist place."""
        allowed = [s.value for s in STATUS_FROM[status]]
        stamp = to_db_time(now)
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE activities SET status = ?, updated_at = ?, cancelled_at = CASE WHEN ? = "
                "'cancelled' THEN ? ELSE cancelled_at END "
                f"WHERE id = ? AND status IN ({', '.join('?' for _ in allowed)})",
                (status.value, stamp, status.value, stamp, activity_id, *allowed),
            )
            if cursor.rowcount == 0:
                row = await _one(conn, "SELECT status FROM activities WHERE id = ?", (activity_id,))
                return StatusChange(False, None if row is None else ActivityStatus(row[0]))
            if status is not ActivityStatus.CANCELLED:
                return StatusChange(True, status)
            await queue_for_registrants(conn, NoticeKind.CANCELLED, activity_id, now)
            rows = await conn.execute_fetchall(
                "SELECT m.id, m.telegram_id, m.language FROM registrations r "
                "JOIN members m ON m.id = r.member_id WHERE r.activity_id = ? "
                "AND r.status IN ('confirmed', 'waitlisted') AND m.telegram_id IS NOT NULL "
                "AND m.reachable ORDER BY r.id",
                (activity_id,),
            )
        recipients = [Recipient(r["id"], r["telegram_id"], r["language"]) for r in rows]
        return StatusChange(True, status, recipients)

    async def recipients(self, activity_id: int) -> list[Recipient]:
        rows = await self._db.fetch_all(
            "SELECT m.id, m.telegram_id, m.language FROM registrations r "
            "JOIN members m ON m.id = r.member_id WHERE r.activity_id = ? "
            "AND r.status IN ('confirmed', 'waitlisted') AND m.telegram_id IS NOT NULL "
            "AND m.reachable ORDER BY r.id",
            (activity_id,),
        )
        return [Recipient(r["id"], r["telegram_id"], r["language"]) for r in rows]

    async def set_capacity(
        self, activity_id: int, capacity: int | None, now: datetime
    ) -> CapacityResult:
        """Never below the seats already taken; new seats go to the waitlist in order."""
        async with self._db.transaction() as conn:
            confirmed = await self._confirmed(conn, activity_id)
            if capacity is not None and capacity < confirmed:
                return CapacityResult(False, confirmed)
            await conn.execute(
                "UPDATE activities SET capacity = ?, updated_at = ? WHERE id = ?",
                (capacity, to_db_time(now), activity_id),
            )
            promoted = await self._promote(conn, activity_id, now)
        return CapacityResult(True, confirmed, tuple(promoted))

    # --- registrations ---------------------------------------------------------------------

    async def registration(self, activity_id: int, member_id: int) -> Registration | None:
        row = await self._db.fetch_one(
            f"SELECT {_REGISTRATION_COLUMNS} FROM registrations r "
            "WHERE r.activity_id = ? AND r.member_id = ?",
            (activity_id, member_id),
        )
        return None if row is None else _registration(row)

    async def registration_by_id(self, registration_id: int) -> Registration | None:
        row = await self._db.fetch_one(
            f"SELECT {_REGISTRATION_COLUMNS} FROM registrations r WHERE r.id = ?",
            (registration_id,),
        )
        return None if row is None else _registration(row)

    async def registrant(self, registration_id: int) -> Registrant | None:
        row = await self._db.fetch_one(
            f"SELECT {_REGISTRATION_COLUMNS}, m.full_name, m.telegram_id FROM registrations r "
            "JOIN members m ON m.id = r.member_id WHERE r.id = ?",
            (registration_id,),
        )
        return (
            None
            if row is None
            else Registrant(_registration(row), row["full_name"], row["telegram_id"])
        )

    async def registrations_of(
        self, member_id: int, activity_ids: Sequence[int]
    ) -> dict[int, Registration]:
        if not activity_ids:
            return {}
        marks = ", ".join("?" for _ in activity_ids)
        rows = await self._db.fetch_all(
            f"SELECT {_REGISTRATION_COLUMNS} FROM registrations r WHERE r.member_id = ? "
            f"AND r.activity_id IN ({marks})",
            (member_id, *activity_ids),
        )
        return {row["activity_id"]: _registration(row) for row in rows}

    async def register(
        self, activity_id: int, member_id: int, answers: dict[str, str], now: datetime
    ) -> RegisterResult:
        """Check the seats and take one (or a waitlist place) in the same transaction."""
        stamp = to_db_time(now)
        async with self._db.transaction() as conn:
            activity = await _one(
                conn, "SELECT status, capacity FROM activities WHERE id = ?", (activity_id,)
            )
            existing = await self._registration_in(conn, activity_id, member_id)
            if existing is not None and existing.active:
                return RegisterResult(RegisterOutcome.ALREADY, existing)
            if activity is None or activity["status"] != ActivityStatus.OPEN.value:
                return RegisterResult(RegisterOutcome.CLOSED, None)
            capacity = activity["capacity"]
            confirmed = await self._confirmed(conn, activity_id)
            seat = capacity is None or confirmed < capacity
            status = RegistrationStatus.CONFIRMED if seat else RegistrationStatus.WAITLISTED
            seq = None
            if not seat:
                row = await _one(
                    conn,
                    "SELECT COALESCE(MAX(waitlist_seq), 0) + 1 FROM registrations "
                    "WHERE activity_id = ? AND status = 'waitlisted'",
                    (activity_id,),
                )
                seq = int(row[0])
            payload = json.dumps(answers, ensure_ascii=False)
            confirmed_at = stamp if seat else None
            if existing is None:
                await conn.execute(
                    "INSERT INTO registrations (activity_id, member_id, status, waitlist_seq, "
                    "answers, registered_at, confirmed_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        activity_id,
                        member_id,
                        status.value,
                        seq,
                        payload,
                        stamp,
                        confirmed_at,
                        stamp,
                    ),
                )
            else:
                await conn.execute(
                    # Attendance is not here: registering again never touches the record.
                    "UPDATE registrations SET status = ?, waitlist_seq = ?, answers = ?, "
                    "registered_at = ?, confirmed_at = ?, cancelled_at = NULL, thanked_at = NULL, "
                    "updated_at = ? WHERE id = ?",
                    (status.value, seq, payload, stamp, confirmed_at, stamp, existing.id),
                )
            registration = await self._registration_in(conn, activity_id, member_id)
        outcome = RegisterOutcome.CONFIRMED if seat else RegisterOutcome.WAITLISTED
        return RegisterResult(outcome, registration)

    async def cancel(self, activity_id: int, member_id: int, now: datetime) -> CancelResult:
        """Free the seat and hand it to the first on the waitlist, atomically; refused once the
        member is recorded present (checked in the same transaction as the cancellation)."""
        async with self._db.transaction() as conn:
            return await self.cancel_in(conn, activity_id, member_id, now)

    async def cancel_in(
        self, conn: aiosqlite.Connection, activity_id: int, member_id: int, now: datetime
    ) -> CancelResult:
        """``cancel`` inside a transaction the caller holds: /forgetme releases every upcoming
        seat in its own erasure transaction, through the same code as a member cancelling."""
        stamp = to_db_time(now)
        existing = await self._registration_in(conn, activity_id, member_id)
        if existing is None or not existing.active:
            return CancelResult(None)
        if existing.attended_at is not None:
            return CancelResult(None, checked_in_at=existing.attended_at)
        await conn.execute(
            "UPDATE registrations SET status = 'cancelled', waitlist_seq = NULL, "
            "cancelled_at = ?, updated_at = ? WHERE id = ?",
            (stamp, stamp, existing.id),
        )
        promoted: list[Registration] = []
        if existing.status is RegistrationStatus.CONFIRMED:
            promoted = await self._promote(conn, activity_id, now)
        return CancelResult(existing, tuple(promoted))

    async def _promote(
        self, conn: aiosqlite.Connection, activity_id: int, now: datetime
    ) -> list[Registration]:
        """Fill free seats from the head of the waitlist (call inside a transaction)."""
        activity = await _one(
            conn, "SELECT status, capacity FROM activities WHERE id = ?", (activity_id,)
        )
        if activity is None or activity["status"] == ActivityStatus.CANCELLED.value:
            return []
        capacity = activity["capacity"]
        confirmed = await self._confirmed(conn, activity_id)
        free = None if capacity is None else capacity - confirmed
        if free is not None and free <= 0:
            return []
        limit = -1 if free is None else free
        async with conn.execute(
            "SELECT id, member_id FROM registrations WHERE activity_id = ? AND status = "
            "'waitlisted' ORDER BY waitlist_seq LIMIT ?",
            (activity_id, limit),
        ) as cursor:
            heads = list(await cursor.fetchall())
        stamp = to_db_time(now)
        promoted: list[Registration] = []
        for head in heads:
            await conn.execute(
                "UPDATE registrations SET status = 'confirmed', waitlist_seq = NULL, "
                "confirmed_at = ?, updated_at = ? WHERE id = ?",
                (stamp, stamp, head["id"]),
            )
            registration = await self._registration_in(conn, activity_id, head["member_id"])
            assert registration is not None
            promoted.append(registration)
        # Whoever freed the seat (a cancellation, more capacity, an erased account), the
        # promoted hear it through the outbox, written with the promotion itself.
        await queue_for_members(
            conn, NoticeKind.PROMOTED, activity_id, [r.member_id for r in promoted], now
        )
        return promoted

    async def _confirmed(self, conn: aiosqlite.Connection, activity_id: int) -> int:
        row = await _one(
            conn,
            "SELECT COUNT(*) FROM registrations WHERE activity_id = ? AND status = 'confirmed'",
            (activity_id,),
        )
        return int(row[0])

    async def _registration_in(
        self, conn: aiosqlite.Connection, activity_id: int, member_id: int
    ) -> Registration | None:
        row = await _one(
            conn,
            f"SELECT {_REGISTRATION_COLUMNS} FROM registrations r "
            "WHERE r.activity_id = ? AND r.member_id = ?",
            (activity_id, member_id),
        )
        return None if row is None else _registration(row)

    async def registrants(
        self, activity_id: int, *, offset: int, limit: int
    ) -> tuple[list[Registrant], int]:
        """Confirmed first (in order of registration), then the waitlist in order."""
        base = (
            "FROM registrations r JOIN members m ON m.id = r.member_id "
            "WHERE r.activity_id = ? AND r.status != 'cancelled'"
        )
        total = int(await self._db.fetch_value(f"SELECT COUNT(*) {base}", (activity_id,)))
        rows = await self._db.fetch_all(
            f"SELECT {_REGISTRATION_COLUMNS}, m.full_name, m.telegram_id {base} "
            "ORDER BY r.status = 'waitlisted', r.waitlist_seq, r.confirmed_at, r.id "
            "LIMIT ? OFFSET ?",
            (activity_id, limit, offset),
        )
        return [Registrant(_registration(r), r["full_name"], r["telegram_id"]) for r in rows], total

    async def of_member(self, member_id: int) -> list[tuple[Registration, Activity]]:
        """The member's active registrations with their activities, newest activity last."""
        rows = await self._db.fetch_all(
            f"SELECT {_REGISTRATION_COLUMNS} FROM registrations r JOIN activities a "
            "ON a.id = r.activity_id WHERE r.member_id = ? AND r.status != 'cancelled' "
            "ORDER BY a.starts_at LIMIT 500",
            (member_id,),
        )
        registrations = [_registration(r) for r in rows]
        activities: dict[int, Activity] = {}
        if registrations:
            ids = sorted({r.activity_id for r in registrations})
            marks = ", ".join("?" for _ in ids)
            for row in await self._db.fetch_all(
                f"SELECT {_ACTIVITY_COLUMNS} FROM activities a WHERE a.id IN ({marks})", ids
            ):
                activities[row["id"]] = _activity(row)
        return [(r, activities[r.activity_id]) for r in registrations]

    async def totals(self, member_id: int) -> Totals:
        """Activities the member was present at and the hours credited, whatever their unit."""
        row = await self._db.fetch_one(
            "SELECT COUNT(*), COALESCE(SUM(hours), 0) FROM attendance "
            "WHERE member_id = ? AND present = 1",
            (member_id,),
        )
        assert row is not None
        return Totals(int(row[0]), float(row[1]))


async def take_seat(
    conn: aiosqlite.Connection, activity_id: int, member_id: int, now: datetime
) -> bool:
    """Give the member a confirmed seat (inside the caller's transaction) if they have none
    and one is free: for a walk-in a cadre confirms. False when the activity is full."""
    row = await _one(
        conn,
        "SELECT status FROM registrations WHERE activity_id = ? AND member_id = ?",
        (activity_id, member_id),
    )
    if row is not None and row[0] == RegistrationStatus.CONFIRMED.value:
        return True
    activity = await _one(conn, "SELECT capacity FROM activities WHERE id = ?", (activity_id,))
    capacity = None if activity is None else activity[0]
    if capacity is not None:
        taken = await _one(
            conn,
            "SELECT COUNT(*) FROM registrations WHERE activity_id = ? AND status = 'confirmed'",
            (activity_id,),
        )
        if int(taken[0]) >= capacity:
            return False
    stamp = to_db_time(now)
    if row is None:
        await conn.execute(
            "INSERT INTO registrations (activity_id, member_id, status, answers, registered_at, "
            "confirmed_at, updated_at) VALUES (?, ?, 'confirmed', '{}', ?, ?, ?)",
            (activity_id, member_id, stamp, stamp, stamp),
        )
    else:
        await conn.execute(
            "UPDATE registrations SET status = 'confirmed', waitlist_seq = NULL, confirmed_at = ?, "
            "cancelled_at = NULL, updated_at = ? WHERE activity_id = ? AND member_id = ?",
            (stamp, stamp, activity_id, member_id),
        )
    return True


def _visibility(scope: ActivityFilter) -> tuple[str, tuple[Any, ...]]:
    """SQL (on alias ``a``) for what a viewer may see, then their chosen filter."""
    visible = list(scope.extra_visible_unit_ids)
    marks = ", ".join("?" for _ in visible) or "NULL"
    where = (
        f"(? OR a.open_to = 'all' OR a.unit_id = ? OR a.unit_id IN ({marks})) "
        "AND (? IS NULL OR a.unit_id = ?) AND (? IS NULL OR a.campaign_id = ?)"
    )
    params: tuple[Any, ...] = (
        int(scope.see_all_units),
        scope.viewer_unit_id,
        *visible,
        scope.only_unit_id,
        scope.only_unit_id,
        scope.campaign_id,
        scope.campaign_id,
    )
    return where, params
