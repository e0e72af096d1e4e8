"""Linking a second channel account to a member: what typing a code came to."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class LinkOutcome(enum.StrEnum):
    LINKED = "linked"
    UNKNOWN_CODE = "unknown_code"  # wrong, expired, used, or made for another channel
    ALREADY_YOURS = "already_yours"  # the account already belongs to the code's member
    ACCOUNT_TAKEN = "account_taken"  # the account belongs to another member
    MEMBER_HAS_ACCOUNT = "member_has_account"  # the member has another account there


@dataclass(frozen=True, slots=True)
class Redeemed:
    outcome: LinkOutcome
    member_id: int | None = None


@dataclass(frozen=True, slots=True)
class LinkAttempts:
    """Wrong codes typed from one channel account, and until when it must wait."""

    failures: int
    first_failed_at: datetime
    locked_until: datetime | None


@dataclass(frozen=True, slots=True)
class IssuedCode:
    code: str  # shown once; only its hash is kept
    expires_at: datetime
