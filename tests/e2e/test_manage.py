"""The management panel: cadres and admins reach every tool by buttons; members cannot."""

from __future__ import annotations

from bot.domain.members import Person, Role
from bot.emulator import BotApiEmulator
from tests.e2e.conftest import ADMIN_ID, BotHarness, press, say_and_read
from tests.e2e.test_onboarding import menu_labels

REFUSED = ("không có quyền", "Nút này không còn hiệu lực")


async def test_cadre_opens_each_tool_from_the_panel(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    cadre = await bot.add_member(emulator.user(8001), role=Role.CADRE, unit="BTP")
    await say_and_read(cadre, "/start")
    assert "🛠 Quản lý" in menu_labels(cadre)
    panel = await say_and_read(cadre, "🛠 Quản lý")
    labels = panel.button_texts()
    assert "🎖 Cán bộ và quản trị" not in labels  # an admin tool
    assert {"➕ Tạo hoạt động", "📢 Gửi thông báo", "💡 Duyệt sáng kiến", "📊 Thống kê"} <= set(
        labels
    )
    for label in labels:
        cadre.skip_pending()
        answer = await press(cadre, label, message_id=panel.message_id)
        assert answer.text is None, label  # accepted, no alert
        reply = await cadre.next_message()
        assert not any(r in reply.text for r in REFUSED), (label, reply.text)
        assert "lỗi" not in reply.text, (label, reply.text)
        await say_and_read(cadre, "/cancel")  # leave whatever flow the tool started


async def test_admin_has_the_roles_tool_and_members_have_no_panel(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    admin = await bot.add_member(emulator.user(ADMIN_ID), name="Quản Trị")
    panel = await say_and_read(admin, "🛠 Quản lý")
    assert "🎖 Cán bộ và quản trị" in panel.button_texts()
    admin.skip_pending()
    await press(admin, "🎖 Cán bộ và quản trị", message_id=panel.message_id)
    assert "Cán bộ và quản trị viên" in (await admin.next_message()).text

    member = await bot.add_member(emulator.user(8002))
    await say_and_read(member, "/start")
    assert "🛠 Quản lý" not in menu_labels(member)
    answer = await press(member, data="mg:roles")
    assert answer.text is not None and "không có quyền" in answer.text
    answer = await press(member, data="mg:broadcast")
    assert answer.text is not None and "không có quyền" in answer.text
    assert await bot.svc.conversations.get(Person.telegram(8002)) is None
