"""Onboarding as a journey of the dialog layer, without HTTP: the same dialog asks for a phone
with a share button where the channel has one (Telegram) and takes a typed Vietnamese number
where it has not (Zalo), and ends with the same member row."""

from __future__ import annotations

from pathlib import Path

from bot.domain.members import Channel, Person
from bot.telegram_html import parse_html
from handlers.dialog import KeyboardKind
from tests.dialogs import Shown, dialog_harness


def text(shown: Shown) -> str:
    return parse_html(shown.reply.text).text


async def test_a_zalo_newcomer_onboards_by_typing_everything(tmp_path: Path) -> None:
    async with dialog_harness(tmp_path) as h:
        an = h.person(Channel.ZALO, "6ede9afa66b88fe6d6a9", name="Nguyễn Văn An", first="An")
        [consent] = await an.type("3")  # a Zalo id never seen before, typing anything
        assert text(consent).startswith("Xin chào An! 👋 Chào mừng bạn đến với Nhịp Cầu")
        assert [b.label for b in consent.buttons] == ["✅ Đồng ý", "Không đồng ý"]
        assert await h.services.flows.get(an.user.person) is None  # nothing stored before

        given, ask_name = await an.press("✅ Đồng ý")
        assert text(given).startswith("✅ Bạn đã đồng ý xử lý dữ liệu cá nhân lúc ")
        assert text(ask_name) == (
            "Bước 1/4. Mời bạn nhập họ và tên đầy đủ (ví dụ: Nguyễn Thị Minh Anh)."
        )
        assert [b.label for b in ask_name.buttons] == ["Dùng tên «Nguyễn Văn An»"]

        [units] = await an.type("nguyễn văn an")
        assert text(units).startswith("Bước 2/4. Mời bạn chọn đơn vị")
        assert [b.label for b in units.buttons] == ["Bộ Tài chính", "Bộ Tư pháp", "Bộ Y tế"]
        [found] = await an.type("bo tai chinh")
        assert [b.label for b in found.buttons] == ["Bộ Tài chính", "📋 Xem tất cả đơn vị"]
        chosen, ask_phone = await an.press("Bộ Tài chính", found)
        assert text(chosen) == "Đơn vị: Bộ Tài chính ✅"
        assert text(ask_phone) == (
            "Bước 3/4. Bạn có muốn để lại số điện thoại để cán bộ đoàn liên hệ khi cần không? "
            "Gõ số của bạn, ví dụ 0912 345 678, hoặc chọn “Bỏ qua”."
        )
        keyboard = ask_phone.reply.keyboard
        assert keyboard is not None and keyboard.kind is KeyboardKind.SUGGESTIONS
        assert keyboard.share_contact is None and keyboard.rows == (("Bỏ qua",),)
        assert ask_phone.reply.numeric_answer  # "0912…" is an answer, never a choice

        [refused] = await an.type("12345")
        assert text(refused).startswith("Số này chưa giống một số điện thoại Việt Nam.")
        [ask_email] = await an.type("0912 345 678")
        assert text(ask_email).startswith("Bước 4/4.")
        [summary] = await an.type("Bỏ qua")
        assert text(summary) == (
            "Mời bạn kiểm tra lại thông tin:\n👤 Họ tên: nguyễn văn an\n🏢 Đơn vị: Bộ Tài chính\n"
            "📱 Điện thoại: +84912345678\n✉️ Email: (chưa cung cấp)\n\n"
            "Nếu đúng, bấm «Xác nhận»; muốn sửa mục nào, bấm nút tương ứng."
        )
        _saved, welcome = await an.press("✅ Xác nhận")
        assert text(welcome).startswith("🎉 Chào mừng nguyễn văn an đã tham gia Nhịp Cầu!")
        assert welcome.reply.keyboard is not None
        assert welcome.reply.keyboard.kind is KeyboardKind.MAIN_MENU

        member = await h.services.members.by_zalo_id("6ede9afa66b88fe6d6a9")
        assert member is not None and member.telegram_id is None
        assert (member.full_name, member.phone, member.email) == (
            "nguyễn văn an",
            "+84912345678",
            None,
        )
        unit = await h.services.units.get(member.unit_id or 0)
        assert unit is not None and unit.code == "BTC"
        assert await h.services.flows.get(Person.zalo("6ede9afa66b88fe6d6a9")) is None


async def test_on_telegram_the_phone_is_shared_not_typed(tmp_path: Path) -> None:
    async with dialog_harness(tmp_path) as h:
        binh = h.person(Channel.TELEGRAM, "5201", name="Trần Thị Bình", first="Bình")
        await binh.type("/start")
        await binh.press("✅ Đồng ý")
        await binh.press("Dùng tên «Trần Thị Bình»")
        [_, ask_phone] = await binh.press("Bộ Tư pháp")
        keyboard = ask_phone.reply.keyboard
        assert keyboard is not None and keyboard.share_contact == "📱 Chia sẻ số điện thoại của tôi"
        [asked_to_share] = await binh.type("0912345678")
        assert text(asked_to_share).startswith("Để bảo đảm chính xác, mời bạn dùng nút")
        [not_own] = await binh.share_contact("+84900000000", own=False)
        assert text(not_own).startswith("Nhịp Cầu chỉ nhận số điện thoại của chính bạn.")
        [ask_email] = await binh.share_contact("84987654321")
        assert text(ask_email).startswith("Bước 4/4.")
