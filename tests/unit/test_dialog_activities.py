"""Activities and attendance as journeys of the dialog layer, on a channel like Zalo (no edits,
no deep links, no contact sharing): a member browses, registers answering a choice question,
gets the calendar file and cancels; a cadre creates an activity by typing every answer (numbers
stay answers); a member checks in by typing the six digits; a walk-in is confirmed by a cadre
told through the messenger. Importing from the template file, where documents can be sent."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from icalendar import Calendar

from bot.activities import ActivityDraft, ActivityKind, Audience, Question
from bot.clock import ManualClock
from bot.domain.activities import Activity
from bot.domain.members import Channel, NewMember, Role, RoleGrant
from bot.telegram_html import parse_html
from handlers.dialog import BotLinks, FileKind, FileRef, Press, Reply, Upload
from tests.dialogs import (
    TELEGRAM_LIKE,
    ZALO_LIKE,
    DialogHarness,
    RecordingConversation,
    Shown,
    Talker,
    dialog_harness,
)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 12, 1, 8, 0, tzinfo=TZ)
START = datetime(2026, 12, 20, 8, 0, tzinfo=TZ)


def text(shown: Shown | Reply) -> str:
    reply = shown.reply if isinstance(shown, Shown) else shown
    return parse_html(reply.text).text


def rows(shown: Shown | Reply) -> list[list[str]]:
    reply = shown.reply if isinstance(shown, Shown) else shown
    return [[b.label for b in row] for row in reply.buttons]


def code_of(shown: Shown) -> str:
    line = next(ln for ln in text(shown).splitlines() if ln.startswith("🔢 ") and ln[2:].isdigit())
    return line.removeprefix("🔢 ")


@dataclass
class FilesConversation(RecordingConversation):
    """A chat whose uploads can be downloaded (by their file reference)."""

    files: dict[str, bytes] = field(default_factory=dict)

    async def download(self, file: FileRef, *, limit: int) -> bytes:
        content = self.files[file.ref]
        if len(content) > limit:
            raise ValueError("file too large")
        return content


async def zalo_member(
    h: DialogHarness,
    zalo_id: str,
    name: str,
    *,
    role: Role = Role.MEMBER,
    telegram_id: int | None = None,
) -> Talker:
    """A member who onboarded earlier, talking on Zalo (or on Telegram, given its id)."""
    services = h.services
    unit = await services.units.get_by_code("BTP")
    assert unit is not None
    now = services.clock.now()
    member = await services.members.create(
        NewMember(telegram_id, name, None, unit.id, None, None, "vi", now, zalo_id=zalo_id), now
    )
    if role is Role.CADRE:
        await services.roles.set(RoleGrant(member.id, Role.CADRE, unit.id, 0, now))
    if telegram_id is not None:
        return h.person(Channel.TELEGRAM, str(telegram_id), name=name)
    return h.person(Channel.ZALO, zalo_id, name=name)


async def blood_drive(h: DialogHarness, cadre: Talker, **changes: object) -> Activity:
    actor = await h.services.member_service.actor_of(cadre.user.person)
    assert actor.cadre_unit_id is not None
    fields: dict[str, object] = {
        "title": "Hiến máu tình nguyện",
        "description": "Mang theo căn cước.",
        "kind": ActivityKind.REGULAR,
        "unit_id": actor.cadre_unit_id,
        "open_to": Audience.ALL,
        "place": "Viện Huyết học",
        "starts_at": START,
        "ends_at": START + timedelta(hours=3),
        "deadline_at": START - timedelta(days=1),
        "capacity": 10,
        "hours": 3.5,
        **changes,
    }
    return await h.services.activities.create(actor, ActivityDraft(**fields))  # type: ignore[arg-type]


async def registration_of(h: DialogHarness, activity_id: int, zalo_id: str) -> tuple[str, str]:
    row = await h.services.db.fetch_one(
        "SELECT r.status, r.answers FROM registrations r JOIN members m ON m.id = r.member_id "
        "WHERE r.activity_id = ? AND m.zalo_id = ?",
        (activity_id, zalo_id),
    )
    assert row is not None
    return str(row[0]), str(row[1])


async def test_a_zalo_member_browses_registers_gets_the_calendar_and_cancels(
    tmp_path: Path,
) -> None:
    async with dialog_harness(tmp_path, ManualClock(NOW)) as h:
        lan = await zalo_member(h, "zlan", "Trần Thị Lan", role=Role.CADRE)
        an = await zalo_member(h, "zan", "Nguyễn Văn An")
        activity = await blood_drive(
            h, lan, questions=(Question(1, "Cỡ áo?", ("S", "M", "L"), True),)
        )

        assert an.capabilities == ZALO_LIKE
        [listed] = await an.type("🙋 Hoạt động")
        # No deep links on this channel: the list shows each activity's reference.
        assert text(listed) == (
            "🙋 Hoạt động sắp diễn ra — tất cả (trang 1/1, 1 hoạt động)\n\n"
            f"1. Hiến máu tình nguyện · mã #{activity.id}\n"
            "🕗 08:00–11:00 ngày 20/12/2026\n📍 Viện Huyết học\n👥 Còn 10/10 chỗ\n"
            "⏳ Hạn đăng ký: 08:00 19/12/2026"
        )
        assert rows(listed) == [
            ["ℹ️ 1. Chi tiết", "✅ 1. Đăng ký"],
            ["🏢 Đơn vị tôi", "✓ 🌐 Tất cả", "🚩 Chiến dịch"],
        ]

        [card] = await an.press("ℹ️ 1. Chi tiết")
        assert not card.replaced
        assert text(card) == (
            "Hiến máu tình nguyện\n🏷 Thường xuyên · Bộ Tư pháp · Mọi đoàn viên\n"
            "🕗 08:00–11:00 ngày 20/12/2026\n📍 Viện Huyết học\n👥 Còn 10/10 chỗ\n"
            "⏳ Hạn đăng ký: 08:00 19/12/2026\n🎖 Ghi nhận: 3,5 giờ (0,44 ngày công)\n\n"
            "Mang theo căn cước.\n"
        )
        assert rows(card) == [["✅ Đăng ký tham gia"], ["📋 Danh sách hoạt động"]]

        intro, question = await an.press("✅ Đăng ký tham gia", card)
        assert text(intro) == (
            "Để đăng ký «Hiến máu tình nguyện», mời bạn trả lời 1 câu hỏi ngắn của ban tổ chức."
        )
        assert text(question) == "Câu 1/1. Cỡ áo?\nMời bạn chọn một đáp án bên dưới."
        assert rows(question) == [["S"], ["M"], ["L"]]
        assert not question.reply.numeric_answer

        chosen, registered = await an.press("M", question)  # the choice, by its label
        assert text(chosen) == "Cỡ áo?: M"
        assert text(registered) == (
            "✅ Bạn đã đăng ký thành công Hiến máu tình nguyện.\n"
            "🕗 08:00–11:00 ngày 20/12/2026\n📍 Viện Huyết học\nHẹn gặp bạn ở hoạt động nhé!"
        )
        assert rows(registered) == [["❌ Huỷ đăng ký"]]
        assert await registration_of(h, activity.id, "zan") == ("confirmed", '{"1": "M"}')
        assert await h.services.flows.get(an.user.person) is None

        [mine] = await an.type("📅 Đăng ký của tôi")
        assert text(mine) == (
            "📅 Đăng ký của tôi\n\nSắp diễn ra\n1. Hiến máu tình nguyện\n"
            "🕗 08:00–11:00 ngày 20/12/2026\n📍 Viện Huyết học\n✅ Bạn đã đăng ký\n\n"
            "Đã tham gia gần đây\n(chưa có)\n\n🎖 Tổng cộng: 0 hoạt động, 0 giờ (0 ngày công)"
        )
        assert rows(mine) == [
            ["❌ 1. Huỷ đăng ký", "ℹ️ 1. Chi tiết"],
            ["📆 Thêm vào lịch (.ics)"],
            ["🙋 Xem hoạt động sắp tới"],
        ]

        [sent] = await an.press("📆 Thêm vào lịch (.ics)", mine)
        document = sent.reply.document
        assert document is not None and document.content is not None
        assert (document.filename, document.mime) == ("nhipcau-hoat-dong.ics", "text/calendar")
        member = await h.services.members.by_zalo_id("zan")
        assert member is not None and document.for_member == member.id
        assert text(sent) == (
            "📆 Lịch các hoạt động bạn đã đăng ký. Mở tệp để thêm vào Google Calendar, "
            "Outlook hoặc lịch điện thoại."
        )
        [event] = Calendar.from_ical(document.content).walk("VEVENT")
        assert str(event["SUMMARY"]) == "Hiến máu tình nguyện"
        assert event.decoded("DTSTART") == START

        [ask] = await an.press("❌ 1. Huỷ đăng ký", mine)
        assert text(ask) == (
            "Bạn chắc chắn muốn huỷ đăng ký Hiến máu tình nguyện? Chỗ của bạn sẽ được nhường "
            "cho người đầu tiên trong danh sách chờ."
        )
        assert rows(ask) == [["Có, huỷ đăng ký"], ["Không, giữ nguyên"]]
        [cancelled] = await an.press("Có, huỷ đăng ký", ask)
        assert not cancelled.replaced  # no edits here: a new message
        assert text(cancelled) == "Đã huỷ đăng ký Hiến máu tình nguyện. Cảm ơn bạn đã báo sớm!"
        assert (await registration_of(h, activity.id, "zan"))[0] == "cancelled"

        # The same choice again (an old copy): refused as a notice, nothing changes.
        assert await an.press("Có, huỷ đăng ký", ask) == []
        assert an.chat.toasts[-1] == ("Bạn chưa đăng ký hoạt động này.", True)
        assert (await registration_of(h, activity.id, "zan"))[0] == "cancelled"


async def test_a_zalo_cadre_creates_an_activity_typing_numbers_as_answers(tmp_path: Path) -> None:
    async with dialog_harness(tmp_path, ManualClock(NOW)) as h:
        lan = await zalo_member(h, "zlan", "Trần Thị Lan", role=Role.CADRE)
        intro, ask_title = await lan.type("/newactivity")
        assert text(intro).startswith("➕ Tạo hoạt động tình nguyện\n")
        assert text(ask_title) == "Mời bạn nhập tên hoạt động (ví dụ: Hiến máu tình nguyện đợt 2)."
        await lan.type("Dọn vệ sinh hồ Tây")
        [ask_kind] = await lan.type("Mang găng tay.")
        assert rows(ask_kind) == [
            ["Thường xuyên"],
            ["Tại chỗ"],
            ["Chiến dịch"],
            ["Công trình thanh niên"],
        ]
        await lan.press("Thường xuyên", ask_kind)
        await lan.press("Chỉ đoàn viên đơn vị")
        await lan.type("Hồ Tây")
        await lan.type("27/12/2026 07:00")
        await lan.type("27/12/2026 10:00")

        [ask_capacity] = await lan.type("26/12/2026 17:00")
        assert text(ask_capacity) == (
            "Nhập số chỗ tối đa (số nguyên từ 1), hoặc chọn «Không giới hạn»."
        )
        assert rows(ask_capacity) == [["♾ Không giới hạn"]]
        assert ask_capacity.reply.numeric_answer  # "30" is thirty seats, not choice 30
        [again] = await lan.type("0")
        assert text(again) == "Số chỗ phải là số nguyên từ 1 đến 10000. Mời bạn nhập lại."
        assert again.reply.numeric_answer  # still the capacity step
        [ask_hours] = await lan.type("30")
        assert text(ask_hours) == (
            "Mỗi người tham gia được ghi nhận bao nhiêu giờ tình nguyện? (ví dụ 3,5)"
        )
        assert rows(ask_hours) == [["Bằng thời lượng: 3 giờ"]]
        assert ask_hours.reply.numeric_answer
        [ask_campaign] = await lan.type("2,5")
        assert not ask_campaign.reply.numeric_answer  # choices are numbered again
        await lan.press("Không thuộc chiến dịch nào", ask_campaign)
        await lan.press("Tiếp tục ▶️")
        [summary] = await lan.press("Dùng mặc định (24h, 2h)")
        assert text(summary) == (
            "Mời bạn kiểm tra lại hoạt động:\nDọn vệ sinh hồ Tây\n"
            "🏷 Thường xuyên · Bộ Tư pháp · Chỉ đoàn viên đơn vị\n"
            "🕗 07:00–10:00 ngày 27/12/2026\n⏳ Hạn đăng ký: 17:00 26/12/2026\n📍 Hồ Tây\n"
            "👥 Số chỗ: 30\n🎖 Ghi nhận: 2,5 giờ (0,31 ngày công)\n🚩 Chiến dịch: (không có)\n"
            "⏰ Nhắc lịch: 24h, 2h\n📝 Mô tả: Mang găng tay.\n❓ Câu hỏi:\n(chưa có câu hỏi)\n\n"
            "Nếu đúng, bấm «Lưu hoạt động»; muốn sửa mục nào, bấm nút tương ứng."
        )

        created, manage = await lan.press("✅ Lưu hoạt động", summary)
        row = await h.services.db.fetch_one(
            "SELECT id, title, capacity, hours, open_to FROM activities"
        )
        assert row is not None
        assert tuple(row)[1:] == ("Dọn vệ sinh hồ Tây", 30, 2.5, "unit")
        ref = row[0]
        # No t.me link on this channel: the reference a member finds in the list instead.
        assert text(created) == (
            f"✅ Đã tạo hoạt động Dọn vệ sinh hồ Tây (mã #{ref}).\n"
            "Mời đoàn viên mở “🙋 Hoạt động” trên menu của Nhịp Cầu và chọn hoạt động có mã "
            f"#{ref} trong danh sách để đăng ký."
        )
        assert "t.me" not in text(manage)
        assert text(manage) == (
            "⚙️ Dọn vệ sinh hồ Tây — đang nhận đăng ký\n🕗 07:00–10:00 ngày 27/12/2026\n"
            "📍 Hồ Tây\n👥 Còn 30/30 chỗ\n✅ Xác nhận: 0 · ⏳ Chờ: 0 · 🎖 Có mặt: 0\n"
            f"🔖 Mã hoạt động: #{ref} — đoàn viên mở “🙋 Hoạt động” trên menu của Nhịp Cầu và "
            "chọn hoạt động có mã này trong danh sách để đăng ký."
        )
        assert rows(manage) == [
            ["📋 Danh sách đăng ký", "📷 Mã QR điểm danh"],
            ["✏️ Thời gian", "✏️ Địa điểm"],
            ["✏️ Số chỗ", "✏️ Mô tả"],
            ["🔒 Đóng đăng ký", "🚫 Huỷ hoạt động"],
        ]
        assert await h.services.flows.get(lan.user.person) is None

        # Editing the capacity later is a typed number too.
        [ask_seats] = await lan.press("✏️ Số chỗ", manage)
        assert ask_seats.reply.numeric_answer
        saved, _ = await lan.type("45")
        assert text(saved) == (
            "✅ Đã cập nhật. Những người đã đăng ký sẽ được thông báo về thay đổi."
        )
        assert await h.services.db.fetch_value("SELECT capacity FROM activities") == 45


async def test_a_cadre_imports_activities_from_the_template_file(tmp_path: Path) -> None:
    async with dialog_harness(tmp_path, ManualClock(NOW)) as h:
        # Tables arrive only where a person can send documents (Telegram, not Zalo).
        lan = await zalo_member(h, "zlan", "Trần Thị Lan", role=Role.CADRE, telegram_id=7001)
        files = FilesConversation(TELEGRAM_LIKE)
        lan.chat = files

        [template] = await lan.type("/template")
        document = template.reply.document
        assert document is not None and document.content is not None
        assert (document.filename, document.mime) == ("mau-nhap-hoat-dong.csv", "text/csv")
        table = list(csv.reader(io.StringIO(document.content.decode("utf-8-sig"))))
        assert table[0][:3] == ["title", "description", "kind"]
        assert table[1][0] == "Hiến máu tình nguyện"

        [ask] = await lan.type("/import")
        assert text(ask) == (
            "📥 Nhập hoạt động từ tệp\nMời bạn gửi tệp CSV hoặc XLSX theo mẫu (gõ /template để "
            "tải mẫu), tối đa 1000 dòng. Mọi dòng được kiểm tra trước; chỉ cần một dòng lỗi là "
            "chưa nhập dòng nào. Gõ /cancel để dừng."
        )
        photo = Upload(
            FileKind.PHOTO, FileRef(Channel.TELEGRAM, "p1", "p1"), "a.jpg", 10, "image/jpeg"
        )
        [wrong] = await lan.do(photo)
        assert text(wrong) == (
            "Nhịp Cầu chỉ nhận tệp CSV hoặc XLSX. Mời bạn lưu lại đúng định dạng rồi gửi lại "
            "(gõ /template để tải mẫu)."
        )
        huge = Upload(
            FileKind.DOCUMENT, FileRef(Channel.TELEGRAM, "big", "big"), "a.csv", 9**9, None
        )
        [too_big] = await lan.do(huge)
        assert text(too_big) == (
            "Tệp quá lớn: giới hạn là 5 MB và 1000 dòng mỗi lần nhập. Mời bạn chia nhỏ tệp rồi "
            "gửi lại."
        )
        assert await h.services.db.fetch_value("SELECT COUNT(*) FROM activities") == 0

        files.files["t1"] = document.content
        upload = Upload(
            FileKind.DOCUMENT,
            FileRef(Channel.TELEGRAM, "t1", "t1"),
            "mau-nhap-hoat-dong.csv",
            len(document.content),
            "text/csv",
        )
        [done] = await lan.do(upload)
        assert text(done) == "✅ Đã nhập 1 hoạt động. Gõ /manage để xem và quản lý."
        row = await h.services.db.fetch_one("SELECT title, capacity, hours FROM activities")
        assert row is not None and tuple(row) == ("Hiến máu tình nguyện", 50, 3.5)
        assert await h.services.flows.get(lan.user.person) is None


async def test_where_only_pictures_can_be_sent_import_says_what_works(tmp_path: Path) -> None:
    async with dialog_harness(tmp_path, ManualClock(NOW)) as h:
        lan = await zalo_member(h, "zlan", "Trần Thị Lan", role=Role.CADRE)
        # Zalo's capabilities as the core describes them from its next commit on.
        lan.chat = RecordingConversation(
            SimpleNamespace(  # type: ignore[arg-type]
                edits=False,
                share_contact=False,
                deep_links=False,
                command_menu=False,
                documents=False,
            )
        )
        [refused] = await lan.type("/import")
        assert text(refused) == (
            "Trên kênh này Nhịp Cầu chỉ nhận được ảnh, chưa nhận được tệp CSV hay XLSX. Bạn "
            "có thể nhập hoạt động từ tệp qua Telegram, hoặc tạo từng hoạt động bằng "
            "/newactivity."
        )
        assert await h.services.flows.get(lan.user.person) is None


async def test_a_zalo_member_checks_in_by_typing_the_six_digits(tmp_path: Path) -> None:
    clock = ManualClock(NOW)
    async with dialog_harness(tmp_path, clock) as h:
        h.routes.links = BotLinks("nhipcau_test_bot")  # Telegram runs beside: the QR has a link
        lan = await zalo_member(h, "zlan", "Trần Thị Lan", role=Role.CADRE)
        an = await zalo_member(h, "zan", "Nguyễn Văn An")
        activity = await blood_drive(h, lan)
        actor = await h.services.member_service.actor_of(an.user.person)
        await h.services.activities.register(actor, activity.id)
        clock.set(START - timedelta(minutes=30))

        await lan.type("/manage")
        [manage] = await lan.press("⚙️ 1. Hiến máu tình nguyện")
        [qr] = await lan.press("📷 Mã QR điểm danh", manage)
        photo = qr.reply.photo
        assert photo is not None and photo.content is not None
        assert (photo.filename, photo.mime) == ("diem-danh.png", "image/png")
        assert photo.content.startswith(b"\x89PNG")
        code = code_of(qr)
        link = next(w for w in text(qr).split() if w.startswith("https://t.me/"))
        assert link.startswith(f"https://t.me/nhipcau_test_bot?start=ci_{activity.id}_")
        # No edits on this channel: the code does not renew itself, the caption says so.
        assert text(qr) == (
            "📷 Mã QR điểm danh — Hiến máu tình nguyện\n"
            "Đoàn viên quét mã bằng camera điện thoại, hoặc gõ /checkin rồi nhập mã số:\n"
            f"🔢 {code}\n"
            "Mã này dùng được đến 07:32; mỗi phút có một mã mới, chọn “🔄 Mã mới” để hiện mã "
            "mới nhất.\nHiệu lực từ 07:00 20/12/2026 đến 11:00 20/12/2026.\n"
            f"Liên kết: {link}"
        )
        assert rows(qr) == [["🔄 Mã mới"]]

        clock.advance(timedelta(seconds=61))
        [fresh] = await lan.press("🔄 Mã mới", qr)
        assert fresh.reply.photo is not None and not fresh.replaced
        assert code_of(fresh) != code
        assert "Mã này dùng được đến 07:33;" in text(fresh)

        [ask] = await an.type("/checkin")
        assert text(ask) == (
            "🔢 Mời bạn gõ mã số điểm danh (6 chữ số) hiện dưới mã QR trên màn hình của ban tổ "
            "chức. Gõ /cancel nếu muốn dừng."
        )
        assert ask.reply.numeric_answer and not ask.reply.buttons
        wrong_code = "000000" if code_of(fresh) != "000000" else "000001"
        [wrong] = await an.type(wrong_code)
        assert text(wrong).startswith("Mã số này chưa đúng hoặc đã hết hạn.")
        assert wrong.reply.numeric_answer  # still waiting for the digits
        [done] = await an.type(code)  # the code of the window before still works
        assert text(done) == (
            "✅ Điểm danh thành công Hiến máu tình nguyện!\n"
            "Bạn được ghi nhận 3,5 giờ (0,44 ngày công). Cảm ơn bạn đã góp sức!"
        )
        assert await h.services.flows.get(an.user.person) is None
        attendance = await h.services.db.fetch_all(
            "SELECT m.zalo_id, t.present, t.hours, t.method FROM attendance t "
            "JOIN members m ON m.id = t.member_id"
        )
        assert [tuple(r) for r in attendance] == [("zan", 1, 3.5, "qr")]

        # Without any channel that has links, the cadre gets the six digits alone.
        h.routes.links = BotLinks()
        [digits] = await lan.press("🔄 Mã mới", fresh)
        assert digits.reply.photo is None
        assert text(digits) == (
            "🔢 Mã số điểm danh — Hiến máu tình nguyện\nĐoàn viên gõ /checkin rồi nhập mã số:\n"
            f"🔢 {code_of(fresh)}\n"
            "Mã này dùng được đến 07:33; mỗi phút có một mã mới, chọn “🔄 Mã mới” để hiện mã "
            "mới nhất.\nHiệu lực từ 07:00 20/12/2026 đến 11:00 20/12/2026."
        )


async def test_a_walk_in_is_confirmed_by_the_cadre_told_through_the_messenger(
    tmp_path: Path,
) -> None:
    clock = ManualClock(NOW)
    async with dialog_harness(tmp_path, clock) as h:
        lan = await zalo_member(h, "zlan", "Trần Thị Lan", role=Role.CADRE)
        binh = await zalo_member(h, "zbinh", "Lê Thị Bình")
        activity = await blood_drive(h, lan)
        clock.set(START - timedelta(minutes=30))
        cadre = await h.services.member_service.actor_of(lan.user.person)
        qr = await h.services.attendance.checkin_qr(cadre, activity.id, None)

        [waiting] = await binh.type(f"/checkin {qr.code}")
        assert text(waiting) == (
            "🙋 Bạn chưa có trong danh sách đã xác nhận của hoạt động “Hiến máu tình nguyện”. "
            "Nhịp Cầu đã báo cán bộ đoàn phụ trách; khi cán bộ xác nhận bạn có mặt, giờ tình "
            "nguyện sẽ được ghi nhận và bạn sẽ nhận được tin nhắn."
        )
        assert cadre.member is not None
        [(told_id, notice)] = h.others.told
        assert told_id == cadre.member.id
        assert text(notice) == (
            "🙋 Có người xin điểm danh tại chỗ\n"
            "Lê Thị Bình (đơn vị: Bộ Tư pháp) chưa đăng ký trước hoạt động “Hiến máu tình "
            "nguyện” nhưng vừa quét mã điểm danh.\n"
            "Nếu bạn xác nhận, bạn ấy sẽ được ghi nhận 3,5 giờ (0,44 ngày công).\n"
            "👥 Còn 10/10 chỗ"
        )
        assert rows(notice) == [["✅ Xác nhận có mặt", "✖️ Từ chối"]]
        confirm = notice.buttons[0][0].action
        assert confirm is not None

        [decided] = await lan.do(Press(confirm))
        verdict = (
            "đã xác nhận có mặt, ghi nhận 3,5 giờ (0,44 ngày công), bởi Trần Thị Lan lúc "
            "07:30 20/12/2026"
        )
        assert text(decided) == f"🙋 Lê Thị Bình — hoạt động “Hiến máu tình nguyện”: {verdict}."
        assert lan.chat.toasts[-1] == ("Đã lưu.", False)
        walker = await h.services.members.by_zalo_id("zbinh")
        assert walker is not None
        [(told_id, told)] = h.others.told[1:]
        assert told_id == walker.id
        assert text(told) == (
            "✅ Cán bộ đoàn đã xác nhận bạn có mặt ở hoạt động “Hiến máu tình nguyện”. Bạn "
            "được ghi nhận 3,5 giờ (0,44 ngày công). Cảm ơn bạn đã góp sức!"
        )
        attendance = await h.services.db.fetch_all(
            "SELECT member_id, present, hours, method FROM attendance"
        )
        assert [tuple(r) for r in attendance] == [(walker.id, 1, 3.5, "walk_in")]

        # The same choice again (a second tap, an old copy): nothing more, and it says so.
        await lan.do(Press(confirm))
        assert lan.chat.toasts[-1] == (
            f"Yêu cầu này đã được xử lý trước đó: {verdict}. Không có gì thay đổi thêm.",
            True,
        )
        assert len(h.others.told) == 2
        assert await h.services.db.fetch_value("SELECT COUNT(*) FROM attendance") == 1
