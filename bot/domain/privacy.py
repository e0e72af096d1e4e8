"""A person's copy and erasure: who is erased, what was released, reports."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from bot.domain.activities import Registration, RegistrationStatus

# Replaces the person's name, phone or email inside text they wrote that is kept for others
# (an accepted initiative, an activity description, an announcement they sent).
ERASED = "***"


@dataclass(frozen=True, slots=True)
class DataSubject:
    """The person being copied or erased, as the members row knew them."""

    member_id: int
    telegram_id: int | None
    full_name: str
    phone: str | None
    email: str | None
    created_at: str
    zalo_id: str | None = None

    @property
    def flow_keys(self) -> tuple[str, str]:
        """Their flow state's keys on each channel (see storage.conversations)."""
        return (f"telegram:{self.telegram_id}", f"zalo:{self.zalo_id}")

    def scrub(self, text: str) -> str:
        """``text`` with this person's name, phone and email replaced by ``ERASED``."""
        if not text:
            return text
        normal = unicodedata.normalize("NFC", text)
        scrubbed = normal
        for pattern in _identity_patterns(self):
            scrubbed = pattern.sub(ERASED, scrubbed)
        return text if scrubbed == normal else scrubbed


@dataclass(frozen=True, slots=True)
class ReleasedSeat:
    """An upcoming registration the erasure cancelled, and whom it promoted from the waitlist."""

    activity_id: int
    was: RegistrationStatus
    promoted: tuple[Registration, ...]


@dataclass(frozen=True, slots=True)
class ErasureReport:
    member_id: int
    released: tuple[ReleasedSeat, ...]
    dropped_announcements: int  # pending broadcast deliveries removed from the outbox
    rows: Mapping[str, int]  # table → rows erased, anonymised or deleted


@dataclass(frozen=True, slots=True)
class ErasedMember:
    """One erasure as another copy of the database records it (no personal data)."""

    member_id: int
    created_at: str
    erased_at: str


@dataclass(frozen=True, slots=True)
class ReapplyReport:
    applied: list[int]
    already: list[int]
    unknown: list[int]  # no such member in this copy (they joined after it was taken)
    mismatched: list[int]  # a different person has that id here: left alone


def _identity_patterns(person: DataSubject) -> list[re.Pattern[str]]:
    patterns: list[re.Pattern[str]] = []
    words = unicodedata.normalize("NFC", person.full_name).split()
    if words:
        name = r"\s+".join(re.escape(w) for w in words)
        patterns.append(re.compile(rf"(?<!\w){name}(?!\w)", re.IGNORECASE))
    if person.email:
        patterns.append(re.compile(re.escape(person.email), re.IGNORECASE))
    if person.phone:
        # Written as stored (+84912345678), without the plus, or nationally (0912 345 678).
        gap = r"[\s.\-]?"
        digits = person.phone.lstrip("+")
        forms = [r"\+?" + gap.join(digits)]
        if digits.startswith("84") and len(digits) > 4:
            forms.append("0" + gap.join(digits[2:]))
        patterns.append(re.compile(r"(?<!\d)(?:" + "|".join(forms) + r")(?!\d)"))
    return patterns
