"""Flood guard: someone sending fifty messages at once is asked once to slow down and is not
answered for every message, while another member is still answered."""

from __future__ import annotations

from bot.config import FloodConfig
from bot.emulator import BotApiEmulator
from tests.e2e.conftest import BotHarness

SLOW_DOWN = "Bạn đang gửi hơi nhanh"


async def test_a_flooding_member_is_asked_once_to_slow_down_and_others_are_still_answered(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    bot.reconfigure("flood", **vars_of(FloodConfig()))
    await bot.restart()
    flooder = await bot.add_member(emulator.user(5001, first_name="Nhanh"), name="Lê Văn Nhanh")
    calm = await bot.add_member(emulator.user(5002, first_name="Bình"), name="Phạm Thị Bình")

    for n in range(50):
        await flooder.send(f"tin nhắn số {n}")
    await calm.send("/profile")
    # Each person has their own lane: the calm member does not wait behind the flood.
    await calm.wait_for(lambda m: "Phạm Thị Bình" in m.text, timeout=15)
    # The flooder's lane is in order: the warning comes after the answered burst.
    await flooder.wait_for(lambda m: SLOW_DOWN in m.text, timeout=15)

    replies = flooder.all_messages
    warnings = [m for m in replies if SLOW_DOWN in m.text]
    assert len(warnings) == 1
    answered = len(replies) - len(warnings)
    assert answered >= FloodConfig().burst
    assert answered < 50
    assert all(SLOW_DOWN not in m.text for m in calm.all_messages)


async def test_a_flooding_presser_gets_one_notice_and_a_calm_member_is_unaffected(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    bot.reconfigure("flood", **vars_of(FloodConfig()))
    await bot.restart()
    flooder = await bot.add_member(emulator.user(5003, first_name="Bấm"), name="Đỗ Văn Bấm")
    calm = await bot.add_member(emulator.user(5004, first_name="An"), name="Vũ Thị An")
    await flooder.send("/help")
    await flooder.next_message()
    for _ in range(30):
        await flooder.click(data="act:ls:a:0")
    await calm.send("/profile")
    await calm.wait_for(lambda m: "Vũ Thị An" in m.text, timeout=15)
    while SLOW_DOWN not in ((await flooder.next_callback_answer(timeout=15)).text or ""):
        pass

    notices = [a for a in flooder.answers if a.text and SLOW_DOWN in a.text]
    assert len(notices) == 1
    assert len(flooder.answers) < 30


def vars_of(config: FloodConfig) -> dict[str, object]:
    return {"burst": config.burst, "per_second": config.per_second}
