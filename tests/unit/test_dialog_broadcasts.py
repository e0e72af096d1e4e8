"""Broadcasts, exports, /stats and the choices under a reminder as journeys of the dialog layer,
on a channel like Zalo (no edits, no formatting, no deep links): an announcement typed as plain
text goes out as typed, the audience is chosen by its label and previewed with its exact count;
an export is handed over as a document made for the asker alone."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.activities import ActivityDraft, ActivityKind, Audience
from bot.clock import ManualClock
from bot.domain.members import Channel, Member, NewMember, Role, RoleGrant
from bot.telegram_html import parse_html
from handlers.dialog import FileKind, FileRef, Press, Upload
from tests.dialogs import DialogHarness, Shown, Talker, dialog_harness

NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 09:00 in Hà Nội
ZALO_ADMIN = "6ede9afa66b88fe6d6a9"
ZALO_CADRE = "1f2e3d4c5b6a79880716"


def text(shown: Shown) -> str:
    return parse_html(shown.reply.text).text


def labels(shown: Shown) -> list[str]:
    return [b.label for b in shown.buttons]


@dataclass
class World:
    h: DialogHarness
    clock: ManualClock

    async def member(
        self,
        name: str,
        *,
        telegram_id: int | None = None,
        zalo_id: str | None = None,
        unit: str = "BTP",
        role: Role | None = None,
    ) -> Member:
        services = self.h.services
        unit_row = await services.units.get_by_code(unit)
        assert unit_row is not None
        now = self.clock.now()
        member = await services.members.create(
            NewMember(
                telegram_id,
                name,
                None,
                unit_row.id,
                None,
                None,
                "vi",
                now - timedelta(days=1),
                zalo_id=zalo_id,
            ),
            now,
        )
        if role is not None:
            cadre_unit = unit_row.id if role is Role.CADRE else None
            await services.roles.set(RoleGrant(member.id, role, cadre_unit, 0, now))
        return member

    async def activity(self, cadre: Member, *, capacity: int = 10) -> int:
        services = self.h.services
        starts = NOW + timedelta(days=10)
        actor = await services.member_service.actor_of_member(cadre)
        created = await services.activities.create(
            actor,
            ActivityDraft(
                title="Hiến máu tình nguyện",
                description="",
                kind=ActivityKind.REGULAR,
                unit_id=cadre.unit_id or 0,
                open_to=Audience.ALL,
                place="Viện Huyết học",
                starts_at=starts,
                ends_at=starts + timedelta(hours=3),
                deadline_at=starts - timedelta(days=1),
                capacity=capacity,
                hours=3.0,
            ),
        )
        return created.id

    def on_zalo(self, zalo_id: str, name: str) -> Talker:
        return self.h.person(Channel.ZALO, zalo_id, name=name, first=name.split()[-1])


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    clock = ManualClock(NOW)
    async with dialog_harness(tmp_path, clock) as h:
        yield World(h, clock)


async def test_a_plain_text_announcement_goes_as_typed_to_the_audience_chosen_by_label(
    world: World,
) -> None:
    admin = await world.member("Quản Trị Viên", zalo_id=ZALO_ADMIN, role=Role.ADMIN)
    for i in range(3):
        await world.member(f"Đoàn Viên {i}", telegram_id=7000 + i)
    await world.member("Đoàn Viên Bộ Y tế", telegram_id=7010, unit="BYT")
    talker = world.on_zalo(ZALO_ADMIN, "Quản Trị Viên")

    [panel] = await talker.type("🛠 Quản lý")
    assert "📢 Gửi thông báo" in labels(panel)
    [ask] = await talker.press("📢 Gửi thông báo")
    assert text(ask) == (
        "📢 Soạn thông báo\nMời bạn gửi nội dung thông báo: đoàn viên sẽ nhận đúng như bạn gõ. "
        "Muốn thôi, bạn quay về menu chính."
    )
    [audience] = await talker.type("Họp lúc 8 < 9 giờ & mang áo xanh")
    assert text(audience) == "Gửi thông báo này tới ai?"
    assert labels(audience) == [
        "👥 Toàn bộ đoàn viên",
        "🏢 Chọn đơn vị",
        "🎖 Cán bộ đoàn các đơn vị",
        "🙋 Người đã đăng ký một hoạt động",
    ]
    state = await world.h.services.flows.get(talker.user.person)
    assert state is not None and state.step == "audience"
    # A lone "<" and "&" are characters: kept as typed, escaped for the HTML the outbox sends.
    assert state.data["text"] == "Họp lúc 8 &lt; 9 giờ &amp; mang áo xanh"

    [picker] = await talker.press("🏢 Chọn đơn vị")
    assert not picker.replaced  # no edits on Zalo: a new message
    assert labels(picker) == ["Bộ Tài chính", "Bộ Tư pháp", "Bộ Y tế", "✅ Xong (0 đơn vị)"]
    [picker] = await talker.press("Bộ Tư pháp")
    assert labels(picker) == ["Bộ Tài chính", "✓ Bộ Tư pháp", "Bộ Y tế", "✅ Xong (1 đơn vị)"]
    intro, preview, count = await talker.press("✅ Xong (1 đơn vị)")
    assert text(intro) == "👀 Xem trước — đoàn viên sẽ nhận đúng tin nhắn dưới đây:"
    assert text(preview) == "Họp lúc 8 < 9 giờ & mang áo xanh"  # exactly as typed
    assert preview.buttons == []
    assert text(count) == (
        "Thông báo trên sẽ được gửi tới 3 đoàn viên (không tính người đã tắt thông báo hoặc đã "
        "chặn bot)."
    )  # the three of Bộ Tư pháp; not Bộ Y tế, not the admin (no account the outbox reaches)
    assert labels(count) == ["✅ Gửi ngay", "🕒 Hẹn giờ gửi", "✏️ Soạn lại", "✖️ Huỷ"]

    [progress] = await talker.press("✅ Gửi ngay")
    assert text(progress) == (
        "📢 Thông báo #1 — đang gửi\n✅ Đã gửi: 0\n⚠️ Lỗi: 0\n🚫 Đã chặn bot: 0\n"
        "⏳ Còn lại: 3 / 3\n⏱ Dự kiến xong sau: ?"
    )
    assert labels(progress) == ["⏸ Tạm dừng", "✖️ Huỷ gửi"]
    db = world.h.services.db
    row = await db.fetch_one(
        "SELECT created_by, text_html, media_kind, activity_id, audience_kind, audience_units, "
        "status, total, progress_chat_id, progress_message_id FROM broadcasts"
    )
    assert row is not None
    assert tuple(row) == (
        admin.id,
        "Họp lúc 8 &lt; 9 giờ &amp; mang áo xanh",
        None,
        None,
        "units",
        f"[{admin.unit_id}]",
        "sending",
        3,
        None,  # no Telegram chat to keep a live message in
        None,
    )
    recipients = await db.fetch_all(
        "SELECT m.full_name, r.state FROM broadcast_recipients r "
        "JOIN members m ON m.id = r.member_id ORDER BY m.id"
    )
    assert [tuple(r) for r in recipients] == [
        ("Đoàn Viên 0", "pending"),
        ("Đoàn Viên 1", "pending"),
        ("Đoàn Viên 2", "pending"),
    ]
    assert await world.h.services.flows.get(talker.user.person) is None

    [paused] = await talker.press("⏸ Tạm dừng")
    assert talker.chat.toasts[-1] == ("Đã tạm dừng", False)
    assert text(paused).startswith("📢 Thông báo #1 — tạm dừng\n")
    assert labels(paused) == ["▶️ Tiếp tục", "✖️ Huỷ gửi"]
    assert await db.fetch_value("SELECT status FROM broadcasts") == "paused"


async def test_an_upload_from_a_channel_without_telegram_files_is_declined(world: World) -> None:
    await world.member("Quản Trị Viên", zalo_id=ZALO_ADMIN, role=Role.ADMIN)
    talker = world.on_zalo(ZALO_ADMIN, "Quản Trị Viên")
    await talker.type("/broadcast")
    photo = Upload(
        FileKind.PHOTO, FileRef(Channel.ZALO, "blob-1", "blob-1"), "anh.jpg", 20, "image/jpeg"
    )
    [declined] = await talker.do(photo)
    assert text(declined) == (
        "Hiện Nhịp Cầu chỉ nhận ảnh hoặc tệp kèm thông báo khi bạn gửi từ Telegram. Mời bạn gửi "
        "nội dung thông báo bằng chữ."
    )
    state = await world.h.services.flows.get(talker.user.person)
    assert state is not None and state.step == "text"  # still waiting for the announcement


async def test_a_cadre_chooses_an_activity_and_its_button_then_schedules(world: World) -> None:
    cadre = await world.member("Bí Thư Lan", zalo_id=ZALO_CADRE, role=Role.CADRE)
    activity = await world.activity(cadre)
    talker = world.on_zalo(ZALO_CADRE, "Bí Thư Lan")
    await talker.type("/broadcast")
    [audience] = await talker.type("Nhớ mang căn cước")
    assert labels(audience) == ["🏢 Đoàn viên đơn vị tôi", "🙋 Người đã đăng ký một hoạt động"]
    # A forged "everyone" is refused and leaves the choice open.
    [refused] = await talker.do(Press("bc:aud:all"))
    assert text(refused) == "Xin lỗi, bạn không có quyền thực hiện thao tác này."
    [activities] = await talker.press("🙋 Người đã đăng ký một hoạt động")
    assert labels(activities) == ["Hiến máu tình nguyện"]
    [ask_button] = await talker.press("Hiến máu tình nguyện")
    assert text(ask_button) == "Gắn nút «Xem hoạt động» vào thông báo?"
    assert labels(ask_button) == ["Có", "Không"]
    _intro, preview, count = await talker.press("Có")
    assert text(preview) == "Nhớ mang căn cước"
    assert [(b.label, b.action) for b in preview.buttons] == [
        ("🙋 Xem hoạt động", f"act:v:{activity}")  # a choice every channel can offer
    ]
    assert text(count).startswith("Thông báo trên sẽ được gửi tới 0 đoàn viên")
    [ask_time] = await talker.press("🕒 Hẹn giờ gửi")
    assert text(ask_time) == "Mời bạn nhập thời điểm gửi theo dạng 25/12/2026 08:00 (giờ Việt Nam)."
    [past] = await talker.type("01/12/2026 08:00")
    assert text(past) == "Thời điểm này đã qua. Mời bạn chọn một thời điểm trong tương lai."
    [scheduled] = await talker.type("02/12/2026  08:00")
    assert text(scheduled) == (
        "🕒 Thông báo #1 sẽ được gửi lúc 02/12/2026 08:00. Bạn có thể huỷ trước giờ gửi bằng nút "
        "dưới đây hoặc trong /broadcasts."
    )
    assert labels(scheduled) == ["✖️ Huỷ gửi"]
    row = await world.h.services.db.fetch_one(
        "SELECT status, scheduled_at, activity_id, audience_kind, audience_activity FROM broadcasts"
    )
    assert row is not None
    assert tuple(row) == (
        "scheduled",
        "2026-12-02T01:00:00+00:00",
        activity,
        "activity",
        activity,
    )
    title, listed = await talker.type("/broadcasts")
    assert text(title) == "Các thông báo gần đây"
    assert text(listed).startswith("📢 Thông báo #1 — đã hẹn giờ\n")
    assert labels(listed) == ["✖️ Huỷ gửi"]


async def test_an_export_is_handed_over_as_a_document_for_the_asker(world: World) -> None:
    cadre = await world.member("Bí Thư Lan", zalo_id=ZALO_CADRE, role=Role.CADRE)
    await world.member("Nguyễn Văn An", telegram_id=7001)
    await world.member("Trần Bộ Y Tế", telegram_id=7002, unit="BYT")
    talker = world.on_zalo(ZALO_CADRE, "Bí Thư Lan")

    [kinds] = await talker.type("/export")
    assert text(kinds) == "📥 Xuất dữ liệu\nBạn muốn xuất dữ liệu gì?"
    assert labels(kinds) == [
        "Đăng ký hoạt động",
        "Điểm danh và giờ tình nguyện",
        "Danh sách đoàn viên",
        "Sáng kiến và lịch sử xử lý",
        "Báo cáo gửi thông báo",
    ]
    [scopes] = await talker.press("Danh sách đoàn viên")
    assert labels(scopes)[0] == "Toàn bộ đơn vị của tôi"  # a cadre's "all" is their unit
    [formats] = await talker.press("Toàn bộ đơn vị của tôi")
    assert labels(formats) == ["📊 Excel (XLSX)", "📄 CSV"]
    [working] = await talker.press("📄 CSV")
    assert text(working) == "⏳ Đang chuẩn bị tệp, bạn vui lòng chờ trong giây lát…"
    assert await world.h.services.flows.get(talker.user.person) is None  # no second export

    shown = await talker.wait_for(lambda s: s.reply.document is not None)
    document = shown.reply.document
    assert document is not None
    assert (document.filename, document.mime, document.for_member) == (
        "doan-vien_don-vi-btp_2026-12-01.csv",
        "text/csv",
        cadre.id,  # a link, where files go as links, is the cadre's alone
    )
    assert text(shown) == "✅ Dữ liệu đã xuất: 2 dòng.\nPhạm vi: Đơn vị BTP — Bộ Tư pháp"
    content = talker.chat.files[document.filename].decode("utf-8-sig")
    table = list(csv.reader(io.StringIO(content)))
    names = [row[table[0].index("Họ và tên")] for row in table[1:]]
    assert names == ["Bí Thư Lan", "Nguyễn Văn An"]  # not the other unit's member


async def test_stats_send_the_report_and_the_chart_as_a_photo(world: World) -> None:
    await world.member("Quản Trị Viên", zalo_id=ZALO_ADMIN, role=Role.ADMIN)
    talker = world.on_zalo(ZALO_ADMIN, "Quản Trị Viên")
    [periods] = await talker.type("/stats")
    assert labels(periods) == ["Tháng này", "Năm nay", "Theo chiến dịch"]
    ready, report, chart = await talker.press("Năm nay")
    assert text(ready).startswith("📊")
    assert text(report).startswith("📊 Thống kê phong trào — năm 2026\n")
    assert chart.reply.photo is not None and chart.reply.photo.content is not None
    assert chart.reply.photo.content.startswith(b"\x89PNG")
    assert chart.reply.photo.mime == "image/png"


async def test_cannot_make_it_under_a_reminder_frees_the_seat_for_the_waitlist(
    world: World,
) -> None:
    cadre = await world.member("Bí Thư Lan", telegram_id=7001, role=Role.CADRE)
    activity = await world.activity(cadre, capacity=1)
    an = await world.member("Nguyễn Văn An", zalo_id=ZALO_ADMIN)
    binh = await world.member("Lê Thị Bình", telegram_id=7002)
    services = world.h.services
    for person in (an, binh):
        await services.activities.register(
            await services.member_service.actor_of_member(person), activity
        )
    looked: list[None] = []
    services.activities.notice_listeners.append(lambda: looked.append(None))
    talker = world.on_zalo(ZALO_ADMIN, "Nguyễn Văn An")

    [coming] = await talker.do(Press(f"rm:yes:{activity}"))
    assert talker.chat.toasts == [("Hẹn gặp bạn!", False)]
    assert text(coming) == "✅ Cảm ơn bạn đã xác nhận. Hẹn gặp bạn tại hoạt động!"
    [cancelled] = await talker.do(Press(f"rm:no:{activity}"))
    assert text(cancelled) == (
        "Đã huỷ đăng ký «Hiến máu tình nguyện». Chỗ của bạn đã được nhường cho người trong danh "
        "sách chờ. Cảm ơn bạn đã báo sớm!"
    )
    rows = await services.db.fetch_all(
        "SELECT member_id, status FROM registrations WHERE activity_id = ? ORDER BY member_id",
        (activity,),
    )
    assert [tuple(r) for r in rows] == [(an.id, "cancelled"), (binh.id, "confirmed")]
    notices = await services.db.fetch_all("SELECT kind, member_id, state FROM notices")
    assert [tuple(r) for r in notices] == [("promoted", binh.id, "pending")]
    assert looked == [None]  # the notice outbox was told to look now, once
    # Pressed again (an old copy): the seat is gone already, and nothing more happens.
    assert await talker.do(Press(f"rm:no:{activity}")) == []
    assert talker.chat.toasts[-1] == ("Bạn chưa đăng ký hoạt động này.", True)
    assert looked == [None]
