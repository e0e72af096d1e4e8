""" "Tuổi trẻ sáng tạo" initiatives (SPEC 2.4): drafting, the lifecycle as one transition table,
review by the author's unit cadre (or an admin), tracking, browsing and supports.

No Telegram here: plain values in and out; bad input raises ``InvalidInput`` (a catalogue key),
role or unit violations ``NotAllowed``, and a press made on an outdated view ``InitiativeChanged``.
"""

from __future__ import annotations

import posixpath
import unicodedata
from collections.abc import Mapping
from datetime import tzinfo
from typing import TYPE_CHECKING

from bot.clock import Clock
from bot.domain.errors import InvalidInput, NotAllowed
from bot.domain.initiatives import (
    TEXT_FIELDS,
    Attachment,
    HistoryEntry,
    Initiative,
    InitiativeCard,
    InitiativeChanged,
    InitiativeField,
    InitiativeStatus,
    NewAttachment,
    Page,
    Party,
    RecognitionLevel,
    StatusChange,
    Transition,
)
from bot.domain.members import Actor

if TYPE_CHECKING:
    from storage.initiatives import InitiativeRepository


S = InitiativeStatus
_AUTHOR = frozenset({Party.AUTHOR})
_REVIEWERS = frozenset({Party.UNIT_CADRE, Party.ADMIN})

# The lifecycle: every allowed change of state and who may make it. Anything else is refused.
TRANSITIONS: Mapping[tuple[InitiativeStatus, InitiativeStatus], Transition] = {
    (S.DRAFT, S.SUBMITTED): Transition(_AUTHOR),
    (S.NEEDS_REVISION, S.SUBMITTED): Transition(_AUTHOR),
    (S.SUBMITTED, S.IN_REVIEW): Transition(_REVIEWERS),
    (S.IN_REVIEW, S.NEEDS_REVISION): Transition(_REVIEWERS, comment_required=True),
    (S.IN_REVIEW, S.ACCEPTED): Transition(_REVIEWERS),
    (S.IN_REVIEW, S.REJECTED): Transition(_REVIEWERS, comment_required=True),
    (S.ACCEPTED, S.RECOGNISED): Transition(_REVIEWERS),
    (S.DRAFT, S.WITHDRAWN): Transition(_AUTHOR),
    (S.SUBMITTED, S.WITHDRAWN): Transition(_AUTHOR),
    (S.NEEDS_REVISION, S.WITHDRAWN): Transition(_AUTHOR),
}

# A unit cadre recognises at unit level; bloc-level recognition is the bloc union's (admins').
RECOGNITION_LEVELS: Mapping[Party, frozenset[RecognitionLevel]] = {
    Party.UNIT_CADRE: frozenset({RecognitionLevel.UNIT}),
    Party.ADMIN: frozenset({RecognitionLevel.UNIT, RecognitionLevel.BLOC}),
}

EDITABLE_STATUSES = frozenset({S.DRAFT, S.NEEDS_REVISION})
PUBLIC_STATUSES = frozenset({S.ACCEPTED, S.RECOGNISED})
QUEUE_STATUSES = (S.SUBMITTED, S.IN_REVIEW)

TITLE_MIN, TITLE_MAX = 5, 200
TEXT_MAX = 4000
COAUTHORS_MAX = 500
COMMENT_MAX = 1000
MAX_ATTACHMENTS = 5
MAX_FILE_BYTES = 20 * 1024 * 1024  # what a bot may download through the Bot API
MAX_OPEN_DRAFTS = 10
PAGE_SIZE = 6


BLOCKED_EXTENSIONS = frozenset(
    {
        "exe", "com", "bat", "cmd", "msi", "msp", "msc", "scr", "pif", "cpl", "dll", "sys",
        "vbs", "vbe", "js", "jse", "wsf", "wsh", "hta", "ps1", "psm1", "sh", "bash", "run",
        "bin", "jar", "apk", "aab", "app", "dmg", "pkg", "deb", "rpm", "appimage", "elf",
        "lnk", "reg", "gadget", "inf", "scf", "xbap", "ipa",
    }
)  # fmt: skip
BLOCKED_MIME_TYPES = frozenset(
    {
        "application/x-msdownload",
        "application/x-msdos-program",
        "application/x-ms-installer",
        "application/x-msi",
        "application/x-dosexec",
        "application/x-executable",
        "application/x-elf",
        "application/x-sharedlib",
        "application/x-mach-binary",
        "application/x-sh",
        "application/x-shellscript",
        "application/x-bat",
        "application/x-csh",
        "application/java-archive",
        "application/x-java-archive",
        "application/vnd.android.package-archive",
        "application/vnd.microsoft.portable-executable",
        "application/x-apple-diskimage",
        "application/hta",
        "text/javascript",
        "application/javascript",
        "application/x-javascript",
        "text/vbscript",
    }
)


# --- pure rules ---------------------------------------------------------------------------


def parties_of(actor: Actor, initiative: Initiative) -> frozenset[Party]:
    """The author is only the author: nobody reviews their own initiative, whatever their role."""
    if actor.member is not None and actor.member.id == initiative.author_member_id:
        return _AUTHOR
    if actor.is_admin:
        return frozenset({Party.ADMIN})
    if actor.is_cadre and actor.cadre_unit_id == initiative.unit_id:
        return frozenset({Party.UNIT_CADRE})
    return frozenset()


def transition_for(current: InitiativeStatus, target: InitiativeStatus) -> Transition | None:
    return TRANSITIONS.get((current, target))


def may_transition(
    current: InitiativeStatus, target: InitiativeStatus, parties: frozenset[Party]
) -> bool:
    rule = TRANSITIONS.get((current, target))
    return rule is not None and bool(rule.parties & parties)


def allowed_targets(initiative: Initiative, parties: frozenset[Party]) -> list[InitiativeStatus]:
    """What the person may turn the initiative into now (the buttons to show), table order."""
    return [
        target
        for (source, target), rule in TRANSITIONS.items()
        if source is initiative.status and rule.parties & parties
    ]


def recognition_levels(parties: frozenset[Party]) -> list[RecognitionLevel]:
    allowed: set[RecognitionLevel] = set()
    for party in parties:
        allowed |= RECOGNITION_LEVELS.get(party, frozenset())
    return [level for level in RecognitionLevel if level in allowed]


def _clean_multiline(text: str) -> str:
    """NFC, no control characters except newlines and tabs, trimmed at both ends."""
    normal = unicodedata.normalize("NFC", text.replace("\r\n", "\n"))
    kept = "".join(
        ch for ch in normal if ch in "\n\t" or not unicodedata.category(ch).startswith("C")
    )
    return kept.strip()


def clean_title(text: str) -> str:
    title = " ".join(_clean_multiline(text).split())
    if not TITLE_MIN <= len(title) <= TITLE_MAX:
        raise InvalidInput(
            "initiatives.title_length", min=TITLE_MIN, max=TITLE_MAX, length=len(title)
        )
    return title


def clean_text(text: str, *, limit: int = TEXT_MAX) -> str:
    value = _clean_multiline(text)
    if not value:
        raise InvalidInput("initiatives.text_empty")
    if len(value) > limit:
        raise InvalidInput("initiatives.text_too_long", max=limit, length=len(value))
    return value


def clean_coauthors(text: str) -> str:
    value = " ".join(_clean_multiline(text).split())
    if len(value) > COAUTHORS_MAX:
        raise InvalidInput("initiatives.text_too_long", max=COAUTHORS_MAX, length=len(value))
    return value


def clean_comment(text: str | None) -> str | None:
    if text is None:
        return None
    value = _clean_multiline(text)
    if len(value) > COMMENT_MAX:
        raise InvalidInput("initiatives.text_too_long", max=COMMENT_MAX, length=len(value))
    return value or None


def check_attachment(new: NewAttachment) -> None:
    """Refuse what a bot cannot download (over 20 MB) and executables, by name and type."""
    if new.size is not None and new.size > MAX_FILE_BYTES:
        raise InvalidInput(
            "initiatives.file_too_big",
            max_mb=MAX_FILE_BYTES // (1024 * 1024),
            size_mb=f"{new.size / (1024 * 1024):.1f}",
        )
    extension = posixpath.splitext(new.name.strip().lower().rstrip("."))[1].lstrip(".")
    mime = (new.mime or "").split(";")[0].strip().lower()
    if extension in BLOCKED_EXTENSIONS or mime in BLOCKED_MIME_TYPES:
        raise InvalidInput("initiatives.file_blocked", name=new.name)


# --- the service --------------------------------------------------------------------------


class InitiativeService:
    def __init__(self, repository: InitiativeRepository, clock: Clock, tz: tzinfo) -> None:
        self._repo = repository
        self._clock = clock
        self._tz = tz

    # --- reading --------------------------------------------------------------------------

    async def _load(self, initiative_id: int) -> Initiative:
        initiative = await self._repo.get(initiative_id)
        if initiative is None:
            raise InvalidInput("initiatives.not_found")
        return initiative

    async def get(self, actor: Actor, initiative_id: int) -> Initiative:
        """The initiative if the person may see it: author, its reviewers, or anyone once public."""
        initiative = await self._load(initiative_id)
        self._check_can_see(actor, initiative)
        return initiative

    def _check_can_see(self, actor: Actor, initiative: Initiative) -> None:
        if parties_of(actor, initiative):
            return
        if initiative.status in PUBLIC_STATUSES and actor.member is not None:
            return
        raise NotAllowed("initiatives.not_yours")

    async def card(self, actor: Actor, initiative_id: int) -> InitiativeCard:
        initiative = await self.get(actor, initiative_id)
        card = await self._repo.card(initiative.id, actor.member.id if actor.member else None)
        assert card is not None
        return card

    async def history(self, actor: Actor, initiative_id: int) -> list[HistoryEntry]:
        await self.get(actor, initiative_id)
        return await self._repo.history(initiative_id)

    async def attachments(self, actor: Actor, initiative_id: int) -> list[Attachment]:
        """Files are for the author and the reviewers, not for every reader of a public one."""
        initiative = await self._load(initiative_id)
        if not parties_of(actor, initiative):
            raise NotAllowed("initiatives.not_yours")
        return await self._repo.attachments(initiative_id)

    def parties(self, actor: Actor, initiative: Initiative) -> frozenset[Party]:
        return parties_of(actor, initiative)

    # --- drafting -------------------------------------------------------------------------

    def _author(self, actor: Actor) -> int:
        if actor.member is None or actor.member.unit_id is None:
            raise NotAllowed("access.not_member")
        return actor.member.id

    async def _editable(self, actor: Actor, initiative_id: int) -> Initiative:
        initiative = await self._load(initiative_id)
        if parties_of(actor, initiative) != _AUTHOR:
            raise NotAllowed("initiatives.not_yours")
        if initiative.status not in EDITABLE_STATUSES:
            raise InvalidInput("initiatives.not_editable", status=initiative.status.value)
        return initiative

    async def start_draft(self, actor: Actor, title: str) -> Initiative:
        author = self._author(actor)
        clean = clean_title(title)
        if await self._repo.count_drafts(author) >= MAX_OPEN_DRAFTS:
            raise InvalidInput("initiatives.too_many_drafts", max=MAX_OPEN_DRAFTS)
        assert actor.member is not None and actor.member.unit_id is not None
        return await self._repo.create_draft(author, actor.member.unit_id, clean, self._clock.now())

    async def update(self, actor: Actor, initiative_id: int, name: str, value: str) -> Initiative:
        """Validate and store one part of a draft (or of one sent back for revision)."""
        cleaned: str
        if name == "title":
            cleaned = clean_title(value)
        elif name == "field":
            try:
                cleaned = InitiativeField(value).value
            except ValueError:
                raise InvalidInput("initiatives.field_unknown") from None
        elif name in TEXT_FIELDS:
            cleaned = clean_text(value)
        elif name == "coauthors":
            cleaned = clean_coauthors(value)
        else:
            raise ValueError(f"{name!r} is not an editable part of an initiative")
        initiative = await self._editable(actor, initiative_id)
        updated = await self._repo.update_content(
            initiative.id, initiative.version, self._clock.now(), **{name: cleaned}
        )
        if updated is None:
            raise InitiativeChanged(await self._load(initiative_id))
        return updated

    async def add_attachment(
        self, actor: Actor, initiative_id: int, new: NewAttachment
    ) -> Initiative:
        initiative = await self._editable(actor, initiative_id)
        check_attachment(new)
        if initiative.attachment_count >= MAX_ATTACHMENTS:
            raise InvalidInput("initiatives.too_many_files", max=MAX_ATTACHMENTS)
        result = await self._repo.add_attachment(
            initiative.id, new, self._clock.now(), max_count=MAX_ATTACHMENTS
        )
        if result == "full":
            raise InvalidInput("initiatives.too_many_files", max=MAX_ATTACHMENTS)
        if result == "duplicate":
            raise InvalidInput("initiatives.file_duplicate", name=new.name)
        if result == "not_editable":
            raise InitiativeChanged(await self._load(initiative_id))
        return await self._load(initiative_id)

    async def clear_attachments(self, actor: Actor, initiative_id: int) -> Initiative:
        initiative = await self._editable(actor, initiative_id)
        await self._repo.clear_attachments(initiative.id, self._clock.now())
        return await self._load(initiative_id)

    async def drafts(self, actor: Actor, limit: int = 3) -> list[Initiative]:
        """Unfinished work to resume: drafts and those sent back for revision, newest first."""
        if actor.member is None:
            return []
        return await self._repo.editable_of(actor.member.id, limit)

    async def mine(self, actor: Actor, page: int = 0) -> Page[Initiative]:
        author = self._author(actor)
        total = await self._repo.count_by_author(author)
        page, pages = _page_bounds(page, total)
        items = await self._repo.by_author(author, offset=page * PAGE_SIZE, limit=PAGE_SIZE)
        return Page(items, page, pages, total)

    # --- lifecycle ------------------------------------------------------------------------

    async def for_editing(self, actor: Actor, initiative_id: int) -> Initiative:
        """The initiative, if the person is its author and it may still be edited."""
        return await self._editable(actor, initiative_id)

    async def check_change(
        self, actor: Actor, initiative_id: int, target: InitiativeStatus, *, version: int
    ) -> tuple[Initiative, Transition]:
        """What ``change_status`` checks before the comment and the write, so that nobody is
        asked for a comment on a decision they may not make."""
        initiative = await self._load(initiative_id)
        parties = parties_of(actor, initiative)
        may_ever = any(
            rule.parties & parties for (_, to), rule in TRANSITIONS.items() if to is target
        )
        if not may_ever:
            raise NotAllowed("initiatives.not_yours")
        if version != initiative.version:
            raise InitiativeChanged(initiative)
        rule = transition_for(initiative.status, target)
        if rule is None:
            raise InvalidInput(
                "initiatives.wrong_state",
                status=initiative.status.value,
                target=target.value,
            )
        if not rule.parties & parties:
            raise NotAllowed("initiatives.not_yours")
        return initiative, rule

    async def change_status(
        self,
        actor: Actor,
        initiative_id: int,
        target: InitiativeStatus,
        *,
        version: int,
        comment: str | None = None,
        level: RecognitionLevel | None = None,
    ) -> StatusChange:
        """Move the initiative along the transition table, or say why not.

        ``version`` is what the person saw: if anyone changed the initiative since, the press
        is refused with ``InitiativeChanged`` instead of acting on a state they never saw.
        """
        initiative, rule = await self.check_change(actor, initiative_id, target, version=version)
        allowed = rule.parties & parties_of(actor, initiative)
        party = sorted(allowed)[0]
        cleaned = clean_comment(comment)
        if rule.comment_required and not cleaned:
            raise InvalidInput("initiatives.comment_required")
        if target is S.RECOGNISED:
            if level is None or level not in recognition_levels(allowed):
                raise NotAllowed("initiatives.level_not_allowed")
        else:
            level = None
        if target is S.SUBMITTED:
            missing = initiative.missing()
            if missing:
                raise InvalidInput("initiatives.incomplete", missing=",".join(missing))
        now = self._clock.now()
        after = await self._repo.change_status(
            initiative.id,
            from_status=initiative.status,
            version=initiative.version,
            to_status=target,
            now=now,
            code_year=now.astimezone(self._tz).year,
            actor_member_id=actor.member.id if actor.member else None,
            actor_role=party.value,
            comment=cleaned,
            recognition_level=level,
            unit_id=(
                actor.member.unit_id
                if target is S.SUBMITTED and actor.member and actor.member.unit_id
                else None
            ),
        )
        if after is None:  # lost the race between reading and writing
            raise InitiativeChanged(await self._load(initiative_id))
        return StatusChange(initiative, after, party, cleaned)

    # --- review -----------------------------------------------------------------------------

    def _review_scope(self, actor: Actor) -> int | None:
        """None: every unit (admin); else the cadre's unit. Members may not review."""
        if actor.is_admin:
            return None
        if actor.is_cadre and actor.cadre_unit_id is not None:
            return actor.cadre_unit_id
        raise NotAllowed("initiatives.reviewers_only")

    def is_reviewer(self, actor: Actor) -> bool:
        return actor.is_admin or (actor.is_cadre and actor.cadre_unit_id is not None)

    async def review_queue(
        self, actor: Actor, *, accepted: bool = False, page: int = 0
    ) -> Page[InitiativeCard]:
        """Submitted and in-review initiatives, oldest first (or accepted ones to recognise),
        leaving out the reviewer's own."""
        unit_id = self._review_scope(actor)
        statuses = (S.ACCEPTED,) if accepted else QUEUE_STATUSES
        exclude = actor.member.id if actor.member else None
        total = await self._repo.count_queue(unit_id, statuses, exclude)
        page, pages = _page_bounds(page, total)
        items = await self._repo.queue(
            unit_id, statuses, exclude, offset=page * PAGE_SIZE, limit=PAGE_SIZE
        )
        return Page(items, page, pages, total)

    async def queue_size(self, actor: Actor) -> int:
        if not self.is_reviewer(actor):
            return 0
        unit_id = self._review_scope(actor)
        return await self._repo.count_queue(
            unit_id, (S.SUBMITTED,), actor.member.id if actor.member else None
        )

    # --- browsing and supports ----------------------------------------------------------------

    async def browse(
        self, actor: Actor, field: InitiativeField | None, page: int = 0
    ) -> Page[InitiativeCard]:
        if actor.member is None:
            raise NotAllowed("access.not_member")
        total = await self._repo.count_public(field)
        page, pages = _page_bounds(page, total)
        items = await self._repo.public(
            field, actor.member.id, offset=page * PAGE_SIZE, limit=PAGE_SIZE
        )
        return Page(items, page, pages, total)

    async def set_support(
        self, actor: Actor, initiative_id: int, supported: bool
    ) -> InitiativeCard:
        """Support (one per member) or withdraw one's support: the press says which, so
        pressing "support" twice, or on an old copy of the card, still means support."""
        if actor.member is None:
            raise NotAllowed("access.not_member")
        initiative = await self._load(initiative_id)
        if initiative.status not in PUBLIC_STATUSES:
            raise InvalidInput("initiatives.not_public")
        if initiative.author_member_id == actor.member.id:
            raise InvalidInput("initiatives.support_own")
        done = await self._repo.set_support(
            initiative.id, actor.member.id, supported, self._clock.now(), PUBLIC_STATUSES
        )
        if not done:
            raise InvalidInput("initiatives.not_public")
        card = await self._repo.card(initiative.id, actor.member.id)
        assert card is not None
        return card


def _page_bounds(page: int, total: int) -> tuple[int, int]:
    pages = max(1, -(-total // PAGE_SIZE))
    return min(max(page, 0), pages - 1), pages
