"""Bugs the hostile-input suite found, each replayed on its own as a plain journey."""

from __future__ import annotations

from tests.fuzz.world import BY_KEY, FuzzWorld


def test_forged_use_my_telegram_name_with_an_invalid_name_is_refused_not_crashed(
    world: FuzzWorld,
) -> None:
    """The "use my Telegram name" button is only offered when that name is a valid full name,
    but the press is not re-checked: ``ob:tgname`` from someone whose Telegram name is "0"
    (forged, or pressed after renaming the account) raised InvalidInput out of the handler."""

    async def journey() -> None:
        person = world.emu.user(960_001, first_name="0")
        await world.send_and_settle(person.send("/start"))
        await world.send_and_settle(person.click(data="ob:consent:y"))
        asked = await person.wait_for(lambda m: "Bước 1/4" in m.text)
        assert not asked.buttons  # "0" is no name: the shortcut is not offered…
        errors = len(world.errors)
        await world.send_and_settle(person.click(data="ob:tgname", message_id=asked.message_id))
        # …and a forged press of it must be refused like a typed "0", not crash.
        assert world.errors[errors:] == []
        reply = await person.wait_for(lambda m: m.message_id > asked.message_id)
        assert "Họ tên cần dài từ 2 đến 100 ký tự" in reply.text

    world.runner.run(journey())


def test_a_check_in_code_in_another_scripts_digits_is_refused_not_crashed(
    world: FuzzWorld,
) -> None:
    """``/checkin`` took any Unicode digits ("٣٣٣٣٣٣", Arabic-Indic) as a code, and comparing
    them with the real code (hmac.compare_digest on str) raised TypeError."""

    async def journey() -> None:
        person = world.emu.user(BY_KEY["m_btp0"].telegram_id)  # an onboarded member
        errors = len(world.errors)
        await world.send_and_settle(person.send("/checkin ٣٣٣٣٣٣"))
        assert world.errors[errors:] == []
        reply = await person.wait_for(lambda m: "chữ số" in m.text)
        assert reply.text == "Mã điểm danh gồm 6 chữ số, ví dụ 123456. Bạn vui lòng gõ lại."

    world.runner.run(journey())
