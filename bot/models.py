"""Plain values that cross layers: storage returns them, services take and return them."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class Role(enum.StrEnum):
    MEMBER = "member"
    CADRE = "cadre"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Unit:
    id: int
    code: str
    name: str


@dataclass(frozen=True, slots=True)
class Member:
    id: int
    telegram_id: int | None
    full_name: str
    username: str | None
    unit_id: int | None
    phone: str | None
    email: str | None
    language: str
    consent_at: datetime | None
    announcements_muted: bool
    reminders_muted: bool
    reachable: bool
    deleted_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RoleGrant:
    telegram_id: int
    role: Role
    unit_id: int | None
    granted_by: int | None
    granted_at: datetime
