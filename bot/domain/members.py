"""People and their roles: units, members, role grants, flow state, the acting person."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any


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


@dataclass(frozen=True, slots=True)
class UsernameHolder:
    """A member the bot has seen with a given @username, and since when."""

    member: Member
    username_at: datetime | None  # None: recorded before the bot kept the time


@dataclass(frozen=True, slots=True)
class NewMember:
    telegram_id: int
    full_name: str
    username: str | None
    unit_id: int
    phone: str | None
    email: str | None
    language: str
    consent_at: datetime


@dataclass(frozen=True, slots=True)
class FlowState:
    flow: str
    step: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class UnitPage:
    units: list[Unit]
    page: int
    pages: int
    total: int
    query: str


@dataclass(frozen=True, slots=True)
class Profile:
    member: Member
    unit: Unit | None
    role: Role
    cadre_unit: Unit | None


@dataclass(frozen=True, slots=True)
class GrantCandidate:
    """Someone a /grant may mean, shown to the admin before anything is granted."""

    telegram_id: int
    member: Member | None  # None: a Telegram id that has not onboarded (yet)
    unit: Unit | None
    username_at: datetime | None = None  # when the bot learnt the @username typed


class Action(enum.StrEnum):
    # member actions (any onboarded member)
    USE_MEMBER_FEATURES = "member"
    # cadre actions, limited to the cadre's own unit
    MANAGE_UNIT = "manage_unit"
    # admin only
    MANAGE_ROLES = "manage_roles"
    MANAGE_ALL_UNITS = "manage_all_units"


@dataclass(frozen=True, slots=True)
class Actor:
    """The person behind an update, with what the database and config say about them."""

    telegram_id: int
    member: Member | None
    role: Role | None  # None: not onboarded (and not an admin)
    cadre_unit_id: int | None = None

    @property
    def is_member(self) -> bool:
        return self.member is not None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def is_cadre(self) -> bool:
        return self.role is Role.CADRE

    @property
    def language(self) -> str | None:
        return self.member.language if self.member else None
