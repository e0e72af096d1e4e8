"""Per-unit figures behind /stats."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class UnitFigures:
    unit_id: int
    code: str
    name: str
    members: int
    active_members: int  # with a registration (confirmed or waitlisted) in the period
    registrations: int  # confirmed
    ended_registrations: int  # confirmed, for activities that have ended (attendance rate base)
    attended: int
    hours: float
    initiatives_submitted: int
    initiatives_accepted: int
