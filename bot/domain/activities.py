"""Volunteer activities, campaigns, registrations with capacity and waitlist."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime


class ActivityKind(enum.StrEnum):
    REGULAR = "regular"
    ON_THE_SPOT = "on_the_spot"
    CAMPAIGN = "campaign"
    YOUTH_PROJECT = "youth_project"


class Audience(enum.StrEnum):
    """Who may join: the organising unit's members only, or every member."""

    UNIT = "unit"
    ALL = "all"


class ActivityStatus(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"  # registration closed early by a cadre; the activity still happens
    CANCELLED = "cancelled"


class RegistrationStatus(enum.StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


class RegisterOutcome(enum.StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    ALREADY = "already"  # an active registration exists (double tap, second device)
    CLOSED = "closed"  # the activity is not open (cancelled or closed meanwhile)


@dataclass(frozen=True, slots=True)
class Question:
    position: int
    prompt: str
    choices: tuple[str, ...] | None  # None: free text
    required: bool


@dataclass(frozen=True, slots=True)
class Campaign:
    id: int
    name: str
    unit_id: int | None
    starts_on: date
    ends_on: date


@dataclass(frozen=True, slots=True)
class Activity:
    id: int
    title: str
    description: str
    kind: ActivityKind
    campaign_id: int | None
    unit_id: int
    open_to: Audience
    place: str
    starts_at: datetime
    ends_at: datetime
    deadline_at: datetime
    capacity: int | None
    hours: float
    reminder_offsets: tuple[int, ...] | None  # minutes before the start; None: config default
    status: ActivityStatus
    created_by: int
    confirmed: int = 0
    waitlisted: int = 0
    attended: int = 0
    questions: tuple[Question, ...] = ()

    @property
    def seats_left(self) -> int | None:
        return None if self.capacity is None else max(0, self.capacity - self.confirmed)

    @property
    def is_full(self) -> bool:
        return self.capacity is not None and self.confirmed >= self.capacity


@dataclass(frozen=True, slots=True)
class NewActivity:
    title: str
    description: str
    kind: ActivityKind
    campaign_id: int | None
    unit_id: int
    open_to: Audience
    place: str
    starts_at: datetime
    ends_at: datetime
    deadline_at: datetime
    capacity: int | None
    hours: float
    reminder_offsets: tuple[int, ...] | None
    created_by: int
    questions: tuple[Question, ...] = ()
    checkin_token: str = ""


@dataclass(frozen=True, slots=True)
class Registration:
    id: int
    activity_id: int
    member_id: int
    status: RegistrationStatus
    waitlist_position: int | None
    answers: dict[str, str]
    registered_at: datetime
    # Read from the attendance record (never stored here): present since, hours credited, and
    # whether a cadre recorded the member absent.
    attended_at: datetime | None
    hours_credited: float
    marked_absent: bool = False

    @property
    def active(self) -> bool:
        return self.status is not RegistrationStatus.CANCELLED


@dataclass(frozen=True, slots=True)
class Registrant:
    registration: Registration
    full_name: str
    telegram_id: int | None


@dataclass(frozen=True, slots=True)
class Recipient:
    """Someone to tell about a change: enough to send a message in their language."""

    member_id: int
    telegram_id: int
    language: str


@dataclass(frozen=True, slots=True)
class RegisterResult:
    outcome: RegisterOutcome
    registration: Registration | None


@dataclass(frozen=True, slots=True)
class CancelResult:
    cancelled: Registration | None  # None: there was no active registration to cancel
    promoted: tuple[Registration, ...] = ()
    checked_in_at: datetime | None = None  # set when refused: the member is recorded present


@dataclass(frozen=True, slots=True)
class StatusChange:
    changed: bool
    status: ActivityStatus | None  # the status now; None: there is no such activity
    recipients: list[Recipient] = field(default_factory=list)  # told of a cancellation


@dataclass(frozen=True, slots=True)
class CapacityResult:
    changed: bool
    confirmed: int
    promoted: tuple[Registration, ...] = ()


@dataclass(frozen=True, slots=True)
class Totals:
    attended: int
    hours: float


@dataclass(frozen=True, slots=True)
class ActivityFilter:
    """Which activities a viewer sees: visibility by unit, then the filter they picked."""

    viewer_unit_id: int | None
    see_all_units: bool = False
    only_unit_id: int | None = None
    campaign_id: int | None = None
    extra_visible_unit_ids: tuple[int, ...] = field(default_factory=tuple)
