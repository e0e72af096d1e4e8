"""Attendance as a record: check-ins, corrections, walk-ins waiting for a cadre."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class AttendanceMethod(enum.StrEnum):
    QR = "qr"  # the member's own scan (or typed code)
    CADRE = "cadre"  # ticked or corrected by a cadre in the registrant list
    WALK_IN = "walk_in"  # a walk-in confirmed by a cadre


class CheckinOutcome(enum.StrEnum):
    ATTENDED = "attended"
    ALREADY = "already"  # present already: nothing more is credited
    MARKED_ABSENT = "marked_absent"  # a cadre recorded absence; a scan does not overrule it
    WALK_IN_REQUESTED = "walk_in_requested"  # not confirmed: waits for a cadre
    WALK_IN_PENDING = "walk_in_pending"  # asked before and still waiting
    WALK_IN_DECLINED = "walk_in_declined"
    NOT_OPEN = "not_open"  # not confirmed, and the activity is not open to them


class WalkInStatus(enum.StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    DECLINED = "declined"


class DecisionOutcome(enum.StrEnum):
    DECIDED = "decided"
    ALREADY = "already"  # decided before (a second press, another cadre, an old copy)
    FULL = "full"  # no seat left for the walk-in: the request stays pending
    NOT_FOUND = "not_found"


class CorrectionOutcome(enum.StrEnum):
    CHANGED = "changed"
    UNCHANGED = "unchanged"  # already in the state asked for (double tap, stale list)
    NEEDS_SEAT = "needs_seat"  # no confirmed registration to record attendance for


@dataclass(frozen=True, slots=True)
class AttendanceRecord:
    activity_id: int
    member_id: int
    present: bool
    hours: float
    unit_id: int | None
    method: AttendanceMethod
    recorded_at: datetime
    recorded_by: int | None


@dataclass(frozen=True, slots=True)
class AttendanceChange:
    activity_id: int
    member_id: int
    at: datetime
    by_member: int | None
    method: AttendanceMethod
    from_present: bool | None
    to_present: bool
    hours_from: float
    hours_to: float
    reason: str | None


@dataclass(frozen=True, slots=True)
class WalkInRequest:
    activity_id: int
    member_id: int
    status: WalkInStatus
    requested_at: datetime
    decided_at: datetime | None
    decided_by: int | None
    full_name: str
    telegram_id: int | None
    language: str


@dataclass(frozen=True, slots=True)
class CheckinRecord:
    outcome: CheckinOutcome
    record: AttendanceRecord | None = None
    request: WalkInRequest | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: DecisionOutcome
    request: WalkInRequest | None = None
    record: AttendanceRecord | None = None


@dataclass(frozen=True, slots=True)
class Correction:
    outcome: CorrectionOutcome
    record: AttendanceRecord | None = None


@dataclass(frozen=True, slots=True)
class Manager:
    """A cadre (or admin) to tell about a walk-in, in their language."""

    member_id: int
    telegram_id: int | None
    language: str
