"""Volunteer activities (SPEC 2.2): create, import, browse, register with capacity and waitlist,
cancel and promote, the member's hours and "ngày công", calendar files. Check-in and attendance
are ``bot.attendance``.

Knows nothing of Telegram: handlers pass plain values in and render what comes back. Bad input
raises ``InvalidInput`` (the key names the catalogue reply), role or unit violations
``NotAllowed``; every method re-checks both, so a forged button press gains nothing.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import secrets
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from bot import figures
from bot.access import authorize, can
from bot.clock import Clock
from bot.config import parse_duration
from bot.domain.activities import (
    Activity,
    ActivityFilter,
    ActivityKind,
    ActivityStatus,
    Audience,
    Campaign,
    NewActivity,
    Question,
    Recipient,
    RegisterOutcome,
    Registrant,
    Registration,
    RegistrationStatus,
    Totals,
)
from bot.domain.errors import InvalidInput, NotAllowed
from bot.domain.members import Action, Actor, Member, Unit
from bot.domain.text import fold
from storage.activities import ActivityRepository
from storage.members import MemberRepository
from storage.units import UnitRepository

__all__ = [
    "Activity",
    "ActivityCard",
    "ActivityDraft",
    "ActivityKind",
    "ActivityService",
    "ActivityStatus",
    "Audience",
    "Campaign",
    "ImportProblem",
    "Question",
    "RegisterOutcome",
    "Registration",
    "RegistrationStatus",
]

PAGE_SIZE = 5
REGISTRANTS_PAGE_SIZE = 10
MANAGE_PAGE_SIZE = 5
TITLE_MAX = 120
DESCRIPTION_MAX = 2000
PLACE_MAX = 200
CAMPAIGN_NAME_MAX = 80
CAPACITY_MAX = 10_000
HOURS_MAX = 100.0
QUESTIONS_MAX = 5
PROMPT_MAX = 200
CHOICES_MIN, CHOICES_MAX, CHOICE_MAX = 2, 8, 30
ANSWER_MAX = 300
REMINDERS_MAX = 4
IMPORT_ROWS_MAX = 1_000
IMPORT_BYTES_MAX = 5_000_000
# What an uploaded table may cost to read, whatever it declares: an XLSX is a zip, and a small
# one can unpack to gigabytes or claim the whole grid (A1:XFD1048576) as its used range.
IMPORT_UNPACKED_MAX = 10_000_000  # bytes all the parts of an XLSX may unpack to
IMPORT_RATIO_MAX = 100  # unpacked ÷ packed, for a part that unpacks past 1 MB
IMPORT_PARTS_MAX = 1_000  # files inside an XLSX
IMPORT_COLUMNS_MAX = 50  # columns read from each row (the import knows a dozen)
IMPORT_LINES_MAX = 10 * IMPORT_ROWS_MAX  # rows read, blank ones included
CHECKIN_OPENS_BEFORE = timedelta(hours=1)
DATETIME_FORMAT = "%d/%m/%Y %H:%M"
_DATETIME = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\s+(\d{1,2}):(\d{2})\s*$")
_DATE = re.compile(r"^\s*(\d{1,2})/(\d{1,2})/(\d{4})\s*$")

# Accepted spellings (folded: lower case, no diacritics) of kinds and audiences in imports.
_KIND_WORDS: dict[str, ActivityKind] = {
    "regular": ActivityKind.REGULAR,
    "thuong xuyen": ActivityKind.REGULAR,
    "on_the_spot": ActivityKind.ON_THE_SPOT,
    "tai cho": ActivityKind.ON_THE_SPOT,
    "campaign": ActivityKind.CAMPAIGN,
    "chien dich": ActivityKind.CAMPAIGN,
    "youth_project": ActivityKind.YOUTH_PROJECT,
    "cong trinh thanh nien": ActivityKind.YOUTH_PROJECT,
}
_AUDIENCE_WORDS: dict[str, Audience] = {
    "unit": Audience.UNIT,
    "don vi": Audience.UNIT,
    "all": Audience.ALL,
    "tat ca": Audience.ALL,
}

IMPORT_COLUMNS = (
    "title",
    "description",
    "kind",
    "campaign",
    "unit_code",
    "open_to",
    "place",
    "start",
    "end",
    "deadline",
    "capacity",
    "hours",
    "reminders",
)
IMPORT_REQUIRED = ("title", "kind", "place", "start", "end", "deadline", "hours")
TEMPLATE_EXAMPLE = (
    "Hiến máu tình nguyện",
    "Hiến máu tại Viện Huyết học – Truyền máu Trung ương",
    "regular",
    "",
    "BTP",
    "all",
    "14 Trần Thái Tông, Cầu Giấy, Hà Nội",
    "25/12/2026 08:00",
    "25/12/2026 11:30",
    "24/12/2026 17:00",
    "50",
    "3.5",
    "24h, 2h",
)


# --- parsing what people type (each raises InvalidInput with the catalogue key) -------------


def _clean_text(text: str) -> str:
    cleaned = unicodedata.normalize("NFC", text).strip()
    # Control characters other than line breaks have no business in a title or a place.
    return "".join(ch for ch in cleaned if ch in "\n\t" or unicodedata.category(ch) != "Cc")


def parse_title(text: str) -> str:
    title = " ".join(_clean_text(text).split())
    if not 3 <= len(title) <= TITLE_MAX:
        raise InvalidInput("activities.title_invalid", min=3, max=TITLE_MAX)
    return title


def parse_description(text: str) -> str:
    description = _clean_text(text)
    if len(description) > DESCRIPTION_MAX:
        raise InvalidInput(
            "activities.description_too_long", max=DESCRIPTION_MAX, length=len(description)
        )
    return description


def parse_place(text: str) -> str:
    place = " ".join(_clean_text(text).split())
    if not 2 <= len(place) <= PLACE_MAX:
        raise InvalidInput("activities.place_invalid", max=PLACE_MAX)
    return place


def parse_local_datetime(text: str, tz: ZoneInfo) -> datetime:
    """``25/12/2026 08:00`` in the configured zone → an aware UTC-comparable datetime."""
    match = _DATETIME.match(text)
    if not match:
        raise InvalidInput("activities.datetime_format")
    day, month, year, hour, minute = (int(g) for g in match.groups())
    try:
        return datetime(year, month, day, hour, minute, tzinfo=tz)
    except ValueError:
        raise InvalidInput("activities.datetime_format") from None


def parse_local_date(text: str) -> date:
    match = _DATE.match(text)
    if not match:
        raise InvalidInput("activities.campaign_dates_invalid")
    day, month, year = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        raise InvalidInput("activities.campaign_dates_invalid") from None


def parse_capacity(text: str) -> int | None:
    """A whole number of seats from 1; empty means no limit."""
    value = text.strip()
    if not value:
        return None
    if not re.fullmatch(r"[+-]?\d{1,9}", value) or not 1 <= int(value) <= CAPACITY_MAX:
        raise InvalidInput("activities.capacity_invalid", max=CAPACITY_MAX)
    return int(value)


def parse_hours(text: str) -> float:
    value = text.strip().replace(",", ".")
    if not re.fullmatch(r"\d{1,3}(\.\d{1,2})?", value):
        raise InvalidInput("activities.hours_invalid", max=figures.format_figure(HOURS_MAX))
    hours = float(value)
    if not 0 < hours <= HOURS_MAX:
        raise InvalidInput("activities.hours_invalid", max=figures.format_figure(HOURS_MAX))
    return hours


def parse_kind(text: str) -> ActivityKind:
    kind = _KIND_WORDS.get(fold(text))
    if kind is None:
        raise InvalidInput("activities.kind_invalid")
    return kind


def parse_audience(text: str) -> Audience:
    audience = _AUDIENCE_WORDS.get(fold(text))
    if audience is None:
        raise InvalidInput("activities.open_to_invalid")
    return audience


def parse_reminders(text: str) -> tuple[int, ...] | None:
    """``24h, 2h`` → minutes before the start, largest first; empty → the configured default."""
    parts = [p for p in re.split(r"[,;\s]+", text.strip()) if p]
    if not parts:
        return None
    minutes: set[int] = set()
    for part in parts:
        duration = parse_duration(part.lower())
        if duration is None or not timedelta(minutes=5) <= duration <= timedelta(days=14):
            raise InvalidInput("activities.reminders_invalid")
        minutes.add(int(duration.total_seconds() // 60))
    if len(minutes) > REMINDERS_MAX:
        raise InvalidInput("activities.reminders_invalid")
    return tuple(sorted(minutes, reverse=True))


def parse_prompt(text: str) -> str:
    prompt = " ".join(_clean_text(text).split())
    if not 2 <= len(prompt) <= PROMPT_MAX:
        raise InvalidInput("activities.question_invalid", max=PROMPT_MAX)
    return prompt


def parse_choices(text: str) -> tuple[str, ...]:
    """Options separated by ``;`` or new lines (e.g. ``S; M; L; XL``)."""
    choices: list[str] = []
    for part in re.split(r"[;\n]", _clean_text(text)):
        choice = " ".join(part.split())
        if choice and choice not in choices:
            choices.append(choice)
    if not CHOICES_MIN <= len(choices) <= CHOICES_MAX or any(len(c) > CHOICE_MAX for c in choices):
        raise InvalidInput(
            "activities.choices_invalid", min=CHOICES_MIN, max=CHOICES_MAX, length=CHOICE_MAX
        )
    return tuple(choices)


def parse_answer(question: Question, text: str) -> str:
    answer = " ".join(_clean_text(text).split())
    if question.choices is not None and answer not in question.choices:
        raise InvalidInput("activities.answer_use_buttons")
    if not answer and question.required:
        raise InvalidInput("activities.answer_required")
    if len(answer) > ANSWER_MAX:
        raise InvalidInput("activities.answer_too_long", max=ANSWER_MAX)
    return answer


def new_checkin_token() -> str:
    """An activity's check-in secret: 128 random bits (``bot.attendance`` derives the codes)."""
    return secrets.token_urlsafe(16)


# --- values crossing to handlers ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActivityDraft:
    """Everything a new activity needs; ``ActivityService.create`` validates it all again."""

    title: str
    description: str
    kind: ActivityKind
    unit_id: int
    open_to: Audience
    place: str
    starts_at: datetime
    ends_at: datetime
    deadline_at: datetime
    capacity: int | None
    hours: float
    campaign_id: int | None = None
    questions: tuple[Question, ...] = ()
    reminder_offsets: tuple[int, ...] | None = None

    def _fields(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "description": self.description,
            "kind": self.kind,
            "campaign_id": self.campaign_id,
            "unit_id": self.unit_id,
            "open_to": self.open_to,
            "place": self.place,
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            "deadline_at": self.deadline_at,
            "capacity": self.capacity,
            "hours": self.hours,
            "reminder_offsets": self.reminder_offsets,
            "questions": self.questions,
        }

    def preview(self, *, created_by: int) -> Activity:
        """The activity as it will look once created (for the summary before confirming)."""
        return Activity(id=0, status=ActivityStatus.OPEN, created_by=created_by, **self._fields())

    def to_new(self, *, created_by: int) -> NewActivity:
        return NewActivity(
            created_by=created_by, checkin_token=new_checkin_token(), **self._fields()
        )


@dataclass(frozen=True, slots=True)
class ActivityCard:
    """An activity as one member sees it: names resolved and their own registration."""

    activity: Activity
    unit_name: str
    campaign_name: str | None
    registration: Registration | None
    refusal: str | None  # why this member cannot register now (catalogue key), or None
    can_manage: bool

    @property
    def registered(self) -> bool:
        return self.registration is not None and self.registration.active


@dataclass(frozen=True, slots=True)
class ActivityPage:
    cards: list[ActivityCard]
    page: int
    pages: int
    total: int


@dataclass(frozen=True, slots=True)
class RegisterResult:
    outcome: RegisterOutcome
    activity: Activity
    registration: Registration | None


@dataclass(frozen=True, slots=True)
class Promotion:
    """A waitlisted member who just got a seat, and how to reach them."""

    recipient: Recipient
    activity: Activity


@dataclass(frozen=True, slots=True)
class CancelResult:
    activity: Activity
    cancelled: Registration | None
    promoted: list[Promotion]


@dataclass(frozen=True, slots=True)
class MyRegistrations:
    upcoming: list[tuple[Registration, Activity]]
    past: list[tuple[Registration, Activity]]
    attended: int
    hours: float
    person_days: float


@dataclass(frozen=True, slots=True)
class EditResult:
    before: Activity
    after: Activity
    recipients: list[Recipient]
    promoted: list[Promotion] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ImportProblem:
    row: int
    column: str
    key: str
    params: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ImportReport:
    created: list[int]
    errors: list[ImportProblem]


@dataclass(frozen=True, slots=True)
class RegistrantPage:
    activity: Activity
    registrants: list[Registrant]
    page: int
    pages: int
    total: int


class ActivityService:
    def __init__(
        self,
        activities: ActivityRepository,
        members: MemberRepository,
        units: UnitRepository,
        clock: Clock,
        *,
        tz: ZoneInfo,
        hours_per_day: float,
        default_reminders: Sequence[timedelta],
    ) -> None:
        self._activities = activities
        self._members = members
        self._units = units
        self._clock = clock
        self._tz = tz
        self._hours_per_day = hours_per_day
        self._default_reminders = tuple(int(d.total_seconds() // 60) for d in default_reminders)
        # Told when start times appear or move, so that the reminder scheduler looks again.
        self.schedule_listeners: list[Callable[[], None]] = []
        # Told when a change wrote notices (storage writes them with the change itself), so
        # that the notice sender delivers them now rather than at its next sweep.
        self.notice_listeners: list[Callable[[], None]] = []

    def _schedule_changed(self) -> None:
        for listener in self.schedule_listeners:
            listener()

    def notices_queued(self) -> None:
        for listener in self.notice_listeners:
            listener()

    @property
    def tz(self) -> ZoneInfo:
        return self._tz

    @property
    def default_reminders(self) -> tuple[int, ...]:
        return self._default_reminders

    def person_days(self, hours: float) -> float:
        """Ngày công of a total of hours, by the one rule (``bot.figures``)."""
        return figures.person_days(hours, self._hours_per_day)

    # --- reading ---------------------------------------------------------------------------

    async def get(self, activity_id: int) -> Activity | None:
        return await self._activities.get(activity_id)

    async def campaign(self, campaign_id: int) -> Campaign | None:
        return await self._activities.campaign(campaign_id)

    async def unit(self, unit_id: int) -> Unit | None:
        return await self._units.get(unit_id)

    def _scope(self, actor: Actor, **choice: Any) -> ActivityFilter:
        member = actor.member
        extra = (actor.cadre_unit_id,) if actor.cadre_unit_id is not None else ()
        return ActivityFilter(
            viewer_unit_id=member.unit_id if member else None,
            see_all_units=actor.is_admin,
            extra_visible_unit_ids=extra,
            **choice,
        )

    def refusal(self, actor: Actor, activity: Activity) -> str | None:
        """Why ``actor`` cannot register for ``activity`` now (a catalogue key), or None."""
        now = self._clock.now()
        member = actor.member
        if member is None:
            return "access.not_member"
        if not self.visible_to(actor, activity):
            return "activities.refused_not_open_to_unit"
        if activity.status is ActivityStatus.CANCELLED:
            return "activities.refused_cancelled"
        if activity.status is ActivityStatus.CLOSED:
            return "activities.refused_closed"
        if now >= activity.starts_at:
            return "activities.refused_started"
        if now >= activity.deadline_at:
            return "activities.refused_deadline"
        return None

    def visible_to(self, actor: Actor, activity: Activity) -> bool:
        member = actor.member
        return (
            activity.open_to is Audience.ALL
            or (member is not None and member.unit_id == activity.unit_id)
            or can(actor, Action.MANAGE_UNIT, unit_id=activity.unit_id)
        )

    async def card(self, actor: Actor, activity_id: int) -> ActivityCard:
        """One activity for one viewer; a hidden or unknown one is "not found" alike."""
        activity = await self._activities.get(activity_id)
        if activity is None or not self.visible_to(actor, activity):
            raise InvalidInput("activities.not_found")
        return await self._card(actor, activity)

    async def _card(
        self,
        actor: Actor,
        activity: Activity,
        registration: Registration | None = None,
        *,
        registration_known: bool = False,
    ) -> ActivityCard:
        if registration is None and not registration_known and actor.member is not None:
            registration = await self._activities.registration(activity.id, actor.member.id)
        unit = await self._units.get(activity.unit_id)
        campaign = (
            await self._activities.campaign(activity.campaign_id) if activity.campaign_id else None
        )
        return ActivityCard(
            activity=activity,
            unit_name=unit.name if unit else "",
            campaign_name=campaign.name if campaign else None,
            registration=registration,
            refusal=self.refusal(actor, activity),
            can_manage=can(actor, Action.MANAGE_UNIT, unit_id=activity.unit_id),
        )

    async def browse(
        self,
        actor: Actor,
        *,
        scope: str = "all",
        campaign_id: int | None = None,
        page: int = 0,
    ) -> ActivityPage:
        """Upcoming open activities, 5 a page: ``scope`` is "unit" (mine), "all" or "campaign"."""
        member = actor.member
        if member is None:
            raise NotAllowed("access.not_member")
        choice: dict[str, Any] = {}
        if scope == "unit":
            choice["only_unit_id"] = member.unit_id or 0
        elif scope == "campaign":
            choice["campaign_id"] = campaign_id or 0
        filter_ = self._scope(actor, **choice)
        now = self._clock.now()
        page = max(page, 0)
        activities, total = await self._activities.upcoming(
            now, filter_, offset=page * PAGE_SIZE, limit=PAGE_SIZE
        )
        pages = max(1, -(-total // PAGE_SIZE))
        if page >= pages:  # a stale "next" button after the list shrank: show the last page
            page = pages - 1
            activities, total = await self._activities.upcoming(
                now, filter_, offset=page * PAGE_SIZE, limit=PAGE_SIZE
            )
            pages = max(1, -(-total // PAGE_SIZE))
        # One query for my registrations on the page, not one per card.
        mine = await self._activities.registrations_of(member.id, [a.id for a in activities])
        cards = [
            await self._card(actor, a, mine.get(a.id), registration_known=True) for a in activities
        ]
        return ActivityPage(cards, page, pages, total)

    async def browse_campaigns(self, actor: Actor) -> list[Campaign]:
        return await self._activities.campaigns_with_upcoming(self._clock.now(), self._scope(actor))

    # --- registering -----------------------------------------------------------------------

    async def start_registration(self, actor: Actor, activity_id: int) -> ActivityCard:
        """Check before asking the questions, so nobody answers only to be refused."""
        card = await self.card(actor, activity_id)
        if card.refusal is not None and not card.registered:
            raise InvalidInput(card.refusal)
        return card

    async def register(
        self, actor: Actor, activity_id: int, answers: Mapping[str, str] | None = None
    ) -> RegisterResult:
        """Take a seat or a waitlist place for the actor (never anyone else)."""
        authorize(actor, Action.USE_MEMBER_FEATURES)
        member = actor.member
        assert member is not None
        activity = await self._activities.get(activity_id)
        if activity is None or not self.visible_to(actor, activity):
            raise InvalidInput("activities.not_found")
        existing = await self._activities.registration(activity_id, member.id)
        if existing is not None and existing.active:
            return RegisterResult(RegisterOutcome.ALREADY, activity, existing)
        refusal = self.refusal(actor, activity)
        if refusal is not None:
            raise InvalidInput(refusal)
        cleaned = self._check_answers(activity, answers or {})
        result = await self._activities.register(activity_id, member.id, cleaned, self._clock.now())
        if result.outcome is RegisterOutcome.CLOSED:
            raise InvalidInput("activities.refused_closed")
        after = await self._activities.get(activity_id)
        assert after is not None
        return RegisterResult(result.outcome, after, result.registration)

    def _check_answers(self, activity: Activity, answers: Mapping[str, str]) -> dict[str, str]:
        cleaned: dict[str, str] = {}
        for question in activity.questions:
            raw = answers.get(str(question.position), "")
            if not raw and not question.required:
                continue
            cleaned[str(question.position)] = parse_answer(question, raw)
        return cleaned

    async def cancel_registration(self, actor: Actor, activity_id: int) -> CancelResult:
        """Give up the actor's own seat; the first waitlisted member gets it at once."""
        authorize(actor, Action.USE_MEMBER_FEATURES)
        member = actor.member
        assert member is not None
        activity = await self._activities.get(activity_id)
        if activity is None:
            raise InvalidInput("activities.not_found")
        existing = await self._activities.registration(activity_id, member.id)
        if existing is None or not existing.active:
            raise InvalidInput("activities.not_registered")
        if existing.attended_at is not None:
            raise self._checked_in(activity, existing.attended_at)
        if self._clock.now() >= activity.starts_at:
            raise InvalidInput("activities.cancel_too_late")
        result = await self._activities.cancel(activity_id, member.id, self._clock.now())
        if result.checked_in_at is not None:  # checked in between the read and the cancel
            raise self._checked_in(activity, result.checked_in_at)
        if result.promoted:
            self.notices_queued()
        after = await self._activities.get(activity_id)
        assert after is not None
        return CancelResult(after, result.cancelled, await self._promotions(after, result.promoted))

    def _checked_in(self, activity: Activity, attended_at: datetime) -> InvalidInput:
        return InvalidInput(
            "activities.cancel_checked_in",
            time=attended_at.astimezone(self._tz).strftime("%H:%M %d/%m/%Y"),
        )

    async def promotions(
        self, activity_id: int, promoted: Sequence[Registration]
    ) -> list[Promotion]:
        """Whom to tell about seats handed on outside ``cancel_registration`` (an erasure
        releases the erased member's seats in its own transaction): the same message."""
        activity = await self._activities.get(activity_id) if promoted else None
        return [] if activity is None else await self._promotions(activity, promoted)

    async def _promotions(
        self, activity: Activity, promoted: Sequence[Registration]
    ) -> list[Promotion]:
        found: list[Promotion] = []
        for registration in promoted:
            member = await self._members.by_id(registration.member_id)
            if member is not None and member.telegram_id is not None:
                found.append(
                    Promotion(Recipient(member.id, member.telegram_id, member.language), activity)
                )
        return found

    async def my_registrations(self, member: Member) -> MyRegistrations:
        now = self._clock.now()
        upcoming: list[tuple[Registration, Activity]] = []
        past: list[tuple[Registration, Activity]] = []
        for registration, activity in await self._activities.of_member(member.id):
            if activity.ends_at > now and activity.status is not ActivityStatus.CANCELLED:
                upcoming.append((registration, activity))
            elif registration.status is RegistrationStatus.CONFIRMED and activity.ends_at <= now:
                past.append((registration, activity))
        past.reverse()  # most recent first
        totals = await self._activities.totals(member.id)
        return MyRegistrations(
            upcoming, past[:10], totals.attended, totals.hours, self.person_days(totals.hours)
        )

    async def totals(self, member: Member) -> tuple[Totals, float]:
        """Attended activities and hours, with the hours as "ngày công" (for /profile)."""
        totals = await self._activities.totals(member.id)
        return totals, self.person_days(totals.hours)

    async def calendar_file(self, member: Member) -> bytes | None:
        """An RFC 5545 calendar with one VEVENT per upcoming registration (None: nothing)."""
        mine = await self.my_registrations(member)
        if not mine.upcoming:
            return None
        return self.to_ics([(r, a) for r, a in mine.upcoming])

    def to_ics(self, entries: Sequence[tuple[Registration, Activity]]) -> bytes:
        calendar = Calendar()
        calendar.add("prodid", "-//Nhip Cau//Hoat dong tinh nguyen//VI")
        calendar.add("version", "2.0")
        calendar.add("calscale", "GREGORIAN")
        calendar.add("method", "PUBLISH")
        stamp = self._clock.now()
        for registration, activity in entries:
            event = Event()
            event.add("uid", f"activity-{activity.id}-member-{registration.member_id}@nhipcau")
            event.add("dtstamp", stamp)
            event.add("dtstart", activity.starts_at.astimezone(self._tz))
            event.add("dtend", activity.ends_at.astimezone(self._tz))
            event.add("summary", activity.title)
            event.add("location", activity.place)
            if activity.description:
                event.add("description", activity.description)
            waitlisted = registration.status is RegistrationStatus.WAITLISTED
            event.add("status", "TENTATIVE" if waitlisted else "CONFIRMED")
            calendar.add_component(event)
        calendar.add_missing_timezones()
        data: bytes = calendar.to_ical()
        return data

    # --- creating --------------------------------------------------------------------------

    def check_schedule(self, starts_at: datetime, ends_at: datetime, deadline_at: datetime) -> None:
        now = self._clock.now()
        if starts_at <= now:
            raise InvalidInput("activities.start_in_past")
        if ends_at <= starts_at:
            raise InvalidInput("activities.end_before_start")
        if deadline_at > starts_at:
            raise InvalidInput("activities.deadline_after_start")
        if deadline_at <= now:
            raise InvalidInput("activities.deadline_in_past")

    # One typed answer at a time, for the guided flow (the whole draft is re-checked at the end).

    def read_start(self, text: str) -> datetime:
        starts_at = parse_local_datetime(text, self._tz)
        if starts_at <= self._clock.now():
            raise InvalidInput("activities.start_in_past")
        return starts_at

    def read_end(self, starts_at: datetime, text: str) -> datetime:
        ends_at = parse_local_datetime(text, self._tz)
        if ends_at <= starts_at:
            raise InvalidInput("activities.end_before_start")
        return ends_at

    def read_deadline(self, starts_at: datetime, text: str) -> datetime:
        deadline_at = parse_local_datetime(text, self._tz)
        return self.check_deadline(starts_at, deadline_at)

    def check_deadline(self, starts_at: datetime, deadline_at: datetime) -> datetime:
        if deadline_at > starts_at:
            raise InvalidInput("activities.deadline_after_start")
        if deadline_at <= self._clock.now():
            raise InvalidInput("activities.deadline_in_past")
        return deadline_at

    def read_campaign_dates(self, text: str) -> tuple[date, date]:
        """``01/06/2026 - 31/08/2026`` → the campaign's first and last day."""
        parts = [p for p in re.split(r"\s*[-–—]\s*|\s+đến\s+|\s+to\s+", text.strip()) if p]
        if len(parts) != 2:
            raise InvalidInput("activities.campaign_dates_invalid")
        starts_on, ends_on = parse_local_date(parts[0]), parse_local_date(parts[1])
        if ends_on < starts_on or ends_on < self._clock.now().astimezone(self._tz).date():
            raise InvalidInput("activities.campaign_dates_invalid")
        return starts_on, ends_on

    async def campaigns_for(self, actor: Actor, unit_id: int) -> list[Campaign]:
        today = self._clock.now().astimezone(self._tz).date()
        return await self._activities.campaigns_for_unit(None if actor.is_admin else unit_id, today)

    async def create_campaign(
        self, actor: Actor, unit_id: int, name: str, starts_on: date, ends_on: date
    ) -> Campaign:
        authorize(actor, Action.MANAGE_UNIT, unit_id=unit_id)
        cleaned = " ".join(_clean_text(name).split())
        if not 3 <= len(cleaned) <= CAMPAIGN_NAME_MAX:
            raise InvalidInput("activities.campaign_name_invalid", max=CAMPAIGN_NAME_MAX)
        if ends_on < starts_on:
            raise InvalidInput("activities.campaign_dates_invalid")
        if await self._activities.campaign_by_name(cleaned) is not None:
            raise InvalidInput("activities.campaign_exists", name=cleaned)
        return await self._activities.create_campaign(
            cleaned,
            None if actor.is_admin else unit_id,
            starts_on,
            ends_on,
            actor.actor_id,
            self._clock.now(),
        )

    async def _check_campaign(self, draft: ActivityDraft) -> None:
        if draft.campaign_id is None:
            return
        campaign = await self._activities.campaign(draft.campaign_id)
        if campaign is None or campaign.unit_id not in (None, draft.unit_id):
            raise InvalidInput("activities.campaign_unknown")
        day = draft.starts_at.astimezone(self._tz).date()
        if not campaign.starts_on <= day <= campaign.ends_on:
            raise InvalidInput(
                "activities.campaign_out_of_range",
                name=campaign.name,
                start=campaign.starts_on.strftime("%d/%m/%Y"),
                end=campaign.ends_on.strftime("%d/%m/%Y"),
            )

    async def validate(self, actor: Actor, draft: ActivityDraft) -> ActivityDraft:
        """Re-check a draft (a flow's data may be old or tampered with); returns it cleaned."""
        authorize(actor, Action.MANAGE_UNIT, unit_id=draft.unit_id)
        if await self._units.get(draft.unit_id) is None:
            raise InvalidInput("activities.unit_unknown")
        self.check_schedule(draft.starts_at, draft.ends_at, draft.deadline_at)
        if draft.capacity is not None:
            parse_capacity(str(draft.capacity))
        parse_hours(str(draft.hours))
        if len(draft.questions) > QUESTIONS_MAX:
            raise InvalidInput("activities.questions_too_many", max=QUESTIONS_MAX)
        questions = tuple(
            Question(
                position=index,
                prompt=parse_prompt(q.prompt),
                choices=None if q.choices is None else parse_choices("; ".join(q.choices)),
                required=q.required,
            )
            for index, q in enumerate(draft.questions, start=1)
        )
        cleaned = ActivityDraft(
            title=parse_title(draft.title),
            description=parse_description(draft.description),
            kind=ActivityKind(draft.kind),
            unit_id=draft.unit_id,
            open_to=Audience(draft.open_to),
            place=parse_place(draft.place),
            starts_at=draft.starts_at,
            ends_at=draft.ends_at,
            deadline_at=draft.deadline_at,
            capacity=draft.capacity,
            hours=draft.hours,
            campaign_id=draft.campaign_id,
            questions=questions,
            reminder_offsets=draft.reminder_offsets,
        )
        await self._check_campaign(cleaned)
        return cleaned

    async def create(self, actor: Actor, draft: ActivityDraft) -> Activity:
        cleaned = await self.validate(actor, draft)
        activity_id = await self._activities.create(
            cleaned.to_new(created_by=actor.actor_id), self._clock.now()
        )
        activity = await self._activities.get(activity_id)
        assert activity is not None
        self._schedule_changed()
        return activity

    # --- importing -------------------------------------------------------------------------

    def template_csv(self) -> bytes:
        """The import template: UTF-8 with BOM so Excel shows Vietnamese correctly."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(IMPORT_COLUMNS)
        writer.writerow(TEMPLATE_EXAMPLE)
        return ("\ufeff" + out.getvalue()).encode("utf-8")

    async def import_file(self, actor: Actor, content: bytes, filename: str | None) -> ImportReport:
        """Validate every row first; any bad row and nothing is imported."""
        if not (actor.is_admin or actor.is_cadre):
            raise NotAllowed()
        if len(content) > IMPORT_BYTES_MAX:
            raise InvalidInput("activities.import_too_big", max=IMPORT_BYTES_MAX // 1_000_000)
        # Parsing is CPU work on untrusted bytes: on a worker thread, within the limits above,
        # so that nobody else's reply waits for it.
        table = await asyncio.to_thread(read_table, content, filename)
        rows = iter(table)
        header = next(rows, None)
        if header is None:
            raise InvalidInput("activities.import_empty")
        columns = [fold(str(c or "")).replace(" ", "_") for c in header]
        errors: list[ImportProblem] = [
            ImportProblem(1, name, "activities.import_missing_column", {})
            for name in IMPORT_REQUIRED
            if name not in columns
        ]
        if errors:
            return ImportReport([], errors)
        drafts: list[ActivityDraft] = []
        count = 0
        for number, cells in enumerate(rows, start=2):
            values = {
                name: _cell(cells[i]) if i < len(cells) else ""
                for i, name in enumerate(columns)
                if name in IMPORT_COLUMNS
            }
            if not any(values.values()):
                continue
            count += 1
            if count > IMPORT_ROWS_MAX:
                raise InvalidInput("activities.import_too_many_rows", max=IMPORT_ROWS_MAX)
            draft = await self._draft_from_row(actor, number, values, errors)
            if draft is not None:
                drafts.append(draft)
        if count == 0:
            raise InvalidInput("activities.import_empty")
        if errors:
            return ImportReport([], errors)
        now = self._clock.now()
        ids = await self._activities.create_many(
            [d.to_new(created_by=actor.actor_id) for d in drafts], now
        )
        self._schedule_changed()
        return ImportReport(ids, [])

    async def _draft_from_row(
        self, actor: Actor, row: int, values: dict[str, str], errors: list[ImportProblem]
    ) -> ActivityDraft | None:
        before = len(errors)

        def attempt(column: str, parse: Any, *args: Any) -> Any:
            try:
                return parse(values.get(column, ""), *args)
            except InvalidInput as exc:
                errors.append(ImportProblem(row, column, exc.key, exc.params))
                return None

        title = attempt("title", parse_title)
        description = attempt("description", parse_description)
        kind = attempt("kind", parse_kind)
        place = attempt("place", parse_place)
        starts = attempt("start", parse_local_datetime, self._tz)
        ends = attempt("end", parse_local_datetime, self._tz)
        deadline = attempt("deadline", parse_local_datetime, self._tz)
        capacity = attempt("capacity", parse_capacity)
        hours = attempt("hours", parse_hours)
        reminders = attempt("reminders", parse_reminders)
        open_to: Audience | None = Audience.UNIT
        if values.get("open_to"):
            open_to = attempt("open_to", parse_audience)
        unit_id = await self._import_unit(actor, row, values.get("unit_code", ""), errors)
        campaign_id: int | None = None
        if values.get("campaign"):
            campaign = await self._activities.campaign_by_name(values["campaign"])
            if campaign is None:
                errors.append(
                    ImportProblem(
                        row,
                        "campaign",
                        "activities.import_campaign_unknown",
                        {"name": values["campaign"]},
                    )
                )
            else:
                campaign_id = campaign.id
        if len(errors) > before:
            return None
        assert starts is not None and ends is not None and deadline is not None
        assert unit_id is not None and kind is not None and open_to is not None
        draft = ActivityDraft(
            title=title,
            description=description or "",
            kind=kind,
            unit_id=unit_id,
            open_to=open_to,
            place=place,
            starts_at=starts,
            ends_at=ends,
            deadline_at=deadline,
            capacity=capacity,
            hours=hours,
            campaign_id=campaign_id,
            reminder_offsets=reminders,
        )
        column_of = {
            "activities.start_in_past": "start",
            "activities.end_before_start": "end",
            "activities.deadline_after_start": "deadline",
            "activities.deadline_in_past": "deadline",
        }
        try:
            return await self.validate(actor, draft)
        except InvalidInput as exc:
            column = column_of.get(exc.key, "campaign")
            errors.append(ImportProblem(row, column, exc.key, exc.params))
        except NotAllowed:
            errors.append(ImportProblem(row, "unit_code", "activities.import_unit_not_yours", {}))
        return None

    async def _import_unit(
        self, actor: Actor, row: int, code: str, errors: list[ImportProblem]
    ) -> int | None:
        code = code.strip().upper()
        if not code:
            if actor.cadre_unit_id is not None and not actor.is_admin:
                return actor.cadre_unit_id
            errors.append(ImportProblem(row, "unit_code", "activities.import_unit_required", {}))
            return None
        unit = await self._units.get_by_code(code)
        if unit is None:
            errors.append(
                ImportProblem(row, "unit_code", "activities.import_unit_unknown", {"code": code})
            )
            return None
        if not can(actor, Action.MANAGE_UNIT, unit_id=unit.id):
            errors.append(ImportProblem(row, "unit_code", "activities.import_unit_not_yours", {}))
            return None
        return unit.id

    # --- managing --------------------------------------------------------------------------

    async def manageable(self, actor: Actor, activity_id: int) -> Activity:
        activity = await self._activities.get(activity_id)
        if activity is None:
            raise InvalidInput("activities.not_found")
        authorize(actor, Action.MANAGE_UNIT, unit_id=activity.unit_id)
        return activity

    async def managed_page(self, actor: Actor, page: int = 0) -> ActivityPage:
        """Activities a cadre (own unit) or admin (all) runs: upcoming and the last 30 days."""
        if actor.is_admin:
            unit_id = None
        elif actor.is_cadre and actor.cadre_unit_id is not None:
            unit_id = actor.cadre_unit_id
        else:
            raise NotAllowed()
        since = self._clock.now() - timedelta(days=30)
        total = (await self._activities.managed(unit_id, since, offset=0, limit=0))[1]
        pages = max(1, -(-total // MANAGE_PAGE_SIZE))
        page = min(max(page, 0), pages - 1)
        activities, total = await self._activities.managed(
            unit_id, since, offset=page * MANAGE_PAGE_SIZE, limit=MANAGE_PAGE_SIZE
        )
        cards = [await self._card(actor, a) for a in activities]
        return ActivityPage(cards, page, pages, total)

    async def _editable(self, actor: Actor, activity_id: int) -> Activity:
        activity = await self.manageable(actor, activity_id)
        if activity.status is ActivityStatus.CANCELLED:
            raise InvalidInput("activities.already_cancelled")
        if activity.ends_at <= self._clock.now():
            raise InvalidInput("activities.already_ended")
        return activity

    async def _edited(self, before: Activity, promoted: Sequence[Registration] = ()) -> EditResult:
        self.notices_queued()
        after = await self._activities.get(before.id)
        assert after is not None
        promotions = await self._promotions(after, promoted)
        promoted_ids = {p.recipient.member_id for p in promotions}
        recipients = [
            r
            for r in await self._activities.recipients(before.id)
            if r.member_id not in promoted_ids
        ]
        return EditResult(before, after, recipients, promotions)

    async def edit_schedule(
        self, actor: Actor, activity_id: int, starts_at: datetime, ends_at: datetime
    ) -> EditResult:
        """New times; a deadline that would fall after the new start moves to the start."""
        before = await self._editable(actor, activity_id)
        deadline = min(before.deadline_at, starts_at)
        now = self._clock.now()
        if deadline <= now < starts_at:
            deadline = starts_at
        self.check_schedule(starts_at, ends_at, deadline)
        if not await self._activities.update_details(
            activity_id, now, starts_at=starts_at, ends_at=ends_at, deadline_at=deadline
        ):
            raise InvalidInput("activities.already_cancelled")  # cancelled meanwhile
        self._schedule_changed()
        return await self._edited(before)

    async def edit_text(
        self, actor: Actor, activity_id: int, field_name: str, text: str
    ) -> EditResult:
        """Edit the place or the description (or the title)."""
        before = await self._editable(actor, activity_id)
        parsers = {"place": parse_place, "description": parse_description, "title": parse_title}
        if field_name not in parsers:
            raise ValueError(f"field {field_name!r} is not editable as text")
        value = parsers[field_name](text)
        if not await self._activities.update_details(
            activity_id, self._clock.now(), **{field_name: value}
        ):
            raise InvalidInput("activities.already_cancelled")  # cancelled meanwhile
        return await self._edited(before)

    async def edit_capacity(
        self, actor: Actor, activity_id: int, capacity: int | None
    ) -> EditResult:
        """Never below the seats taken; extra seats go to the waitlist in order."""
        before = await self._editable(actor, activity_id)
        result = await self._activities.set_capacity(activity_id, capacity, self._clock.now())
        if not result.changed:
            raise InvalidInput("activities.capacity_below_confirmed", confirmed=result.confirmed)
        return await self._edited(before, result.promoted)

    async def cancel_activity(self, actor: Actor, activity_id: int) -> EditResult:
        """Cancel for good; every registrant's notice is written with the cancellation. If it
        was cancelled meanwhile (another cadre, a second tap), nobody is told twice."""
        before = await self._editable(actor, activity_id)
        change = await self._activities.set_status(
            activity_id, ActivityStatus.CANCELLED, self._clock.now()
        )
        if not change.changed:
            raise InvalidInput(
                "activities.already_cancelled"
                if change.status is ActivityStatus.CANCELLED
                else "activities.not_found"
            )
        self.notices_queued()
        after = await self._activities.get(activity_id)
        assert after is not None
        return EditResult(before, after, change.recipients)

    async def set_registration_open(self, actor: Actor, activity_id: int, open_: bool) -> Activity:
        """Close or reopen registration. The press names the state it wants, so asking for the
        state the activity is already in (a double tap, an older card) changes nothing; a
        cancelled activity is never reopened, even by a press racing the cancellation."""
        await self._editable(actor, activity_id)
        status = ActivityStatus.OPEN if open_ else ActivityStatus.CLOSED
        change = await self._activities.set_status(activity_id, status, self._clock.now())
        if not change.changed and change.status is not status:
            raise InvalidInput(
                "activities.already_cancelled"
                if change.status is ActivityStatus.CANCELLED
                else "activities.not_found"
            )
        after = await self._activities.get(activity_id)
        assert after is not None
        return after

    async def registrants(self, actor: Actor, activity_id: int, page: int = 0) -> RegistrantPage:
        activity = await self.manageable(actor, activity_id)
        total = (await self._activities.registrants(activity_id, offset=0, limit=0))[1]
        pages = max(1, -(-total // REGISTRANTS_PAGE_SIZE))
        page = min(max(page, 0), pages - 1)
        registrants, total = await self._activities.registrants(
            activity_id, offset=page * REGISTRANTS_PAGE_SIZE, limit=REGISTRANTS_PAGE_SIZE
        )
        return RegistrantPage(activity, registrants, page, pages, total)

    # --- the day after ---------------------------------------------------------------------


# --- reading import files -------------------------------------------------------------------


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime(DATETIME_FORMAT)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_table(content: bytes, filename: str | None) -> list[Sequence[object]]:
    """Rows of a CSV or XLSX file, header first, each cut to ``IMPORT_COLUMNS_MAX`` cells (a
    blank row as ``[]``); anything else, or anything past the limits, is refused with the
    reason (``InvalidInput``). Blocking: run it on a worker thread."""
    name = (filename or "").lower()
    if not content:
        raise InvalidInput("activities.import_empty")
    if content[:4] == b"PK\x03\x04" or name.endswith(".xlsx"):
        return _read_xlsx(content)
    if name.endswith(".csv") or (not name or name.endswith(".txt")):
        return _read_csv(content)
    raise InvalidInput("activities.import_wrong_type")


def _bounded(rows: Iterable[Sequence[object]]) -> list[Sequence[object]]:
    """At most ``IMPORT_LINES_MAX`` rows, of which one header and ``IMPORT_ROWS_MAX`` + 1 filled
    ones (enough to tell that there are too many), stopping as soon as a limit is passed."""
    table: list[Sequence[object]] = []
    filled = 0
    for row in rows:
        if len(table) == IMPORT_LINES_MAX or filled > IMPORT_ROWS_MAX + 1:
            raise InvalidInput("activities.import_too_many_rows", max=IMPORT_ROWS_MAX)
        cells = row[:IMPORT_COLUMNS_MAX]
        if any(cell is not None and str(cell).strip() for cell in cells):
            filled += 1
            table.append(cells)
        else:
            table.append([])  # keeps the row numbers people see in their spreadsheet
    return table


def _read_csv(content: bytes) -> list[Sequence[object]]:
    if b"\x00" in content[:4096]:
        raise InvalidInput("activities.import_wrong_type")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("activities.import_not_utf8") from None
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    try:
        return _bounded(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error:  # a field past the csv module's limit, a NUL further down…
        raise InvalidInput("activities.import_wrong_type") from None


def _check_archive(content: bytes) -> None:
    """Refuse a zip whose parts would unpack past the limits, before anything is unpacked. The
    sizes are the ones the zip declares; zipfile never unpacks more than a part declares
    (it stops there, and a wrong checksum fails the read), so they bound the real work."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise InvalidInput("activities.import_wrong_type") from None
    limit = {"max": IMPORT_UNPACKED_MAX // 1_000_000}
    if len(parts) > IMPORT_PARTS_MAX:
        raise InvalidInput("activities.import_unpacked_too_big", **limit)
    if sum(part.file_size for part in parts) > IMPORT_UNPACKED_MAX:
        raise InvalidInput("activities.import_unpacked_too_big", **limit)
    for part in parts:
        if part.file_size > 1_000_000 and part.file_size > IMPORT_RATIO_MAX * part.compress_size:
            raise InvalidInput("activities.import_unpacked_too_big", **limit)


def _read_xlsx(content: bytes) -> list[Sequence[object]]:
    from openpyxl import load_workbook

    _check_archive(content)
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # a hostile or broken file can make the parser raise anything
        raise InvalidInput("activities.import_wrong_type") from None
    try:
        sheet = workbook.active
        if sheet is None:
            raise InvalidInput("activities.import_empty")
        # The declared <dimension> is not trusted: "A1:XFD1048576" would pad every row to
        # 16,384 cells and add a million blank rows. Rows are read as they are in the file,
        # only the first columns, and reading stops at the first limit passed.
        sheet.reset_dimensions()
        return _bounded(sheet.iter_rows(max_col=IMPORT_COLUMNS_MAX, values_only=True))
    except InvalidInput:
        raise
    except Exception:
        raise InvalidInput("activities.import_wrong_type") from None
    finally:
        workbook.close()
