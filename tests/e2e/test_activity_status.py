"""Closing, reopening and cancelling an activity from its management card: each button sets
the state it names, double taps and older copies of the card change nothing more, nothing
revives a cancelled activity, and each registrant hears of the cancellation once."""

from __future__ import annotations

import pytest

from bot.clock import Clock, ManualClock
from bot.emulator import BotApiEmulator, BotMessage, EmulatedUser
from tests.e2e.conftest import BotHarness
from tests.e2e.test_activities import cadre, create_activity, member

CLOSE, REOPEN, CANCEL = "🔒 Đóng đăng ký", "🔓 Mở lại đăng ký", "🚫 Huỷ hoạt động"


@pytest.fixture
def clock(manual_clock: ManualClock) -> Clock:
    return manual_clock


async def open_card(lan: EmulatedUser, title: str) -> BotMessage:
    since = lan.last_message.message_id if lan.last_message else 0
    await lan.send("/manage")
    listing = await lan.wait_for(lambda m: m.message_id > since and bool(m.buttons))
    await lan.click(f"⚙️ 1. {title}", message_id=listing.message_id)
    return await lan.wait_for(
        lambda m: m.message_id > listing.message_id and CANCEL in m.button_texts()
    )


async def test_status_buttons_hold_on_double_taps_and_old_cards(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    lan = await cadre(bot, emulator)
    activity = await create_activity(bot, 7001)
    people = [await member(bot, emulator, 8101 + i) for i in range(3)]
    for person in people:
        await bot.svc.activities.register(
            await bot.svc.member_service.actor(person.user_id), activity.id
        )

    async def status() -> str:
        return str(
            await bot.svc.db.fetch_value(
                "SELECT status FROM activities WHERE id = ?", (activity.id,)
            )
        )

    async def tap(label: str, card: BotMessage, times: int = 1) -> list[str | None]:
        seen = len(lan.answers)
        for _ in range(times):
            await lan.click(label, message_id=card.message_id)
        await emulator.wait_until(lambda: len(lan.answers) >= seen + times)
        return [a.text for a in lan.answers[seen : seen + times]]

    old = await open_card(lan, activity.title)
    card = await open_card(lan, activity.title)
    await tap(CLOSE, card, times=2)
    assert await status() == "closed"
    await lan.wait_for(lambda m: m.message_id == card.message_id and REOPEN in m.button_texts())
    await tap(CLOSE, old)  # the old card still offers «close»: it stays closed
    assert await status() == "closed"
    await lan.wait_for(lambda m: m.message_id == old.message_id and REOPEN in m.button_texts())
    await tap(REOPEN, card, times=2)
    assert await status() == "open"
    await tap(REOPEN, old)  # drawn while closed: reopening what is open changes nothing
    assert await status() == "open"

    # Cancel, confirmed twice in a row; then the old card's buttons cannot revive it.
    await lan.click(CANCEL, message_id=card.message_id)
    ask = await lan.wait_for(lambda m: "🚫 Có, huỷ hoạt động" in m.button_texts())
    answers = await tap("🚫 Có, huỷ hoạt động", ask, times=2)
    assert answers[1] == "Hoạt động này đã bị huỷ."
    assert await status() == "cancelled"
    await lan.wait_for(lambda m: m.message_id == old.message_id and CLOSE in m.button_texts())
    refused = await tap(CLOSE, old)
    assert refused == ["Hoạt động này đã bị huỷ."]
    assert await status() == "cancelled"
    await lan.wait_for(lambda m: m.message_id == old.message_id and CLOSE not in m.button_texts())
    refused = await press_data(lan, emulator, f"acm:op:{activity.id}", old)
    assert refused == "Hoạt động này đã bị huỷ."
    assert await status() == "cancelled"
    for person in people:
        await person.wait_for(lambda m: "đã bị huỷ" in m.text)
    notices = await bot.svc.db.fetch_all(
        "SELECT member_id, state FROM notices WHERE kind = 'activity_cancelled'"
    )
    assert len(notices) == 3
    for person in people:
        assert sum("đã bị huỷ" in m.text for m in person.messages) == 1


async def press_data(
    lan: EmulatedUser, emulator: BotApiEmulator, data: str, card: BotMessage
) -> str | None:
    seen = len(lan.answers)
    await lan.click(data=data, message_id=card.message_id)
    await emulator.wait_until(lambda: len(lan.answers) > seen)
    return lan.answers[seen].text
