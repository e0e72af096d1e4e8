"""Who may do what: the one place where roles are checked (SPEC section 1).

Every handler asks ``authorize`` before acting, for commands and button presses alike, so a
forged or replayed callback never acts outside the presser's role or unit.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bot.models import Member, Role, RoleGrant


class Action(enum.StrEnum):
    # member actions (any onboarded member)
    USE_MEMBER_FEATURES = "member"
    # cadre actions, limited to the cadre's own unit
    MANAGE_UNIT = "manage_unit"
    # admin only
    MANAGE_ROLES = "manage_roles"
    MANAGE_ALL_UNITS = "manage_all_units"


_MINIMUM_ROLE: dict[Action, Role] = {
    Action.USE_MEMBER_FEATURES: Role.MEMBER,
    Action.MANAGE_UNIT: Role.CADRE,
    Action.MANAGE_ROLES: Role.ADMIN,
    Action.MANAGE_ALL_UNITS: Role.ADMIN,
}
_RANK = {Role.MEMBER: 1, Role.CADRE: 2, Role.ADMIN: 3}


class NotAllowed(Exception):
    """The actor's role or unit does not allow the action (a reply key says why)."""

    def __init__(self, reason: str = "access.denied") -> None:
        super().__init__(reason)
        self.reason = reason


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


def resolve_actor(
    telegram_id: int, member: Member | None, grant: RoleGrant | None, config_admins: tuple[int, ...]
) -> Actor:
    if telegram_id in config_admins or (grant is not None and grant.role is Role.ADMIN):
        return Actor(telegram_id, member, Role.ADMIN)
    if member is None:
        return Actor(telegram_id, None, None)
    if grant is not None and grant.role is Role.CADRE:
        return Actor(telegram_id, member, Role.CADRE, grant.unit_id)
    return Actor(telegram_id, member, Role.MEMBER)


def can(actor: Actor, action: Action, *, unit_id: int | None = None) -> bool:
    """Whether ``actor`` may do ``action`` (on ``unit_id`` when the action is unit-scoped)."""
    if actor.role is None:
        return False
    if _RANK[actor.role] < _RANK[_MINIMUM_ROLE[action]]:
        return False
    if action is Action.MANAGE_UNIT and actor.role is Role.CADRE:
        return unit_id is not None and unit_id == actor.cadre_unit_id
    # A config admin who never onboarded has no member profile to act with.
    return not (action is Action.USE_MEMBER_FEATURES and actor.member is None)


def authorize(actor: Actor, action: Action, *, unit_id: int | None = None) -> None:
    if not can(actor, action, unit_id=unit_id):
        raise NotAllowed("access.not_member" if actor.member is None else "access.denied")
