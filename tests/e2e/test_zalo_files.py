"""Files across channels, with a clock the test moves: a link made for one member expires; a
photo Telegram keeps reaches a Zalo member as a photo by URL (read through the file vault and
served by the bot's own web server), and one kept from Zalo reaches a Telegram member uploaded."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
import pytest

from bot.clock import Clock, ManualClock
from bot.domain.members import Channel, Person
from bot.emulator import BotApiEmulator
from handlers.dialog import Attachment, FileRef, Reply
from tests.e2e.conftest import BotHarness, zalo_say
from tests.e2e.test_zalo import LINK

PICTURE = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8


@pytest.fixture
def clock(manual_clock: ManualClock) -> Clock:
    return manual_clock


async def test_a_link_made_for_a_member_expires_and_its_file_is_swept(
    zalo_bot: BotHarness, emulator: BotApiEmulator, manual_clock: ManualClock
) -> None:
    giang = await zalo_bot.add_zalo_member(emulator.zalo_user("96a96a96a96a96a96a96"))
    summary = await zalo_say(giang, "/mydata")
    found = LINK.search(summary.text)
    assert found is not None
    folder = zalo_bot.svc.files_folder / "links"
    assert len(list(folder.iterdir())) == 1
    manual_clock.advance(timedelta(minutes=61))  # personal files: one hour
    async with aiohttp.ClientSession() as http, http.get(found.group(1)) as response:
        assert response.status == 404
    assert await zalo_bot.svc.files.purge() == 1
    assert list(folder.iterdir()) == []
    assert await zalo_bot.svc.db.fetch_value("SELECT COUNT(*) FROM file_links") == 0


async def test_a_telegram_photo_reaches_a_zalo_member_and_a_zalo_photo_a_telegram_one(
    zalo_bot: BotHarness, emulator: BotApiEmulator
) -> None:
    running = zalo_bot.running
    assert running is not None
    cadre = await zalo_bot.add_zalo_member(emulator.zalo_user("cadca0cadca0cadca0ca"))
    member = await zalo_bot.member_of(Person.zalo(cadre.user_id))
    kept_by_telegram = emulator.register_file(PICTURE, "photo.jpg", "image/jpeg", kind="photo")
    stored = FileRef(Channel.TELEGRAM, kept_by_telegram.file_id, kept_by_telegram.file_unique_id)
    photo = Attachment("sang-kien.jpg", stored=stored, mime="image/jpeg")
    assert await running.messenger.send(member, Reply("Ảnh sáng kiến mới", photo=photo))
    shown = await cadre.next_message()
    assert shown.kind == "photo" and shown.caption == "Ảnh sáng kiến mới"
    assert shown.photo_url is not None and shown.photo_url.startswith(zalo_bot.web_url + "/f/")
    assert shown.photo is not None and shown.photo.content == PICTURE  # what Zalo fetched

    an = await zalo_bot.add_member(emulator.user(6601))
    telegram_member = await zalo_bot.member_of(Person.telegram(6601))
    assert running.zalo is not None
    image = await running.zalo.uploads.store(PICTURE, "image/jpeg")
    sent = Reply("Ảnh từ Zalo", photo=Attachment(image.filename, stored=image.file))
    assert await running.messenger.send(telegram_member, sent)
    received = await an.wait_for(lambda m: m.photo is not None)
    assert received.caption == "Ảnh từ Zalo"
    assert received.photo is not None and received.photo.content == PICTURE
