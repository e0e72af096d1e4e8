"""What the bot owes registrants when an activity changes, is cancelled or gives a seat."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from bot.domain.broadcasts import DeliveryState


class NoticeKind(enum.StrEnum):
    CHANGED = "activity_changed"
    CANCELLED = "activity_cancelled"
    PROMOTED = "promoted"


@dataclass(frozen=True, slots=True)
class ActivityFacts:
    """What a notice says about its activity: now, or before a change."""

    title: str
    place: str
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class Notice:
    """A pending notice with its addressee as they are at send time."""

    id: int
    kind: NoticeKind
    activity_id: int
    member_id: int
    telegram_id: int | None  # None: the member was forgotten meanwhile
    language: str
    reachable: bool
    attempts: int
    activity: ActivityFacts  # the activity as it is now
    activity_cancelled: bool
    before: ActivityFacts | None = None  # CHANGED: as it was before the edit,
    after: ActivityFacts | None = None  # and right after it (a later edit has its own notice)
    description_changed: bool = False


@dataclass(frozen=True, slots=True)
class NoticeOutcome:
    notice_id: int
    member_id: int
    state: DeliveryState | str  # a delivery state, or "dropped"
    attempts: int = 0
    message_id: int | None = None
    error: str | None = None
