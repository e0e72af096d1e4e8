"""Announcements and their durable outbox: content, audience, recipients, outcomes."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class BroadcastStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"
    DONE = "done"
    CANCELLED = "cancelled"


class AudienceKind(enum.StrEnum):
    ALL = "all"
    UNITS = "units"
    ACTIVITY = "activity"  # confirmed registrants of one activity
    CADRES = "cadres"


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    BLOCKED = "blocked"


@dataclass(frozen=True, slots=True)
class Audience:
    kind: AudienceKind
    unit_ids: tuple[int, ...] = ()
    activity_id: int | None = None


@dataclass(frozen=True, slots=True)
class BroadcastContent:
    text_html: str
    media_kind: str | None = None  # "photo" | "document"
    media_file_id: str | None = None
    activity_id: int | None = None  # adds an "open the activity" button


@dataclass(frozen=True, slots=True)
class Broadcast:
    id: int
    created_by: int
    sender_unit_id: int | None
    content: BroadcastContent
    audience: Audience
    status: BroadcastStatus
    scheduled_at: datetime | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    total: int
    progress_chat_id: int | None
    progress_message_id: int | None
    cancel_reason: str | None = None  # set when the bot cancelled it (its author lost the role)


@dataclass(frozen=True, slots=True)
class Recipient:
    broadcast_id: int
    member_id: int
    telegram_id: int
    language: str
    attempts: int


@dataclass(frozen=True, slots=True)
class DeliveryCounts:
    sent: int = 0
    failed: int = 0
    blocked: int = 0
    pending: int = 0

    @property
    def done(self) -> int:
        return self.sent + self.failed + self.blocked


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What happened to one recipient, recorded right after the attempt."""

    member_id: int
    telegram_id: int
    state: DeliveryState
    attempts: int
    message_id: int | None = None
    error: str | None = None
