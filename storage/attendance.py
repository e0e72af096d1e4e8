"""Attendance (SPEC 2.2): the record of who was present at an activity, with the hours credited
and the unit they belonged to then; the log of every record and correction; walk-ins waiting
for a cadre; check-in secrets and wrong typed codes.

Each change runs in one ``BEGIN IMMEDIATE`` transaction that reads the current state, decides,
writes the record and appends the log row, so a double tap or a stale button can never credit
twice or flip a state back. The schema's triggers keep the rest: a member recorded present keeps
a confirmed seat (so cannot cancel it), and a record is never deleted.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

import aiosqlite

from bot.domain.activities import ActivityStatus
from bot.domain.attendance import (
    AttendanceChange,
    AttendanceMethod,
    AttendanceRecord,
    CheckinOutcome,
    CheckinRecord,
    Correction,
    CorrectionOutcome,
    Decision,
    DecisionOutcome,
    Manager,
    WalkInRequest,
    WalkInStatus,
)
from storage.activities import take_seat
from storage.db import Database, first_row, from_db_time, to_db_time

_RECORD = (
    "SELECT activity_id, member_id, present, hours, unit_id, method, recorded_at, recorded_by "
    "FROM attendance WHERE activity_id = ? AND member_id = ?"
)
_REQUEST = (
    "SELECT w.activity_id, w.member_id, w.status, w.requested_at, w.decided_at, w.decided_by, "
    "m.full_name, m.telegram_id, m.language FROM walk_in_requests w "
    "JOIN members m ON m.id = w.member_id"
)


def _time(text: str) -> datetime:
    moment = from_db_time(text)
    assert moment is not None
    return moment


def _record(row: sqlite3.Row) -> AttendanceRecord:
    return AttendanceRecord(
        activity_id=row["activity_id"],
        member_id=row["member_id"],
        present=bool(row["present"]),
        hours=float(row["hours"]),
        unit_id=row["unit_id"],
        method=AttendanceMethod(row["method"]),
        recorded_at=_time(row["recorded_at"]),
        recorded_by=row["recorded_by"],
    )


def _request(row: sqlite3.Row) -> WalkInRequest:
    return WalkInRequest(
        activity_id=row["activity_id"],
        member_id=row["member_id"],
        status=WalkInStatus(row["status"]),
        requested_at=_time(row["requested_at"]),
        decided_at=from_db_time(row["decided_at"]),
        decided_by=row["decided_by"],
        full_name=row["full_name"],
        telegram_id=row["telegram_id"],
        language=row["language"],
    )


async def _record_in(
    conn: aiosqlite.Connection, activity_id: int, member_id: int
) -> AttendanceRecord | None:
    row = await first_row(conn, _RECORD, (activity_id, member_id))
    return None if row is None else _record(row)


async def _request_in(
    conn: aiosqlite.Connection, activity_id: int, member_id: int
) -> WalkInRequest | None:
    row = await first_row(
        conn, f"{_REQUEST} WHERE w.activity_id = ? AND w.member_id = ?", (activity_id, member_id)
    )
    return None if row is None else _request(row)


async def _seat_status(conn: aiosqlite.Connection, activity_id: int, member_id: int) -> str | None:
    row = await first_row(
        conn,
        "SELECT status FROM registrations WHERE activity_id = ? AND member_id = ?",
        (activity_id, member_id),
    )
    return None if row is None else str(row[0])


async def _write(
    conn: aiosqlite.Connection,
    activity_id: int,
    member_id: int,
    *,
    present: bool,
    method: AttendanceMethod,
    by: int | None,
    reason: str | None,
    now: datetime,
) -> AttendanceRecord:
    """Set the record (creating it with the member's unit of now) and log the change; the
    caller has checked that it is a change. Hours are the activity's when present, else 0."""
    stamp = to_db_time(now)
    before = await _record_in(conn, activity_id, member_id)
    hours = 0.0
    if present:
        row = await first_row(conn, "SELECT hours FROM activities WHERE id = ?", (activity_id,))
        assert row is not None
        hours = float(row[0])
    if before is None:
        await conn.execute(
            "INSERT INTO attendance (activity_id, member_id, present, hours, unit_id, method, "
            "recorded_at, recorded_by, updated_at) "
            "SELECT ?, id, ?, ?, unit_id, ?, ?, ?, ? FROM members WHERE id = ?",
            (activity_id, int(present), hours, method.value, stamp, by, stamp, member_id),
        )
    else:
        # The unit stays the one of the first record: a later correction is about the same day.
        await conn.execute(
            "UPDATE attendance SET present = ?, hours = ?, method = ?, recorded_at = ?, "
            "recorded_by = ?, updated_at = ? WHERE activity_id = ? AND member_id = ?",
            (int(present), hours, method.value, stamp, by, stamp, activity_id, member_id),
        )
    await conn.execute(
        "INSERT INTO attendance_changes (activity_id, member_id, at, by_member, method, "
        "from_present, to_present, hours_from, hours_to, reason) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            activity_id,
            member_id,
            stamp,
            by,
            method.value,
            None if before is None else int(before.present),
            int(present),
            0.0 if before is None else before.hours,
            hours,
            reason,
        ),
    )
    after = await _record_in(conn, activity_id, member_id)
    assert after is not None
    return after


class AttendanceRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # --- reading ---------------------------------------------------------------------------

    async def record(self, activity_id: int, member_id: int) -> AttendanceRecord | None:
        row = await self._db.fetch_one(_RECORD, (activity_id, member_id))
        return None if row is None else _record(row)

    async def changes(self, activity_id: int, member_id: int) -> list[AttendanceChange]:
        rows = await self._db.fetch_all(
            "SELECT activity_id, member_id, at, by_member, method, from_present, to_present, "
            "hours_from, hours_to, reason FROM attendance_changes "
            "WHERE activity_id = ? AND member_id = ? ORDER BY id",
            (activity_id, member_id),
        )
        return [
            AttendanceChange(
                activity_id=r["activity_id"],
                member_id=r["member_id"],
                at=_time(r["at"]),
                by_member=r["by_member"],
                method=AttendanceMethod(r["method"]),
                from_present=None if r["from_present"] is None else bool(r["from_present"]),
                to_present=bool(r["to_present"]),
                hours_from=float(r["hours_from"]),
                hours_to=float(r["hours_to"]),
                reason=r["reason"],
            )
            for r in rows
        ]

    async def walk_in(self, activity_id: int, member_id: int) -> WalkInRequest | None:
        row = await self._db.fetch_one(
            f"{_REQUEST} WHERE w.activity_id = ? AND w.member_id = ?", (activity_id, member_id)
        )
        return None if row is None else _request(row)

    async def pending_walk_ins(
        self, activity_id: int, *, limit: int
    ) -> tuple[list[WalkInRequest], int]:
        """Walk-ins still waiting, first come first; and how many there are."""
        total = int(
            await self._db.fetch_value(
                "SELECT COUNT(*) FROM walk_in_requests WHERE activity_id = ? "
                "AND status = 'pending'",
                (activity_id,),
            )
        )
        rows = await self._db.fetch_all(
            f"{_REQUEST} WHERE w.activity_id = ? AND w.status = 'pending' "
            "ORDER BY w.requested_at, w.member_id LIMIT ?",
            (activity_id, limit),
        )
        return [_request(r) for r in rows], total

    async def managers(self, unit_id: int) -> list[Manager]:
        """The unit's cadres who can be reached; the admins when the unit has none."""
        base = (
            "SELECT m.id, m.telegram_id, m.language FROM roles g "
            "JOIN members m ON m.id = g.member_id "
            "WHERE m.deleted_at IS NULL AND (m.reachable OR m.zalo_reachable) AND "
        )
        rows = await self._db.fetch_all(
            base + "g.role = 'cadre' AND g.unit_id = ? ORDER BY m.id", (unit_id,)
        )
        if not rows:
            rows = await self._db.fetch_all(base + "g.role = 'admin' ORDER BY m.id")
        return [Manager(int(r[0]), r[1], str(r[2])) for r in rows]

    # --- the member's own check-in ---------------------------------------------------------

    async def check_in(
        self, activity_id: int, member_id: int, now: datetime, *, allow_walk_in: bool
    ) -> CheckinRecord:
        """Present if confirmed (once); otherwise a walk-in request when ``allow_walk_in``."""
        stamp = to_db_time(now)
        async with self._db.transaction() as conn:
            record = await _record_in(conn, activity_id, member_id)
            if record is not None:
                outcome = CheckinOutcome.ALREADY if record.present else CheckinOutcome.MARKED_ABSENT
                return CheckinRecord(outcome, record)
            if await _seat_status(conn, activity_id, member_id) == "confirmed":
                record = await _write(
                    conn,
                    activity_id,
                    member_id,
                    present=True,
                    method=AttendanceMethod.QR,
                    by=None,
                    reason=None,
                    now=now,
                )
                await conn.execute(
                    "DELETE FROM walk_in_requests WHERE activity_id = ? AND member_id = ? "
                    "AND status = 'pending'",
                    (activity_id, member_id),
                )
                return CheckinRecord(CheckinOutcome.ATTENDED, record)
            if not allow_walk_in:
                return CheckinRecord(CheckinOutcome.NOT_OPEN)
            request = await _request_in(conn, activity_id, member_id)
            if request is not None and request.status is WalkInStatus.DECLINED:
                return CheckinRecord(CheckinOutcome.WALK_IN_DECLINED, request=request)
            if request is not None and request.status is WalkInStatus.PENDING:
                return CheckinRecord(CheckinOutcome.WALK_IN_PENDING, request=request)
            await conn.execute(
                "INSERT INTO walk_in_requests (activity_id, member_id, status, requested_at) "
                "VALUES (?, ?, 'pending', ?) ON CONFLICT (activity_id, member_id) DO UPDATE SET "
                "status = 'pending', requested_at = excluded.requested_at, decided_at = NULL, "
                "decided_by = NULL",
                (activity_id, member_id, stamp),
            )
            request = await _request_in(conn, activity_id, member_id)
            return CheckinRecord(CheckinOutcome.WALK_IN_REQUESTED, request=request)

    # --- the cadre's decisions -------------------------------------------------------------

    async def decide_walk_in(
        self, activity_id: int, member_id: int, *, confirm: bool, by: int, now: datetime
    ) -> Decision:
        """Confirm (a seat if one is free, then present with the hours) or decline, once."""
        stamp = to_db_time(now)
        async with self._db.transaction() as conn:
            request = await _request_in(conn, activity_id, member_id)
            if request is None:
                return Decision(DecisionOutcome.NOT_FOUND)
            if request.status is not WalkInStatus.PENDING:
                return Decision(
                    DecisionOutcome.ALREADY, request, await _record_in(conn, activity_id, member_id)
                )
            record: AttendanceRecord | None = None
            if confirm:
                activity = await first_row(
                    conn, "SELECT status FROM activities WHERE id = ?", (activity_id,)
                )
                if activity is None or activity[0] == ActivityStatus.CANCELLED.value:
                    return Decision(DecisionOutcome.NOT_FOUND, request)
                if not await take_seat(conn, activity_id, member_id, now):
                    return Decision(DecisionOutcome.FULL, request)
                record = await _record_in(conn, activity_id, member_id)
                if record is None or not record.present:
                    record = await _write(
                        conn,
                        activity_id,
                        member_id,
                        present=True,
                        method=AttendanceMethod.WALK_IN,
                        by=by,
                        reason=None,
                        now=now,
                    )
            status = WalkInStatus.CONFIRMED if confirm else WalkInStatus.DECLINED
            await conn.execute(
                "UPDATE walk_in_requests SET status = ?, decided_at = ?, decided_by = ? "
                "WHERE activity_id = ? AND member_id = ?",
                (status.value, stamp, by, activity_id, member_id),
            )
            return Decision(
                DecisionOutcome.DECIDED, await _request_in(conn, activity_id, member_id), record
            )

    async def correct(
        self,
        activity_id: int,
        member_id: int,
        *,
        present: bool,
        by: int,
        reason: str | None,
        now: datetime,
    ) -> Correction:
        """A cadre records presence or absence of a confirmed registrant; setting the state
        it already has changes nothing (and logs nothing)."""
        async with self._db.transaction() as conn:
            if await _seat_status(conn, activity_id, member_id) != "confirmed":
                return Correction(CorrectionOutcome.NEEDS_SEAT)
            record = await _record_in(conn, activity_id, member_id)
            if record is not None and record.present == present:
                return Correction(CorrectionOutcome.UNCHANGED, record)
            record = await _write(
                conn,
                activity_id,
                member_id,
                present=present,
                method=AttendanceMethod.CADRE,
                by=by,
                reason=reason,
                now=now,
            )
            return Correction(CorrectionOutcome.CHANGED, record)

    # --- check-in secrets ------------------------------------------------------------------

    async def secret(self, activity_id: int) -> str | None:
        value = await self._db.fetch_value(
            "SELECT token FROM checkin_tokens WHERE activity_id = ?", (activity_id,)
        )
        return None if value is None else str(value)

    async def ensure_secret(self, activity_id: int, candidate: str, now: datetime) -> str:
        """The activity's secret, creating it from ``candidate`` when it has none."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "INSERT INTO checkin_tokens (token, activity_id, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT (activity_id) DO NOTHING",
                (candidate, activity_id, to_db_time(now)),
            )
            row = await first_row(
                conn, "SELECT token FROM checkin_tokens WHERE activity_id = ?", (activity_id,)
            )
        assert row is not None
        return str(row[0])

    async def open_secrets(self, now: datetime, latest_start: datetime) -> list[tuple[int, str]]:
        """(activity id, secret) of activities whose check-in is open now: not cancelled,
        starting by ``latest_start`` and not yet ended."""
        rows = await self._db.fetch_all(
            "SELECT t.activity_id, t.token FROM checkin_tokens t "
            "JOIN activities a ON a.id = t.activity_id WHERE a.status != 'cancelled' "
            "AND a.starts_at <= ? AND a.ends_at >= ? ORDER BY a.starts_at, a.id",
            (to_db_time(latest_start), to_db_time(now)),
        )
        return [(int(r[0]), str(r[1])) for r in rows]

    # --- wrong typed codes -----------------------------------------------------------------

    async def code_lock(self, member_id: int, now: datetime) -> datetime | None:
        """Until when the member must wait before typing a code again (None: they may)."""
        value = await self._db.fetch_value(
            "SELECT locked_until FROM checkin_attempts WHERE member_id = ?", (member_id,)
        )
        until = from_db_time(value)
        return until if until is not None and until > now else None

    async def wrong_code(
        self, member_id: int, now: datetime, *, limit: int, span_s: int, pause_s: int
    ) -> datetime | None:
        """Count a wrong code; returns the end of the pause when this one reached ``limit``
        within ``span_s`` seconds of the first."""
        stamp = to_db_time(now)
        async with self._db.transaction() as conn:
            row = await first_row(
                conn,
                "SELECT failures, first_failed_at FROM checkin_attempts WHERE member_id = ?",
                (member_id,),
            )
            fresh = row is None or (now - _time(row[1])).total_seconds() >= span_s
            failures = 1 if fresh else int(row[0]) + 1  # type: ignore[index]
            first = stamp if fresh else str(row[1])  # type: ignore[index]
            until: datetime | None = None
            if failures >= limit:
                until = now + timedelta(seconds=pause_s)
            await conn.execute(
                "INSERT INTO checkin_attempts (member_id, failures, first_failed_at, "
                "locked_until) VALUES (?, ?, ?, ?) ON CONFLICT (member_id) DO UPDATE SET "
                "failures = excluded.failures, first_failed_at = excluded.first_failed_at, "
                "locked_until = excluded.locked_until",
                (
                    member_id,
                    0 if until is not None else failures,
                    stamp if until is not None else first,
                    None if until is None else to_db_time(until),
                ),
            )
        return until

    async def clear_wrong_codes(self, member_id: int) -> None:
        await self._db.execute("DELETE FROM checkin_attempts WHERE member_id = ?", (member_id,))
