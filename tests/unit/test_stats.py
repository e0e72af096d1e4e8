"""/stats figures on a real SQLite file, pinned on a small hand-made world whose every number is
written out below: participation by what members did (not sign-ups), ngày công per member, the
attendance rate (walk-ins, a no-show, an activity under way), accepted and recognised
initiatives apart, a member who moved after attending, an erased member, units with no members
left unranked; the ranking order; the report text; a chart that fits a phone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from matplotlib.text import Text

from bot.clock import ManualClock
from bot.config import parse_config
from bot.domain.activities import ActivityKind, Audience, NewActivity
from bot.domain.initiatives import InitiativeField, InitiativeStatus, RecognitionLevel
from bot.domain.members import Actor, Member, NewMember, Role, RoleGrant
from bot.services import Services
from bot.stats import (
    BlocFigures,
    ChartLabels,
    Figures,
    Period,
    PeriodKind,
    StatsReport,
    UnitStats,
    chart_figure,
    rank_key,
    shorten,
    wrap_to_fit,
)
from handlers.exports import render_report
from storage.activities import ActivityRepository
from storage.attendance import AttendanceRepository

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 09:00 in Hà Nội, 1 December 2026
ADMIN_TID = 900001
S = InitiativeStatus


@dataclass
class World:
    svc: Services
    clock: ManualClock
    units: dict[str, int]
    admin: Actor
    people: dict[str, Member] = field(default_factory=dict)
    activities: dict[str, int] = field(default_factory=dict)
    _next: int = 7000

    async def member(self, name: str, unit: str) -> Member:
        self._next += 1
        member = await self.svc.members.create(
            NewMember(self._next, name, None, self.units[unit], None, None, "vi", NOW),
            NOW - timedelta(days=400),
        )
        self.people[name] = member
        return member

    async def actor(self, name: str) -> Actor:
        return await self.svc.member_service.actor(self.people[name].telegram_id or 0)

    async def activity(
        self, title: str, unit: str, start: datetime, hours: float, capacity: int | None = None
    ) -> int:
        activity_id = await ActivityRepository(self.svc.db).create(
            NewActivity(
                title=title,
                description="",
                kind=ActivityKind.REGULAR,
                campaign_id=None,
                unit_id=self.units[unit],
                open_to=Audience.ALL,
                place="Hà Nội",
                starts_at=start,
                ends_at=start + timedelta(hours=4),
                deadline_at=start - timedelta(days=1),
                capacity=capacity,
                hours=hours,
                reminder_offsets=None,
                created_by=ADMIN_TID,
            ),
            start - timedelta(days=10),
        )
        self.activities[title] = activity_id
        return activity_id

    async def register(self, title: str, *names: str) -> None:
        repository = ActivityRepository(self.svc.db)
        for name in names:
            await repository.register(
                self.activities[title], self.people[name].id, {}, NOW - timedelta(days=60)
            )

    async def attend(self, title: str, *names: str) -> None:
        repository = AttendanceRepository(self.svc.db)
        for name in names:
            await repository.check_in(
                self.activities[title], self.people[name].id, NOW, allow_walk_in=False
            )

    async def initiative(self, author: str, title: str, steps: list[tuple[S, datetime]]) -> None:
        service = self.svc.initiatives
        actor = await self.actor(author)
        self.clock.set(steps[0][1])
        draft = await service.start_draft(actor, title)
        for name, value in (
            ("field", InitiativeField.DIGITAL.value),
            ("problem", "Hồ sơ còn giấy."),
            ("solution", "Một biểu mẫu trực tuyến."),
            ("benefit", "Tiết kiệm thời gian."),
        ):
            draft = await service.update(actor, draft.id, name, value)
        for target, at in steps:
            self.clock.set(at)
            current = await service.get(self.admin, draft.id)
            await service.change_status(
                actor if target is S.SUBMITTED else self.admin,
                draft.id,
                target,
                version=current.version,
                level=RecognitionLevel.UNIT if target is S.RECOGNISED else None,
            )
        self.clock.set(NOW)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    config = parse_config(
        {"database": {"path": str(tmp_path / "nhipcau.sqlite3")}, "bot": {"admins": [ADMIN_TID]}},
        env={},
        require_token=False,
    )
    clock = ManualClock(NOW)
    svc = await Services.open(config, clock=clock)
    try:
        await svc.units.upsert_many(
            [
                ("BTP", "Bộ Tư pháp"),
                ("BTC", "Bộ Tài chính"),
                ("KTNN", "Kiểm toán Nhà nước"),
                ("BYT", "Bộ Y tế"),  # nobody has joined from here
                ("BNG", "Bộ Ngoại giao"),  # nor from here
            ]
        )
        units = {u.code: u.id for u in await svc.units.all()}
        w = World(svc, clock, units, Actor(ADMIN_TID, None, Role.ADMIN))
        await _seed(w)
        yield w
    finally:
        await svc.close()


def at(day: date, hour: int = 8) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=TZ)


async def _seed(w: World) -> None:
    """Year 2026, with 8 hours a ngày công:

    BTP: An (cadre), Bình, Chi, Dũng, Mạnh (moves to BTC after attending), Xuân (erased after
    attending). BTC: Giang (cadre), Hoa, Khoa, Lâm. KTNN: five members, two of whom attend.

    Hiến máu (BTP, 4 h, ended): An, Bình, Mạnh, Xuân, Hoa present; Chi confirmed, no record.
    Trồng cây (BTC, 2,5 h, ended): Hoa, Bình and KTNN's Phong and Quang present; Khoa recorded
    absent; Lâm walks in and a cadre confirms him.
    Tập huấn (BTP, 2 h, under way): Dũng checked in.
    Dọn rác (BTC, upcoming, 2 seats): Dũng and Khoa confirmed, Giang waitlisted.
    Năm ngoái (BTP, June 2025): An present, outside the period.
    """
    for name in ("An", "Bình", "Chi", "Dũng", "Mạnh", "Xuân"):
        await w.member(name, "BTP")
    for name in ("Giang", "Hoa", "Khoa", "Lâm"):
        await w.member(name, "BTC")
    for name in ("Phong", "Quang", "Sơn", "Tâm", "Uyên"):
        await w.member(name, "KTNN")
    for name, unit in (("An", "BTP"), ("Giang", "BTC")):
        cadre = w.people[name]
        await w.svc.roles.set(RoleGrant(cadre.id, Role.CADRE, w.units[unit], 0, NOW))

    await w.activity("Hiến máu", "BTP", at(date(2026, 11, 10)), 4)
    await w.register("Hiến máu", "An", "Bình", "Mạnh", "Xuân", "Hoa", "Chi")
    await w.attend("Hiến máu", "An", "Bình", "Mạnh", "Xuân", "Hoa")

    await w.activity("Trồng cây", "BTC", at(date(2026, 11, 15)), 2.5)
    await w.register("Trồng cây", "Hoa", "Khoa", "Bình", "Phong", "Quang")
    await w.attend("Trồng cây", "Hoa", "Bình", "Phong", "Quang")
    attendance = AttendanceRepository(w.svc.db)
    trees, giang = w.activities["Trồng cây"], w.people["Giang"].telegram_id or 0
    await attendance.correct(
        trees, w.people["Khoa"].id, present=False, by=giang, reason="Ốm", now=NOW
    )
    await attendance.check_in(trees, w.people["Lâm"].id, NOW, allow_walk_in=True)
    await attendance.decide_walk_in(trees, w.people["Lâm"].id, confirm=True, by=giang, now=NOW)

    await w.activity("Tập huấn", "BTP", NOW - timedelta(hours=1), 2)
    await w.register("Tập huấn", "Dũng")
    await w.attend("Tập huấn", "Dũng")

    await w.activity("Dọn rác", "BTC", at(date(2026, 12, 10)), 3, capacity=2)
    await w.register("Dọn rác", "Dũng", "Khoa", "Giang")

    await w.activity("Năm ngoái", "BTP", at(date(2025, 6, 1)), 4)
    await w.register("Năm ngoái", "An")
    await w.attend("Năm ngoái", "An")

    # Initiatives: BTP's two accepted this year, one of them recognised too; BTC's one in
    # review, and one submitted and accepted last year but recognised this year.
    this_year, last_year = datetime(2026, 3, 2, 3, tzinfo=UTC), datetime(2025, 11, 3, 3, tzinfo=UTC)
    review = [(S.SUBMITTED, this_year), (S.IN_REVIEW, this_year), (S.ACCEPTED, this_year)]
    await w.initiative("An", "Sổ tay pháp luật số", [*review, (S.RECOGNISED, this_year)])
    await w.initiative("Bình", "Tra cứu văn bản bằng giọng nói", review)
    await w.initiative("Hoa", "Hộp thư góp ý", [(S.SUBMITTED, this_year), (S.IN_REVIEW, this_year)])
    old = [(S.SUBMITTED, last_year), (S.IN_REVIEW, last_year), (S.ACCEPTED, last_year)]
    await w.initiative("Khoa", "Thư viện số", [*old, (S.RECOGNISED, this_year)])

    # After attending: Mạnh moves to BTC, Xuân erases herself.
    await w.svc.members.update(w.people["Mạnh"].id, NOW, unit_id=w.units["BTC"])
    assert (await w.svc.privacy.forget(w.people["Xuân"])).erased


def _figures(unit: UnitStats) -> dict[str, object]:
    f = unit.figures
    return {
        "members": f.members,
        "participants": f.participants,
        "participation": f.participation,
        "attended": f.attended,
        "registrations": f.registrations,
        "attendance_rate": f.attendance_rate,
        "hours": f.hours,
        "person_days": f.person_days,
        "per_member": f.person_days_per_member,
        "initiatives": (
            f.initiatives_submitted,
            f.initiatives_accepted,
            f.initiatives_recognised,
        ),
    }


async def test_each_figure_counts_what_members_did_for_the_unit_they_belonged_to(
    world: World,
) -> None:
    report = await world.svc.stats.report(world.admin, PeriodKind.YEAR)
    by_code = {u.code: _figures(u) for u in [*report.ranking, *report.unranked]}
    # BTP: members now An, Bình, Chi, Dũng, plus Mạnh (moved) and Xuân (erased), who attended
    # for BTP: 6. Present: An, Bình, Mạnh, Xuân, Dũng = 5 (Chi only signed up). Attended: 4 at
    # Hiến máu, Bình at Trồng cây, Dũng at Tập huấn = 6; 4×4 + 2,5 + 2 = 20,5 h = 2,5625 →
    # 2,56 ngày công, 20,5 ÷ 6 ÷ 8 = 0,427 → 0,43 per member. Seats: 5 + 1 + 1 + 1 (Dũng at
    # Dọn rác) = 8; settled 7 (Dọn rác has not happened; Tập huấn is under way but Dũng is
    # in): 6 ÷ 7 = 85,7%.
    assert by_code["BTP"] == {
        "members": 6,
        "participants": 5,
        "participation": 83.3,
        "attended": 6,
        "registrations": 8,
        "attendance_rate": 85.7,
        "hours": 20.5,
        "person_days": 2.56,
        "per_member": 0.43,
        "initiatives": (2, 2, 1),
    }
    # BTC: Giang, Hoa, Khoa, Lâm and Mạnh, who joined later and brings no hours: 5. Present:
    # Hoa (twice) and Lâm (walk-in) = 2 people, 3 attendances, 4 + 2,5 + 2,5 = 9 h = 1,125 →
    # 1,13 ngày công, 9 ÷ 5 ÷ 8 = 0,225 → 0,23. Seats: Hoa at Hiến máu; Hoa, Khoa (absent), Lâm
    # at Trồng cây; Khoa at Dọn rác (Giang only waits) = 5, settled 4: 3 ÷ 4 = 75%.
    assert by_code["BTC"] == {
        "members": 5,
        "participants": 2,
        "participation": 40.0,
        "attended": 3,
        "registrations": 5,
        "attendance_rate": 75.0,
        "hours": 9.0,
        "person_days": 1.13,
        "per_member": 0.23,
        "initiatives": (1, 0, 1),  # Hoa's submitted; Khoa's recognised, accepted last year
    }
    # KTNN: 2 of 5 at Trồng cây, 5 h = 0,625 → 0,63 ngày công, 0,125 → 0,13 per member.
    assert by_code["KTNN"] == {
        "members": 5,
        "participants": 2,
        "participation": 40.0,
        "attended": 2,
        "registrations": 2,
        "attendance_rate": 100.0,
        "hours": 5.0,
        "person_days": 0.63,
        "per_member": 0.13,
        "initiatives": (0, 0, 0),
    }
    empty = {
        "members": 0,
        "participants": 0,
        "participation": None,
        "attended": 0,
        "registrations": 0,
        "attendance_rate": None,
        "hours": 0.0,
        "person_days": 0.0,
        "per_member": 0.0,
        "initiatives": (0, 0, 0),
    }
    assert by_code["BYT"] == by_code["BNG"] == empty


async def test_units_with_members_are_ranked_and_counted_the_empty_ones_listed_after(
    world: World,
) -> None:
    report = await world.svc.stats.report(world.admin, PeriodKind.YEAR)
    # BTC and KTNN both 40%: BTC's 0,23 ngày công per member before KTNN's 0,13.
    assert [u.code for u in report.ranking] == ["BTP", "BTC", "KTNN"]
    assert [u.code for u in report.unranked] == ["BNG", "BYT"]  # by name: Ngoại giao, Y tế
    assert report.bloc.units == 3
    bloc = report.bloc.figures
    # 9 of 16 = 56,25% → 56,3%; 11 of 13 settled seats = 84,6%; 34,5 h = 4,3125 → 4,31 days.
    assert (bloc.members, bloc.participants, bloc.participation) == (16, 9, 56.3)
    assert (bloc.attended, bloc.registrations, bloc.attendance_rate) == (11, 15, 84.6)
    assert (bloc.hours, bloc.person_days, bloc.person_days_per_member) == (34.5, 4.31, 0.27)
    assert (
        bloc.initiatives_submitted,
        bloc.initiatives_accepted,
        bloc.initiatives_recognised,
    ) == (3, 2, 2)
    assert (report.bloc.average_hours, report.bloc.average_person_days) == (11.5, 1.44)


async def test_a_cadre_sees_their_unit_and_its_rank_against_the_bloc(world: World) -> None:
    mine = await world.svc.stats.report(await world.actor("Giang"), PeriodKind.YEAR)
    assert mine.focus is not None and mine.focus.code == "BTC" and mine.focus_rank == 2
    assert mine.bloc.units == 3


async def test_a_later_period_counts_nothing_of_this_year(world: World) -> None:
    world.clock.set(datetime(2027, 2, 1, 2, tzinfo=UTC))
    report = await world.svc.stats.report(world.admin, PeriodKind.MONTH)
    # Nobody did anything in February 2027: members still ranked (by name), no share above 0.
    assert [u.code for u in report.ranking] == ["BTC", "BTP", "KTNN"]
    assert [u.figures.participation for u in report.ranking] == [0.0, 0.0, 0.0]
    assert report.bloc.figures.attendance_rate is None  # nothing settled, nobody attended
    # BTP's members are its four left: Mạnh and Xuân attended nothing for it this month.
    assert [u.figures.members for u in report.ranking] == [5, 4, 5]


def _unit(
    code: str, name: str, members: int, participants: int, hours: float, attended: int
) -> UnitStats:
    figures = Figures(members, participants, attended, attended, attended, hours, 0, 0, 0, 8.0)
    return UnitStats(sum(map(ord, code)), code, name, figures)


def test_the_ranking_order_is_participation_then_work_per_member_then_attendances_then_name() -> (
    None
):
    units = [
        _unit("E", "Đơn vị E", 10, 5, 40.0, 5),  # 50%, 0,5 per member, 5 attendances
        _unit("D", "Đơn vị D", 10, 5, 40.0, 9),  # same share and work, more attendances
        _unit("C", "Đơn vị C", 10, 5, 80.0, 5),  # same share, more work per member
        _unit("A", "Đơn vị A", 10, 8, 8.0, 8),  # the highest share, whatever the work
        _unit("B", "Bộ B", 10, 5, 40.0, 5),  # ties E on everything: by name, "Bộ" first
        _unit("F", "Đơn vị F", 30, 15, 120.0, 15),  # 50%, 0,5 per member, more attendances
    ]
    assert [u.code for u in sorted(units, key=rank_key)] == ["A", "C", "F", "D", "B", "E"]


def test_shares_and_work_per_member_are_rounded_once_by_the_shown_figures() -> None:
    # 1 of 3 and 333 of 1000 both read 33,3%: the tie goes to the work per member, as shown.
    small = _unit("S", "Nhỏ", 3, 1, 8.0, 1)  # 8 h ÷ 3 ÷ 8 = 0,333 → 0,33
    large = _unit("L", "Lớn", 1000, 333, 2680.0, 333)  # 2680 ÷ 1000 ÷ 8 = 0,335 → 0,34
    assert small.figures.participation == large.figures.participation == 33.3
    assert [u.code for u in sorted([small, large], key=rank_key)] == ["L", "S"]


# --- the report text ----------------------------------------------------------------------------


async def test_the_admin_report_reads_the_figures_and_the_ranking(world: World) -> None:
    report = await world.svc.stats.report(world.admin, PeriodKind.YEAR)
    text = render_report(world.svc.catalogue, "vi", report)
    assert text.split("\n") == [
        "📊 <b>Thống kê phong trào — năm 2026</b>",
        "Toàn khối (3 đơn vị): 9/16 đoàn viên đã tham gia (56,3%); 15 lượt đăng ký, 11 lượt có "
        "mặt (tỷ lệ có mặt 84,6%); 34,5 giờ tình nguyện = <b>4,31 ngày công</b>, bình quân "
        "0,27 ngày công mỗi đoàn viên; sáng kiến: 3 đã nộp, 2 được chấp nhận, 2 được công nhận.",
        "",
        "🏆 <b>Xếp hạng thi đua</b> (theo tỷ lệ đoàn viên tham gia, rồi ngày công bình quân mỗi "
        "đoàn viên, rồi số lượt có mặt):",
        "1. <b>BTP</b> — Bộ Tư pháp: 83,3% tham gia (5/6), 0,43 ngày công/đoàn viên (2,56 ngày "
        "công), 6 lượt có mặt",
        "2. <b>BTC</b> — Bộ Tài chính: 40% tham gia (2/5), 0,23 ngày công/đoàn viên (1,13 ngày "
        "công), 3 lượt có mặt",
        "3. <b>KTNN</b> — Kiểm toán Nhà nước: 40% tham gia (2/5), 0,13 ngày công/đoàn viên (0,63 "
        "ngày công), 2 lượt có mặt",
        "Chưa xếp hạng 2 đơn vị chưa có đoàn viên trên Nhịp Cầu: BNG, BYT.",
        "",
        world.svc.catalogue.text("vi", "stats.how_counted"),
    ]


async def test_the_cadre_report_puts_their_unit_against_the_bloc_average(world: World) -> None:
    report = await world.svc.stats.report(await world.actor("An"), PeriodKind.YEAR)
    text = render_report(world.svc.catalogue, "en", report)
    assert text.split("\n")[3:] == [
        "🏢 <b>BTP — Bộ Tư pháp</b>: ranked 1 of 3 in the bloc",
        "• Members: <b>6</b> (bloc average: 5.33)",
        "• Members who took part: <b>5</b> (bloc average: 3)",
        "• Share taking part: <b>83.3%</b> (bloc average: 56.3%)",
        "• Attendances: <b>6</b> (bloc average: 3.67)",
        "• Registrations: <b>8</b> (bloc average: 5)",
        "• Attendance rate: <b>85.7%</b> (bloc average: 84.6%)",
        "• Volunteer hours: <b>20.5</b> (bloc average: 11.5)",
        "• Person-days: <b>2.56</b> (bloc average: 1.44)",
        "• Person-days per member: <b>0.43</b> (bloc average: 0.27)",
        "• Initiatives submitted: <b>2</b> (bloc average: 1)",
        "• Initiatives accepted: <b>2</b> (bloc average: 0.67)",
        "• Initiatives recognised: <b>1</b> (bloc average: 0.67)",
        "",
        world.svc.catalogue.text("en", "stats.how_counted"),
    ]


async def test_a_cadre_of_a_unit_with_no_members_is_told_it_is_not_ranked(world: World) -> None:
    binh = world.people["Bình"]
    await world.svc.roles.set(RoleGrant(binh.id, Role.CADRE, world.units["BYT"], 0, NOW))
    report = await world.svc.stats.report(await world.actor("Bình"), PeriodKind.YEAR)
    assert report.focus is not None and report.focus.code == "BYT" and report.focus_rank is None
    lines = render_report(world.svc.catalogue, "vi", report).split("\n")
    assert lines[3:6] == [
        "🏢 <b>BYT — Bộ Y tế</b>: chưa xếp hạng (đơn vị chưa có đoàn viên trên Nhịp Cầu)",
        "• Đoàn viên: <b>0</b> (bình quân khối: 5,33)",
        "• Đoàn viên đã tham gia: <b>0</b> (bình quân khối: 3)",
    ]
    assert lines[6] == "• Tỷ lệ đoàn viên tham gia: <b>—</b> (bình quân khối: 56,3%)"
    figure = chart_figure(report, LABELS, "vi")
    figure.canvas.draw()
    assert _texts_outside(figure) == []
    assert [t.get_text() for t in figure.axes[0].get_yticklabels()][-2:] == [
        "BYT — Bộ Y tế",
        "Bình quân khối",
    ]


async def test_with_nobody_on_board_yet_the_report_says_so(tmp_path: Path) -> None:
    config = parse_config(
        {"database": {"path": str(tmp_path / "empty.sqlite3")}, "bot": {"admins": [ADMIN_TID]}},
        env={},
        require_token=False,
    )
    svc = await Services.open(config, clock=ManualClock(NOW))
    try:
        await svc.units.upsert_many([("BTP", "Bộ Tư pháp"), ("BYT", "Bộ Y tế")])
        report = await svc.stats.report(Actor(ADMIN_TID, None, Role.ADMIN), PeriodKind.MONTH)
        lines = render_report(svc.catalogue, "vi", report).split("\n")
    finally:
        await svc.close()
    assert lines[:6] == [
        "📊 <b>Thống kê phong trào — tháng 12/2026</b>",
        "Toàn khối (0 đơn vị): 0/0 đoàn viên đã tham gia (—); 0 lượt đăng ký, 0 lượt có mặt "
        "(tỷ lệ có mặt —); 0 giờ tình nguyện = <b>0 ngày công</b>, bình quân 0 ngày công mỗi "
        "đoàn viên; sáng kiến: 0 đã nộp, 0 được chấp nhận, 0 được công nhận.",
        "",
        "🏆 <b>Xếp hạng thi đua</b> (theo tỷ lệ đoàn viên tham gia, rồi ngày công bình quân mỗi "
        "đoàn viên, rồi số lượt có mặt):",
        "Chưa có đơn vị nào có đoàn viên để xếp hạng.",
        "Chưa xếp hạng 2 đơn vị chưa có đoàn viên trên Nhịp Cầu: BTP, BYT.",
    ]


# --- the chart ----------------------------------------------------------------------------------

LABELS = ChartLabels(
    "Tỷ lệ đoàn viên tham gia — chiến dịch “Mùa hè xanh 2026: tiếp sức mùa thi, hiến máu "
    "tình nguyện và dọn vệ sinh môi trường toàn khối”",
    "Tỷ lệ đoàn viên tham gia (%)",
    "Bình quân khối",
    "{participation} · {days} ngày công",
)


def _texts_outside(figure: object) -> list[str]:
    from matplotlib.figure import Figure

    assert isinstance(figure, Figure)
    renderer = figure.canvas.get_renderer()
    frame = figure.bbox
    outside = []
    for text in figure.findobj(Text):
        if not text.get_visible() or not text.get_text():
            continue
        box = text.get_window_extent(renderer)
        if (
            box.x0 < frame.x0 - 0.5
            or box.y0 < frame.y0 - 0.5
            or box.x1 > frame.x1 + 0.5
            or box.y1 > frame.y1 + 0.5
        ):
            outside.append(text.get_text())
    return outside


def _report(units: list[UnitStats], focus: UnitStats | None = None) -> StatsReport:
    period = Period(PeriodKind.YEAR, NOW, NOW + timedelta(days=365), date(2026, 1, 1))
    bloc = BlocFigures(Figures.total((u.figures for u in units), 8.0), len(units))
    ranking = sorted(units, key=rank_key)
    rank = ranking.index(focus) + 1 if focus else None
    return StatsReport(period, ranking, [], bloc, focus, rank)


def test_the_chart_fits_a_phone_with_every_text_inside_and_shares_up_to_100() -> None:
    units = [
        _unit("BTP", "Bộ Tư pháp", 10, 10, 80_000.0, 10),  # everyone: a bar of 100%
        _unit("TTXVN", "Thông tấn xã Việt Nam và các đơn vị sự nghiệp trực thuộc", 9, 0, 0, 0),
        _unit("KTNN", "Kiểm toán Nhà nước", 12, 6, 99_999.25, 6),  # a long figure mid-way
        _unit("X", "Mộttừrấtdàikhôngcókhoảngtrắngnàoởgiữacả", 3, 0, 0.0, 0),
        *(_unit(f"U{i}", f"Đơn vị số {i}", 20, i, 8.0 * i, i) for i in range(1, 10)),
    ]
    report = _report(units, focus=units[1])
    figure = chart_figure(report, LABELS, "vi")
    figure.canvas.draw()
    assert _texts_outside(figure) == []
    assert figure.bbox.width == 1080
    [axes] = figure.axes
    assert axes.get_xlim() == (0.0, 100.0)
    title = figure.get_suptitle()
    assert title.count("\n") >= 1 and title.replace("\n", " ") == LABELS.title
    labels = [t.get_text() for t in axes.get_yticklabels()]
    assert labels[0] == "BTP — Bộ Tư pháp"
    assert "TTXVN — Thông tấn xã Việt…" in labels  # the cadre's unit, outside the top 10
    assert labels[-1] == "Bình quân khối"
    annotations = [t.get_text() for t in axes.texts]
    assert annotations[0] == "100% · 10.000 ngày công"
    assert "50% · 12.499,91 ngày công" in annotations


def test_the_real_chart_of_the_world_fits_too() -> None:
    units = [_unit("BTP", "Bộ Tư pháp", 6, 5, 20.5, 6), _unit("BTC", "Bộ Tài chính", 5, 2, 9, 3)]
    figure = chart_figure(_report(units, focus=units[1]), LABELS, "en")
    figure.canvas.draw()
    assert _texts_outside(figure) == []
    annotations = [t.get_text() for t in figure.axes[0].texts]
    assert annotations == [
        "83.3% · 2.56 ngày công",
        "40% · 1.13 ngày công",
        "63.6% · 1.84 ngày công",  # the bloc: 7 of 11; the average unit: 29,5 h ÷ 2 ÷ 8
    ]


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("BTP — Bộ Tư pháp", 26, "BTP — Bộ Tư pháp"),
        ("TTXVN — Thông tấn xã Việt Nam", 26, "TTXVN — Thông tấn xã Việt…"),
        ("TTXVN — Thông tấn xã Việt Nam", 25, "TTXVN — Thông tấn xã…"),
        ("BTC — Bộ Tài chính và các cục", 10, "BTC — Bộ…"),  # no dangling dash or space
        ("Ngân hàng   Nhà nước\nViệt Nam", 40, "Ngân hàng Nhà nước Việt Nam"),
        ("X — Mộttừrấtdàikhôngcókhoảngtrắng", 20, "X — Mộttừrấtdàikhôn…"),
        ("Mộttừrấtdàikhôngcókhoảngtrắng", 10, "Mộttừrấtd…"),
    ],
)
def test_names_are_shortened_at_a_word_with_an_ellipsis(
    text: str, limit: int, expected: str
) -> None:
    shortened = shorten(text, limit)
    assert shortened == expected and len(shortened) <= limit


def test_a_long_title_wraps_between_words_into_at_most_three_lines() -> None:
    def fits(line: str) -> bool:
        return len(line) <= 20

    assert wrap_to_fit("Tỷ lệ đoàn viên tham gia — năm 2026", fits) == [
        "Tỷ lệ đoàn viên tham",
        "gia — năm 2026",
    ]
    long = "một hai ba bốn năm sáu bảy tám chín mười mười một mười hai mười ba mười bốn"
    lines = wrap_to_fit(long, fits)
    assert lines == ["một hai ba bốn năm", "sáu bảy tám chín", "mười mười một mười…"]
    assert wrap_to_fit("Siêudàikhôngcókhoảngtrắngnàocả ok", fits) == ["Siêudàikhôngcókhoản…", "ok"]
