""" "Tuổi trẻ sáng tạo" journeys through the emulator: submit with an attachment, resume a draft
after a restart, review (revision, resubmission, acceptance, recognition), withdrawal, two
reviewers at once, supports, and every bad input of the initiatives issue."""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.domain.initiatives import InitiativeStatus as S
from bot.domain.members import Person, Role
from bot.emulator import BotApiEmulator, BotMessage, CallbackAnswer, EmulatedUser
from tests.e2e.conftest import BotHarness

MENU = "💡 Sáng kiến"
PROBLEM = "Sổ công văn giấy khó tra cứu, mất nhiều thời gian tìm văn bản cũ."
SOLUTION = "Chuyển sổ công văn sang bảng tính dùng chung, có ô tìm kiếm theo số và trích yếu."
BENEFIT = "Mỗi cán bộ văn thư tiết kiệm khoảng 2 giờ mỗi tuần."


# --- helpers -------------------------------------------------------------------------------


async def open_menu(user: EmulatedUser) -> BotMessage:
    since = mark(user)
    await user.send(MENU)
    return await newer(user, since, lambda m: "Tuổi trẻ sáng tạo" in m.text and bool(m.buttons))


async def press(
    emulator: BotApiEmulator,
    user: EmulatedUser,
    text: str | None = None,
    *,
    data: str | None = None,
) -> CallbackAnswer:
    """Press a button (or forge its data) and return the bot's answer to that press."""
    seen = len(user.answers)
    await user.click(text, data=data)
    await emulator.wait_until(lambda: len(user.answers) > seen)
    return user.answers[seen]


def mark(user: EmulatedUser) -> int:
    """The id of the latest bot message: waits after this only look at newer ones."""
    return max((m.message_id for m in user.all_messages), default=0)


async def newer(
    user: EmulatedUser, since: int, predicate: Callable[[BotMessage], bool]
) -> BotMessage:
    return await user.wait_for(lambda m: m.message_id > since and predicate(m))


async def step(user: EmulatedUser, text: str, expect: str) -> BotMessage:
    since = mark(user)
    await user.send(text)
    return await newer(user, since, lambda m: expect in m.text)


async def seed_submitted(
    bot: BotHarness, author_id: int, title: str = "Số hoá sổ theo dõi công văn đến"
) -> int:
    """An initiative submitted earlier by ``author_id`` (through the service, as the flow does)."""
    service = bot.svc.initiatives
    actor = await bot.svc.member_service.actor(author_id)
    draft = await service.start_draft(actor, title)
    for name, value in (
        ("field", "digital"),
        ("problem", PROBLEM),
        ("solution", SOLUTION),
        ("benefit", BENEFIT),
    ):
        draft = await service.update(actor, draft.id, name, value)
    await service.change_status(actor, draft.id, S.SUBMITTED, version=draft.version)
    return draft.id


async def move(bot: BotHarness, initiative_id: int, by: int, *targets: S) -> None:
    service = bot.svc.initiatives
    actor = await bot.svc.member_service.actor(by)
    for target in targets:
        current = await bot.svc.initiatives.get(actor, initiative_id)
        await service.change_status(actor, initiative_id, target, version=current.version)


async def row(bot: BotHarness, initiative_id: int) -> dict[str, object]:
    found = await bot.svc.db.fetch_one("SELECT * FROM initiatives WHERE id = ?", (initiative_id,))
    assert found is not None
    return dict(found)


async def history(bot: BotHarness, initiative_id: int) -> list[tuple[str, str, str | None]]:
    rows = await bot.svc.db.fetch_all(
        "SELECT from_status, to_status, comment FROM initiative_history "
        "WHERE initiative_id = ? ORDER BY id",
        (initiative_id,),
    )
    return [(r[0], r[1], r[2]) for r in rows]


async def open_from_queue(user: EmulatedUser, code: str) -> BotMessage:
    since = mark(user)
    await user.send("/review")
    queue = await newer(user, since, lambda m: "cũ nhất trước" in m.text)
    label = next(t for t in queue.button_texts() if code in t)
    since = mark(user)
    await user.click(label, message_id=queue.message_id)
    return await newer(user, since, lambda m: code in m.text and "Tác giả:" in m.text)


# --- submitting -------------------------------------------------------------------------------


async def test_member_submits_an_initiative_with_an_attachment_and_gets_a_code(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    author = await bot.add_member(emulator.user(7001, first_name="An"), name="Nguyễn Văn An")
    cadre = await bot.add_member(
        emulator.user(7002), name="Trần Thị Bí Thư", unit="BTP", role=Role.CADRE
    )
    await open_menu(author)
    await author.click("➕ Gửi sáng kiến mới")
    await author.wait_for(lambda m: "Bước 1/7" in m.text)
    await step(author, "Số hoá sổ theo dõi công văn đến", "Bước 2/7")
    await author.click("Chuyển đổi số")
    await author.wait_for(lambda m: "Bước 3/7" in m.text)
    await step(author, PROBLEM, "Bước 4/7")
    await step(author, SOLUTION, "Bước 5/7")
    await step(author, BENEFIT, "Bước 6/7")
    await step(author, "Trần Minh Đức, Lê Thu Hà", "Bước 7/7")
    await author.send_document(b"%PDF-1.4 de an", "de-an.pdf", "application/pdf")
    await author.wait_for(lambda m: "Đã nhận tệp «de-an.pdf» (1/5)" in m.text)
    await author.send_photo(b"\xff\xd8\xff\xe0 anh minh hoa")
    await author.wait_for(lambda m: "(2/5)" in m.text)
    await author.click("✅ Xong, xem tóm tắt")
    summary = await author.wait_for(lambda m: "Tóm tắt sáng kiến" in m.text)
    assert "Số hoá sổ theo dõi công văn đến" in summary.text
    assert "Chuyển đổi số" in summary.text and "Trần Minh Đức, Lê Thu Hà" in summary.text
    assert "Tệp đính kèm: 2" in summary.text
    await author.click("📤 Gửi sáng kiến", message_id=summary.message_id)
    done = await author.wait_for(lambda m: "đã được gửi với mã" in m.text)
    code = re.search(r"TTST-\d{4}-\d{4}", done.text)
    assert code is not None and code.group(0).endswith("-0001")

    initiative = await bot.svc.db.fetch_one(
        "SELECT * FROM initiatives WHERE code = ?", (code.group(0),)
    )
    assert initiative is not None
    assert initiative["status"] == "submitted" and initiative["field"] == "digital"
    assert (initiative["problem"], initiative["solution"], initiative["benefit"]) == (
        PROBLEM,
        SOLUTION,
        BENEFIT,
    )
    files = await bot.svc.db.fetch_all(
        "SELECT kind, file_id, name, size, mime FROM initiative_attachments "
        "WHERE initiative_id = ? ORDER BY id",
        (initiative["id"],),
    )
    assert [(f["kind"], f["name"], f["mime"]) for f in files] == [
        ("document", "de-an.pdf", "application/pdf"),
        ("photo", files[1]["name"], "image/jpeg"),
    ]
    assert files[0]["size"] == len(b"%PDF-1.4 de an")
    assert emulator.file(files[0]["file_id"]) is not None  # a real Telegram file id
    assert await history(bot, initiative["id"]) == [("draft", "submitted", None)]
    assert await bot.svc.conversations.get(Person.telegram(7001)) is None
    # The unit's cadre hears of it and gets the attachments re-sent on demand.
    await cadre.wait_for(lambda m: "sáng kiến mới chờ duyệt" in m.text)
    card = await open_from_queue(cadre, code.group(0))
    await cadre.click("📎 Tệp (2)", message_id=card.message_id)
    sent = await cadre.wait_for(lambda m: m.document is not None)
    assert sent.document is not None and sent.document.filename == "de-an.pdf"
    await cadre.wait_for(lambda m: m.photo is not None)


async def test_a_draft_survives_a_restart_and_is_resumed_from_the_menu(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    author = await bot.add_member(emulator.user(7011))
    await open_menu(author)
    await author.click("➕ Gửi sáng kiến mới")
    await author.wait_for(lambda m: "Bước 1/7" in m.text)
    created = await step(author, "Sổ tay điện tử cho đoàn viên", "Bước 2/7")
    assert any("Đã tạo bản nháp" in m.text for m in author.messages)
    assert created.buttons
    await author.click("Cộng đồng, xã hội")
    await author.wait_for(lambda m: "Bước 3/7" in m.text)
    await step(author, PROBLEM, "Bước 4/7")

    await bot.restart()

    await step(author, SOLUTION, "Bước 5/7")  # the flow went on where it stopped
    menu = await open_menu(author)  # the menu leaves the flow; the draft stays
    assert "✍️ Viết tiếp: Sổ tay điện tử cho đoàn viên" in menu.button_texts()

    await bot.restart()

    await author.click("✍️ Viết tiếp: Sổ tay điện tử cho đoàn viên", message_id=menu.message_id)
    await author.wait_for(lambda m: "viết tiếp bản nháp" in m.text)
    await author.wait_for(lambda m: "Bước 5/7" in m.text)  # the first part still missing
    await step(author, BENEFIT, "Bước 6/7")
    await author.click("Bỏ qua")
    await author.wait_for(lambda m: "Bước 7/7" in m.text)
    await author.click("✅ Xong, xem tóm tắt")
    summary = await author.wait_for(lambda m: "Tóm tắt sáng kiến" in m.text)
    assert PROBLEM in summary.text and SOLUTION in summary.text and "Còn thiếu" not in summary.text
    await author.click("📤 Gửi sáng kiến", message_id=summary.message_id)
    await author.wait_for(lambda m: "đã được gửi với mã" in m.text)
    drafts = await bot.svc.db.fetch_all("SELECT status, field FROM initiatives")
    assert [tuple(r) for r in drafts] == [("submitted", "community")]


# --- reviewing --------------------------------------------------------------------------------


async def test_review_to_revision_resubmit_accept_and_recognise_in_the_authors_language(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    author = await bot.add_member(emulator.user(7021), name="Lê Minh Author", language="en")
    cadre = await bot.add_member(emulator.user(7022), name="Phạm Bí Thư", role=Role.CADRE)
    initiative_id = await seed_submitted(bot, 7021)
    code = str((await row(bot, initiative_id))["code"])

    card = await open_from_queue(cadre, code)
    assert "Lê Minh Author" in card.text and "Bộ Tư pháp" in card.text
    assert "✅ Chấp nhận" not in card.button_texts()  # not in review yet
    await cadre.click("🔍 Nhận xem xét", message_id=card.message_id)
    await cadre.wait_for(lambda m: "Đã cập nhật sáng kiến" in m.text and "Đang xem xét" in m.text)
    await author.wait_for(lambda m: "is being reviewed" in m.text)

    decision = await cadre.wait_for(lambda m: "✏️ Yêu cầu chỉnh sửa" in m.button_texts())
    await cadre.click("✏️ Yêu cầu chỉnh sửa", message_id=decision.message_id)
    await cadre.wait_for(lambda m: "nhận xét" in m.text)
    await step(cadre, "Bổ sung <b>số liệu</b> khảo sát & nguồn", "Cần chỉnh sửa")
    told = await author.wait_for(lambda m: "needs some revision" in m.text)
    assert "Bổ sung <b>số liệu</b> khảo sát & nguồn" in told.text  # shown literally
    assert "&lt;b&gt;số liệu&lt;/b&gt;" in (told.html or "")
    assert (await row(bot, initiative_id))["status"] == "needs_revision"

    # The author revises one part from their notification and resubmits: same code.
    await author.click("💡 Open the initiative", message_id=told.message_id)
    own = await author.wait_for(lambda m: "Code:" in m.text and "✏️ Edit" in m.button_texts())
    await author.click("✏️ Edit", message_id=own.message_id)
    summary = await author.wait_for(lambda m: "Initiative summary" in m.text)
    await author.click("✏️ Expected benefit", message_id=summary.message_id)
    await author.wait_for(lambda m: "Expected benefit" in m.text and "Step 5/7" in m.text)
    summary = await step(author, "Tiết kiệm 3 giờ mỗi tuần, theo khảo sát 20 cán bộ.", "summary")
    await author.click("📤 Resubmit the initiative", message_id=summary.message_id)
    resubmitted = await author.wait_for(lambda m: "was submitted with code" in m.text)
    assert code in resubmitted.text

    card = await open_from_queue(cadre, code)
    since = mark(cadre)
    await cadre.click("🔍 Nhận xem xét", message_id=card.message_id)
    decision = await newer(cadre, since, lambda m: "✅ Chấp nhận" in m.button_texts())
    await cadre.click("✅ Chấp nhận", message_id=decision.message_id)
    await cadre.wait_for(lambda m: "Được chấp nhận" in m.text)
    await author.wait_for(lambda m: "has been accepted" in m.text)

    since = mark(cadre)
    await cadre.send("/review")
    queue = await newer(
        cadre, since, lambda m: "✅ Đã chấp nhận, chờ công nhận" in m.button_texts()
    )
    await cadre.click("✅ Đã chấp nhận, chờ công nhận", message_id=queue.message_id)
    accepted = await cadre.wait_for(lambda m: "chờ công nhận</b> (1)" in (m.html or ""))
    await cadre.click(next(t for t in accepted.button_texts() if code in t))
    card = await cadre.wait_for(lambda m: "🏅 Công nhận cấp đơn vị" in m.button_texts())
    assert "🏆 Công nhận cấp Đoàn Khối" not in card.button_texts()  # bloc level is for admins
    await cadre.click("🏅 Công nhận cấp đơn vị", message_id=card.message_id)
    await author.wait_for(lambda m: "has been recognised at unit level" in m.text)

    final = await row(bot, initiative_id)
    assert (final["status"], final["recognition_level"]) == ("recognised", "unit")
    assert [(a, b) for a, b, _ in await history(bot, initiative_id)] == [
        ("draft", "submitted"),
        ("submitted", "in_review"),
        ("in_review", "needs_revision"),
        ("needs_revision", "submitted"),
        ("submitted", "in_review"),
        ("in_review", "accepted"),
        ("accepted", "recognised"),
    ]
    # The author follows it all in their history.
    since = mark(author)
    await author.click("💡 Open the initiative")
    own = await newer(author, since, lambda m: "🕓 History" in m.button_texts())
    await author.click("🕓 History", message_id=own.message_id)
    lines = await author.wait_for(lambda m: "History of" in m.text)
    assert lines.text.count("→") == 7 and "Bổ sung <b>số liệu</b>" in lines.text


async def test_author_withdraws_before_a_decision(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    author = await bot.add_member(emulator.user(7031))
    initiative_id = await seed_submitted(bot, 7031)
    await open_menu(author)
    await author.click("📂 Sáng kiến của tôi")
    listing = await author.wait_for(lambda m: "Sáng kiến của bạn" in m.text)
    await author.click(listing.button_texts()[0], message_id=listing.message_id)
    card = await author.wait_for(lambda m: "↩️ Rút sáng kiến" in m.button_texts())
    await author.click("↩️ Rút sáng kiến", message_id=card.message_id)
    await author.wait_for(lambda m: "chắc chắn muốn rút" in m.text)
    await author.click("↩️ Có, rút sáng kiến")
    await author.wait_for(lambda m: "Bạn đã rút sáng kiến" in m.text)
    assert (await row(bot, initiative_id))["status"] == "withdrawn"
    assert (await history(bot, initiative_id))[-1] == ("submitted", "withdrawn", None)
    # The old confirmation cannot withdraw twice.
    version = (await row(bot, initiative_id))["version"]
    answer = await press(emulator, author, data=f"ini:go:{initiative_id}:{version}:withdrawn")
    assert answer.show_alert and answer.text and "trạng thái «↩️ Đã rút»" in answer.text


async def test_two_reviewers_at_once_one_wins_and_the_other_is_told_it_changed(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    await bot.add_member(emulator.user(7041))
    cadre = await bot.add_member(emulator.user(7042), role=Role.CADRE)
    admin = await bot.add_member(emulator.user(7043), unit="BTC", role=Role.ADMIN)
    initiative_id = await seed_submitted(bot, 7041)
    code = str((await row(bot, initiative_id))["code"])
    cadre_card = await open_from_queue(cadre, code)
    admin_card = await open_from_queue(admin, code)
    cadre.skip_pending()
    admin.skip_pending()
    # Both press before either press is handled.
    await cadre.click("🔍 Nhận xem xét", message_id=cadre_card.message_id)
    await admin.click("🔍 Nhận xem xét", message_id=admin_card.message_id)
    await admin.wait_for(lambda m: "người khác cập nhật" in m.text)
    await cadre.wait_for(lambda m: "Đã cập nhật sáng kiến" in m.text)
    assert admin.answers[-1].show_alert and "người khác" in (admin.answers[-1].text or "")
    assert not any("Đã cập nhật sáng kiến" in m.text for m in admin.messages)
    assert [(a, b) for a, b, _ in await history(bot, initiative_id)] == [
        ("draft", "submitted"),
        ("submitted", "in_review"),
    ]


# --- browsing and supports ---------------------------------------------------------------------


async def test_members_browse_accepted_initiatives_and_support_once(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    author = await bot.add_member(emulator.user(7051), name="Tác Giả")
    await bot.add_member(emulator.user(7052), role=Role.CADRE)
    reader = await bot.add_member(emulator.user(7053), name="Người Đọc", unit="BYT")
    other = await bot.add_member(emulator.user(7054), unit="BTC")
    initiative_id = await seed_submitted(bot, 7051)
    hidden = await seed_submitted(bot, 7051, title="Sáng kiến còn chờ duyệt")
    await move(bot, initiative_id, 7052, S.IN_REVIEW, S.ACCEPTED)
    code = str((await row(bot, initiative_id))["code"])

    await open_menu(reader)
    await reader.click("🌟 Sáng kiến tiêu biểu")
    listing = await reader.wait_for(lambda m: "Sáng kiến tiêu biểu" in m.text and "(1)" in m.text)
    assert code in listing.text and "Sáng kiến còn chờ duyệt" not in listing.text
    await reader.click(next(t for t in listing.button_texts() if code in t))
    card = await reader.wait_for(lambda m: "👍 Ủng hộ (0)" in m.button_texts())
    answer = await press(emulator, reader, "👍 Ủng hộ (0)")
    assert answer.text and "Cảm ơn bạn đã ủng hộ" in answer.text
    await reader.wait_for(
        lambda m: (
            m.message_id == card.message_id and "💙 Đã ủng hộ (1) · bấm để bỏ" in m.button_texts()
        )
    )
    await open_menu(other)
    await press(emulator, other, data=f"ini:sup:{initiative_id}:1")
    assert await bot.svc.db.fetch_value("SELECT COUNT(*) FROM initiative_supports") == 2
    await press(emulator, reader, "💙 Đã ủng hộ (1) · bấm để bỏ")  # drawn before the 2nd
    await reader.wait_for(lambda m: "👍 Ủng hộ (1)" in m.button_texts())
    supporters = await bot.svc.db.fetch_all("SELECT member_id FROM initiative_supports")
    other_member = await bot.svc.members.by_telegram_id(7054)
    assert other_member is not None and [r[0] for r in supporters] == [other_member.id]
    # Filtering by field, own initiative and one not yet accepted.
    await reader.click("Cộng đồng, xã hội", message_id=listing.message_id)
    await reader.wait_for(lambda m: "Chưa có sáng kiến nào được chấp nhận" in m.text)
    await open_menu(author)
    own = await press(emulator, author, data=f"ini:sup:{initiative_id}:1")
    assert own.text and "tự ủng hộ" in own.text
    not_public = await press(emulator, reader, data=f"ini:sup:{hidden}:1")
    assert not_public.text and "đã được chấp nhận" in not_public.text
    assert await bot.svc.db.fetch_value("SELECT COUNT(*) FROM initiative_supports") == 1


async def test_support_buttons_mean_what_they_say_on_double_taps_and_old_copies(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    """«👍 Ủng hộ» only ever adds the support and «bỏ» only removes it, however often and on
    whichever copy of the card it is pressed."""
    await bot.add_member(emulator.user(7055), name="Tác Giả")
    await bot.add_member(emulator.user(7056), role=Role.CADRE)
    reader = await bot.add_member(emulator.user(7057), name="Người Đọc", unit="BYT")
    initiative_id = await seed_submitted(bot, 7055)
    await move(bot, initiative_id, 7056, S.IN_REVIEW, S.ACCEPTED)
    member = await bot.svc.members.by_telegram_id(7057)
    assert member is not None

    async def supporters() -> list[int]:
        rows = await bot.svc.db.fetch_all(
            "SELECT member_id FROM initiative_supports WHERE initiative_id = ?",
            (initiative_id,),
        )
        return [int(r[0]) for r in rows]

    async def open_card() -> BotMessage:
        since = mark(reader)
        await reader.click(data=f"ini:open:{initiative_id}")
        return await newer(reader, since, lambda m: "👍 Ủng hộ (0)" in m.button_texts())

    await open_menu(reader)
    first, second = await open_card(), await open_card()
    support, remove = "👍 Ủng hộ (0)", "💙 Đã ủng hộ (1) · bấm để bỏ"

    # A double tap on «Ủng hộ»: both presses reach the bot before it redraws the card.
    seen = len(reader.answers)
    await reader.click(support, message_id=first.message_id)
    await reader.click(support, message_id=first.message_id)
    await emulator.wait_until(lambda: len(reader.answers) >= seen + 2)
    assert all("Cảm ơn bạn đã ủng hộ" in (a.text or "") for a in reader.answers[seen:])
    assert await supporters() == [member.id]
    await reader.wait_for(lambda m: m.message_id == first.message_id and remove in m.button_texts())
    # The second copy still shows «Ủng hộ»: pressing it keeps the support (it used to undo it).
    stale = reader.bot_message(second.message_id)
    assert stale is not None and support in stale.button_texts()
    seen = len(reader.answers)
    await reader.click(support, message_id=second.message_id)
    await emulator.wait_until(lambda: len(reader.answers) > seen)
    assert "Cảm ơn bạn đã ủng hộ" in (reader.answers[seen].text or "")
    assert await supporters() == [member.id]
    await reader.wait_for(
        lambda m: m.message_id == second.message_id and remove in m.button_texts()
    )

    # «bỏ» twice on the second copy, then on the first copy drawn before: removed once, stays so.
    seen = len(reader.answers)
    await reader.click(remove, message_id=second.message_id)
    await reader.click(remove, message_id=second.message_id)
    await emulator.wait_until(lambda: len(reader.answers) >= seen + 2)
    assert all("bỏ ủng hộ" in (a.text or "") for a in reader.answers[seen:])
    assert await supporters() == []
    seen = len(reader.answers)
    await reader.click(remove, message_id=first.message_id)
    await emulator.wait_until(lambda: len(reader.answers) > seen)
    assert await supporters() == []
    await reader.wait_for(
        lambda m: m.message_id == first.message_id and support in m.button_texts()
    )

    # A button drawn before this change ("ini:sup:<id>", meaning "the opposite of now").
    old = await press(emulator, reader, data=f"ini:sup:{initiative_id}")
    assert old.text and "không còn hiệu lực" in old.text
    assert await supporters() == []


# --- bad input -----------------------------------------------------------------------------------


async def test_oversized_fields_are_refused_with_the_limit_and_the_rest_is_kept(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    author = await bot.add_member(emulator.user(7061))
    await open_menu(author)
    await author.click("➕ Gửi sáng kiến mới")
    await author.wait_for(lambda m: "Bước 1/7" in m.text)
    refused = await step(author, "T" * 201, "từ 5 đến 200 ký tự")
    assert "201" in refused.text
    await step(author, "Sáng kiến hợp lệ", "Bước 2/7")
    await author.click("Nghiên cứu khoa học")
    await author.wait_for(lambda m: "Bước 3/7" in m.text)
    await step(author, PROBLEM, "Bước 4/7")
    refused = await step(author, "x" * 4001, "vượt giới hạn 4000")
    assert "4001 ký tự" in refused.text and "giữ nguyên" in refused.text
    state = await bot.svc.conversations.get(Person.telegram(7061))
    assert state is not None and state.step == "solution"
    kept = await bot.svc.db.fetch_one("SELECT title, problem, solution FROM initiatives")
    assert kept is not None and tuple(kept) == ("Sáng kiến hợp lệ", PROBLEM, "")
    await step(author, "y" * 4000, "Bước 5/7")  # exactly at the limit is fine


async def test_files_over_the_limit_executables_and_a_sixth_attachment_are_refused(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    author = await bot.add_member(emulator.user(7071))
    initiative_id = await seed_submitted(bot, 7071)
    await bot.svc.db.execute(
        "UPDATE initiatives SET status = 'draft', version = version + 1 WHERE id = ?",
        (initiative_id,),
    )
    menu = await open_menu(author)
    await author.click(next(t for t in menu.button_texts() if "Viết tiếp" in t))
    summary = await author.wait_for(lambda m: "Tóm tắt sáng kiến" in m.text)
    await author.click("📎 Thêm tệp", message_id=summary.message_id)
    await author.wait_for(lambda m: "Bước 7/7" in m.text)

    author.skip_pending()
    await author.send_document(b"\0" * (20 * 1024 * 1024 + 1), "video-gioi-thieu.mp4", "video/mp4")
    big = await author.next_message()
    assert "vượt giới hạn 20 MB" in big.text
    for name, mime in (
        ("cai-dat.exe", "application/octet-stream"),
        ("tai-lieu.pdf", "application/x-msdownload"),
        ("script.SH", "text/plain"),
    ):
        author.skip_pending()
        await author.send_document(b"MZ\x90\x00", name, mime)
        blocked = await author.next_message()
        assert "không nhận tệp chương trình" in blocked.text, name
    for n in range(1, 6):
        author.skip_pending()
        await author.send_document(
            f"tài liệu {n}".encode(), f"phu-luc-{n}.docx", "application/msword"
        )
        await author.wait_for(lambda m, n=n: f"({n}/5)" in m.text)
    author.skip_pending()
    await author.send_document(b"sixth", "phu-luc-6.docx", "application/msword")
    sixth = await author.next_message()
    assert "tối đa 5 tệp" in sixth.text
    names = await bot.svc.db.fetch_all(
        "SELECT name FROM initiative_attachments WHERE initiative_id = ? ORDER BY id",
        (initiative_id,),
    )
    assert [r[0] for r in names] == [f"phu-luc-{n}.docx" for n in range(1, 6)]


async def test_forged_callbacks_cannot_decide_someone_elses_or_another_units_initiative(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    await bot.add_member(emulator.user(7081))
    member = await bot.add_member(emulator.user(7082))  # same unit, not a cadre
    other_cadre = await bot.add_member(emulator.user(7083), unit="BTC", role=Role.CADRE)
    cadre = await bot.add_member(emulator.user(7084), role=Role.CADRE)
    initiative_id = await seed_submitted(bot, 7081)
    version = int(str((await row(bot, initiative_id))["version"]))
    for user in (member, other_cadre, cadre):
        await open_menu(user)  # their chats are open; every press below is forged

    for user, data in (
        (member, f"ini:go:{initiative_id}:{version}:withdrawn"),  # someone else's
        (member, f"ini:go:{initiative_id}:{version}:in_review"),  # a member reviewing
        (other_cadre, f"ini:go:{initiative_id}:{version}:in_review"),  # another unit's
        (other_cadre, f"ini:files:{initiative_id}"),
        (member, f"ini:hist:{initiative_id}"),
    ):
        answer = await press(emulator, user, data=data)
        assert answer.show_alert and "không có quyền" in (answer.text or ""), data
    for data in ("ini:go:999999:1:accepted", "ini:go:abc", "ini:sup:x", "ini:zz:1"):
        answer = await press(emulator, member, data=data)
        assert answer.text, data
    queue = await press(emulator, member, data="ini:rq:q:0")
    assert queue.show_alert and "Chỉ cán bộ đoàn" in (queue.text or "")
    refused = await step(member, "/review", "Chỉ cán bộ đoàn")
    assert "quản trị viên" in refused.text
    # Deciding one that is not in review: refused with its state.
    answer = await press(emulator, cadre, data=f"ini:go:{initiative_id}:{version}:accepted")
    assert answer.text and "Chờ duyệt" in answer.text
    assert (await row(bot, initiative_id))["status"] == "submitted"
    assert await history(bot, initiative_id) == [("draft", "submitted", None)]


async def test_an_empty_draft_cannot_be_submitted(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    author = await bot.add_member(emulator.user(7091))
    await open_menu(author)
    await author.click("➕ Gửi sáng kiến mới")
    await author.wait_for(lambda m: "Bước 1/7" in m.text)
    await step(author, "Chỉ có tên thôi", "Bước 2/7")
    await step(author, "/cancel", "Đã huỷ")
    await open_menu(author)
    await author.click("📂 Sáng kiến của tôi")
    listing = await author.wait_for(lambda m: "Sáng kiến của bạn" in m.text)
    await author.click(listing.button_texts()[0], message_id=listing.message_id)
    card = await author.wait_for(lambda m: "📤 Gửi sáng kiến" in m.button_texts())
    answer = await press(emulator, author, "📤 Gửi sáng kiến")
    assert answer.show_alert and answer.text
    assert "còn thiếu: Lĩnh vực, Vấn đề, Giải pháp, Hiệu quả dự kiến" in answer.text
    assert card.text
    status = await bot.svc.db.fetch_value("SELECT status FROM initiatives")
    assert status == "draft"
    assert await bot.svc.db.fetch_value("SELECT COUNT(*) FROM initiative_history") == 0


async def test_html_in_every_field_is_shown_literally(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    author = await bot.add_member(emulator.user(7101))
    cadre = await bot.add_member(emulator.user(7102), role=Role.CADRE)
    title = "<b>Bẫy</b> & <i>nghiêng</i>"
    problem = "<script>alert(1)</script> *đậm* _nghiêng_"
    await open_menu(author)
    await author.click("➕ Gửi sáng kiến mới")
    await author.wait_for(lambda m: "Bước 1/7" in m.text)
    await step(author, title, "Bước 2/7")
    await author.click("Lĩnh vực khác")
    await author.wait_for(lambda m: "Bước 3/7" in m.text)
    await step(author, problem, "Bước 4/7")
    await step(author, "<a href='http://x'>link</a>", "Bước 5/7")
    await step(author, "<code>1 < 2</code>", "Bước 6/7")
    await step(author, "<u>Đồng tác giả</u>", "Bước 7/7")
    await author.click("✅ Xong, xem tóm tắt")
    summary = await author.wait_for(lambda m: "Tóm tắt sáng kiến" in m.text)
    for literal in (title, problem, "<a href='http://x'>link</a>", "<code>1 < 2</code>"):
        assert literal in summary.text
    assert "&lt;b&gt;Bẫy&lt;/b&gt; &amp; &lt;i&gt;nghiêng&lt;/i&gt;" in (summary.html or "")
    assert not summary.entities or all(e["type"] == "bold" for e in summary.entities)
    await author.click("📤 Gửi sáng kiến", message_id=summary.message_id)
    await author.wait_for(lambda m: "đã được gửi với mã" in m.text)
    code = str(await bot.svc.db.fetch_value("SELECT code FROM initiatives"))
    card = await open_from_queue(cadre, code)
    assert title in card.text and problem in card.text and "<u>Đồng tác giả</u>" in card.text
    assert await bot.svc.db.fetch_value("SELECT title FROM initiatives") == title
