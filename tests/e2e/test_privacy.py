"""/mydata and /forgetme through the running bot (SPEC 2.7): the copy is a readable UTF-8 file
with a summary; forgetting hands a seat in a full activity to the first waitlisted member, who
is told; announcements still pending for the forgotten member are never sent; an erasure reaches
a backup restored afterwards through ``nhipcau reapply-erasures``."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import sys
from datetime import timedelta
from pathlib import Path

from bot.activities import ActivityDraft, ActivityKind, Audience, Question
from bot.domain.broadcasts import Audience as BroadcastAudience
from bot.domain.broadcasts import AudienceKind, BroadcastContent, BroadcastStatus
from bot.domain.members import Actor, Role
from bot.emulator import BotApiEmulator, EmulatedUser
from storage.attendance import AttendanceRepository
from tests.e2e.conftest import ADMIN_ID, BotHarness, say_and_read

ADMIN = Actor(ADMIN_ID, None, Role.ADMIN)
FORGET = "🗑 Xoá dữ liệu của tôi"


async def _activity(bot: BotHarness, title: str, *, capacity: int | None, **extra: object) -> int:
    start = (bot.svc.clock.now() + timedelta(days=3)).astimezone(bot.config.bot.tz)
    start = start.replace(hour=8, minute=0, second=0, microsecond=0)
    draft = ActivityDraft(
        title=title,
        description="Mang theo nước uống.",
        kind=ActivityKind.REGULAR,
        unit_id=await bot.unit_id("BTP"),
        open_to=Audience.ALL,
        place="Công viên Thống Nhất",
        starts_at=start,
        ends_at=start + timedelta(hours=3, minutes=30),
        deadline_at=start - timedelta(days=1),
        capacity=capacity,
        hours=3.5,
        **extra,  # type: ignore[arg-type]
    )
    return (await bot.svc.activities.create(ADMIN, draft)).id


async def _register(bot: BotHarness, user: EmulatedUser, activity_id: int, **answers: str) -> None:
    actor = await bot.svc.member_service.actor(user.user_id)
    await bot.svc.activities.register(actor, activity_id, answers)


async def _confirm_forget(user: EmulatedUser) -> None:
    ask = await say_and_read(user, "/forgetme")
    await user.click(FORGET, message_id=ask.message_id)
    await user.wait_for(lambda m: m.text.startswith("Cảm ơn bạn đã đồng hành"))


async def test_mydata_is_a_readable_utf8_file_with_a_summary(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    user = await bot.add_member(emulator.user(7101, username="quynh"), name="Lý Thu Quỳnh")
    member = await bot.svc.members.by_telegram_id(7101)
    assert member is not None
    await bot.svc.members.update(
        member.id, bot.svc.clock.now(), phone="+84912345678", email="quynh@example.vn"
    )
    size = Question(1, "Cỡ áo", ("S", "M", "L"), required=True)
    activity_id = await _activity(bot, "Chạy vì trẻ em", capacity=None, questions=(size,))
    await _register(bot, user, activity_id, **{"1": "M"})
    await AttendanceRepository(bot.svc.db).check_in(
        activity_id, member.id, bot.svc.clock.now(), allow_walk_in=False
    )
    initiative = await bot.svc.initiatives.start_draft(
        await bot.svc.member_service.actor(7101), "Sổ tay đoàn viên điện tử"
    )
    consent = member.consent_at.astimezone(bot.config.bot.tz)  # type: ignore[union-attr]

    summary = await say_and_read(user, "/mydata")
    assert summary.text == (
        "📄 Dữ liệu Nhịp Cầu lưu về bạn\n"
        "Họ tên: Lý Thu Quỳnh\n"
        "Đơn vị: Bộ Tư pháp\n"
        "Điện thoại: +84912345678\n"
        "Email: quynh@example.vn\n"
        "Tên Telegram: @quynh\n"
        "Tài khoản liên kết: Telegram (mã 7101)\n"
        "Ngôn ngữ: Tiếng Việt\n"
        "Vai trò: Đoàn viên\n"
        f"Đồng ý xử lý dữ liệu lúc: {consent:%H:%M %d/%m/%Y}\n"
        "\n"
        "Đăng ký hoạt động: 1\n"
        "Đã tham gia: 1 hoạt động, 3,5 giờ (0,44 ngày công)\n"
        "Sáng kiến: 1\n"
        "Lượt ủng hộ bạn đã gửi: 0\n"
        "Thông báo đã gửi đến bạn: 0\n"
        "\n"
        "Bản đầy đủ (hồ sơ, đồng ý, đăng ký và câu trả lời, điểm danh và giờ, sáng kiến cùng lịch "
        "sử và lượt ủng hộ, vai trò, thông báo) ở tệp JSON đính kèm bên dưới."
    )
    message = await user.next_message()
    assert message.document is not None
    assert message.document.filename == "nhipcau-du-lieu-cua-toi.json"
    assert message.caption == "Toàn bộ dữ liệu của bạn (JSON)."
    raw = message.document.content
    assert "Lý Thu Quỳnh".encode() in raw and b"\\u" not in raw  # Vietnamese as itself
    data = json.loads(raw.decode("utf-8"))
    assert data["profile"]["full_name"] == "Lý Thu Quỳnh"
    assert data["summary"] == {
        "registrations": 1,
        "attended": 1,
        "hours": 3.5,
        "person_days": 0.44,
        "hours_per_person_day": 8.0,
        "initiatives": 1,
        "supports_given": 0,
        "announcements_received": 0,
    }
    [registration] = data["registrations"]
    assert registration["activity"]["title"] == "Chạy vì trẻ em"
    assert registration["answers"] == [{"question": "Cỡ áo", "answer": "M"}]
    assert [a["hours"] for a in data["attendance"]] == [3.5]
    assert [i["title"] for i in data["initiatives"]] == [initiative.title]


async def test_forgetme_with_a_seat_in_a_full_activity_promotes_the_first_waitlisted(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    leaving = await bot.add_member(emulator.user(7201), name="Đặng Văn Rời")
    first = await bot.add_member(emulator.user(7202), name="Cao Thị Nhất")
    second = await bot.add_member(emulator.user(7203), name="Cao Văn Nhì")
    activity_id = await _activity(bot, "Dọn rác bãi biển", capacity=1)
    for user in (leaving, first, second):
        await _register(bot, user, activity_id)
    first.skip_pending()
    second.skip_pending()

    ask = await say_and_read(leaving, "/forgetme")
    assert "Chỗ bạn đã đăng ký ở các hoạt động sắp tới được nhường cho người đang chờ" in ask.text
    # A double tap: both presses reach the bot; the first erases, the second finds no one.
    before = len(leaving.answers)
    await leaving.click(FORGET, message_id=ask.message_id)
    await leaving.click(FORGET, message_id=ask.message_id)
    await emulator.wait_until(lambda: len(leaving.answers) >= before + 2)
    assert leaving.answers[before + 1].text == (
        "Bạn cần đăng ký làm thành viên Nhịp Cầu trước. Gõ /start để bắt đầu."
    )
    await leaving.wait_for(lambda m: m.text.startswith("Cảm ơn bạn đã đồng hành"))
    assert any(m.text == "✅ Đã xoá dữ liệu cá nhân của bạn." for m in leaving.messages)

    activity = await bot.svc.activities.get(activity_id)
    assert activity is not None
    start = activity.starts_at.astimezone(bot.config.bot.tz)
    end = activity.ends_at.astimezone(bot.config.bot.tz)
    told = await first.next_message()
    assert told.text == (
        "🎉 Tin vui! Đã có chỗ cho bạn ở Dọn rác bãi biển — đăng ký của bạn đã được xác nhận.\n"
        f"🕗 {start:%H:%M}–{end:%H:%M} ngày {start:%d/%m/%Y}\n"
        "📍 Công viên Thống Nhất\n"
        "Nếu không tham gia được, bạn vui lòng huỷ để nhường chỗ cho người khác."
    )
    assert [b.text for row in told.buttons for b in row] == ["❌ Huỷ đăng ký"]
    assert (activity.confirmed, activity.waitlisted) == (1, 1)
    assert not any("Tin vui" in m.text for m in second.messages)
    assert sum("Tin vui" in m.text for m in first.messages) == 1  # told once, not per tap
    card = await bot.svc.activities.card(await bot.svc.member_service.actor(7203), activity_id)
    assert card.registration is not None and card.registration.waitlist_position == 1


async def test_announcements_pending_for_a_forgotten_member_are_never_sent(
    bot: BotHarness, emulator: BotApiEmulator
) -> None:
    admin = emulator.user(ADMIN_ID)
    others = [
        await bot.add_member(emulator.user(7300 + i), name=f"Người Nhận {i}") for i in range(5)
    ]
    leaving = await bot.add_member(emulator.user(7310), name="Mai Thị Đi")
    service = bot.svc.broadcasts
    # Written to the outbox, then paused before the sender looks: every row is pending.
    broadcast = await service.repository.create(
        created_by=ADMIN_ID,
        sender_unit_id=None,
        content=BroadcastContent("📣 Họp toàn đoàn sáng thứ Hai."),
        audience=BroadcastAudience(AudienceKind.ALL),
        scheduled_at=None,
        progress_chat_id=ADMIN_ID,
        now=bot.svc.clock.now(),
    )
    await service.control(ADMIN, broadcast.id, "pause")
    assert broadcast.total == 6 and (await service.counts(broadcast.id)).pending == 6

    await _confirm_forget(leaving)
    admin.skip_pending()
    await service.control(ADMIN, broadcast.id, "resume")
    report = await admin.wait_for(lambda m: "đã gửi xong" in m.text, timeout=15)
    assert report.text == (
        f"✅ Thông báo #{broadcast.id} đã gửi xong.\nĐã gửi: 5/5 · Lỗi: 0 · Đã chặn bot: 0"
    )
    done = await service.get(broadcast.id)
    assert done is not None and done.status is BroadcastStatus.DONE and done.total == 5
    counts = await service.counts(broadcast.id)
    assert (counts.sent, counts.pending, counts.failed, counts.blocked) == (5, 0, 0, 0)
    for user in others:
        assert any(m.text == "📣 Họp toàn đoàn sáng thứ Hai." for m in user.messages)
    assert not any("Họp toàn đoàn" in m.text for m in leaving.messages)


async def test_reapply_erasures_reaches_a_restored_backup(
    bot: BotHarness, emulator: BotApiEmulator, tmp_path: Path
) -> None:
    leaving = await bot.add_member(emulator.user(7401), name="Tôn Nữ Quên")
    staying = await bot.add_member(emulator.user(7402), name="Tôn Thất Nhớ")
    backup = tmp_path / "backups" / "nightly.sqlite3"
    await bot.svc.db.backup(backup)  # last night's backup still knows her
    await _confirm_forget(leaving)

    # The disk is lost... the live file is kept aside, the backup put in its place.
    await bot.stop()
    kept = tmp_path / "damaged.sqlite3"
    shutil.copy(bot.database, kept)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{bot.database}{suffix}").unlink(missing_ok=True)
    shutil.copy(backup, bot.database)
    config = tmp_path / "restore.toml"
    config.write_text(f'[database]\npath = "{bot.database}"\n', encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "reapply-erasures",
        str(kept),
        "--config",
        str(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    printed, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, printed.decode()
    assert printed.decode().strip() == (
        f"{bot.database}: 1 erased again, 0 already erased, 0 not in this copy, 0 left alone "
        "(a different member has that id here)"
    )
    with sqlite3.connect(bot.database) as conn:
        names = [r[0] for r in conn.execute("SELECT full_name FROM members ORDER BY id")]
        assert names == ["", "Tôn Thất Nhớ"]
        assert conn.execute("SELECT telegram_id FROM members WHERE full_name = ''").fetchone() == (
            None,
        )

    await bot.start()
    assert "Nghị định 13/2023" in (await say_and_read(leaving, "/start")).text  # a stranger now
    assert "Tôn Thất Nhớ" in (await say_and_read(staying, "/profile")).text
