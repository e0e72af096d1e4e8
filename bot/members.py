"""Members: onboarding, profile edits, settings and roles (SPEC 1, 2.1; privacy: bot.privacy).

Knows nothing of Telegram: it takes plain values and returns plain values, so the Zalo channel
can reuse it. Validation errors carry a catalogue key for the reply.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from bot.access import authorize, resolve_actor
from bot.clock import Clock
from bot.domain.errors import InvalidInput
from bot.domain.members import (
    Action,
    Actor,
    Channel,
    ChannelUser,
    FlowState,
    GrantCandidate,
    Member,
    NewMember,
    Person,
    Profile,
    Role,
    RoleGrant,
    RoleHolder,
    Unit,
    UnitPage,
)
from bot.i18n import LANGUAGES
from storage.conversations import ConversationRepository
from storage.members import MemberRepository, RoleRepository
from storage.units import UnitRepository

ONBOARDING_FLOW = "onboarding"
NAME_MIN, NAME_MAX = 2, 100
EMAIL_MAX = 254
UNITS_PER_PAGE = 8

_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def clean_full_name(text: str) -> str:
    """Letters (any script, with Vietnamese diacritics), spaces, and . ' - between words."""
    name = " ".join(unicodedata.normalize("NFC", text).split())
    if not NAME_MIN <= len(name) <= NAME_MAX:
        raise InvalidInput("onboarding.name_invalid_length", min=NAME_MIN, max=NAME_MAX)
    letters = 0
    for ch in name:
        category = unicodedata.category(ch)
        if category.startswith("L"):
            letters += 1
        elif category.startswith("M") or ch in " .'-":
            continue
        else:
            raise InvalidInput("onboarding.name_invalid_chars")
    if letters < NAME_MIN:
        raise InvalidInput("onboarding.name_invalid_chars")
    return name


def clean_email(text: str) -> str:
    email = text.strip()
    if len(email) > EMAIL_MAX or not _EMAIL.match(email):
        raise InvalidInput("onboarding.email_invalid")
    return email.lower()


def clean_phone(text: str, *, typed: bool = False) -> str:
    """A phone as stored: ``+84912345678``. Telegram's shared contacts come with or without
    '+' (Vietnamese ones as 84…); a number ``typed`` by hand (where sharing is not possible)
    must look like one: a Vietnamese mobile (09x, 03x, 05x, 07x, 08x: ten digits) or landline
    (02x: eleven), written with spaces, dots or dashes as people do, or a foreign +number."""
    if typed and not re.fullmatch(r"\+?[\d\s.()\-]{8,24}", text.strip()):
        raise InvalidInput("onboarding.phone_typed_invalid")
    digits = re.sub(r"[^\d+]", "", text)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if digits.startswith("0") and len(digits) == 10:
        digits = "+84" + digits[1:]
    if not digits.startswith("+"):
        digits = "+" + digits
    if not 8 <= len(digits) <= 16 or not digits[1:].isdigit():
        raise InvalidInput(
            "onboarding.phone_typed_invalid" if typed else "onboarding.phone_invalid"
        )
    if typed and digits.startswith("+84"):
        national = digits[3:]
        mobile = len(national) == 9 and national[0] in "35789"
        landline = len(national) == 10 and national[0] == "2"
        if not (mobile or landline):
            raise InvalidInput("onboarding.phone_typed_invalid")
    return digits


def display_phone(phone: str | None) -> str | None:
    """A stored phone (``+84…``) as Vietnamese people write it: ``0912 345 678`` for a
    mobile, ``024 3825 1234`` for a Hà Nội or Hồ Chí Minh City landline, other Vietnamese
    numbers with their leading 0; a foreign number stays as stored, with its ``+``."""
    if not phone or not phone.startswith("+84"):
        return phone
    national = "0" + phone[3:]
    if len(national) == 10:
        return f"{national[:4]} {national[4:7]} {national[7:]}"
    if len(national) == 11 and national[:3] in ("024", "028"):
        return f"{national[:3]} {national[3:7]} {national[7:]}"
    return national


class MemberService:
    def __init__(
        self,
        members: MemberRepository,
        roles: RoleRepository,
        units: UnitRepository,
        conversations: ConversationRepository,
        clock: Clock,
        config_admins: tuple[int, ...],
    ) -> None:
        self._members = members
        self._roles = roles
        self._units = units
        self._conversations = conversations
        self._clock = clock
        self._config_admins = config_admins

    # --- who is this ---------------------------------------------------------------------

    async def actor_of(self, person: Person) -> Actor:
        """Who this channel account is: their member row, role grant and config admin rights
        in one query; the channel they write from is remembered for their announcements."""
        member, grant = await self._members.with_grant(person)
        if member is not None and member.last_channel is not person.channel:
            await self._members.set_last_channel(member.id, person.channel)
        return resolve_actor(person, member, grant, self._config_admins)

    async def actor(self, telegram_id: int) -> Actor:
        return await self.actor_of(Person.telegram(telegram_id))

    async def role_of(self, member: Member) -> Role:
        return (await self.actor_of_member(member)).role or Role.MEMBER

    async def actor_by_member_id(self, member_id: int) -> Actor:
        """Who a stored "who did it" id is now (0 or an erased member: nobody)."""
        member = await self._members.by_id(member_id) if member_id else None
        if member is None or member.deleted_at is not None:
            return Actor(None, None, None)
        return await self.actor_of_member(member)

    async def actor_of_member(self, member: Member) -> Actor:
        """The member as an actor, whichever channel they last used (for checks made outside
        a turn: a scheduled broadcast falling due, say)."""
        channel = member.last_channel or member.delivery_channel or Channel.TELEGRAM
        address = member.address(channel)
        person = Person(channel, address) if address is not None else None
        grant = await self._roles.get(member.id)
        return resolve_actor(
            person or Person(Channel.TELEGRAM, "0"), member, grant, self._config_admins
        )

    async def member(self, telegram_id: int) -> Member | None:
        return await self._members.by_telegram_id(telegram_id)

    # --- units -----------------------------------------------------------------------------

    async def unit_page(self, query: str = "", page: int = 0) -> UnitPage:
        total = await self._units.count(query)
        pages = max(1, -(-total // UNITS_PER_PAGE))
        page = min(max(page, 0), pages - 1)
        units = await self._units.page(query, offset=page * UNITS_PER_PAGE, limit=UNITS_PER_PAGE)
        return UnitPage(units, page, pages, total, query)

    async def unit(self, unit_id: int) -> Unit | None:
        return await self._units.get(unit_id)

    # --- onboarding ------------------------------------------------------------------------

    async def give_consent(
        self, person: Person, *, payload: str | None, language: str
    ) -> tuple[FlowState, datetime]:
        """Consent recorded now (Decree 13 wants the time): the onboarding draft starts."""
        consent_at = self._clock.now()
        state = FlowState(
            ONBOARDING_FLOW,
            "name",
            {"consent_at": consent_at.isoformat(), "payload": payload, "language": language},
        )
        await self._conversations.put(person, state, consent_at)
        return state, consent_at

    async def complete_onboarding(
        self,
        person: Person,
        *,
        full_name: str,
        unit_id: int,
        phone: str | None,
        email: str | None,
        username: str | None,
        language: str,
        consent_at: datetime,
    ) -> Member:
        """Create the member (all fields re-validated: the draft may be old or tampered with)."""
        existing = await self._members.by_person(person)
        if existing is not None:
            return existing
        if await self._units.get(unit_id) is None:
            raise InvalidInput("onboarding.unit_missing")
        member = await self._members.create(
            NewMember(
                telegram_id=person.telegram_id,
                zalo_id=person.user_id if person.channel is Channel.ZALO else None,
                full_name=clean_full_name(full_name),
                username=username,
                unit_id=unit_id,
                phone=clean_phone(phone) if phone else None,
                email=clean_email(email) if email else None,
                language=language if language in LANGUAGES else "vi",
                consent_at=consent_at,
            ),
            self._clock.now(),
        )
        await self._conversations.clear(person)
        return member

    # --- profile and settings ----------------------------------------------------------------

    async def profile(self, member: Member) -> Profile:
        actor = await self.actor_of_member(member)
        unit = await self._units.get(member.unit_id) if member.unit_id else None
        cadre_unit = await self._units.get(actor.cadre_unit_id) if actor.cadre_unit_id else None
        return Profile(member, unit, actor.role or Role.MEMBER, cadre_unit)

    async def update_field(self, member: Member, field: str, value: str | int | None) -> Member:
        """Validate and store one profile field; returns the updated member."""
        cleaned: object
        if field == "full_name":
            cleaned = clean_full_name(str(value))
        elif field == "email":
            cleaned = clean_email(str(value)) if value else None
        elif field == "phone":
            cleaned = clean_phone(str(value)) if value else None
        elif field == "unit_id":
            if not isinstance(value, int) or await self._units.get(value) is None:
                raise InvalidInput("onboarding.unit_missing")
            cleaned = value
        elif field == "language":
            if value not in LANGUAGES:
                raise InvalidInput("settings.language_unknown")
            cleaned = value
        else:
            raise ValueError(f"field {field!r} is not editable")
        await self._members.update(member.id, self._clock.now(), **{field: cleaned})
        updated = await self._members.by_id(member.id)
        assert updated is not None
        return updated

    async def set_muted(
        self, member: Member, *, announcements: bool | None = None, reminders: bool | None = None
    ) -> Member:
        fields: dict[str, object] = {}
        if announcements is not None:
            fields["announcements_muted"] = announcements
        if reminders is not None:
            fields["reminders_muted"] = reminders
        await self._members.update(member.id, self._clock.now(), **fields)
        updated = await self._members.by_id(member.id)
        assert updated is not None
        return updated

    async def remember_username(self, member: Member, username: str | None) -> None:
        if username != member.username:
            await self._members.set_username(member.id, username, self._clock.now())

    async def remember_account(self, member: Member, user: ChannelUser) -> None:
        """A known member opened the bot again: their Telegram @username may have changed,
        and a channel that had them as unreachable (blocked) can reach them again."""
        person = user.person
        if person.channel is Channel.TELEGRAM:
            await self.remember_username(member, user.username)
            if not member.reachable:
                await self._members.set_reachable(person, True)
        elif not member.zalo_reachable:
            await self._members.set_reachable(person, True)

    async def mark_reachable(self, who: Person | int, reachable: bool) -> None:
        person = who if isinstance(who, Person) else Person.telegram(who)
        await self._members.set_reachable(person, reachable)

    async def mark_unreachable(self, person: Person) -> None:
        await self._members.set_reachable(person, False)

    # --- roles -----------------------------------------------------------------------------

    async def find_person(self, reference: str) -> Member | None:
        """A member by Telegram id or by a @username the bot has seen."""
        text = reference.strip()
        if re.fullmatch(r"\d{1,15}", text):
            return await self._members.by_telegram_id(int(text))
        if re.fullmatch(r"@?[A-Za-z0-9_]{3,32}", text):
            return await self._members.by_username(text)
        return None

    async def grant_candidates(self, by: Actor, reference: str) -> list[GrantCandidate]:
        """Who a /grant's "id or @username" may mean: a Telegram id is one member; a @username
        is everyone the bot has seen with it, newest first (usernames pass from person to
        person and the bot only learns it when they write). Roles belong to members: nobody
        onboarded answers ``roles.person_unknown``."""
        authorize(by, Action.MANAGE_ROLES)
        text = reference.strip()
        found: list[GrantCandidate] = []
        if re.fullmatch(r"\d{1,15}", text):
            member = await self._members.by_telegram_id(int(text))
            if member is not None:
                found.append(await self._candidate(member, None))
        elif re.fullmatch(r"@?[A-Za-z0-9_]{3,32}", text):
            for holder in await self._members.username_holders(text):
                found.append(await self._candidate(holder.member, holder.username_at))
        if not found:
            raise InvalidInput("roles.person_unknown", person=text[:40])
        return found

    async def _candidate(self, member: Member, username_at: datetime | None) -> GrantCandidate:
        unit = await self._units.get(member.unit_id) if member.unit_id else None
        return GrantCandidate(member, unit, username_at)

    async def grant_to_member(
        self, by: Actor, member_id: int, role: Role, unit_id: int | None
    ) -> tuple[RoleGrant, Member]:
        """Grant to a member chosen by their internal id, never whoever holds a @username."""
        authorize(by, Action.MANAGE_ROLES)
        member = await self._members.by_id(member_id)
        if member is None or member.deleted_at is not None:
            raise InvalidInput("roles.person_gone")
        if role is Role.CADRE and (unit_id is None or await self._units.get(unit_id) is None):
            raise InvalidInput("roles.unit_unknown")
        if role is Role.MEMBER:
            raise InvalidInput("roles.usage")
        grant = RoleGrant(
            member.id,
            role,
            unit_id if role is Role.CADRE else None,
            granted_by=by.actor_id,
            granted_at=self._clock.now(),
        )
        await self._roles.set(grant)
        return grant, member

    async def revoke_by_reference(self, by: Actor, reference: str) -> tuple[Member, bool]:
        """Revoke the role of the member a Telegram id or @username names; (member, whether a
        role was there). The config's admins stay admins whatever is asked."""
        authorize(by, Action.MANAGE_ROLES)
        text = reference.strip()
        if text.isdigit() and int(text) in self._config_admins:
            raise InvalidInput("roles.config_admin")
        member = await self.find_person(text)
        if member is None:
            raise InvalidInput("roles.person_unknown", person=text[:40])
        return member, await self.revoke(by, member)

    async def revoke(self, by: Actor, member: Member) -> bool:
        authorize(by, Action.MANAGE_ROLES)
        if member.telegram_id is not None and member.telegram_id in self._config_admins:
            raise InvalidInput("roles.config_admin")
        return await self._roles.delete(member.id)

    async def role_list(self, by: Actor) -> list[RoleHolder]:
        """Every admin and cadre: the granted ones and the admins of the config file."""
        authorize(by, Action.MANAGE_ROLES)
        holders: list[RoleHolder] = []
        granted_ids: set[int] = set()
        for grant in await self._roles.all():
            member = await self._members.by_id(grant.member_id)
            unit = await self._units.get(grant.unit_id) if grant.unit_id else None
            holders.append(
                RoleHolder(grant.role, member, unit, member.telegram_id if member else None)
            )
            granted_ids.add(grant.member_id)
        for admin_id in self._config_admins:
            member = await self._members.by_telegram_id(admin_id)
            if member is None or member.id not in granted_ids:
                holders.append(RoleHolder(Role.ADMIN, member, None, admin_id, from_config=True))
        holders.sort(key=lambda h: (h.role.value, h.unit.name if h.unit else "", h.sort_name))
        return holders
