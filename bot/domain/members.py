"""People and their roles: units, members, role grants, flow state, the acting person."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any


class Channel(enum.StrEnum):
    """Where a person talks to the bot."""

    TELEGRAM = "telegram"
    ZALO = "zalo"

    @property
    def platform_name(self) -> str:
        """The platform's own name, the same in every language."""
        return "Telegram" if self is Channel.TELEGRAM else "Zalo"


@dataclass(frozen=True, slots=True)
class Person:
    """Who is talking, as a channel knows them: their flow state is kept under this key."""

    channel: Channel
    user_id: str  # Telegram: the numeric id as text; Zalo: the hex id

    def __str__(self) -> str:
        return f"{self.channel.value}:{self.user_id}"

    @classmethod
    def telegram(cls, telegram_id: int) -> Person:
        return cls(Channel.TELEGRAM, str(telegram_id))

    @classmethod
    def zalo(cls, zalo_id: str) -> Person:
        return cls(Channel.ZALO, zalo_id)

    @property
    def telegram_id(self) -> int | None:
        return int(self.user_id) if self.channel is Channel.TELEGRAM else None


@dataclass(frozen=True, slots=True)
class ChannelUser:
    """What the channel tells about the sender (never trusted for anything but display)."""

    person: Person
    display_name: str = ""  # the full name the channel shows
    first_name: str = ""  # how to greet them (Telegram's first name; Zalo's display name)
    username: str | None = None  # Telegram's @username
    language_code: str | None = None


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
    reachable: bool  # on Telegram (the bot was not blocked there)
    deleted_at: datetime | None
    created_at: datetime
    zalo_id: str | None = None
    zalo_reachable: bool = True
    notify_channel: Channel | None = None  # where announcements and reminders go; None: last
    last_channel: Channel | None = None  # the channel they last wrote from

    def address(self, channel: Channel) -> str | None:
        """Their user id on ``channel`` (None when they have no account there)."""
        if channel is Channel.TELEGRAM:
            return None if self.telegram_id is None else str(self.telegram_id)
        return self.zalo_id

    @property
    def channels(self) -> tuple[Channel, ...]:
        return tuple(c for c in Channel if self.address(c) is not None)

    @property
    def delivery_channel(self) -> Channel | None:
        """Where announcements and reminders reach them, once: the channel they chose, else
        the one they used last, else the only one they have."""
        candidates: list[Channel | None] = [self.notify_channel, self.last_channel, *Channel]
        for channel in candidates:
            if channel is not None and self.address(channel) is not None:
                return channel
        return None


@dataclass(frozen=True, slots=True)
class RoleGrant:
    member_id: int
    role: Role
    unit_id: int | None
    granted_by: int  # member id of the admin who granted it; 0: the config or unknown
    granted_at: datetime


@dataclass(frozen=True, slots=True)
class UsernameHolder:
    """A member the bot has seen with a given @username, and since when."""

    member: Member
    username_at: datetime | None  # None: recorded before the bot kept the time


@dataclass(frozen=True, slots=True)
class NewMember:
    telegram_id: int | None
    full_name: str
    username: str | None
    unit_id: int
    phone: str | None
    email: str | None
    language: str
    consent_at: datetime
    zalo_id: str | None = None


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

    member: Member
    unit: Unit | None
    username_at: datetime | None = None  # when the bot learnt the @username typed


@dataclass(frozen=True, slots=True)
class RoleHolder:
    """An admin or cadre in the list of roles."""

    role: Role
    member: Member | None  # None: a config admin who has not onboarded
    unit: Unit | None
    telegram_id: int | None
    from_config: bool = False

    @property
    def sort_name(self) -> str:
        return self.member.full_name if self.member else str(self.telegram_id or "")


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

    telegram_id: int | None  # None: someone without a Telegram account (Zalo only)
    member: Member | None
    role: Role | None  # None: not onboarded (and not an admin)
    cadre_unit_id: int | None = None
    person: Person | None = None  # the channel account they act from

    @property
    def member_id(self) -> int | None:
        return None if self.member is None else self.member.id

    @property
    def actor_id(self) -> int:
        """What "who did it" columns record: the member id, 0 for a config admin without a
        member profile."""
        return 0 if self.member is None else self.member.id

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
