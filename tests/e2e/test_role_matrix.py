"""Role matrix (SPEC 1): every member-journey command and button × every role → allowed or
refused, checked through the emulator on what the person is told and what the database holds."""

from __future__ import annotations

import pytest

from bot.domain.members import Person, Role
from bot.emulator import BotApiEmulator, EmulatedUser
from tests.e2e.conftest import ADMIN_ID, BotHarness, press, say_and_read

REFUSED = ("không có quyền", "cần đăng ký")
TARGET = 6999  # a member of unit BYT whom the others try to act on


async def make(bot: BotHarness, emulator: BotApiEmulator, role: str) -> EmulatedUser:
    if role == "new user":
        return emulator.user(6001)
    if role == "member":
        return await bot.add_member(emulator.user(6002))
    if role == "cadre of BTP":
        return await bot.add_member(emulator.user(6003), role=Role.CADRE, unit="BTP")
    return await bot.add_member(emulator.user(ADMIN_ID), name="Quản Trị Viên")


# command → roles allowed to use it
COMMANDS = {
    "/help": {"new user", "member", "cadre of BTP", "admin"},
    "/profile": {"member", "cadre of BTP", "admin"},
    "/settings": {"member", "cadre of BTP", "admin"},
    "/mydata": {"member", "cadre of BTP", "admin"},
    "/forgetme": {"member", "cadre of BTP", "admin"},
    f"/grant {TARGET} cadre BYT": {"admin"},
    "/roles": {"admin"},
    f"/revoke {TARGET}": {"admin"},
}
ROLES = ("new user", "member", "cadre of BTP", "admin")


@pytest.mark.parametrize("role", ROLES)
async def test_commands_by_role(bot: BotHarness, emulator: BotApiEmulator, role: str) -> None:
    await bot.add_member(emulator.user(TARGET), name="Người Được Cấp", unit="BYT")
    user = await make(bot, emulator, role)
    for command, allowed in COMMANDS.items():
        reply = await say_and_read(user, command)
        if command == "/mydata" and role in allowed:
            assert (await user.next_message()).document is not None  # the JSON copy
        refused = any(phrase in reply.text for phrase in REFUSED)
        assert refused != (role in allowed), f"{role} {command}: {reply.text!r}"
        if command.startswith("/grant"):
            if role == "admin":  # shown first, granted once confirmed
                assert await bot.role_of(TARGET) is None
                await user.click("✅ Cấp cho Người Được Cấp (Bộ Y tế)", message_id=reply.message_id)
                await user.wait_for(
                    lambda m: m.message_id == reply.message_id and "Đã cấp" in m.text  # noqa: B023
                )
            grant = await bot.role_of(TARGET)
            assert (grant is not None) == (role == "admin"), role
    if role != "admin":
        assert await bot.role_of(TARGET) is None


# Forged presses that nobody may use: each is answered "expired"/"not allowed", changes nothing.
FORGED = [
    "ob:confirm",  # confirm an onboarding draft that does not exist
    "un:pick:1",  # pick a unit outside any flow
    "zz:boom:1",  # unknown namespace
    "pf:edit:../../etc",  # malformed argument
    "pf:drop:members",  # unknown action
    "pv:forget:maybe",  # unknown answer
]
NOT_DONE = ("không còn hiệu lực", "cần đăng ký", "đã là thành viên")


@pytest.mark.parametrize("role", ROLES)
async def test_forged_buttons_change_nothing(
    bot: BotHarness, emulator: BotApiEmulator, role: str
) -> None:
    await bot.add_member(emulator.user(TARGET), name="Người Khác", unit="BYT")
    user = await make(bot, emulator, role)
    await say_and_read(user, "/help")
    members_before = await bot.svc.db.fetch_all("SELECT * FROM members ORDER BY id")
    for data in FORGED:
        answer = await press(user, data=data)
        assert any(p in (answer.text or "") for p in NOT_DONE), (role, data, answer)
    members_after = await bot.svc.db.fetch_all("SELECT * FROM members ORDER BY id")
    assert [tuple(r) for r in members_after] == [tuple(r) for r in members_before]
    assert await bot.svc.conversations.get(Person.telegram(user.user_id)) is None


async def test_member_features_refuse_someone_who_has_not_onboarded(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    user = emulator.user(6001)
    await say_and_read(user, "/help")
    for data in ("pv:forget:yes", "pf:edit:name", "st:ann", "st:lang:en"):
        answer = await press(user, data=data)
        assert "cần đăng ký" in (answer.text or ""), data
    assert await bot.svc.db.fetch_value("SELECT COUNT(*) FROM members") == 0
