"""Attendance (SPEC 2.2): check-in by short-lived codes, walk-ins confirmed by a cadre, and the
cadre's corrections, each kept with who, when and why.

A code belongs to one activity and one time window (``CODE_WINDOW_S``): it is an HMAC of the
activity's secret, the activity id and the window's number, as a deep link
(``ci_<activity>_<window>_<mac>``) and as six digits to type (``/checkin 123456``, or on a
channel without deep links). A code is accepted in its own window and the next one, so a
forwarded picture or link stops working within two windows. Typed codes are few enough to guess,
so wrong ones are counted per member (a few, then a pause).

Knows nothing of Telegram; the typed-code path needs nothing but text, so other channels reuse it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import segno

from bot.access import authorize
from bot.activities import CHECKIN_OPENS_BEFORE, ActivityService, ActivityStatus, new_checkin_token
from bot.clock import Clock
from bot.domain.activities import Activity, Registrant, Registration, RegistrationStatus
from bot.domain.attendance import (
    AttendanceChange,
    CheckinOutcome,
    CorrectionOutcome,
    DecisionOutcome,
    Manager,
    WalkInRequest,
)
from bot.domain.errors import InvalidInput
from bot.domain.members import Action, Actor
from storage.activities import ActivityRepository
from storage.attendance import AttendanceRepository

__all__ = [
    "AttendanceService",
    "CheckinOutcome",
    "CheckinQr",
    "CheckinReply",
    "CorrectionOutcome",
    "DecisionOutcome",
    "WalkInDecision",
    "WalkInRequest",
]

CODE_WINDOW_S = 60
CODE_DIGITS = 6
MAC_CHARS = 16  # 96 bits of the HMAC, base64url
WRONG_CODES_LIMIT = 5
WRONG_CODES_SPAN_S = 10 * 60
WRONG_CODES_PAUSE_S = 10 * 60
REASON_MAX = 200
WALK_INS_SHOWN = 5
# ASCII digits only: ``\d`` would also take other scripts' digits (found by the fuzz suite).
_PAYLOAD = re.compile(rf"^([0-9]{{1,12}})_([0-9]{{1,12}})_([A-Za-z0-9_-]{{{MAC_CHARS}}})$")
_CODE = re.compile(rf"^[0-9]{{{CODE_DIGITS}}}$")


def window_of(moment: datetime) -> int:
    """The number of the code window ``moment`` falls in (windows start at the epoch)."""
    return int(moment.timestamp()) // CODE_WINDOW_S


def window_start(window: int) -> datetime:
    return datetime.fromtimestamp(window * CODE_WINDOW_S, tz=UTC)


def _mac(secret: str, purpose: str, activity_id: int, window: int) -> bytes:
    message = f"{purpose}|{activity_id}|{window}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def link_mac(secret: str, activity_id: int, window: int) -> str:
    digest = _mac(secret, "link", activity_id, window)
    return base64.urlsafe_b64encode(digest).decode()[:MAC_CHARS]


def short_code(secret: str, activity_id: int, window: int) -> str:
    digest = _mac(secret, "code", activity_id, window)
    return f"{int.from_bytes(digest[:8], 'big') % 10**CODE_DIGITS:0{CODE_DIGITS}d}"


def checkin_payload(secret: str, activity_id: int, window: int) -> str:
    """The part after ``/start ci_``: [A-Za-z0-9_-], at most 64 characters with the prefix."""
    return f"{activity_id}_{window}_{link_mac(secret, activity_id, window)}"


def parse_code(text: str) -> str | None:
    """Six digits, however spaced (``123 456``); full-width digits count too."""
    digits = "".join(unicodedata.normalize("NFKC", text).split())
    return digits if _CODE.match(digits) else None


def parse_reason(text: str | None) -> str:
    reason = " ".join(unicodedata.normalize("NFC", text or "").split())
    reason = "".join(ch for ch in reason if unicodedata.category(ch) != "Cc")
    if not 2 <= len(reason) <= REASON_MAX:
        raise InvalidInput("attendance.reason_invalid", max=REASON_MAX)
    return reason


@dataclass(frozen=True, slots=True)
class CheckinQr:
    png: bytes | None  # None with the link: no channel with deep links is running
    link: str | None
    code: str
    activity: Activity
    valid_from: datetime  # the activity's check-in opens
    valid_until: datetime  # and closes
    window: int
    next_change_at: datetime  # when a new code replaces this one on the screen


@dataclass(frozen=True, slots=True)
class CheckinReply:
    activity: Activity
    outcome: CheckinOutcome
    attended_at: datetime | None = None
    hours: float = 0.0
    person_days: float = 0.0
    request: WalkInRequest | None = None
    managers: tuple[Manager, ...] = ()  # to be told about a new walk-in


@dataclass(frozen=True, slots=True)
class AttendanceUpdate:
    activity: Activity
    registration: Registration
    outcome: CorrectionOutcome


@dataclass(frozen=True, slots=True)
class WalkInDecision:
    activity: Activity
    outcome: DecisionOutcome  # DECIDED, or ALREADY (decided earlier: nothing more done)
    request: WalkInRequest
    hours: float
    person_days: float


class AttendanceService:
    def __init__(
        self,
        activities: ActivityService,
        activity_repository: ActivityRepository,
        repository: AttendanceRepository,
        clock: Clock,
    ) -> None:
        self._activities = activities
        self._activity_repository = activity_repository
        self._repository = repository
        self._clock = clock

    @property
    def repository(self) -> AttendanceRepository:
        return self._repository

    def checkin_window(self, activity: Activity) -> tuple[datetime, datetime]:
        return activity.starts_at - CHECKIN_OPENS_BEFORE, activity.ends_at

    def _local(self, moment: datetime) -> str:
        return moment.astimezone(self._activities.tz).strftime("%H:%M %d/%m/%Y")

    # --- showing the code ------------------------------------------------------------------

    async def checkin_qr(
        self, actor: Actor, activity_id: int, bot_username: str | None
    ) -> CheckinQr:
        """The code of the current window, as a QR picture of a link and six digits (the
        digits alone when no bot username is known: no channel with links is running)."""
        activity = await self._activities.manageable(actor, activity_id)
        if activity.status is ActivityStatus.CANCELLED:
            raise InvalidInput("activities.already_cancelled")
        now = self._clock.now()
        secret = await self._repository.secret(activity_id)
        if secret is None:
            secret = await self._repository.ensure_secret(activity_id, new_checkin_token(), now)
        window = window_of(now)
        link: str | None = None
        png: bytes | None = None
        if bot_username:
            payload = checkin_payload(secret, activity_id, window)
            link = f"https://t.me/{bot_username}?start=ci_{payload}"
            buffer = io.BytesIO()
            segno.make(link, error="m").save(buffer, kind="png", scale=10, border=4)
            png = buffer.getvalue()
        valid_from, valid_until = self.checkin_window(activity)
        return CheckinQr(
            png=png,
            link=link,
            code=short_code(secret, activity_id, window),
            activity=activity,
            valid_from=valid_from,
            valid_until=valid_until,
            window=window,
            next_change_at=window_start(window + 1),
        )

    # --- checking in -----------------------------------------------------------------------

    async def check_in_link(self, actor: Actor, payload: str) -> CheckinReply:
        """``/start ci_<payload>``: a scanned QR code or a tapped link."""
        authorize(actor, Action.USE_MEMBER_FEATURES)
        match = _PAYLOAD.match(payload)
        if match is None:
            raise InvalidInput("activities.checkin_invalid")
        activity_id, window, mac = int(match[1]), int(match[2]), match[3]
        secret = await self._repository.secret(activity_id)
        if secret is None or not hmac.compare_digest(
            mac.encode(), link_mac(secret, activity_id, window).encode()
        ):
            raise InvalidInput("activities.checkin_invalid")
        current = window_of(self._clock.now())
        if window > current:
            raise InvalidInput("activities.checkin_invalid")
        activity = await self._activity_repository.get(activity_id)
        if activity is None:
            raise InvalidInput("activities.checkin_invalid")
        if window < current - 1:
            raise InvalidInput("attendance.code_expired", title=activity.title)
        return await self._check_in(actor, activity)

    async def check_in_code(self, actor: Actor, text: str) -> CheckinReply:
        """Six typed digits: the code of an activity whose check-in is open now."""
        authorize(actor, Action.USE_MEMBER_FEATURES)
        member = actor.member
        assert member is not None
        code = parse_code(text)
        if code is None:
            raise InvalidInput("attendance.code_format", digits=CODE_DIGITS)
        now = self._clock.now()
        locked = await self._repository.code_lock(member.id, now)
        if locked is not None:
            raise InvalidInput("attendance.code_locked", until=self._local(locked))
        current = window_of(now)
        matches: list[int] = []
        for activity_id, secret in await self._repository.open_secrets(
            now, now + CHECKIN_OPENS_BEFORE
        ):
            for window in (current, current - 1):
                if hmac.compare_digest(
                    code.encode(), short_code(secret, activity_id, window).encode()
                ):
                    matches.append(activity_id)
                    break
        if not matches:
            until = await self._repository.wrong_code(
                member.id,
                now,
                limit=WRONG_CODES_LIMIT,
                span_s=WRONG_CODES_SPAN_S,
                pause_s=WRONG_CODES_PAUSE_S,
            )
            if until is not None:
                raise InvalidInput("attendance.code_locked", until=self._local(until))
            raise InvalidInput("attendance.code_wrong")
        await self._repository.clear_wrong_codes(member.id)
        activity = await self._pick(actor, matches)
        return await self._check_in(actor, activity)

    async def _pick(self, actor: Actor, activity_ids: Sequence[int]) -> Activity:
        """Two open activities sharing a six-digit code is rare; prefer the member's own."""
        assert actor.member is not None
        mine = await self._activity_repository.registrations_of(actor.member.id, activity_ids)
        ordered = sorted(
            activity_ids,
            key=lambda a: mine.get(a) is None or mine[a].status is not RegistrationStatus.CONFIRMED,
        )
        activities = [a for a in [await self._activity_repository.get(i) for i in ordered] if a]
        visible = [a for a in activities if self._activities.visible_to(actor, a)]
        chosen = (visible or activities)[0]
        return chosen

    async def _check_in(self, actor: Actor, activity: Activity) -> CheckinReply:
        member = actor.member
        assert member is not None
        if activity.status is ActivityStatus.CANCELLED:
            raise InvalidInput("activities.refused_cancelled")
        now = self._clock.now()
        opens, closes = self.checkin_window(activity)
        if now < opens:
            raise InvalidInput(
                "activities.checkin_too_early", title=activity.title, opens=self._local(opens)
            )
        if now > closes:
            raise InvalidInput("activities.checkin_expired", title=activity.title)
        result = await self._repository.check_in(
            activity.id, member.id, now, allow_walk_in=self._activities.visible_to(actor, activity)
        )
        managers: tuple[Manager, ...] = ()
        if result.outcome is CheckinOutcome.WALK_IN_REQUESTED:
            managers = tuple(await self._repository.managers(activity.unit_id))
        record = result.record
        hours = record.hours if record is not None else 0.0
        return CheckinReply(
            activity=activity,
            outcome=result.outcome,
            attended_at=record.recorded_at if record is not None else None,
            hours=hours,
            person_days=self._activities.person_days(hours),
            request=result.request,
            managers=managers,
        )

    # --- the cadre's side ------------------------------------------------------------------

    async def _correctable(self, actor: Actor, activity_id: int) -> Activity:
        activity = await self._activities.manageable(actor, activity_id)
        if activity.status is ActivityStatus.CANCELLED:
            raise InvalidInput("activities.already_cancelled")
        opens = self.checkin_window(activity)[0]
        if self._clock.now() < opens:
            raise InvalidInput("activities.attendance_too_early", opens=self._local(opens))
        return activity

    async def set_attendance(
        self,
        actor: Actor,
        activity_id: int,
        registration_id: int,
        present: bool,
        reason: str | None = None,
    ) -> AttendanceUpdate:
        """A cadre of the activity's unit (or an admin) records presence, or absence with a
        reason; asking for the state already recorded changes nothing."""
        activity = await self._correctable(actor, activity_id)
        registration = await self._activity_repository.registration_by_id(registration_id)
        if registration is None or registration.activity_id != activity.id:
            raise InvalidInput("activities.not_registered")
        if registration.status is not RegistrationStatus.CONFIRMED:
            raise InvalidInput("activities.attendance_needs_seat")
        cleaned = None if present else parse_reason(reason)
        correction = await self._repository.correct(
            activity.id,
            registration.member_id,
            present=present,
            by=actor.actor_id,
            reason=cleaned,
            now=self._clock.now(),
        )
        if correction.outcome is CorrectionOutcome.NEEDS_SEAT:
            raise InvalidInput("activities.attendance_needs_seat")
        updated = await self._activity_repository.registration_by_id(registration_id)
        after = await self._activity_repository.get(activity.id)
        assert updated is not None and after is not None
        return AttendanceUpdate(after, updated, correction.outcome)

    async def registrant(
        self, actor: Actor, activity_id: int, registration_id: int
    ) -> tuple[Activity, Registrant]:
        """One confirmed registrant with their name (for the "why absent?" question)."""
        activity = await self._correctable(actor, activity_id)
        registrant = await self._activity_repository.registrant(registration_id)
        if registrant is None or registrant.registration.activity_id != activity.id:
            raise InvalidInput("activities.not_registered")
        if registrant.registration.status is not RegistrationStatus.CONFIRMED:
            raise InvalidInput("activities.attendance_needs_seat")
        return activity, registrant

    async def decide_walk_in(
        self, actor: Actor, activity_id: int, member_id: int, confirm: bool
    ) -> WalkInDecision:
        """Confirm (takes a seat if one is free, then credits the hours) or decline, once:
        a second press or an old copy changes nothing and says what was decided."""
        activity = await self._correctable(actor, activity_id)
        decision = await self._repository.decide_walk_in(
            activity.id, member_id, confirm=confirm, by=actor.actor_id, now=self._clock.now()
        )
        if decision.outcome is DecisionOutcome.NOT_FOUND or decision.request is None:
            raise InvalidInput("attendance.walk_in_gone")
        if decision.outcome is DecisionOutcome.FULL:
            raise InvalidInput(
                "attendance.walk_in_full",
                name=decision.request.full_name,
                capacity=activity.capacity,
            )
        after = await self._activity_repository.get(activity.id)
        assert after is not None
        hours = decision.record.hours if decision.record is not None else 0.0
        return WalkInDecision(
            after, decision.outcome, decision.request, hours, self._activities.person_days(hours)
        )

    async def pending_walk_ins(
        self, actor: Actor, activity_id: int
    ) -> tuple[list[WalkInRequest], int]:
        await self._activities.manageable(actor, activity_id)
        return await self._repository.pending_walk_ins(activity_id, limit=WALK_INS_SHOWN)

    async def history(
        self, actor: Actor, activity_id: int, registration_id: int
    ) -> list[AttendanceChange]:
        """Every record and correction of one registrant's attendance, oldest first."""
        activity = await self._activities.manageable(actor, activity_id)
        registration = await self._activity_repository.registration_by_id(registration_id)
        if registration is None or registration.activity_id != activity.id:
            raise InvalidInput("activities.not_registered")
        return await self._repository.changes(activity.id, registration.member_id)


def next_refresh(now: datetime) -> timedelta:
    """How long until the code on screen changes."""
    return window_start(window_of(now) + 1) - now
