"""What an export reads: filters, question columns, choices and queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class RowFilter:
    """Which rows an export covers. ``unit_id`` means "concerning the unit": for registrations
    and attendance, the unit's members anywhere and anyone at the unit's own activities. A
    member's unit there is the one they belonged to when their attendance was recorded (their
    current one while nothing is recorded), as in /stats."""

    activity_id: int | None = None
    campaign_id: int | None = None
    unit_id: int | None = None
    start: datetime | None = None  # inclusive, aware
    end: datetime | None = None  # exclusive, aware


@dataclass(frozen=True, slots=True)
class QuestionColumn:
    activity_id: int
    position: int
    prompt: str


@dataclass(frozen=True, slots=True)
class Choice:
    """An activity or campaign offered in the export scope picker."""

    id: int
    title: str
    unit_id: int | None
    starts_at: str  # local date text is made by the service; here the stored value


@dataclass(frozen=True, slots=True)
class Query:
    """A finished statement with its parameters: the export streams it, the bench times it."""

    sql: str
    params: dict[str, Any]
