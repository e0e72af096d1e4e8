"""Linking through the dialog layer alone, with both channels running: the settings of a
Telegram member offer a code for Zalo; a Zalo newcomer (no buttons, no deep links) chooses "I
already use Nhịp Cầu on Telegram" on the consent screen and types it; the member is told on
Telegram; then one member, reached where they choose."""

from __future__ import annotations

import re
from pathlib import Path

from bot.domain.members import Channel, NewMember, Person
from bot.telegram_html import parse_html
from handlers.dialog import KeyboardKind
from tests.dialogs import Shown, dialog_harness


def text(shown: Shown) -> str:
    return parse_html(shown.reply.text).text


async def test_a_zalo_newcomer_links_to_a_telegram_member(tmp_path: Path) -> None:
    async with dialog_harness(tmp_path) as h:
        h.routes.channels = frozenset(Channel)
        services = h.services
        unit = await services.units.get_by_code("BTP")
        assert unit is not None
        member = await services.members.create(
            NewMember(
                telegram_id=5301,
                full_name="Nguyễn Văn An",
                username=None,
                unit_id=unit.id,
                phone=None,
                email=None,
                language="vi",
                consent_at=services.clock.now(),
            ),
            services.clock.now(),
        )
        an_tg = h.person(Channel.TELEGRAM, "5301")
        [card] = await an_tg.type("/settings")
        assert [b.label for b in card.buttons] == [
            "✓ Tiếng Việt",
            "English",
            "📢 Thông báo chung: Bật",
            "⏰ Nhắc lịch hoạt động: Bật",
            "🔗 Liên kết tài khoản Zalo",
        ]
        [shown] = await an_tg.press("🔗 Liên kết tài khoản Zalo")
        found = re.search(r"\b(\d{6})\b", text(shown))
        assert found is not None
        code = found.group(1)

        an_zalo = h.person(Channel.ZALO, "6ede9afa66b88fe6d6a9", first="An")
        [consent] = await an_zalo.type("xin chào")
        assert [b.label for b in consent.buttons] == [
            "✅ Đồng ý",
            "Không đồng ý",
            "🔗 Tôi đã dùng Nhịp Cầu trên Telegram",
        ]
        [ask] = await an_zalo.press("🔗 Tôi đã dùng Nhịp Cầu trên Telegram")
        assert ask.reply.numeric_answer  # "123456" is the code, never choice 123456
        assert text(ask).startswith("Mời bạn gõ mã liên kết gồm 6 chữ số.")
        [done] = await an_zalo.type(code)
        assert text(done) == (
            "✅ Đã liên kết! Từ nay bạn dùng Nhịp Cầu trên Zalo với cùng hồ sơ của Nguyễn Văn An: "
            "đăng ký, giờ tình nguyện và sáng kiến giống nhau ở mọi nơi."
        )
        assert done.reply.keyboard is not None
        assert done.reply.keyboard.kind is KeyboardKind.MAIN_MENU
        [(told_id, told)] = h.others.told
        assert told_id == member.id
        assert parse_html(told.text).text.startswith("🔗 Một tài khoản Zalo vừa được liên kết")
        linked = await services.members.by_person(Person.zalo("6ede9afa66b88fe6d6a9"))
        assert linked is not None and (linked.id, linked.telegram_id) == (member.id, 5301)
        assert await services.flows.get(Person.zalo("6ede9afa66b88fe6d6a9")) is None

        # Settings on Zalo now: where messages go (the one used last is ticked), unlink.
        [settings] = await an_zalo.type("/settings")
        assert [b.label for b in settings.buttons][4:] == [
            "📬 Nhận tin qua Telegram",
            "✓ 📬 Nhận tin qua Zalo",
            "✂️ Huỷ liên kết Telegram",
        ]
        saved = await an_zalo.press("📬 Nhận tin qua Telegram")
        assert [b.label for b in saved[-1].buttons][4:6] == [
            "✓ 📬 Nhận tin qua Telegram",
            "📬 Nhận tin qua Zalo",
        ]
        chosen = await services.members.by_id(member.id)
        assert chosen is not None and chosen.notify_channel is Channel.TELEGRAM
        assert an_zalo.chat.toasts[-1] == (
            "Đã lưu: thông báo và nhắc lịch sẽ đến bạn qua Telegram.",
            False,
        )


async def test_without_a_second_channel_nothing_about_linking_is_offered(tmp_path: Path) -> None:
    async with dialog_harness(tmp_path) as h:
        h.routes.channels = frozenset({Channel.ZALO})
        newcomer = h.person(Channel.ZALO, "0123456789abcdef0123")
        [consent] = await newcomer.type("3")
        assert [b.label for b in consent.buttons] == ["✅ Đồng ý", "Không đồng ý"]
