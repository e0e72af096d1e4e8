"""Who may do what: the one place where roles are checked (SPEC section 1).

Every handler asks ``authorize`` before acting, for commands and button presses alike, so a
forged or replayed callback never acts outside the presser's role or unit.
"""

from __future__ import annotations

from bot.domain.errors import NotAllowed
from bot.domain.members import Action, Actor, Member, Person, Role, RoleGrant

_MINIMUM_ROLE: dict[Action, Role] = {
    Action.USE_MEMBER_FEATURES: Role.MEMBER,
    Action.MANAGE_UNIT: Role.CADRE,
    Action.MANAGE_ROLES: Role.ADMIN,
    Action.MANAGE_ALL_UNITS: Role.ADMIN,
}
_RANK = {Role.MEMBER: 1, Role.CADRE: 2, Role.ADMIN: 3}


def resolve_actor(
    person: Person, member: Member | None, grant: RoleGrant | None, config_admins: tuple[int, ...]
) -> Actor:
    """Admins are the Telegram ids in the config (on whichever channel their member writes
    from) and members granted the role; a member is a cadre of the unit they were granted."""
    telegram_id = member.telegram_id if member is not None else person.telegram_id
    if (telegram_id is not None and telegram_id in config_admins) or (
        grant is not None and grant.role is Role.ADMIN
    ):
        return Actor(telegram_id, member, Role.ADMIN, person=person)
    if member is None:
        return Actor(telegram_id, None, None, person=person)
    if grant is not None and grant.role is Role.CADRE:
        return Actor(telegram_id, member, Role.CADRE, grant.unit_id, person=person)
    return Actor(telegram_id, member, Role.MEMBER, person=person)


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
