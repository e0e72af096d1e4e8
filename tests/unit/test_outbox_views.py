"""What each outbox message says, for every channel: the whole text and the choices of an
announcement, a broadcast's progress and reports, a reminder, a deadline digest, a thank-you
and each notice, in Vietnamese and in English (pure views, no channel)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.broadcasts import (
    Audience,
    AudienceKind,
    Broadcast,
    BroadcastContent,
    BroadcastStatus,
    DeliveryCounts,
)
from bot.domain.members import Channel
from bot.domain.notices import ActivityFacts, Notice, NoticeKind
from bot.domain.reminders import Addressee, LogKey, UpcomingActivity
from bot.i18n import Catalogue
from bot.reminders import DIGEST, REMINDER, THANK_YOU, DueMessage
from handlers.dialog import Attachment, Button, FileRef, Reply
from handlers.outbox_views import (
    author_not_allowed_reply,
    broadcast_reply,
    final_report_reply,
    listed_reply,
    notice_reply,
    progress_reply,
    reminder_reply,
)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
START = datetime(2026, 12, 20, 1, 0, tzinfo=UTC)  # 08:00 in Hà Nội
CATALOGUE = Catalogue.load()


def rows(reply: Reply) -> list[list[tuple[str, str | None]]]:
    return [[(b.label, b.action or b.url) for b in row] for row in reply.buttons]


def broadcast(status: BroadcastStatus, **changes: object) -> Broadcast:
    fields: dict[str, object] = {
        "id": 7,
        "created_by": 3,
        "sender_unit_id": None,
        "content": BroadcastContent("<b>Họp chi đoàn</b> &amp; mang áo xanh"),
        "audience": Audience(AudienceKind.ALL),
        "status": status,
        "scheduled_at": None,
        "created_at": START,
        "started_at": START,
        "finished_at": None,
        "total": 120,
        "progress_chat_id": 900001,
        "progress_message_id": 2,
    }
    fields.update(changes)
    return Broadcast(**fields)  # type: ignore[arg-type]


# --- announcements ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "label"), [("vi", "🙋 Xem hoạt động"), ("en", "🙋 See the activity")]
)
def test_an_announcement_is_its_text_and_the_choice_to_open_its_activity(
    language: str, label: str
) -> None:
    content = BroadcastContent("<b>Họp chi đoàn</b> &amp; mang áo xanh", activity_id=12)
    reply = broadcast_reply(content, language, CATALOGUE)
    assert reply.text == "<b>Họp chi đoàn</b> &amp; mang áo xanh"
    assert rows(reply) == [[(label, "act:v:12")]]  # a press: it works on every channel
    assert reply.photo is None and reply.document is None


def test_an_announcement_carries_its_photo_or_file_as_telegram_keeps_it() -> None:
    photo = broadcast_reply(
        BroadcastContent("Ảnh hoạt động", media_kind="photo", media_file_id="AgAC-photo"),
        "vi",
        CATALOGUE,
    )
    assert photo == Reply(
        "Ảnh hoạt động",
        buttons=[],
        photo=Attachment(
            "anh-thong-bao.jpg",
            stored=FileRef(Channel.TELEGRAM, "AgAC-photo", ""),
            mime="image/jpeg",
        ),
    )
    document = broadcast_reply(
        BroadcastContent("Kế hoạch tháng 12", media_kind="document", media_file_id="BQAC-doc"),
        "en",
        CATALOGUE,
    )
    assert document == Reply(
        "Kế hoạch tháng 12",
        buttons=[],
        document=Attachment("tep-thong-bao", stored=FileRef(Channel.TELEGRAM, "BQAC-doc", "")),
    )


# --- a broadcast's progress and reports -------------------------------------------------------


def test_the_live_progress_offers_the_controls_that_apply_in_vietnamese() -> None:
    sending = broadcast(BroadcastStatus.SENDING)
    reply = progress_reply(
        CATALOGUE, "vi", sending, DeliveryCounts(50, 2, 3, 65), 125.0, final=False
    )
    assert reply.text == (
        "📢 <b>Thông báo #7</b> — đang gửi\n✅ Đã gửi: 50\n⚠️ Lỗi: 2\n🚫 Đã chặn bot: 3\n"
        "⏳ Còn lại: 65 / 120\n⏱ Dự kiến xong sau: 2:05"
    )
    assert rows(reply) == [[("⏸ Tạm dừng", "bc:pause:7"), ("✖️ Huỷ gửi", "bc:cancel:7")]]
    paused = progress_reply(
        CATALOGUE,
        "vi",
        broadcast(BroadcastStatus.PAUSED),
        DeliveryCounts(50, 2, 3, 65),
        None,
        final=False,
    )
    assert paused.text.startswith("📢 <b>Thông báo #7</b> — tạm dừng\n")
    assert paused.text.endswith("⏱ Dự kiến xong sau: ?")
    assert rows(paused) == [[("▶️ Tiếp tục", "bc:resume:7"), ("✖️ Huỷ gửi", "bc:cancel:7")]]
    done = progress_reply(
        CATALOGUE,
        "vi",
        broadcast(BroadcastStatus.DONE),
        DeliveryCounts(115, 2, 3, 0),
        None,
        final=True,
    )
    assert done.text == (
        "📢 <b>Thông báo #7</b> — đã gửi xong\n✅ Đã gửi: 115\n⚠️ Lỗi: 2\n🚫 Đã chặn bot: 3\n"
        "⏳ Còn lại: 0 / 120\n⏱ Dự kiến xong sau: —"
    )
    assert rows(done) == []


def test_the_progress_and_the_list_in_english() -> None:
    sending = broadcast(BroadcastStatus.SENDING)
    live = progress_reply(
        CATALOGUE, "en", sending, DeliveryCounts(50, 2, 3, 65), 125.0, final=False
    )
    assert live.text == (
        "📢 <b>Announcement #7</b> — sending\n✅ Sent: 50\n⚠️ Failed: 2\n🚫 Blocked the bot: 3\n"
        "⏳ Remaining: 65 / 120\n⏱ Expected to finish in: 2:05"
    )
    assert rows(live) == [[("⏸ Pause", "bc:pause:7"), ("✖️ Cancel", "bc:cancel:7")]]
    # The /broadcasts list: the counts as they stand, no forecast, the controls of now.
    listed = listed_reply(CATALOGUE, "en", sending, DeliveryCounts(50, 2, 3, 65))
    assert listed.text.endswith("⏳ Remaining: 65 / 120\n⏱ Expected to finish in: —")
    assert rows(listed) == rows(live)
    scheduled = listed_reply(
        CATALOGUE, "en", broadcast(BroadcastStatus.SCHEDULED), DeliveryCounts(pending=120)
    )
    assert rows(scheduled) == [[("✖️ Cancel", "bc:cancel:7")]]
    refused = broadcast(BroadcastStatus.CANCELLED, cancel_reason="author_not_allowed")
    gone = listed_reply(CATALOGUE, "en", refused, DeliveryCounts())
    assert gone.text.startswith(
        "📢 <b>Announcement #7</b> — cancelled: its author may no longer send it\n"
    )
    assert rows(gone) == []


def test_the_final_reports_and_the_reason_a_scheduled_broadcast_was_not_sent() -> None:
    counts = DeliveryCounts(115, 2, 3, 0)
    assert final_report_reply(CATALOGUE, "vi", broadcast(BroadcastStatus.DONE), counts) == Reply(
        "✅ <b>Thông báo #7 đã gửi xong.</b>\nĐã gửi: 115/120 · Lỗi: 2 · Đã chặn bot: 3"
    )
    cancelled = broadcast(BroadcastStatus.CANCELLED)
    assert final_report_reply(CATALOGUE, "en", cancelled, DeliveryCounts(40, 0, 1, 79)) == Reply(
        "✖️ <b>Announcement #7 was cancelled.</b>\n"
        "Sent: 40/120 · Not sent: 79 · Failed: 0 · Blocked the bot: 1"
    )
    scheduled = broadcast(
        BroadcastStatus.CANCELLED, scheduled_at=START, cancel_reason="author_not_allowed"
    )
    assert author_not_allowed_reply(CATALOGUE, "vi", scheduled, TZ) == Reply(
        "🚫 Thông báo #7 hẹn gửi lúc <b>20/12/2026 08:00</b> đã được huỷ và chưa gửi tới ai: "
        "đến giờ gửi, bạn không còn quyền gửi tới nhóm người nhận này (vai trò cán bộ đoàn hoặc "
        "quản trị của bạn đã thay đổi). Nếu thông báo vẫn cần gửi, mời bạn liên hệ quản trị viên."
    )
    assert author_not_allowed_reply(CATALOGUE, "en", scheduled, TZ) == Reply(
        "🚫 Announcement #7, scheduled for <b>20/12/2026 08:00</b>, was cancelled before "
        "reaching anyone: when it fell due, you no longer had the right to send to its audience "
        "(your cadre or admin role had changed). If it still needs to go out, please contact an "
        "administrator."
    )


# --- reminders, digests, thank-yous -------------------------------------------------------------

ACTIVITY = UpcomingActivity(
    id=12,
    title="Hiến máu <tình nguyện>",
    place="Viện Huyết học",
    unit_id=1,
    starts_at=START,
    deadline_at=START - timedelta(days=1),
    ends_at=START + timedelta(hours=3),
    capacity=30,
    offsets=None,
)


def due(kind: str, language: str) -> DueMessage:
    return DueMessage(
        LogKey(kind, 12, 5, 120, START),
        START - timedelta(hours=2),
        Addressee(5, 1005, language),
        ACTIVITY,
        hours_credited=3.5,
        confirmed=12,
        waitlisted=2,
    )


def reminder(kind: str, language: str) -> Reply:
    return reminder_reply(due(kind, language), CATALOGUE, TZ, 8.0, START - timedelta(hours=2))


def test_a_reminder_asks_whether_they_still_come_in_either_language() -> None:
    vi = reminder(REMINDER, "vi")
    assert vi.text == (
        "⏰ <b>Nhắc lịch</b>: hoạt động «<b>Hiến máu &lt;tình nguyện&gt;</b>» bắt đầu lúc "
        "<b>08:00</b> ngày 20/12/2026 (còn 2 giờ) tại Viện Huyết học.\nBạn vẫn tham gia chứ?"
    )
    assert rows(vi) == [
        [("✅ Tôi sẽ tham gia", "rm:yes:12")],
        [("❌ Không thể tham gia — huỷ", "rm:no:12")],
    ]
    en = reminder(REMINDER, "en")
    assert en.text == (
        "⏰ <b>Reminder</b>: «<b>Hiến máu &lt;tình nguyện&gt;</b>» starts at <b>08:00</b> on "
        "20/12/2026 (in 2 hours) at Viện Huyết học.\nAre you still coming?"
    )
    assert rows(en) == [
        [("✅ I'll be there", "rm:yes:12")],
        [("❌ Can't make it — cancel", "rm:no:12")],
    ]


def test_the_cadres_digest_and_the_thank_you() -> None:
    assert reminder(DIGEST, "vi") == Reply(
        "📋 <b>Sắp hết hạn đăng ký</b> «<b>Hiến máu &lt;tình nguyện&gt;</b>» (hạn chót 08:00 "
        "19/12/2026).\nĐã đăng ký: <b>12</b>/30 · Danh sách chờ: 2.",
        buttons=[[Button("📋 Xem danh sách đăng ký", "acm:rl:12:0")]],
    )
    digest = reminder(DIGEST, "en")
    assert digest.text == (
        "📋 <b>Registration closes soon</b> for «<b>Hiến máu &lt;tình nguyện&gt;</b>» "
        "(deadline 08:00 19/12/2026).\nRegistered: <b>12</b>/30 · Waitlist: 2."
    )
    assert rows(digest) == [[("📋 See the registrations", "acm:rl:12:0")]]
    assert reminder(THANK_YOU, "vi") == Reply(
        "🌟 Cảm ơn bạn đã tham gia <b>Hiến máu &lt;tình nguyện&gt;</b>! Bạn được ghi nhận 3,5 "
        "giờ (0,44 ngày công). Mỗi đóng góp của bạn đều làm nên nhịp cầu sẻ chia."
    )
    assert reminder(THANK_YOU, "en") == Reply(
        "🌟 Thank you for taking part in <b>Hiến máu &lt;tình nguyện&gt;</b>! You were credited "
        "3.5 hours (0.44 person-days). Every contribution builds the bridge."
    )


# --- notices ------------------------------------------------------------------------------------

BEFORE = ActivityFacts("Hiến máu", "Viện Huyết học", START, START + timedelta(hours=3))
AFTER = ActivityFacts(
    "Hiến máu", "Bạch Mai", START + timedelta(days=1), START + timedelta(days=1, hours=3)
)


def notice(kind: NoticeKind, language: str) -> Reply:
    return notice_reply(
        Notice(
            1,
            kind,
            12,
            5,
            1005,
            language,
            reachable=True,
            attempts=0,
            activity=AFTER,
            activity_cancelled=kind is NoticeKind.CANCELLED,
            before=BEFORE if kind is NoticeKind.CHANGED else None,
            after=AFTER if kind is NoticeKind.CHANGED else None,
            description_changed=kind is NoticeKind.CHANGED,
        ),
        CATALOGUE,
        TZ,
    )


def test_each_notice_in_vietnamese() -> None:
    assert notice(NoticeKind.CHANGED, "vi") == Reply(
        "📢 Hoạt động <b>Hiến máu</b> mà bạn đăng ký có thay đổi:\n"
        "🕗 Thời gian: 08:00–11:00 ngày 20/12/2026 → <b>08:00–11:00 ngày 21/12/2026</b>\n"
        "📍 Địa điểm: Viện Huyết học → <b>Bạch Mai</b>\n📝 Phần mô tả đã được cập nhật."
    )
    assert notice(NoticeKind.CANCELLED, "vi") == Reply(
        "🚫 Rất tiếc, hoạt động <b>Hiến máu</b> (08:00–11:00 ngày 21/12/2026) đã bị huỷ. Cảm ơn "
        "bạn đã quan tâm và đăng ký!"
    )
    promoted = notice(NoticeKind.PROMOTED, "vi")
    assert promoted.text == (
        "🎉 Tin vui! Đã có chỗ cho bạn ở <b>Hiến máu</b> — đăng ký của bạn đã được xác nhận.\n"
        "🕗 08:00–11:00 ngày 21/12/2026\n📍 Bạch Mai\n"
        "Nếu không tham gia được, bạn vui lòng huỷ để nhường chỗ cho người khác."
    )
    assert rows(promoted) == [[("❌ Huỷ đăng ký", "act:can:12")]]


def test_each_notice_in_english() -> None:
    assert notice(NoticeKind.CHANGED, "en") == Reply(
        "📢 <b>Hiến máu</b>, which you registered for, has changed:\n"
        "🕗 Time: 08:00–11:00 on 20/12/2026 → <b>08:00–11:00 on 21/12/2026</b>\n"
        "📍 Place: Viện Huyết học → <b>Bạch Mai</b>\n📝 The description was updated."
    )
    assert notice(NoticeKind.CANCELLED, "en") == Reply(
        "🚫 Sorry, <b>Hiến máu</b> (08:00–11:00 on 21/12/2026) has been cancelled. Thank you "
        "for your interest!"
    )
    promoted = notice(NoticeKind.PROMOTED, "en")
    assert promoted.text == (
        "🎉 Good news! A seat freed up at <b>Hiến máu</b> — your registration is now "
        "confirmed.\n🕗 08:00–11:00 on 21/12/2026\n📍 Bạch Mai\n"
        "If you cannot come, please cancel so someone else can take the seat."
    )
    assert rows(promoted) == [[("❌ Cancel my registration", "act:can:12")]]
