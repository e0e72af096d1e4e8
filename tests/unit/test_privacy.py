"""/mydata and /forgetme on a real SQLite file (SPEC 2.7): a cadre with a bit of everything
forgets themselves; nothing of them is left in any table or column, every count stays, their
upcoming seats go to the waitlist, and their copy holds all of it and nobody else's."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.activities import ActivityDraft, ActivityKind, Audience, Question
from bot.clock import ManualClock
from bot.config import parse_config
from bot.domain.activities import RegistrationStatus
from bot.domain.broadcasts import Audience as BroadcastAudience
from bot.domain.broadcasts import AudienceKind, BroadcastContent, DeliveryResult, DeliveryState
from bot.domain.exports import RowFilter
from bot.domain.initiatives import (
    InitiativeField,
    InitiativeStatus,
    NewAttachment,
    RecognitionLevel,
)
from bot.domain.members import Actor, Member, NewMember, Person, Role, RoleGrant
from bot.domain.privacy import ERASED, DataSubject
from bot.domain.reminders import LogKey
from bot.privacy import ForgetResult
from bot.services import Services
from bot.stats import PeriodKind
from storage import Database
from storage.activities import ActivityRepository
from storage.exports import ExportRepository
from storage.privacy import (
    ANONYMOUS_ACTOR,
    INTERNAL_TABLES,
    PERSONAL_DATA,
    PrivacyRepository,
    TableSteps,
    read_erased_members,
)
from storage.reminders import ReminderRepository

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 09:00 in Hà Nội
ADMIN_TID = 900001

# The person who forgets themselves, and words only they wrote.
TID = 777000111
NAME = "Trịnh Thị Xuân Hương"
PHONE = "+84987001122"
EMAIL = "xuan.huong@btp.gov.vn"
USERNAME = "xuanhuong_btp"
ANSWER = "Ghi chú riêng: dị ứng tôm hùm đất"
DRAFT_TEXT = "Số hoá sổ tay công chứng lưu động"
SUBMITTED_TEXT = "Hộp thư góp ý điện tử cho chi đoàn"
REVIEW_COMMENT = "Nhận xét riêng: thiếu số liệu khảo sát"
FLOW_TEXT = "Bản nháp dở dang về tủ sách pháp luật"
CADRE_REASON = "Vắng vì đi công tác Đà Nẵng đột xuất"
ATTACHMENT = "phuong-an-so-hoa-rieng.pdf"
NEEDLES = (str(TID), NAME, PHONE, "0987001122", EMAIL, USERNAME, ANSWER, DRAFT_TEXT)
NEEDLES += (SUBMITTED_TEXT, REVIEW_COMMENT, FLOW_TEXT, ATTACHMENT, CADRE_REASON)


@dataclass
class World:
    svc: Services
    clock: ManualClock
    btp: int
    btc: int
    admin: Actor
    me: Actor  # the cadre of BTP who will forget themselves
    others: dict[str, Actor] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)
    _next: int = 5000

    @property
    def db(self) -> Database:
        return self.svc.db

    async def person(self, name: str, unit: int, *, tid: int | None = None, **extra: Any) -> Actor:
        self._next += 1
        member = await self.svc.members.create(
            NewMember(
                telegram_id=tid or self._next,
                full_name=name,
                username=extra.get("username"),
                unit_id=unit,
                phone=extra.get("phone"),
                email=extra.get("email"),
                language="vi",
                consent_at=self.clock.now() - timedelta(days=30),
            ),
            self.clock.now(),
        )
        return await self.svc.member_service.actor(member.telegram_id or 0)

    async def actor(self, actor: Actor) -> Actor:
        return await self.svc.member_service.actor(actor.telegram_id)

    def draft(self, title: str, starts_in: timedelta, **changes: Any) -> ActivityDraft:
        start = (self.clock.now() + starts_in).astimezone(TZ).replace(minute=0, second=0)
        values: dict[str, Any] = {
            "title": title,
            "description": "Mang theo CCCD.",
            "kind": ActivityKind.REGULAR,
            "unit_id": self.btp,
            "open_to": Audience.ALL,
            "place": "Trụ sở Bộ Tư pháp",
            "starts_at": start,
            "ends_at": start + timedelta(hours=4),
            "deadline_at": start - timedelta(hours=12),
            "capacity": None,
            "hours": 4.0,
        }
        values.update(changes)
        return ActivityDraft(**values)


async def _initiative(
    world: World, author: Actor, title: str, *, to: list[InitiativeStatus], text: str = ""
) -> int:
    service = world.svc.initiatives
    draft = await service.start_draft(author, title)
    for name, value in (
        ("field", InitiativeField.DIGITAL.value),
        ("problem", text or f"Vấn đề của {title}"),
        ("solution", "Giải pháp: một biểu mẫu trực tuyến."),
        ("benefit", "Tiết kiệm thời gian cho đoàn viên."),
    ):
        draft = await service.update(author, draft.id, name, value)
    for target in to:
        current = await world.svc.initiatives.get(world.admin, draft.id)
        actor = (
            author if target in (InitiativeStatus.SUBMITTED, InitiativeStatus.WITHDRAWN) else None
        )
        comment = "Cần bổ sung số liệu." if target.value in ("needs_revision", "rejected") else None
        await service.change_status(
            actor or world.admin,
            draft.id,
            target,
            version=current.version,
            comment=comment,
            level=RecognitionLevel.UNIT if target is InitiativeStatus.RECOGNISED else None,
        )
    return draft.id


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    config = parse_config(
        {"database": {"path": str(tmp_path / "nhipcau.sqlite3")}, "bot": {"admins": [ADMIN_TID]}},
        env={},
        require_token=False,
    )
    clock = ManualClock(START)
    svc = await Services.open(config, clock=clock)
    try:
        await svc.units.upsert_many([("BTP", "Bộ Tư pháp"), ("BTC", "Bộ Tài chính")])
        btp = (await svc.units.get_by_code("BTP")).id  # type: ignore[union-attr]
        btc = (await svc.units.get_by_code("BTC")).id  # type: ignore[union-attr]
        admin = Actor(ADMIN_TID, None, Role.ADMIN)
        w = World(svc, clock, btp, btc, admin, None)  # type: ignore[arg-type]
        await _seed(w)
        yield w
    finally:
        await svc.close()


async def _seed(w: World) -> None:
    svc, now = w.svc, w.clock.now
    me = await w.person(NAME, w.btp, tid=TID, username=USERNAME, phone=PHONE, email=EMAIL)
    await svc.roles.set(RoleGrant(_member(me).id, Role.CADRE, w.btp, 0, now()))
    w.me = me = await w.actor(me)
    first = await w.person("Lê Văn Đợi", w.btp)  # first on the waitlist: gets my seat
    second = await w.person("Phạm Thị Sau", w.btp)
    seated = await w.person("Đỗ Minh Ngồi", w.btp)
    colleague = await w.person("Vũ Thị Đồng Nghiệp", w.btp, phone="+84911000222")
    outsider = await w.person("Hoàng Văn Ngoài", w.btc, email="ngoai@btc.gov.vn")
    w.others = {
        "first": first,
        "second": second,
        "seated": seated,
        "colleague": colleague,
        "outsider": outsider,
    }
    # A role I granted (as if I had been an admin once): the grant stays, my id goes.
    await svc.roles.set(RoleGrant(_member(outsider).id, Role.CADRE, w.btc, _member(me).id, now()))
    activities = svc.activities
    note = Question(1, "Ghi chú cho ban tổ chức", None, required=False)

    # Past, as the world stands when I forget: one I attend, one I organise and tick.
    past = await activities.create(
        w.admin, w.draft("Hiến máu tình nguyện", timedelta(days=1), questions=(note,))
    )
    mine = await activities.create(
        me,
        w.draft(
            "Tư vấn pháp luật cho người dân",
            timedelta(days=1, hours=5),
            description=f"Liên hệ đồng chí {NAME}, 0987 001 122, {EMAIL.upper()}.",
        ),
    )
    campaign = await activities.create_campaign(
        me, w.btp, "Mùa hè xanh 2027", datetime(2027, 6, 1).date(), datetime(2027, 8, 31).date()
    )
    await activities.register(me, past.id, {"1": ANSWER})
    await activities.register(colleague, past.id, {"1": "Tôi đến sớm."})
    await activities.register(colleague, mine.id)
    # Upcoming, full: I hold a seat, two wait. And one where I wait myself.
    full = await activities.create(
        w.admin, w.draft("Dọn rác bờ hồ", timedelta(days=10), capacity=2, questions=(note,))
    )
    await activities.register(me, full.id, {"1": ANSWER})
    await activities.register(seated, full.id)
    await activities.register(first, full.id, {"1": "Tôi đi xe máy."})
    await activities.register(second, full.id)
    small = await activities.create(
        w.admin, w.draft("Trồng cây", timedelta(days=12), capacity=1, unit_id=w.btc)
    )
    await activities.register(outsider, small.id)
    await activities.register(me, small.id)

    # Announcements: one sent to me, one still pending for me, one I sent myself.
    broadcasts = svc.broadcasts
    sent = await broadcasts.create(
        w.admin, BroadcastContent("Chào mừng đoàn viên mới!"), BroadcastAudience(AudienceKind.ALL)
    )
    await broadcasts.repository.record(
        sent.id,
        [
            DeliveryResult(m.id, m.telegram_id or 0, DeliveryState.SENT, 1, 4242)
            for m in [me.member, first.member, outsider.member]
            if m is not None
        ],
        now(),
    )
    pending = await broadcasts.create(
        w.admin,
        BroadcastContent("Lịch họp chi đoàn tháng 12."),
        BroadcastAudience(AudienceKind.ALL),
    )
    own = await broadcasts.create(
        me,
        BroadcastContent(f"Chi đoàn Bộ Tư pháp họp lúc 8 giờ. Người gửi: {NAME}, {PHONE}."),
        BroadcastAudience(AudienceKind.UNITS, (w.btp,)),
        progress_chat_id=TID,
    )
    # Reminders: one sent, one claimed and in flight.
    reminders = ReminderRepository(w.db)
    sent_key = LogKey("reminder", full.id, me.member.id, 1440, full.starts_at)  # type: ignore[union-attr]
    flying = LogKey("reminder", full.id, me.member.id, 120, full.starts_at)  # type: ignore[union-attr]
    await reminders.claim([(sent_key, now()), (flying, now() + timedelta(minutes=1))], now())
    await reminders.record([(sent_key, DeliveryState.SENT, 77, None)], now())

    # Initiatives of mine in every state, and one I review.
    ids: dict[str, int] = {}
    S = InitiativeStatus
    ids["draft"] = await _initiative(w, me, DRAFT_TEXT, to=[])
    await svc.initiatives.add_attachment(
        me, ids["draft"], NewAttachment("document", "FILE-1", "U-1", ATTACHMENT, 1200, None)
    )
    ids["submitted"] = await _initiative(w, me, SUBMITTED_TEXT, to=[S.SUBMITTED])
    await svc.initiatives.add_attachment(
        me, ids["draft"], NewAttachment("photo", "FILE-2", "U-2", "anh.jpg", 900, "image/jpeg")
    )
    ids["in_review"] = await _initiative(w, me, "Sổ tay điện tử", to=[S.SUBMITTED, S.IN_REVIEW])
    ids["revision"] = await _initiative(
        w, me, "Kho mẫu văn bản", to=[S.SUBMITTED, S.IN_REVIEW, S.NEEDS_REVISION]
    )
    await svc.initiatives.add_attachment(
        me, ids["revision"], NewAttachment("document", "FILE-3", "U-3", ATTACHMENT, 1500, None)
    )
    ids["rejected"] = await _initiative(
        w, me, "Ứng dụng chấm công", to=[S.SUBMITTED, S.IN_REVIEW, S.REJECTED]
    )
    ids["withdrawn"] = await _initiative(w, me, "Bảng tin", to=[S.SUBMITTED, S.WITHDRAWN])
    ids["accepted"] = await _initiative(
        w,
        me,
        "Một cửa điện tử cho hồ sơ công chứng",
        to=[S.SUBMITTED, S.IN_REVIEW, S.ACCEPTED],
        text=f"Nhóm của {NAME} (ĐT 0987.001.122) thấy hồ sơ còn giấy.",
    )
    ids["recognised"] = await _initiative(
        w,
        me,
        "Tra cứu văn bản bằng giọng nói",
        to=[S.SUBMITTED, S.IN_REVIEW, S.ACCEPTED, S.RECOGNISED],
    )
    ids["theirs"] = await _initiative(
        w, outsider, "Thư viện số của Bộ Tài chính", to=[S.SUBMITTED, S.IN_REVIEW, S.ACCEPTED]
    )
    ids["reviewed"] = await _initiative(w, colleague, "Góc đọc sách", to=[S.SUBMITTED])
    reviewed = await svc.initiatives.get(me, ids["reviewed"])
    await svc.initiatives.change_status(me, reviewed.id, S.IN_REVIEW, version=reviewed.version)
    reviewed = await svc.initiatives.get(me, ids["reviewed"])
    await svc.initiatives.change_status(
        me, reviewed.id, S.NEEDS_REVISION, version=reviewed.version, comment=REVIEW_COMMENT
    )
    await svc.initiatives.set_support(me, ids["theirs"], True)
    await svc.initiatives.set_support(outsider, ids["accepted"], True)
    await svc.initiatives.set_support(colleague, ids["accepted"], True)

    # The two past activities happen: I attend one, and tick a colleague at mine.
    w.clock.set(mine.ends_at + timedelta(hours=1))
    registration = await activities._activities.registration(past.id, me.member.id)  # type: ignore[union-attr]
    assert registration is not None
    await svc.attendance.set_attendance(w.admin, past.id, registration.id, True)
    colleague_at_mine = await activities._activities.registration(mine.id, colleague.member.id)  # type: ignore[union-attr]
    assert colleague_at_mine is not None
    w.me = me = await w.actor(me)
    # As the cadre of the unit I first marked my colleague absent (a reason I wrote), then
    # corrected it: my words in the log go with me, the record stays.
    await svc.attendance.set_attendance(
        me, mine.id, colleague_at_mine.id, False, reason=CADRE_REASON
    )
    await svc.attendance.set_attendance(me, mine.id, colleague_at_mine.id, True)
    # A flow in progress: half an initiative typed in.
    await svc.flows.start(Person.telegram(TID), "initiative", "problem", text=FLOW_TEXT)

    w.ids = ids | {
        "past": past.id,
        "mine": mine.id,
        "full": full.id,
        "small": small.id,
        "campaign": campaign.id,
        "sent": sent.id,
        "pending": pending.id,
        "own": own.id,
    }


def _member(actor: Actor) -> Member:
    assert actor.member is not None
    return actor.member


async def _scan(db: Database, needles: tuple[str, ...]) -> list[str]:
    """Every value of every column of every table that holds one of ``needles``."""
    found: list[str] = []
    tables = await db.fetch_all(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    ids = {int(n) for n in needles if n.isdigit()}
    lowered = [n.casefold() for n in needles]
    for (table,) in tables:
        for row in await db.fetch_all(f"SELECT * FROM {table}"):
            for column, value in dict(row).items():
                if isinstance(value, int) and value in ids:
                    found.append(f"{table}.{column} = {value}")
                elif isinstance(value, str | bytes):
                    text = value.decode() if isinstance(value, bytes) else value
                    for needle in lowered:
                        if needle in text.casefold():
                            found.append(f"{table}.{column} holds {needle!r}: {text[:80]!r}")
    return found


async def _forget(world: World) -> ForgetResult:
    return await world.svc.privacy.forget(_member(world.me))


# --- the list of steps -----------------------------------------------------------------------


async def test_every_table_has_its_erasure_written_down(world: World) -> None:
    rows = await world.db.fetch_all(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    tables = {r[0] for r in rows}
    listed = [steps.table for steps in PERSONAL_DATA]
    assert len(listed) == len(set(listed)), "a table is listed twice"
    assert tables - INTERNAL_TABLES == set(listed), "a table without an erasure decision"
    for steps in PERSONAL_DATA:
        assert steps.columns, f"{steps.table}: say what erasure means for its columns"


def test_scrubbing_takes_out_name_phone_and_email_in_the_ways_people_write_them() -> None:
    person = DataSubject(1, TID, NAME, PHONE, EMAIL, "2026-01-01T00:00:00+00:00")
    text = (
        f"Liên hệ TRỊNH THỊ XUÂN HƯƠNG hoặc {NAME}: 0987 001 122, +84 987-001-122, 84987001122, "
        f"{EMAIL.upper()}. Hương ơi, số 098700112233 không phải của bạn."
    )
    assert person.scrub(text) == (
        f"Liên hệ {ERASED} hoặc {ERASED}: {ERASED}, {ERASED}, {ERASED}, {ERASED}. "
        "Hương ơi, số 098700112233 không phải của bạn."
    )
    assert person.scrub("Không nhắc đến ai.") == "Không nhắc đến ai."


# --- forgetting ----------------------------------------------------------------------------


async def test_after_forgetme_no_table_or_column_holds_anything_of_the_person(world: World) -> None:
    assert len(await _scan(world.db, NEEDLES)) > 20  # the world really holds them everywhere
    result = await _forget(world)
    assert result.erased
    assert await _scan(world.db, NEEDLES) == []
    # Other people's data is untouched: the colleague's answer and phone are still there.
    assert await _scan(world.db, ("Tôi đến sớm.", "+84911000222", "ngoai@btc.gov.vn")) != []


async def test_the_anonymous_rows_that_remain_say_what_they_should(world: World) -> None:
    me = _member(world.me)
    await _forget(world)
    db, ids = world.db, world.ids
    row = await db.fetch_one("SELECT * FROM members WHERE id = ?", (me.id,))
    assert row is not None and row["unit_id"] == world.btp and row["deleted_at"] is not None
    assert await world.svc.roles.get(me.id) is None  # the cadre role went
    assert await world.svc.flows.get(Person.telegram(TID)) is None  # the flow went
    outsider = _member(world.others["outsider"]).id
    granted = await world.svc.roles.get(outsider)
    assert granted is not None and granted.granted_by == ANONYMOUS_ACTOR  # it stays, I go
    past = await db.fetch_one(
        "SELECT r.status, r.answers, t.present, t.hours FROM registrations r "
        "JOIN attendance t ON t.activity_id = r.activity_id AND t.member_id = r.member_id "
        "WHERE r.activity_id = ? AND r.member_id = ?",
        (ids["past"], me.id),
    )
    assert past is not None and tuple(past) == ("confirmed", "{}", 1, 4.0)
    ticked = await db.fetch_one(
        "SELECT recorded_by, present FROM attendance WHERE activity_id = ?", (ids["mine"],)
    )
    assert ticked is not None and tuple(ticked) == (ANONYMOUS_ACTOR, 1)  # a cadre's, not a QR
    log = await db.fetch_all(
        "SELECT by_member, to_present, reason FROM attendance_changes WHERE activity_id = ? "
        "ORDER BY id",
        (ids["mine"],),
    )
    assert [tuple(r) for r in log] == [(ANONYMOUS_ACTOR, 0, ""), (ANONYMOUS_ACTOR, 1, None)]
    activity = await db.fetch_one(
        "SELECT created_by, description FROM activities WHERE id = ?", (ids["mine"],)
    )
    assert activity is not None and tuple(activity) == (
        ANONYMOUS_ACTOR,
        f"Liên hệ đồng chí {ERASED}, {ERASED}, {ERASED}.",
    )
    statuses = {
        name: await db.fetch_value(
            "SELECT status || '|' || title FROM initiatives WHERE id = ?", (ids[name],)
        )
        for name in ("draft", "submitted", "in_review", "revision", "rejected", "withdrawn")
    }
    assert statuses == {
        "draft": None,  # never submitted: gone
        "submitted": "withdrawn|",
        "in_review": "withdrawn|",
        "revision": "withdrawn|",
        "rejected": "rejected|",
        "withdrawn": "withdrawn|",
    }
    accepted = await world.svc.initiatives.get(world.admin, ids["accepted"])
    assert accepted.title == "Một cửa điện tử cho hồ sơ công chứng"
    assert accepted.problem == f"Nhóm của {ERASED} (ĐT {ERASED}) thấy hồ sơ còn giấy."
    card = await world.svc.initiatives.card(world.admin, ids["accepted"])
    assert card.supports == 2 and card.author_name == ""
    theirs = await world.svc.initiatives.card(world.admin, ids["theirs"])
    assert theirs.supports == 1  # my support still counts
    comments = await db.fetch_all(
        "SELECT comment FROM initiative_history WHERE initiative_id = ? ORDER BY id",
        (ids["reviewed"],),
    )
    assert [c[0] for c in comments] == [None, None, None]  # my review comment went
    revision_history = await world.svc.initiatives.history(world.admin, ids["revision"])
    assert [(h.to_status.value, h.comment) for h in revision_history] == [
        ("submitted", None),
        ("in_review", None),
        ("needs_revision", "Cần bổ sung số liệu."),  # the reviewer's words stay theirs
        ("withdrawn", None),
    ]
    own = await db.fetch_one(
        "SELECT created_by, progress_chat_id, text_html FROM broadcasts WHERE id = ?",
        (ids["own"],),
    )
    assert own is not None and tuple(own) == (
        ANONYMOUS_ACTOR,
        None,
        f"Chi đoàn Bộ Tư pháp họp lúc 8 giờ. Người gửi: {ERASED}, {ERASED}.",
    )
    assert (
        await db.fetch_value("SELECT COUNT(*) FROM reminder_log WHERE member_id = ?", (me.id,)) == 0
    )


async def test_forgetme_keeps_every_count_the_stats_and_exports_make(world: World) -> None:
    svc, btp = world.svc, world.btp

    async def counts() -> dict[str, Any]:
        report = await svc.stats.report(world.admin, PeriodKind.YEAR)
        figures = {
            u.code: (
                u.figures.participants,
                u.figures.registrations,
                u.figures.settled_seats,
                u.figures.attended,
                u.figures.hours,
                u.figures.person_days,
                u.figures.initiatives_submitted,
                u.figures.initiatives_accepted,
                u.figures.initiatives_recognised,
            )
            for u in report.ranking
        }
        members = {u.code: u.figures.members for u in report.ranking}
        exports = ExportRepository(world.db)
        past = RowFilter(unit_id=btp, end=world.clock.now())
        rows = {
            kind: await exports.count(query)
            for kind, query in (
                ("registrations", exports.registrations(past, 8)),
                ("attendance", exports.attendance(past, 8)),
                ("attendance_totals", exports.attendance_totals(past, 8)),
                ("initiatives", exports.initiatives(RowFilter(unit_id=btp))),
                ("all_initiatives", exports.initiatives(RowFilter())),
                ("broadcasts", exports.broadcasts(RowFilter())),
            )
        }
        return {"figures": figures, "members": members, "rows": rows}

    before = await counts()
    await _forget(world)
    after = await counts()
    assert after["figures"] == before["figures"]
    assert after["rows"] == before["rows"]
    # I attended for BTP this year, so I stay among its members of the period: its share of
    # members taking part does not change when I go.
    assert after["members"] == before["members"] == {"BTP": 5, "BTC": 1}
    assert before["figures"]["BTP"][3:5] == (2, 8.0)  # two attended, 8 hours: really counted


async def test_forgetme_hands_upcoming_seats_to_the_first_waitlisted(world: World) -> None:
    first, second, seated = (world.others[k] for k in ("first", "second", "seated"))
    result = await _forget(world)
    assert result.released_seats == 2
    [promotion] = result.promotions
    assert promotion.recipient.telegram_id == first.telegram_id
    assert promotion.activity.id == world.ids["full"]
    activity = await world.svc.activities.get(world.ids["full"])
    assert activity is not None and (activity.confirmed, activity.waitlisted) == (2, 1)
    repo = ActivityRepository(world.db)
    status = {
        name: (reg.status, reg.waitlist_position)
        for name, actor in (("first", first), ("second", second), ("seated", seated))
        if (reg := await repo.registration(world.ids["full"], _member(actor).id)) is not None
    }
    assert status == {
        "first": (RegistrationStatus.CONFIRMED, None),
        "second": (RegistrationStatus.WAITLISTED, 1),
        "seated": (RegistrationStatus.CONFIRMED, None),
    }
    small = await world.svc.activities.get(world.ids["small"])
    assert small is not None and (small.confirmed, small.waitlisted) == (1, 0)


async def test_pending_announcements_are_dropped_and_reports_still_add_up(world: World) -> None:
    broadcasts = world.svc.broadcasts
    pending_before = await broadcasts.counts(world.ids["pending"])
    sent_before = await broadcasts.counts(world.ids["sent"])
    total_before = (await broadcasts.get(world.ids["pending"])).total  # type: ignore[union-attr]
    result = await _forget(world)
    assert result.dropped_announcements == 2  # the admin's pending one and my own to my unit
    pending_after = await broadcasts.counts(world.ids["pending"])
    assert pending_after.pending == pending_before.pending - 1
    assert (await broadcasts.get(world.ids["pending"])).total == total_before - 1  # type: ignore[union-attr]
    pending_ids = await broadcasts.repository.pending(
        world.ids["pending"], after_member_id=0, limit=100
    )
    assert _member(world.me).id not in {r.member_id for r in pending_ids}
    assert await broadcasts.counts(world.ids["sent"]) == sent_before  # sent to me: still counted
    for broadcast_id in (world.ids["pending"], world.ids["sent"], world.ids["own"]):
        counts = await broadcasts.counts(broadcast_id)
        total = (await broadcasts.get(broadcast_id)).total  # type: ignore[union-attr]
        assert counts.done + counts.pending == total


async def test_a_double_tap_erases_once(world: World) -> None:
    me = _member(world.me)
    first, second = await asyncio.gather(world.svc.privacy.forget(me), world.svc.privacy.forget(me))
    assert sorted([first.erased, second.erased]) == [False, True]
    assert len(first.promotions) + len(second.promotions) == 1
    withdrawals = await world.db.fetch_value(
        "SELECT COUNT(*) FROM initiative_history WHERE to_status = 'withdrawn' AND at = ?",
        (world.clock.now().isoformat(timespec="seconds"),),
    )
    assert withdrawals == 3
    assert await world.svc.privacy.my_data(me) is None


async def test_an_erasure_that_fails_half_way_changes_nothing(world: World) -> None:
    async def broken(ctx: Any) -> None:
        raise RuntimeError("disk full")

    me = _member(world.me)
    steps = (*PERSONAL_DATA[:4], TableSteps("boom", {"x": "y"}, broken))
    repository = PrivacyRepository(world.db, ActivityRepository(world.db), steps)
    before = await _scan(world.db, NEEDLES)
    with pytest.raises(RuntimeError):
        await repository.erase(me.id, world.clock.now())
    assert await _scan(world.db, NEEDLES) == before
    activity = await world.svc.activities.get(world.ids["full"])
    assert activity is not None and activity.waitlisted == 2


# --- /mydata -------------------------------------------------------------------------------


async def test_mydata_holds_every_section_with_the_persons_data_and_nobody_elses(
    world: World,
) -> None:
    data = await world.svc.privacy.my_data(_member(world.me))
    assert data is not None
    raw = data.to_json()
    text = raw.decode("utf-8")
    assert NAME in text and "\\u" not in text  # Vietnamese as itself
    doc = json.loads(raw)
    for section in (
        "profile",
        "consent",
        "roles",
        "flow_in_progress",
        "registrations",
        "attendance",
        "initiatives",
        "initiative_reviews_you_made",
        "supports_given",
        "announcements_received",
        "announcements_you_sent",
        "reminders_received",
        "activities_you_created",
        "campaigns_you_created",
    ):
        assert doc[section], f"{section} is empty"
    profile = doc["profile"]
    assert (profile["full_name"], profile["phone"], profile["email"], profile["username"]) == (
        NAME,
        PHONE,
        EMAIL,
        USERNAME,
    )
    assert profile["unit"] == {"code": "BTP", "name": "Bộ Tư pháp"}
    assert doc["consent"]["given_at"] is not None
    assert doc["roles"] == [
        {
            "role": "cadre",
            "unit": {"code": "BTP", "name": "Bộ Tư pháp"},
            "granted_at": doc["roles"][0]["granted_at"],
        }
    ]
    assert doc["flow_in_progress"]["data"] == {"text": FLOW_TEXT}
    by_title = {r["activity"]["title"]: r for r in doc["registrations"]}
    assert set(by_title) == {"Hiến máu tình nguyện", "Dọn rác bờ hồ", "Trồng cây"}
    assert by_title["Dọn rác bờ hồ"]["answers"] == [
        {"question": "Ghi chú cho ban tổ chức", "answer": ANSWER}
    ]
    assert by_title["Trồng cây"]["status"] == "waitlisted"
    assert by_title["Trồng cây"]["waitlist_position"] == 1
    assert [(a["title"], a["hours"]) for a in doc["attendance"]] == [("Hiến máu tình nguyện", 4.0)]
    initiatives = {i["title"]: i for i in doc["initiatives"]}
    assert len(initiatives) == 8 and DRAFT_TEXT in initiatives
    accepted = initiatives["Một cửa điện tử cho hồ sơ công chứng"]
    assert accepted["supports_received"] == 2
    assert [h["to"] for h in accepted["history"]] == ["submitted", "in_review", "accepted"]
    assert accepted["history"][0]["by"] == "you" and accepted["history"][1]["by"] == "admin"
    assert [a["name"] for a in initiatives[DRAFT_TEXT]["attachments"]] == [ATTACHMENT, "anh.jpg"]
    assert [r["comment"] for r in doc["initiative_reviews_you_made"]] == [None, REVIEW_COMMENT]
    assert [s["title"] for s in doc["supports_given"]] == ["Thư viện số của Bộ Tài chính"]
    received = {a["text_html"]: a["delivery"] for a in doc["announcements_received"]}
    assert received["Chào mừng đoàn viên mới!"] == "sent"
    assert received["Lịch họp chi đoàn tháng 12."] == "pending"
    assert [r["state"] for r in doc["reminders_received"]] == ["sent", "sending"]
    summary = data.summary
    assert (summary.registrations, summary.attended, summary.hours, summary.person_days) == (
        3,
        1,
        4.0,
        0.5,
    )
    assert (summary.initiatives, summary.supports_given, summary.announcements) == (8, 1, 3)
    # Nobody else's data: other members' names, phones, emails and answers are not in it.
    for other in (
        "Lê Văn Đợi",
        "Phạm Thị Sau",
        "Đỗ Minh Ngồi",
        "Vũ Thị Đồng Nghiệp",
        "Hoàng Văn Ngoài",
        "+84911000222",
        "ngoai@btc.gov.vn",
        "Tôi đến sớm.",
        "Tôi đi xe máy.",
        str(ADMIN_TID),
    ):
        assert other not in text, other


# --- backups -------------------------------------------------------------------------------


async def test_an_erasure_reaches_a_backup_taken_before_it(world: World, tmp_path: Path) -> None:
    backup = tmp_path / "backups" / "before.sqlite3"
    await world.db.backup(backup)
    await _forget(world)
    live = read_erased_members(world.db.path)
    assert [e.member_id for e in live] == [_member(world.me).id]
    restored = await Database.open(backup)
    try:
        assert await _scan(restored, NEEDLES) != []
        repository = PrivacyRepository(restored, ActivityRepository(restored))
        report = await repository.reapply(live, world.clock.now())
        assert report.applied == [_member(world.me).id] and report.mismatched == []
        assert await _scan(restored, NEEDLES) == []
        again = await repository.reapply(live, world.clock.now())
        assert again.applied == [] and again.already == [_member(world.me).id]
        # A record whose member id belongs to someone else here is left alone.
        stranger = [live[0].__class__(_member(world.others["first"]).id, "2020-01-01", "x")]
        assert (await repository.reapply(stranger, world.clock.now())).mismatched == [
            stranger[0].member_id
        ]
        assert await _scan(restored, ("Lê Văn Đợi",)) != []
    finally:
        await restored.close()
    with sqlite3.connect(backup) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_reapply_erasures_takes_member_ids_from_the_logs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.__main__ import main

    database = tmp_path / "restored.sqlite3"

    async def restored_copy() -> list[int]:
        db = await Database.open(database)
        try:
            await db.execute("INSERT INTO units (code, name, name_folded) VALUES ('BTP', 'B', 'b')")
            ids = []
            for tid, name in ((8801, NAME), (8802, "Người Ở Lại")):
                ids.append(
                    await db.execute(
                        "INSERT INTO members (telegram_id, full_name, unit_id, phone, created_at, "
                        "updated_at) VALUES (?, ?, 1, ?, '2026-01-01', '2026-01-01')",
                        (tid, name, PHONE if tid == 8801 else None),
                    )
                )
            return ids
        finally:
            await db.close()

    forgotten, staying = asyncio.run(restored_copy())
    config = tmp_path / "restore.toml"
    config.write_text(f'[database]\npath = "{database}"\n', encoding="utf-8")
    argv = ["reapply-erasures", "--member", str(forgotten), "--member", "999", "--config"]
    assert main([*argv, str(config)]) == 0
    assert capsys.readouterr().out.strip() == (
        f"{database}: 1 erased again, 0 already erased, 1 not in this copy, 0 left alone "
        "(a different member has that id here)"
    )
    with sqlite3.connect(database) as conn:
        rows = conn.execute("SELECT id, telegram_id, full_name, phone FROM members ORDER BY id")
        assert rows.fetchall() == [
            (forgotten, None, "", None),
            (staying, 8802, "Người Ở Lại", None),
        ]
    assert main([*argv, str(config)]) == 0
    assert "0 erased again, 1 already erased" in capsys.readouterr().out
