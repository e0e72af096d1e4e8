"""Privacy (SPEC 2.7): a member's copy of everything held about them (/mydata) and the erasure
of it (/forgetme). The tables and what each step does live in ``storage.privacy.PERSONAL_DATA``;
this service adds the summary and the follow-ups of an erasure. No Telegram imports.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.activities import ActivityService, Promotion
from bot.clock import Clock
from bot.domain.members import Member
from bot.domain.privacy import ErasedMember, ReapplyReport
from bot.figures import person_days, total_hours
from storage.privacy import PrivacyRepository

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DataSummary:
    """Counts of what the document holds, for the message that comes with it."""

    registrations: int
    attended: int
    hours: float
    person_days: float
    initiatives: int
    supports_given: int
    announcements: int


@dataclass(frozen=True, slots=True)
class PersonalData:
    document: dict[str, Any]
    summary: DataSummary

    def to_json(self) -> bytes:
        """Readable UTF-8: Vietnamese as itself (no ``\\u`` escapes), indented."""
        return json.dumps(self.document, ensure_ascii=False, indent=2).encode("utf-8")


@dataclass(frozen=True, slots=True)
class ForgetResult:
    erased: bool  # False: there was nothing left to erase (a second tap, a stale press)
    released_seats: int
    promotions: list[Promotion]
    dropped_announcements: int


class PrivacyService:
    def __init__(
        self,
        repository: PrivacyRepository,
        activities: ActivityService,
        clock: Clock,
        *,
        hours_per_day: float,
    ) -> None:
        self._repository = repository
        self._activities = activities
        self._clock = clock
        self._hours_per_day = hours_per_day
        # Told the member id after each erasure: the outboxes drop what they hold in memory
        # for that member (the database rows are gone already).
        self.erasure_listeners: list[Callable[[int], None]] = []

    async def my_data(self, member: Member) -> PersonalData | None:
        """Everything held about ``member`` (None once they are erased)."""
        sections = await self._repository.copy(member.id)
        if sections is None:
            return None
        attendance = sections.get("attendance", [])
        hours = total_hours(float(a["hours"]) for a in attendance)
        summary = DataSummary(
            registrations=len(sections.get("registrations", [])),
            attended=len(attendance),
            hours=hours,
            person_days=person_days(hours, self._hours_per_day),
            initiatives=len(sections.get("initiatives", [])),
            supports_given=len(sections.get("supports_given", [])),
            announcements=len(sections.get("announcements_received", [])),
        )
        document: dict[str, Any] = {
            "about": "Nhịp Cầu — dữ liệu lưu về bạn (Nghị định 13/2023/NĐ-CP)",
            "generated_at": self._clock.now().isoformat(),
            "times": "UTC, ISO 8601",
            "summary": {
                "registrations": summary.registrations,
                "attended": summary.attended,
                "hours": summary.hours,
                "person_days": summary.person_days,
                "hours_per_person_day": self._hours_per_day,
                "initiatives": summary.initiatives,
                "supports_given": summary.supports_given,
                "announcements_received": summary.announcements,
            },
            **sections,
        }
        return PersonalData(document, summary)

    async def forget(self, member: Member) -> ForgetResult:
        """Erase the member everywhere (one transaction), then tell whoever got their seats."""
        report = await self._repository.erase(member.id, self._clock.now())
        if report is None:
            return ForgetResult(False, 0, [], 0)
        for listener in self.erasure_listeners:
            listener(member.id)
        promotions: list[Promotion] = []
        for seat in report.released:
            promotions += await self._activities.promotions(seat.activity_id, seat.promoted)
        if promotions:  # their notices were written with the erasure: send them now
            self._activities.notices_queued()
        # The member id only: nothing that names the person reaches the logs.
        log.info(
            "erased member %s: %d seats released, %d promoted, %d announcements dropped",
            member.id,
            len(report.released),
            len(promotions),
            report.dropped_announcements,
        )
        return ForgetResult(True, len(report.released), promotions, report.dropped_announcements)

    async def erased_members(self) -> list[ErasedMember]:
        return await self._repository.erased_members()

    async def reapply(self, erased: list[ErasedMember]) -> ReapplyReport:
        """Apply erasures recorded elsewhere to this database (after restoring a backup)."""
        return await self._repository.reapply(erased, self._clock.now())
