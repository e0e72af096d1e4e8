""" "Tuổi trẻ sáng tạo" as journeys of the dialog layer, without HTTP, on Zalo's capabilities (no
edits, no documents): a member submits an initiative by typing every answer, names its field,
attaches an image the Zalo channel stored, confirms the summary and gets a code; the unit's
cadre is told, reviews and accepts it (the author is told each time, on their channel); another
member supports it, twice, then takes the support back. On Telegram the same step takes
documents, and every file is handed back with the channel it belongs to."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.clock import ManualClock
from bot.domain.members import Channel, Member, NewMember, Role, RoleGrant
from bot.telegram_html import parse_html
from handlers.dialog import FileKind, FileRef, Press, Reply, Upload
from tests.dialogs import DialogHarness, Shown, dialog_harness

TITLE = "Số hoá sổ theo dõi công văn đến"
PROBLEM = "Sổ công văn giấy khó tra cứu, mất nhiều thời gian tìm văn bản cũ."
SOLUTION = "Chuyển sổ công văn sang bảng tính dùng chung, có ô tìm kiếm theo số và trích yếu."
BENEFIT = "Mỗi cán bộ văn thư tiết kiệm khoảng 2 giờ mỗi tuần."
# An image as the Zalo channel keeps it: the name of the file it stored in the files folder.
ZALO_IMAGE = FileRef(Channel.ZALO, "5f1c0e7a9b2d4c3e8f6a1b0c9d8e7f6a", "zalo-9e107d9d372bb682")
SUMMARY_CHOICES = [
    ["📤 Gửi sáng kiến"],
    ["✏️ Tên sáng kiến", "✏️ Lĩnh vực"],
    ["✏️ Vấn đề", "✏️ Giải pháp"],
    ["✏️ Hiệu quả dự kiến", "✏️ Đồng tác giả"],
    ["📎 Thêm tệp", "🗑 Xoá các tệp"],
    ["💾 Lưu nháp, viết tiếp sau"],
]


def text(shown: Shown | Reply) -> str:
    reply = shown.reply if isinstance(shown, Shown) else shown
    return parse_html(reply.text).text


def choices(shown: Shown | Reply) -> list[list[str]]:
    reply = shown.reply if isinstance(shown, Shown) else shown
    return [[button.label for button in row] for row in reply.buttons]


async def member(
    h: DialogHarness, name: str, unit: str, *, zalo: str | None = None, telegram: int | None = None
) -> Member:
    found = await h.services.units.get_by_code(unit)
    assert found is not None
    now = h.services.clock.now()
    return await h.services.members.create(
        NewMember(telegram, name, None, found.id, None, None, "vi", now, zalo_id=zalo), now
    )


async def supporters(h: DialogHarness, initiative_id: int) -> list[int]:
    rows = await h.services.db.fetch_all(
        "SELECT member_id FROM initiative_supports WHERE initiative_id = ?", (initiative_id,)
    )
    return [int(r[0]) for r in rows]


async def test_on_zalo_an_initiative_is_typed_reviewed_and_supported(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2026, 3, 2, 2, 0, tzinfo=UTC))
    async with dialog_harness(tmp_path, clock) as h:
        author = await member(h, "Nguyễn Văn An", "BTP", zalo="6ede9afa66b88fe6d6a9")
        cadre = await member(h, "Trần Thị Bí Thư", "BTP", zalo="c0ffee00c0ffee00c0ff")
        reader = await member(h, "Lê Thu Hà", "BTC", zalo="a11ce0000a11ce0000a1")
        btp = await h.services.units.get_by_code("BTP")
        assert btp is not None
        await h.services.roles.set(RoleGrant(cadre.id, Role.CADRE, btp.id, 0, clock.now()))
        an = h.person(Channel.ZALO, "6ede9afa66b88fe6d6a9")

        # --- the author submits, typing every answer -------------------------------------
        [menu] = await an.type("💡 Sáng kiến")
        assert text(menu) == (
            "💡 Tuổi trẻ sáng tạo\nMỗi sáng kiến, dù nhỏ, đều góp phần làm công việc của cơ "
            "quan, đơn vị tốt hơn. Bạn muốn làm gì?"
        )
        assert choices(menu) == [
            ["➕ Gửi sáng kiến mới"],
            ["📂 Sáng kiến của tôi"],
            ["🌟 Sáng kiến tiêu biểu"],
        ]
        [ask_title] = await an.press("➕ Gửi sáng kiến mới")
        assert text(ask_title) == (
            "Bước 1/7. Mời bạn đặt tên sáng kiến (từ 5 đến 200 ký tự), ví dụ: Số hoá sổ theo "
            "dõi công văn đến.\nGõ /cancel nếu muốn dừng lại."
        )
        created, ask_field = await an.type(TITLE)
        assert text(created).startswith(f"💾 Đã tạo bản nháp «{TITLE}».")
        assert text(ask_field) == "Bước 2/7. Sáng kiến thuộc lĩnh vực nào?"
        assert choices(ask_field) == [
            ["Chuyển đổi số", "Cải cách hành chính"],
            ["Chuyên môn, nghiệp vụ", "Nghiên cứu khoa học"],
            ["Cộng đồng, xã hội", "Lĩnh vực khác"],
        ]
        [not_a_field, asked_again] = await an.type("văn phòng")
        assert text(not_a_field) == (
            "Mời bạn chọn một lĩnh vực trong danh sách bên dưới (hoặc gõ đúng tên lĩnh vực)."
        )
        assert choices(asked_again) == choices(ask_field)
        chosen, ask_problem = await an.type("chuyen doi so")  # the label, typed loosely
        assert text(chosen) == "Lĩnh vực: Chuyển đổi số ✅"
        assert text(ask_problem) == (
            "Bước 3/7. Vấn đề bạn muốn giải quyết là gì, hiện trạng đang ra sao? "
            "(tối đa 4000 ký tự)"
        )
        [ask_solution] = await an.type(PROBLEM)
        assert text(ask_solution).startswith("Bước 4/7. Giải pháp bạn đề xuất là gì")
        [ask_benefit] = await an.type(SOLUTION)
        assert text(ask_benefit).startswith("Bước 5/7. Hiệu quả dự kiến:")
        [ask_coauthors] = await an.type(BENEFIT)
        assert text(ask_coauthors).startswith("Bước 6/7. Sáng kiến có đồng tác giả không?")
        assert choices(ask_coauthors) == [["Bỏ qua"]]
        [ask_files] = await an.type("Trần Minh Đức")
        assert text(ask_files) == (
            "Bước 7/7. Bạn có thể gửi kèm ảnh minh hoạ (tối đa 5 tệp, mỗi tệp không quá 20 MB)."
            " Đã đính kèm: 0.\nTài liệu (PDF, Word, Excel…) bạn có thể đính kèm từ Telegram "
            "trước khi gửi: menu “💡 Sáng kiến” → “✍️ Viết tiếp” → “📎 Thêm tệp”.\n"
            "Gửi xong, chọn “✅ Xong, xem tóm tắt”."
        )
        assert choices(ask_files) == [["✅ Xong, xem tóm tắt"]]
        [received] = await an.do(
            Upload(FileKind.PHOTO, ZALO_IMAGE, "image.jpg", 48_213, "image/jpeg")
        )
        assert text(received) == (
            "📎 Đã nhận tệp «anh-372bb682.jpg» (1/5). Bạn có thể gửi thêm, hoặc bấm "
            "«✅ Xong, xem tóm tắt»."
        )
        assert choices(received) == [["✅ Xong, xem tóm tắt"]]
        [hint] = await an.type("xong rồi nhé")
        assert text(hint) == (
            "Mời bạn gửi ảnh, hoặc chọn “✅ Xong, xem tóm tắt”. Tài liệu (PDF, Word…) bạn có thể "
            "đính kèm từ Telegram."
        )
        [summary] = await an.press("✅ Xong, xem tóm tắt")
        assert text(summary) == (
            f"📋 Tóm tắt sáng kiến\n{TITLE}\nLĩnh vực: Chuyển đổi số\n\n"
            f"Vấn đề: {PROBLEM}\n\nGiải pháp: {SOLUTION}\n\nHiệu quả dự kiến: {BENEFIT}\n\n"
            "Đồng tác giả: Trần Minh Đức\nTệp đính kèm: 1\n\n"
            "Nếu mọi thứ đã ổn, bấm «📤 Gửi»; muốn sửa phần nào, bấm nút tương ứng."
        )
        assert choices(summary) == SUMMARY_CHOICES
        # Typing at the summary offers its choices again (on Zalo the last ones count).
        [again] = await an.type("ok")
        assert text(again) == (
            "Mời bạn chọn việc cần làm với bản tóm tắt: gửi, sửa từng phần hoặc lưu nháp."
        )
        assert choices(again) == SUMMARY_CHOICES
        [submitted] = await an.press("📤 Gửi sáng kiến", again)
        assert not submitted.replaced  # no edits on Zalo: a new message
        assert text(submitted) == (
            f"🎉 Cảm ơn bạn! Sáng kiến «{TITLE}» đã được gửi với mã TTST-2026-0001. Cán bộ đoàn "
            "đơn vị sẽ xem xét, và Nhịp Cầu sẽ báo cho bạn mỗi khi có kết quả."
        )
        assert await h.services.flows.get(an.user.person) is None

        row = await h.services.db.fetch_one("SELECT * FROM initiatives")
        assert row is not None
        initiative_id = int(row["id"])
        assert (row["code"], row["status"], row["field"], row["author_member_id"]) == (
            "TTST-2026-0001",
            "submitted",
            "digital",
            author.id,
        )
        assert (row["title"], row["problem"], row["solution"], row["benefit"]) == (
            TITLE,
            PROBLEM,
            SOLUTION,
            BENEFIT,
        )
        assert row["coauthors"] == "Trần Minh Đức"
        files = await h.services.db.fetch_all(
            "SELECT kind, channel, file_id, file_unique_id, name, size, mime "
            "FROM initiative_attachments WHERE initiative_id = ?",
            (initiative_id,),
        )
        assert [tuple(f) for f in files] == [
            (
                "photo",
                "zalo",
                ZALO_IMAGE.ref,
                ZALO_IMAGE.unique_id,
                "anh-372bb682.jpg",
                48_213,
                "image/jpeg",
            )
        ]

        # --- the unit's cadre is told, and reviews it -------------------------------------
        [(told_cadre, notice)] = h.others.told
        assert told_cadre == cadre.id
        assert text(notice) == (
            f"📥 Có sáng kiến mới chờ duyệt: TTST-2026-0001 «{TITLE}». "
            "Xem danh sách bằng lệnh /review."
        )
        assert choices(notice) == [["💡 Xem sáng kiến"]]
        bi_thu = h.person(Channel.ZALO, "c0ffee00c0ffee00c0ff", name="Trần Thị Bí Thư")
        open_action = notice.buttons[0][0].action
        assert open_action is not None
        [card] = await bi_thu.do(Press(open_action))
        assert text(card) == (
            f"💡 {TITLE}\nMã: TTST-2026-0001 · 📤 Chờ duyệt\nLĩnh vực: Chuyển đổi số\n"
            "Tác giả: Nguyễn Văn An — Bộ Tư pháp\nĐồng tác giả: Trần Minh Đức\n\n"
            f"Vấn đề: {PROBLEM}\n\nGiải pháp: {SOLUTION}\n\nHiệu quả dự kiến: {BENEFIT}\n\n"
            "📎 Tệp đính kèm: 1 · 👍 Ủng hộ: 0"
        )
        assert choices(card) == [
            ["🔍 Nhận xem xét"],
            ["📜 Đọc toàn văn", "🕓 Lịch sử", "📎 Tệp (1)"],
        ]
        [image] = await bi_thu.press("📎 Tệp (1)", card)
        assert image.reply.photo is not None and image.reply.document is None
        assert image.reply.photo.stored == ZALO_IMAGE  # the channel keeps it; we pass its ref
        assert image.reply.photo.for_member == cadre.id
        assert text(image) == "📎 anh-372bb682.jpg"

        done, in_review = await bi_thu.press("🔍 Nhận xem xét", card)
        assert text(done) == (f"Đã cập nhật sáng kiến TTST-2026-0001 «{TITLE}»: 🔍 Đang xem xét.")
        assert choices(in_review) == [
            ["✏️ Yêu cầu chỉnh sửa"],
            ["✅ Chấp nhận"],
            ["❌ Không chấp nhận"],
            ["📜 Đọc toàn văn", "🕓 Lịch sử", "📎 Tệp (1)"],
        ]
        told_author, reply = h.others.told[1]
        assert told_author == author.id
        assert text(reply) == (
            f"🔍 Sáng kiến TTST-2026-0001 «{TITLE}» của bạn đang được cán bộ đoàn xem xét."
        )
        assert choices(reply) == [["💡 Xem sáng kiến"]]
        # The card shown before "Nhận xem xét" is out of date: its press changes nothing.
        await bi_thu.press("🔍 Nhận xem xét", card)
        assert bi_thu.chat.toasts[-1] == (
            "Sáng kiến vừa được người khác cập nhật (hiện tại: 🔍 Đang xem xét).",
            True,
        )
        [accepted] = await bi_thu.press("✅ Chấp nhận", in_review)
        assert text(accepted) == (
            f"Đã cập nhật sáng kiến TTST-2026-0001 «{TITLE}»: ✅ Được chấp nhận."
        )
        told_author, reply = h.others.told[-1]
        assert (told_author, text(reply)) == (
            author.id,
            f"✅ Chúc mừng! Sáng kiến TTST-2026-0001 «{TITLE}» của bạn đã được chấp nhận.",
        )
        assert len(h.others.told) == 3  # the cadre once, the author twice
        history = await h.services.db.fetch_all(
            "SELECT from_status, to_status, actor_member_id FROM initiative_history "
            "WHERE initiative_id = ? ORDER BY id",
            (initiative_id,),
        )
        assert [tuple(r) for r in history] == [
            ("draft", "submitted", author.id),
            ("submitted", "in_review", cadre.id),
            ("in_review", "accepted", cadre.id),
        ]

        # --- another member supports it twice (one support), then takes it back -------------
        ha = h.person(Channel.ZALO, "a11ce0000a11ce0000a1", name="Lê Thu Hà")
        await ha.type("💡 Sáng kiến")
        [listing] = await ha.press("🌟 Sáng kiến tiêu biểu")
        assert text(listing) == (
            "🌟 Sáng kiến tiêu biểu — Tất cả lĩnh vực (1)\n\n"
            f"TTST-2026-0001 {TITLE} — Bộ Tư pháp · 👍 0\n\n"
            "Chọn một sáng kiến để đọc và ủng hộ:"
        )
        assert choices(listing) == [
            [f"TTST-2026-0001 · {TITLE}"],
            ["• Tất cả lĩnh vực", "Chuyển đổi số"],
            ["Cải cách hành chính", "Chuyên môn, nghiệp vụ"],
            ["Nghiên cứu khoa học", "Cộng đồng, xã hội"],
            ["Lĩnh vực khác"],
        ]
        [public] = await ha.press(f"TTST-2026-0001 · {TITLE}")
        assert choices(public) == [["👍 Ủng hộ (0)"], ["📜 Đọc toàn văn"]]  # no files for all
        [supported] = await ha.press("👍 Ủng hộ (0)", public)
        assert ha.chat.toasts[-1] == (
            "Cảm ơn bạn đã ủng hộ sáng kiến! Hiện có 1 lượt ủng hộ.",
            False,
        )
        assert choices(supported) == [["💙 Đã ủng hộ (1) · bấm để bỏ"], ["📜 Đọc toàn văn"]]
        assert text(supported).endswith("📎 Tệp đính kèm: 1 · 👍 Ủng hộ: 1")
        # The same choice again, from the older card: still one support, the same card.
        [still] = await ha.press("👍 Ủng hộ (0)", public)
        assert choices(still) == choices(supported)
        assert await supporters(h, initiative_id) == [reader.id]
        [removed] = await ha.press("💙 Đã ủng hộ (1) · bấm để bỏ", still)
        assert ha.chat.toasts[-1] == ("Bạn đã bỏ ủng hộ sáng kiến này.", False)
        assert choices(removed) == [["👍 Ủng hộ (0)"], ["📜 Đọc toàn văn"]]
        assert await supporters(h, initiative_id) == []


async def test_on_telegram_the_step_takes_documents_and_hands_back_file_ids(
    tmp_path: Path,
) -> None:
    async with dialog_harness(tmp_path) as h:
        await member(h, "Trần Thị Bình", "BTP", telegram=5201)
        binh = h.person(Channel.TELEGRAM, "5201", name="Trần Thị Bình")
        actor = await h.services.member_service.actor(5201)
        draft = await h.services.initiatives.start_draft(actor, TITLE)
        await h.services.flows.start(
            binh.user.person, "initiative", "attachments", id=draft.id, reviewing=True
        )
        [hint] = await binh.type("đây")
        assert text(hint) == (
            "Mời bạn gửi tệp (tài liệu hoặc ảnh), hoặc bấm «✅ Xong, xem tóm tắt»."
        )
        document = FileRef(Channel.TELEGRAM, "BQACAgIAAxkBAAIBZ2", "AgADZ2")
        [received] = await binh.do(
            Upload(FileKind.DOCUMENT, document, "de-an.pdf", 14, "application/pdf")
        )
        assert text(received).startswith("📎 Đã nhận tệp «de-an.pdf» (1/5).")
        [summary] = await binh.press("✅ Xong, xem tóm tắt")
        assert "Tệp đính kèm: 1" in text(summary)
        row = await h.services.db.fetch_one(
            "SELECT kind, channel, file_id, file_unique_id, name FROM initiative_attachments"
        )
        assert row is not None and tuple(row) == (
            "document",
            "telegram",
            "BQACAgIAAxkBAAIBZ2",
            "AgADZ2",
            "de-an.pdf",
        )
        [card] = await binh.do(Press(f"ini:open:{draft.id}"))
        [sent] = await binh.press("📎 Tệp (1)", card)
        assert sent.reply.document is not None and sent.reply.photo is None
        assert sent.reply.document.stored == document
        assert sent.reply.document.filename == "de-an.pdf"
