"""What the outboxes send, for every channel: each message nobody is waiting for (an
announcement, a broadcast's progress and final report, a reminder, a deadline digest, a
thank-you, a notice that an activity changed, was cancelled or gave a seat) as a ``Reply`` in
its recipient's language. Pure functions, no I/O: each channel's outbox transport renders the
``Reply`` its own way (``bot/channels/telegram/outbox.py`` through the Bot API)."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from bot.broadcasts import eta_text
from bot.domain.broadcasts import Broadcast, BroadcastContent, BroadcastStatus, DeliveryCounts
from bot.domain.members import Channel
from bot.domain.notices import ActivityFacts, Notice, NoticeKind
from bot.figures import format_figure, person_days
from bot.i18n import Catalogue, Raw
from bot.reminders import DIGEST, REMINDER, THANK_YOU, DueMessage
from handlers import callbacks
from handlers.dialog import Attachment, Button, FileRef, Reply

DATE_FORMAT = "%d/%m/%Y %H:%M"
# Names for an announcement's stored photo or file where a channel shows one (Telegram keeps
# the original name with the file itself).
PHOTO_NAME = "anh-thong-bao.jpg"
DOCUMENT_NAME = "tep-thong-bao"


# --- broadcasts -------------------------------------------------------------------------------


def broadcast_reply(content: BroadcastContent, language: str, catalogue: Catalogue) -> Reply:
    """An announcement as members receive it, and as its author previews it: the text (Telegram
    HTML, validated when composed), its photo or file (a Telegram file id), and an "open the
    activity" choice that the activities journey answers on every channel."""
    buttons: list[list[Button]] = []
    if content.activity_id is not None:
        label = catalogue.plain(language, "broadcasts.open_activity")
        buttons.append([Button(label, callbacks.pack("act", "v", content.activity_id))])
    photo = document = None
    if content.media_kind in ("photo", "document") and content.media_file_id:
        stored = FileRef(Channel.TELEGRAM, content.media_file_id, "")
        if content.media_kind == "photo":
            photo = Attachment(PHOTO_NAME, stored=stored, mime="image/jpeg")
        else:
            document = Attachment(DOCUMENT_NAME, stored=stored)
    return Reply(content.text_html, buttons=buttons, photo=photo, document=document)


def progress_text(
    catalogue: Catalogue,
    language: str,
    broadcast: Broadcast,
    counts: DeliveryCounts,
    eta: float | None,
    *,
    final: bool,
) -> str:
    state = broadcast.status.value
    if broadcast.status is BroadcastStatus.CANCELLED and broadcast.cancel_reason:
        state = f"cancelled_{broadcast.cancel_reason}"  # the bot cancelled it: say why
    status = catalogue.plain(language, f"broadcasts.status.{state}")
    return catalogue.text(
        language,
        "broadcasts.progress",
        id=broadcast.id,
        status=status,
        sent=counts.sent,
        failed=counts.failed,
        blocked=counts.blocked,
        pending=counts.pending,
        total=broadcast.total,
        eta="—" if final or counts.pending == 0 else eta_text(eta),
    )


def control_buttons(
    catalogue: Catalogue, language: str, broadcast: Broadcast
) -> list[list[Button]]:
    """Pause, resume, cancel: only those that apply to the broadcast's state (one row)."""
    row: list[Button] = []

    def add(key: str, action: str) -> None:
        row.append(
            Button(catalogue.plain(language, key), callbacks.pack("bc", action, broadcast.id))
        )

    if broadcast.status is BroadcastStatus.SENDING:
        add("broadcasts.pause", "pause")
    if broadcast.status is BroadcastStatus.PAUSED:
        add("broadcasts.resume", "resume")
    if broadcast.status in (
        BroadcastStatus.SENDING,
        BroadcastStatus.PAUSED,
        BroadcastStatus.SCHEDULED,
    ):
        add("broadcasts.cancel", "cancel")
    return [row] if row else []


def progress_reply(
    catalogue: Catalogue,
    language: str,
    broadcast: Broadcast,
    counts: DeliveryCounts,
    eta: float | None,
    *,
    final: bool,
) -> Reply:
    """A broadcast's live progress for its author: the counts with the time left, and the
    controls that apply until it has ended (``final``)."""
    text = progress_text(catalogue, language, broadcast, counts, eta, final=final)
    buttons = [] if final else control_buttons(catalogue, language, broadcast)
    return Reply(text, buttons=buttons)


def listed_reply(
    catalogue: Catalogue, language: str, broadcast: Broadcast, counts: DeliveryCounts
) -> Reply:
    """A broadcast in the /broadcasts list: the counts as they stand, and the controls that
    apply to it now."""
    text = progress_text(catalogue, language, broadcast, counts, None, final=True)
    return Reply(text, buttons=control_buttons(catalogue, language, broadcast))


def final_report_reply(
    catalogue: Catalogue, language: str, broadcast: Broadcast, counts: DeliveryCounts
) -> Reply:
    """The report sent once a broadcast has gone out or was cancelled."""
    key = (
        "broadcasts.final_cancelled"
        if broadcast.status is BroadcastStatus.CANCELLED
        else "broadcasts.final_done"
    )
    return Reply(
        catalogue.text(
            language,
            key,
            id=broadcast.id,
            sent=counts.sent,
            failed=counts.failed,
            blocked=counts.blocked,
            pending=counts.pending,
            total=broadcast.total,
        )
    )


def author_not_allowed_reply(
    catalogue: Catalogue, language: str, broadcast: Broadcast, tz: tzinfo
) -> Reply:
    """Why a scheduled broadcast did not go out: its author lost the role for its audience."""
    scheduled = broadcast.scheduled_at
    return Reply(
        catalogue.text(
            language,
            "broadcasts.cancelled_author_not_allowed",
            id=broadcast.id,
            time=scheduled.astimezone(tz).strftime(DATE_FORMAT) if scheduled else "",
        )
    )


# --- reminders, digests, thank-yous -------------------------------------------------------------


def reminder_reply(
    message: DueMessage, catalogue: Catalogue, tz: tzinfo, hours_per_day: float, now: datetime
) -> Reply:
    """One due message in its addressee's language: a reminder before the start (with "I'll be
    there" / "Can't make it — cancel"), the cadres' deadline digest (with the list), or the
    thank-you with the hours credited."""
    language = message.to.language
    activity = message.activity
    start = activity.starts_at.astimezone(tz)
    if message.key.kind == REMINDER:
        text = catalogue.text(
            language,
            "reminders.before_start",
            title=activity.title,
            time=start.strftime("%H:%M"),
            date=start.strftime("%d/%m/%Y"),
            place=activity.place,
            left=_time_left(catalogue, language, activity.starts_at - now),
        )
        buttons = [
            [
                Button(
                    catalogue.plain(language, "reminders.coming"),
                    callbacks.pack("rm", "yes", activity.id),
                )
            ],
            [
                Button(
                    catalogue.plain(language, "reminders.cannot_come"),
                    callbacks.pack("rm", "no", activity.id),
                )
            ],
        ]
        return Reply(text, buttons=buttons)
    if message.key.kind == DIGEST:
        deadline = activity.deadline_at.astimezone(tz)
        capacity = (
            str(activity.capacity)
            if activity.capacity is not None
            else catalogue.plain(language, "reminders.no_limit")
        )
        text = catalogue.text(
            language,
            "reminders.deadline_digest",
            title=activity.title,
            deadline=deadline.strftime("%H:%M %d/%m/%Y"),
            confirmed=message.confirmed,
            capacity=capacity,
            waitlisted=message.waitlisted,
        )
        see_list = Button(
            catalogue.plain(language, "reminders.see_list"),
            callbacks.pack("acm", "rl", activity.id, 0),
        )
        return Reply(text, buttons=[[see_list]])
    assert message.key.kind == THANK_YOU
    credit = catalogue.plain(
        language,
        "activities.hours_value",
        hours=format_figure(message.hours_credited, language),
        days=format_figure(person_days(message.hours_credited, hours_per_day), language),
    )
    return Reply(
        catalogue.text(language, "activities.thank_you", title=activity.title, credit=credit)
    )


def _time_left(catalogue: Catalogue, language: str, span: timedelta) -> str:
    """Rounded the way people say it: "còn 1 ngày", "còn 2 giờ", "còn 25 phút"."""
    minutes = max(1, round(span.total_seconds() / 60))
    if minutes >= 23 * 60:
        return catalogue.plain(language, "reminders.in_days", n=round(minutes / (24 * 60)))
    if minutes >= 60:
        return catalogue.plain(language, "reminders.in_hours", n=round(minutes / 60))
    return catalogue.plain(language, "reminders.in_minutes", n=minutes)


# --- notices ------------------------------------------------------------------------------------


def when_text(
    catalogue: Catalogue, tz: tzinfo, language: str, starts_at: datetime, ends_at: datetime
) -> str:
    """An activity's time as people read it: one day, or from one day to another."""
    start, end = starts_at.astimezone(tz), ends_at.astimezone(tz)
    if start.date() == end.date():
        return catalogue.plain(
            language,
            "activities.when_same_day",
            start=start.strftime("%H:%M"),
            end=end.strftime("%H:%M"),
            date=start.strftime("%d/%m/%Y"),
        )
    return catalogue.plain(
        language,
        "activities.when_days",
        start=start.strftime("%H:%M %d/%m/%Y"),
        end=end.strftime("%H:%M %d/%m/%Y"),
    )


def notice_reply(notice: Notice, catalogue: Catalogue, tz: tzinfo) -> Reply:
    """A notice in its recipient's language, made at send time: the cancellation, the seat
    from the waitlist (with "cancel my registration"), or what one edit changed."""
    language = notice.language
    now = notice.activity

    def when(facts: ActivityFacts) -> str:
        return when_text(catalogue, tz, language, facts.starts_at, facts.ends_at)

    if notice.kind is NoticeKind.CANCELLED:
        return Reply(
            catalogue.text(language, "activities.cancelled_notice", title=now.title, when=when(now))
        )
    if notice.kind is NoticeKind.PROMOTED:
        text = catalogue.text(
            language, "activities.promoted", title=now.title, when=when(now), place=now.place
        )
        cancel = Button(
            catalogue.plain(language, "activities.button_cancel"),
            callbacks.pack("act", "can", notice.activity_id),
        )
        return Reply(text, buttons=[[cancel]])
    # What this edit changed (a later edit has a notice of its own), under today's title.
    before, after = notice.before or now, notice.after or now
    changes: list[str] = []
    if (before.starts_at, before.ends_at) != (after.starts_at, after.ends_at):
        changes.append(
            catalogue.text(language, "activities.change_time", old=when(before), new=when(after))
        )
    if before.place != after.place:
        changes.append(
            catalogue.text(language, "activities.change_place", old=before.place, new=after.place)
        )
    if notice.description_changed:
        changes.append(catalogue.text(language, "activities.change_description"))
    return Reply(
        catalogue.text(
            language, "activities.changed_notice", title=now.title, changes=Raw("\n".join(changes))
        )
    )
