"""The initiative service on a real SQLite file: the whole transition table (every pair of states
× every kind of person), validation, codes, optimistic review, drafts, browsing and supports."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.access import resolve_actor
from bot.clock import ManualClock
from bot.domain.errors import InvalidInput, NotAllowed
from bot.domain.initiatives import (
    InitiativeChanged,
    InitiativeField,
    InitiativeStatus,
    NewAttachment,
    Party,
    RecognitionLevel,
)
from bot.domain.members import Actor, NewMember, Person, Role, RoleGrant
from bot.initiatives import MAX_FILE_BYTES, TRANSITIONS, InitiativeService, may_transition
from storage.db import Database
from storage.initiatives import InitiativeRepository
from storage.members import MemberRepository, RoleRepository
from storage.units import UnitRepository

S = InitiativeStatus
TZ = ZoneInfo("Asia/Ho_Chi_Minh")

# The lifecycle written out independently of the code under test: (from, to) → who may.
EXPECTED: dict[tuple[S, S], set[str]] = {
    (S.DRAFT, S.SUBMITTED): {"author"},
    (S.NEEDS_REVISION, S.SUBMITTED): {"author"},
    (S.SUBMITTED, S.IN_REVIEW): {"unit_cadre", "admin"},
    (S.IN_REVIEW, S.NEEDS_REVISION): {"unit_cadre", "admin"},
    (S.IN_REVIEW, S.ACCEPTED): {"unit_cadre", "admin"},
    (S.IN_REVIEW, S.REJECTED): {"unit_cadre", "admin"},
    (S.ACCEPTED, S.RECOGNISED): {"unit_cadre", "admin"},
    (S.DRAFT, S.WITHDRAWN): {"author"},
    (S.SUBMITTED, S.WITHDRAWN): {"author"},
    (S.NEEDS_REVISION, S.WITHDRAWN): {"author"},
}
# Kinds of person facing one initiative. "cadre_author" is a unit cadre who wrote it: an
# author like any other, never their own reviewer.
PEOPLE = ("author", "cadre_author", "member", "unit_cadre", "other_cadre", "admin")
AS_PARTY = {
    "author": "author",
    "cadre_author": "author",
    "unit_cadre": "unit_cadre",
    "admin": "admin",
}


@dataclass
class World:
    db: Database
    repo: InitiativeRepository
    service: InitiativeService
    clock: ManualClock
    actors: dict[str, Actor]
    unit_id: int
    other_unit_id: int
    members: MemberRepository


async def _actor(
    members: MemberRepository,
    roles: RoleRepository,
    clock: ManualClock,
    telegram_id: int,
    unit_id: int,
    role: Role = Role.MEMBER,
    role_unit: int | None = None,
) -> Actor:
    member = await members.create(
        NewMember(
            telegram_id=telegram_id,
            full_name=f"Người {telegram_id}",
            username=None,
            unit_id=unit_id,
            phone=None,
            email=None,
            language="vi",
            consent_at=clock.now(),
        ),
        clock.now(),
    )
    grant = None
    if role is not Role.MEMBER:
        grant = RoleGrant(member.id, role, role_unit, 0, clock.now())
        await roles.set(grant)
    return resolve_actor(Person.telegram(telegram_id), member, grant, ())


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    db = await Database.open(tmp_path / "t.sqlite3")
    units = UnitRepository(db)
    await units.upsert_many([("BTP", "Bộ Tư pháp"), ("BTC", "Bộ Tài chính")])
    btp = await units.get_by_code("BTP")
    btc = await units.get_by_code("BTC")
    assert btp is not None and btc is not None
    members, roles = MemberRepository(db), RoleRepository(db)
    clock = ManualClock(datetime(2026, 3, 26, 2, 0, tzinfo=UTC))
    actors = {
        "author": await _actor(members, roles, clock, 1, btp.id),
        "cadre_author": await _actor(members, roles, clock, 2, btp.id, Role.CADRE, btp.id),
        "member": await _actor(members, roles, clock, 3, btp.id),
        "unit_cadre": await _actor(members, roles, clock, 4, btp.id, Role.CADRE, btp.id),
        "other_cadre": await _actor(members, roles, clock, 5, btc.id, Role.CADRE, btc.id),
        "admin": await _actor(members, roles, clock, 6, btc.id, Role.ADMIN),
    }
    repo = InitiativeRepository(db)
    world = World(
        db, repo, InitiativeService(repo, clock, TZ), clock, actors, btp.id, btc.id, members
    )
    try:
        yield world
    finally:
        await world.db.close()  # a test may have reopened it


async def complete_draft(w: World, who: str = "author", title: str = "Số hoá sổ công văn") -> int:
    actor = w.actors[who]
    draft = await w.service.start_draft(actor, title)
    await w.service.update(actor, draft.id, "field", "digital")
    await w.service.update(actor, draft.id, "problem", "Sổ công văn giấy khó tra cứu.")
    await w.service.update(actor, draft.id, "solution", "Dùng bảng tính dùng chung có tìm kiếm.")
    await w.service.update(actor, draft.id, "benefit", "Tiết kiệm 2 giờ mỗi tuần.")
    return draft.id


async def force_status(w: World, initiative_id: int, status: S) -> int:
    """Put an initiative straight into ``status`` (the table test needs every starting state)."""
    level = "unit" if status is S.RECOGNISED else None
    await w.db.execute(
        "UPDATE initiatives SET status = ?, recognition_level = ?, version = version + 1 "
        "WHERE id = ?",
        (status.value, level, initiative_id),
    )
    initiative = await w.repo.get(initiative_id)
    assert initiative is not None
    return initiative.version


# --- the transition table -----------------------------------------------------------------


def test_transition_table_matches_the_lifecycle_for_every_pair_and_party() -> None:
    for source, target in itertools.product(S, S):
        for party in Party:
            expected = party.value in EXPECTED.get((source, target), set())
            assert may_transition(source, target, frozenset({party})) is expected, (
                source,
                target,
                party,
            )
        assert not may_transition(source, target, frozenset())
    assert {k for k, v in TRANSITIONS.items() if v.comment_required} == {
        (S.IN_REVIEW, S.NEEDS_REVISION),
        (S.IN_REVIEW, S.REJECTED),
    }


async def test_every_state_pair_and_every_person_is_allowed_or_refused(world: World) -> None:
    w = world
    outcomes: dict[tuple[S, S, str], bool] = {}
    for source, target, person in itertools.product(S, S, PEOPLE):
        author = "cadre_author" if person == "cadre_author" else "author"
        initiative_id = await complete_draft(w, author)
        version = await force_status(w, initiative_id, source)
        try:
            change = await w.service.change_status(
                w.actors[person],
                initiative_id,
                target,
                version=version,
                comment="Cần bổ sung số liệu.",
                level=RecognitionLevel.UNIT,
            )
        except (NotAllowed, InvalidInput):
            outcomes[(source, target, person)] = False
            after = await w.repo.get(initiative_id)
            assert after is not None and after.status is source and after.version == version
        else:
            outcomes[(source, target, person)] = True
            assert change.after.status is target
            history = await w.repo.history(initiative_id)
            assert [(h.from_status, h.to_status) for h in history] == [(source, target)]
        # Keep the draft count below the limit for the authors.
        await w.db.execute("UPDATE initiatives SET status = 'withdrawn' WHERE status = 'draft'")
    for (source, target, person), allowed in outcomes.items():
        expected = AS_PARTY.get(person) in EXPECTED.get((source, target), set())
        assert allowed is expected, (source, target, person)


async def test_comment_is_required_to_send_back_or_reject(world: World) -> None:
    w = world
    initiative_id = await complete_draft(w)
    version = await force_status(w, initiative_id, S.IN_REVIEW)
    for target in (S.NEEDS_REVISION, S.REJECTED):
        for comment in (None, "   "):
            with pytest.raises(InvalidInput) as refused:
                await w.service.change_status(
                    w.actors["unit_cadre"], initiative_id, target, version=version, comment=comment
                )
            assert refused.value.key == "initiatives.comment_required"
    accepted = await w.service.change_status(
        w.actors["unit_cadre"], initiative_id, S.ACCEPTED, version=version
    )
    assert accepted.after.decided_at == w.clock.now()


async def test_bloc_recognition_is_for_admins_unit_recognition_for_the_unit_cadre(
    world: World,
) -> None:
    w = world
    initiative_id = await complete_draft(w)
    version = await force_status(w, initiative_id, S.ACCEPTED)
    with pytest.raises(NotAllowed):
        await w.service.change_status(
            w.actors["unit_cadre"],
            initiative_id,
            S.RECOGNISED,
            version=version,
            level=RecognitionLevel.BLOC,
        )
    with pytest.raises(NotAllowed):
        await w.service.change_status(
            w.actors["admin"], initiative_id, S.RECOGNISED, version=version, level=None
        )
    change = await w.service.change_status(
        w.actors["admin"], initiative_id, S.RECOGNISED, version=version, level=RecognitionLevel.BLOC
    )
    assert change.after.recognition_level is RecognitionLevel.BLOC


# --- lifecycle details --------------------------------------------------------------------


async def test_codes_are_given_on_first_submission_unique_per_year_and_kept(world: World) -> None:
    w = world
    first = await complete_draft(w)
    second = await complete_draft(w, title="Chatbot hỏi đáp thủ tục")
    one = await w.service.change_status(w.actors["author"], first, S.SUBMITTED, version=5)
    two = await w.service.change_status(w.actors["author"], second, S.SUBMITTED, version=5)
    assert (one.after.code, two.after.code) == ("TTST-2026-0001", "TTST-2026-0002")
    # Sent back and resubmitted: same code.
    review = await w.service.change_status(
        w.actors["unit_cadre"], first, S.IN_REVIEW, version=one.after.version
    )
    back = await w.service.change_status(
        w.actors["unit_cadre"],
        first,
        S.NEEDS_REVISION,
        version=review.after.version,
        comment="Bổ sung số liệu",
    )
    await w.service.update(w.actors["author"], first, "benefit", "Tiết kiệm 3 giờ mỗi tuần.")
    again = await w.service.change_status(
        w.actors["author"], first, S.SUBMITTED, version=back.after.version + 1
    )
    assert again.after.code == "TTST-2026-0001"
    # A new year starts again at 0001 (the year is local: 31/12 17:30 UTC is 1 January in Hà Nội).
    w.clock.set(datetime(2026, 12, 31, 17, 30, tzinfo=UTC))
    third = await complete_draft(w, title="Sổ tay số cho đoàn viên")
    new_year = await w.service.change_status(w.actors["author"], third, S.SUBMITTED, version=5)
    assert new_year.after.code == "TTST-2027-0001"
    history = await w.service.history(w.actors["author"], first)
    assert [h.to_status for h in history] == [
        S.SUBMITTED,
        S.IN_REVIEW,
        S.NEEDS_REVISION,
        S.SUBMITTED,
    ]
    assert history[2].comment == "Bổ sung số liệu" and history[2].actor_name == "Người 4"


async def test_two_reviewers_at_once_one_wins_the_other_is_told_it_changed(world: World) -> None:
    w = world
    initiative_id = await complete_draft(w)
    version = await force_status(w, initiative_id, S.SUBMITTED)
    results = await asyncio.gather(
        w.service.change_status(
            w.actors["unit_cadre"], initiative_id, S.IN_REVIEW, version=version
        ),
        w.service.change_status(w.actors["admin"], initiative_id, S.IN_REVIEW, version=version),
        return_exceptions=True,
    )
    wins = [r for r in results if not isinstance(r, BaseException)]
    changed = [r for r in results if isinstance(r, InitiativeChanged)]
    assert len(wins) == 1 and len(changed) == 1
    assert changed[0].current.status is S.IN_REVIEW
    assert len(await w.repo.history(initiative_id)) == 1
    # A decision made on the old view is refused too, though the move itself would be legal.
    with pytest.raises(InitiativeChanged):
        await w.service.change_status(w.actors["admin"], initiative_id, S.ACCEPTED, version=version)


async def test_deciding_one_not_in_review_is_refused_with_its_state(world: World) -> None:
    w = world
    initiative_id = await complete_draft(w)
    version = await force_status(w, initiative_id, S.SUBMITTED)
    with pytest.raises(InvalidInput) as refused:
        await w.service.change_status(w.actors["admin"], initiative_id, S.ACCEPTED, version=version)
    assert refused.value.key == "initiatives.wrong_state"
    assert refused.value.params["status"] == "submitted"


async def test_an_incomplete_draft_cannot_be_submitted(world: World) -> None:
    w = world
    draft = await w.service.start_draft(w.actors["author"], "Ý tưởng mới")
    with pytest.raises(InvalidInput) as refused:
        await w.service.change_status(
            w.actors["author"], draft.id, S.SUBMITTED, version=draft.version
        )
    assert refused.value.key == "initiatives.incomplete"
    assert refused.value.params["missing"] == "field,problem,solution,benefit"


# --- drafting and validation --------------------------------------------------------------


async def test_fields_are_validated_and_a_refused_one_keeps_the_rest(world: World) -> None:
    w = world
    actor = w.actors["author"]
    for bad in ("abcd", "x" * 201, "   \n  "):
        with pytest.raises(InvalidInput) as refused:
            await w.service.start_draft(actor, bad)
        assert refused.value.key == "initiatives.title_length"
    draft = await w.service.start_draft(actor, "  Số   hoá\nsổ công văn  ")
    assert draft.title == "Số hoá sổ công văn"
    await w.service.update(actor, draft.id, "problem", "Vấn đề <b>thật</b>")
    with pytest.raises(InvalidInput) as too_long:
        await w.service.update(actor, draft.id, "solution", "x" * 4001)
    assert too_long.value.params == {"max": 4000, "length": 4001}
    with pytest.raises(InvalidInput):
        await w.service.update(actor, draft.id, "field", "astrology")
    kept = await w.repo.get(draft.id)
    assert kept is not None
    assert (kept.title, kept.problem, kept.solution) == (
        "Số hoá sổ công văn",
        "Vấn đề <b>thật</b>",
        "",
    )
    assert (await w.service.update(actor, draft.id, "solution", "y" * 4000)).solution == "y" * 4000


async def test_only_the_author_edits_and_only_in_draft_or_needs_revision(world: World) -> None:
    w = world
    initiative_id = await complete_draft(w)
    with pytest.raises(NotAllowed):
        await w.service.update(w.actors["unit_cadre"], initiative_id, "title", "Tên của người khác")
    await force_status(w, initiative_id, S.SUBMITTED)
    with pytest.raises(InvalidInput) as refused:
        await w.service.update(w.actors["author"], initiative_id, "title", "Đổi tên khi đã gửi")
    assert refused.value.key == "initiatives.not_editable"


def _file(
    n: int, name: str = "de-an.pdf", size: int = 1000, mime: str = "application/pdf"
) -> NewAttachment:
    return NewAttachment("document", f"FILE{n}", f"U{n}", name, size, mime)


async def test_attachments_up_to_five_no_executables_no_oversized(world: World) -> None:
    w = world
    actor = w.actors["author"]
    draft = await w.service.start_draft(actor, "Sáng kiến có tệp")
    refusals = {
        "initiatives.file_too_big": _file(90, size=MAX_FILE_BYTES + 1),
        "initiatives.file_blocked": _file(91, name="setup.EXE"),
    }
    refusals_by_mime = _file(92, name="tailieu", mime="application/x-msdownload")
    for key, new in refusals.items():
        with pytest.raises(InvalidInput) as refused:
            await w.service.add_attachment(actor, draft.id, new)
        assert refused.value.key == key
    with pytest.raises(InvalidInput):
        await w.service.add_attachment(actor, draft.id, refusals_by_mime)
    await w.service.add_attachment(actor, draft.id, _file(1, size=MAX_FILE_BYTES))
    with pytest.raises(InvalidInput) as duplicate:
        await w.service.add_attachment(actor, draft.id, _file(1))
    assert duplicate.value.key == "initiatives.file_duplicate"
    for n in range(2, 6):
        await w.service.add_attachment(actor, draft.id, _file(n))
    with pytest.raises(InvalidInput) as sixth:
        await w.service.add_attachment(actor, draft.id, _file(6))
    assert sixth.value.key == "initiatives.too_many_files"
    files = await w.service.attachments(actor, draft.id)
    assert [f.file_id for f in files] == [f"FILE{n}" for n in range(1, 6)]
    with pytest.raises(NotAllowed):
        await w.service.attachments(w.actors["member"], draft.id)
    cleared = await w.service.clear_attachments(actor, draft.id)
    assert cleared.attachment_count == 0


async def test_drafts_survive_reopening_the_database(world: World, tmp_path: Path) -> None:
    w = world
    draft = await w.service.start_draft(w.actors["author"], "Bản nháp còn dở")
    await w.service.update(w.actors["author"], draft.id, "problem", "Vấn đề")
    await w.db.close()
    w.db = await Database.open(tmp_path / "t.sqlite3")
    service = InitiativeService(InitiativeRepository(w.db), w.clock, TZ)
    drafts = await service.drafts(w.actors["author"])
    assert [(d.title, d.problem, d.missing()) for d in drafts] == [
        ("Bản nháp còn dở", "Vấn đề", ["field", "solution", "benefit"])
    ]


# --- review queue, browsing and supports ----------------------------------------------------


async def test_review_queue_is_oldest_first_per_unit_and_for_reviewers_only(world: World) -> None:
    w = world
    ids = []
    for n in range(3):
        initiative_id = await complete_draft(w, title=f"Sáng kiến số {n + 1}")
        await w.service.change_status(w.actors["author"], initiative_id, S.SUBMITTED, version=5)
        w.clock.advance(timedelta(minutes=5))
        ids.append(initiative_id)
    own = await complete_draft(w, "cadre_author", title="Sáng kiến của bí thư")
    await w.service.change_status(w.actors["cadre_author"], own, S.SUBMITTED, version=5)
    queue = await w.service.review_queue(w.actors["unit_cadre"])
    assert [c.initiative.id for c in queue.items] == [*ids, own]
    assert queue.items[0].unit_name == "Bộ Tư pháp" and queue.items[0].author_name == "Người 1"
    own_queue = await w.service.review_queue(w.actors["cadre_author"])
    assert own not in [c.initiative.id for c in own_queue.items]  # nobody reviews their own
    assert (await w.service.review_queue(w.actors["admin"])).total == 4
    assert (await w.service.review_queue(w.actors["other_cadre"])).total == 0
    with pytest.raises(NotAllowed):
        await w.service.review_queue(w.actors["member"])


async def test_browse_by_field_and_one_support_per_member(world: World) -> None:
    w = world
    public = []
    for n in range(8):
        initiative_id = await complete_draft(w, title=f"Sáng kiến công khai {n}")
        if n % 2:
            await w.service.update(w.actors["author"], initiative_id, "field", "community")
        await force_status(w, initiative_id, S.ACCEPTED)
        public.append(initiative_id)
        await w.db.execute("UPDATE initiatives SET status = 'accepted' WHERE status = 'draft'")
    hidden = await complete_draft(w, title="Sáng kiến chưa duyệt")
    member = w.actors["member"]
    first = await w.service.browse(member, None, 0)
    assert first.total == 8 and first.pages == 2 and len(first.items) == 6
    community = await w.service.browse(member, InitiativeField.COMMUNITY, 0)
    assert community.total == 4
    assert all(c.initiative.field is InitiativeField.COMMUNITY for c in community.items)

    card = await w.service.set_support(member, public[0], True)
    assert (card.supports, card.supported_by_viewer) == (1, True)
    card = await w.service.set_support(member, public[0], True)  # twice: still one support
    assert (card.supports, card.supported_by_viewer) == (1, True)
    card = await w.service.set_support(w.actors["admin"], public[0], True)
    assert card.supports == 2 and card.supported_by_viewer
    card = await w.service.set_support(member, public[0], False)
    assert (card.supports, card.supported_by_viewer) == (1, False)
    card = await w.service.set_support(member, public[0], False)  # removing again: no change
    assert (card.supports, card.supported_by_viewer) == (1, False)
    for refused_id, who, key in (
        (hidden, "member", "initiatives.not_public"),
        (public[1], "author", "initiatives.support_own"),
    ):
        with pytest.raises(InvalidInput) as refused:
            await w.service.set_support(w.actors[who], refused_id, True)
        assert refused.value.key == key
    assert await w.db.fetch_value("SELECT COUNT(*) FROM initiative_supports") == 1
