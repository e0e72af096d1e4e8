"""Messages derived from activities and registrations: reminders, digests, thank-yous."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class UpcomingActivity:
    id: int
    title: str
    place: str
    unit_id: int
    starts_at: datetime
    deadline_at: datetime
    ends_at: datetime
    capacity: int | None
    offsets: tuple[int, ...] | None  # minutes; None: the configured default


@dataclass(frozen=True, slots=True)
class Addressee:
    member_id: int
    telegram_id: int
    language: str


@dataclass(frozen=True, slots=True)
class LogKey:
    kind: str
    activity_id: int
    member_id: int
    offset_minutes: int
    anchor_at: datetime


@dataclass(frozen=True, slots=True)
class LoggedMessage:
    key: LogKey
    due_at: datetime
    telegram_id: int | None
    language: str
