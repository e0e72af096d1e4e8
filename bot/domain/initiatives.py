"""“Tuổi trẻ sáng tạo” initiatives: lifecycle states, cards, history, attachments."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from bot.domain.members import Channel

TEXT_FIELDS = ("problem", "solution", "benefit")
REQUIRED_FIELDS = ("title", "field", *TEXT_FIELDS)
T = TypeVar("T")


class InitiativeStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    IN_REVIEW = "in_review"
    NEEDS_REVISION = "needs_revision"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    RECOGNISED = "recognised"
    WITHDRAWN = "withdrawn"


class InitiativeField(enum.StrEnum):
    DIGITAL = "digital"  # chuyển đổi số
    ADMINISTRATIVE = "administrative"  # cải cách hành chính
    PROFESSIONAL = "professional"  # chuyên môn, nghiệp vụ
    RESEARCH = "research"  # nghiên cứu khoa học
    COMMUNITY = "community"  # cộng đồng, xã hội
    OTHER = "other"


class RecognitionLevel(enum.StrEnum):
    UNIT = "unit"  # by the member's own union organisation
    BLOC = "bloc"  # by the bloc-level union (Đoàn Khối)


class Party(enum.StrEnum):
    """How a person stands towards one initiative; decides what they may do with it."""

    AUTHOR = "author"
    UNIT_CADRE = "unit_cadre"  # cadre of the unit the initiative belongs to
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Transition:
    parties: frozenset[Party]
    comment_required: bool = False


class InitiativeChanged(Exception):
    """Someone else changed the initiative since the presser's view was drawn."""

    def __init__(self, current: Initiative) -> None:
        super().__init__(f"initiative {current.id} changed")
        self.current = current


@dataclass(frozen=True, slots=True)
class Initiative:
    id: int
    code: str | None
    author_member_id: int
    unit_id: int
    title: str
    field: InitiativeField | None
    problem: str
    solution: str
    benefit: str
    coauthors: str
    status: InitiativeStatus
    recognition_level: RecognitionLevel | None
    version: int
    attachment_count: int
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    decided_at: datetime | None

    def missing(self) -> list[str]:
        """Required parts not written yet, in the order the flow asks for them."""
        return [name for name in REQUIRED_FIELDS if not getattr(self, name)]


@dataclass(frozen=True, slots=True)
class InitiativeCard:
    """An initiative with what a reader needs around it."""

    initiative: Initiative
    author_name: str
    unit_name: str
    supports: int
    supported_by_viewer: bool


@dataclass(frozen=True, slots=True)
class Attachment:
    id: int
    initiative_id: int
    kind: str  # "document" | "photo"
    file_id: str  # the channel's reference: a Telegram file id, a Zalo image stored by the bot
    file_unique_id: str
    name: str
    size: int | None
    mime: str | None
    channel: Channel = Channel.TELEGRAM  # whose reference ``file_id`` is


@dataclass(frozen=True, slots=True)
class NewAttachment:
    kind: str
    file_id: str
    file_unique_id: str
    name: str
    size: int | None
    mime: str | None
    channel: Channel = Channel.TELEGRAM


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    at: datetime
    actor_name: str  # "" for someone without a member profile (a config admin) or forgotten
    actor_role: str
    from_status: InitiativeStatus
    to_status: InitiativeStatus
    comment: str | None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    page: int
    pages: int
    total: int


@dataclass(frozen=True, slots=True)
class StatusChange:
    before: Initiative
    after: Initiative
    party: Party
    comment: str | None
