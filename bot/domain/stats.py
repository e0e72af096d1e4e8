"""Per-unit figures behind /stats."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class UnitFigures:
    """One unit's raw counts for a period. "Credited to the unit": an attendance recorded for
    the unit, or a seat without a record whose member belongs to the unit now."""

    unit_id: int
    code: str
    name: str
    current_members: int  # members of the unit now, not erased
    former_members: int  # credited with attendance here in the period, since moved or erased
    participants: int  # distinct members recorded present at least once, credited here
    attended: int  # present records credited here (attended participations)
    registrations: int  # confirmed seats credited here (sign-ups)
    settled_seats: int  # of those, seats of ended activities or already recorded present
    hours: float  # raw sum of the hours credited here, unrounded
    initiatives_submitted: int  # first submissions in the period (draft → submitted)
    initiatives_accepted: int  # accepted in the period (whatever happened to them later)
    initiatives_recognised: int  # recognised in the period (a later step of an accepted one)
