"""What Nhịp Cầu holds about one person, table by table: the copy /mydata sends and the erasure
/forgetme performs (SPEC 2.7).

``PERSONAL_DATA`` is the one list of per-table steps. Every table of the schema has an entry that
says, column by column, what erasure means there and why, how the table's rows of the person are
erased (in one transaction with every other table's) and how they appear in the person's copy.
A new table needs an entry here: tests/unit/test_privacy.py fails on a table without one, and on
any column that still holds an erased person's Telegram id, name, phone, email or words.

The anonymised ``members`` row is the erasure record: its id, ``created_at`` and ``deleted_at``
(nothing personal) are what ``nhipcau reapply-erasures`` applies again to a database restored
from a backup taken before the erasure.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite

from bot.domain.privacy import (
    DataSubject,
    ErasedMember,
    ErasureReport,
    ReapplyReport,
    ReleasedSeat,
)
from storage.activities import ActivityRepository
from storage.db import Database, first_row, from_db_time, to_db_time

# Stands in for an erased person's Telegram id in "who did this" columns that may not be NULL
# (the creator of an activity, a campaign or an announcement; the cadre who ticked attendance):
# the row and every count over it stay, nothing points back to the person.
ANONYMOUS_ACTOR = 0

PUBLIC_INITIATIVE_STATUSES = ("accepted", "recognised")
# Statuses still waiting for the author or a reviewer: an erased author's initiative leaves the
# review queues as withdrawn (nobody can revise it, and its text is gone).
OPEN_INITIATIVE_STATUSES = ("submitted", "in_review", "needs_revision")


@dataclass
class EraseContext:
    """Handed to every erase step, inside the one erasure transaction."""

    conn: aiosqlite.Connection
    person: DataSubject
    now: datetime
    erased_at: datetime
    activities: ActivityRepository
    released: list[ReleasedSeat] = field(default_factory=list)
    dropped_announcements: int = 0
    rows: dict[str, int] = field(default_factory=dict)

    async def run(self, table: str, sql: str, params: tuple[Any, ...] | list[Any]) -> int:
        cursor = await self.conn.execute(sql, params)
        changed = max(cursor.rowcount, 0)
        if changed:
            self.rows[table] = self.rows.get(table, 0) + changed
        return changed

    async def all(self, sql: str, params: tuple[Any, ...] | list[Any]) -> list[sqlite3.Row]:
        return list(await self.conn.execute_fetchall(sql, params))

    @property
    def stamp(self) -> str:
        return to_db_time(self.now)


@dataclass(frozen=True, slots=True)
class CopyContext:
    """Handed to every copy step: reads on the reader connection."""

    db: Database
    person: DataSubject


EraseStep = Callable[[EraseContext], Awaitable[None]]
CopyStep = Callable[[CopyContext], Awaitable[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class TableSteps:
    """What one table holds about a person: the decision per column, the erase, the copy."""

    table: str
    columns: Mapping[str, str]  # column → what erasure means for it, and why
    erase: EraseStep | None = None
    copy: CopyStep | None = None  # sections of the /mydata document this table gives


def _time(text: str | None) -> str | None:
    """Stored UTC text as ISO-8601 (kept UTC: the document says so at its top)."""
    moment = from_db_time(text)
    return None if moment is None else moment.isoformat()


# --- members ---------------------------------------------------------------------------------


async def _erase_member(ctx: EraseContext) -> None:
    await ctx.run(
        "members",
        "UPDATE members SET telegram_id = NULL, zalo_id = NULL, full_name = '', username = NULL, "
        "username_at = NULL, phone = NULL, email = NULL, consent_at = NULL, deleted_at = ?, "
        "updated_at = ? WHERE id = ?",
        (to_db_time(ctx.erased_at), ctx.stamp, ctx.person.member_id),
    )


async def _copy_member(ctx: CopyContext) -> dict[str, Any]:
    row = await ctx.db.fetch_one(
        "SELECT m.*, u.code AS unit_code, u.name AS unit_name FROM members m "
        "LEFT JOIN units u ON u.id = m.unit_id WHERE m.id = ?",
        (ctx.person.member_id,),
    )
    assert row is not None
    profile = {
        "member_id": row["id"],
        "telegram_id": row["telegram_id"],
        "full_name": row["full_name"],
        "username": row["username"],
        "unit": {"code": row["unit_code"], "name": row["unit_name"]},
        "phone": row["phone"],
        "email": row["email"],
        "language": row["language"],
        "announcements_muted": bool(row["announcements_muted"]),
        "reminders_muted": bool(row["reminders_muted"]),
        "reachable": bool(row["reachable"]),
        "zalo_id": row["zalo_id"],
        "zalo_reachable": bool(row["zalo_reachable"]),
        # Where announcements and reminders reach them (None: the channel they used last).
        "announcements_on": row["notify_channel"],
        "last_channel": row["last_channel"],
        "created_at": _time(row["created_at"]),
        "updated_at": _time(row["updated_at"]),
    }
    consent = {"given_at": _time(row["consent_at"]), "withdraw_with": "/forgetme"}
    return {"profile": profile, "consent": consent}


# --- roles and flows -------------------------------------------------------------------------


async def _erase_roles(ctx: EraseContext) -> None:
    mid = ctx.person.member_id
    await ctx.run("roles", "DELETE FROM roles WHERE member_id = ?", (mid,))
    await ctx.run(
        "roles", "UPDATE roles SET granted_by = ? WHERE granted_by = ?", (ANONYMOUS_ACTOR, mid)
    )


async def _copy_roles(ctx: CopyContext) -> dict[str, Any]:
    rows = await ctx.db.fetch_all(
        "SELECT g.role, u.code, u.name, g.granted_at FROM roles g "
        "LEFT JOIN units u ON u.id = g.unit_id WHERE g.member_id = ?",
        (ctx.person.member_id,),
    )
    granted = await ctx.db.fetch_value(
        "SELECT COUNT(*) FROM roles WHERE granted_by = ?", (ctx.person.member_id,)
    )
    roles = [
        {
            "role": r["role"],
            "unit": None if r["code"] is None else {"code": r["code"], "name": r["name"]},
            "granted_at": _time(r["granted_at"]),
        }
        for r in rows
    ]
    return {"roles": roles, "roles_you_granted": int(granted)}


async def _erase_flow(ctx: EraseContext) -> None:
    await ctx.run(
        "conversation_state",
        "DELETE FROM conversation_state WHERE person IN (?, ?)",
        ctx.person.flow_keys,
    )


async def _copy_flow(ctx: CopyContext) -> dict[str, Any]:
    row = await ctx.db.fetch_one(
        "SELECT flow, step, data, updated_at FROM conversation_state WHERE person IN (?, ?) "
        "ORDER BY updated_at DESC LIMIT 1",
        ctx.person.flow_keys,
    )
    flow = None
    if row is not None:
        flow = {
            "flow": row["flow"],
            "step": row["step"],
            "data": json.loads(row["data"] or "{}"),
            "updated_at": _time(row["updated_at"]),
        }
    return {"flow_in_progress": flow}


# --- activities, campaigns, registrations -----------------------------------------------------


async def _erase_campaigns(ctx: EraseContext) -> None:
    await ctx.run(
        "campaigns",
        "UPDATE campaigns SET created_by = ? WHERE created_by = ?",
        (ANONYMOUS_ACTOR, ctx.person.member_id),
    )


async def _erase_activities(ctx: EraseContext) -> None:
    rows = await ctx.all(
        "SELECT id, title, description, place FROM activities WHERE created_by = ?",
        (ctx.person.member_id,),
    )
    scrub = ctx.person.scrub
    await ctx.conn.executemany(
        "UPDATE activities SET title = ?, description = ?, place = ?, created_by = ? WHERE id = ?",
        [
            (
                scrub(r["title"]),
                scrub(r["description"]),
                scrub(r["place"]),
                ANONYMOUS_ACTOR,
                r["id"],
            )
            for r in rows
        ],
    )
    if rows:
        ctx.rows["activities"] = ctx.rows.get("activities", 0) + len(rows)


async def _copy_created(ctx: CopyContext) -> dict[str, Any]:
    tid = ctx.person.member_id
    activities = await ctx.db.fetch_all(
        "SELECT id, title, starts_at, created_at FROM activities WHERE created_by = ? ORDER BY id",
        (tid,),
    )
    campaigns = await ctx.db.fetch_all(
        "SELECT id, name, created_at FROM campaigns WHERE created_by = ? ORDER BY id", (tid,)
    )
    return {
        "activities_you_created": [
            {
                "id": r["id"],
                "title": r["title"],
                "starts_at": _time(r["starts_at"]),
                "created_at": _time(r["created_at"]),
            }
            for r in activities
        ],
        "campaigns_you_created": [
            {"id": r["id"], "name": r["name"], "created_at": _time(r["created_at"])}
            for r in campaigns
        ],
    }


# Seats the erasure hands on: active registrations of activities that have not started and
# where the person has not checked in (attendance is a record and stays with its hours).
_SEATS_TO_RELEASE = (
    "SELECT r.activity_id, r.status FROM registrations r JOIN activities a ON a.id = r.activity_id "
    "WHERE r.member_id = ? AND r.status IN ('confirmed', 'waitlisted') AND NOT EXISTS ("
    " SELECT 1 FROM attendance t WHERE t.activity_id = r.activity_id AND t.member_id = r.member_id"
    " AND t.present = 1) "
    "AND a.status != 'cancelled' AND a.starts_at > ? ORDER BY a.starts_at, a.id"
)


async def _erase_registrations(ctx: EraseContext) -> None:
    member_id = ctx.person.member_id
    for row in await ctx.all(_SEATS_TO_RELEASE, (member_id, ctx.stamp)):
        result = await ctx.activities.cancel_in(ctx.conn, row["activity_id"], member_id, ctx.now)
        if result.cancelled is not None:
            ctx.rows["registrations"] = ctx.rows.get("registrations", 0) + 1
            ctx.released.append(
                ReleasedSeat(row["activity_id"], result.cancelled.status, result.promoted)
            )
    await ctx.run(
        "registrations",
        "UPDATE registrations SET answers = '{}' WHERE member_id = ? AND answers != '{}'",
        (member_id,),
    )


async def _erase_attendance(ctx: EraseContext) -> None:
    """Records stay (they are the unit's figures); where the person recorded someone else's
    attendance as a cadre, the cadre is erased and so are the reasons they wrote."""
    tid = ctx.person.member_id
    await ctx.run(
        "attendance",
        "UPDATE attendance SET recorded_by = ? WHERE recorded_by = ?",
        (ANONYMOUS_ACTOR, tid),
    )
    await ctx.run(
        "attendance_changes",
        "UPDATE attendance_changes SET by_member = ?, reason = CASE WHEN reason IS NULL "
        "THEN NULL ELSE '' END WHERE by_member = ?",
        (ANONYMOUS_ACTOR, tid),
    )
    await ctx.run(
        "walk_in_requests",
        "DELETE FROM walk_in_requests WHERE member_id = ? AND status = 'pending'",
        (ctx.person.member_id,),
    )
    await ctx.run(
        "walk_in_requests",
        "UPDATE walk_in_requests SET decided_by = ? WHERE decided_by = ?",
        (ANONYMOUS_ACTOR, tid),
    )
    await ctx.run(
        "checkin_attempts",
        "DELETE FROM checkin_attempts WHERE member_id = ?",
        (ctx.person.member_id,),
    )


async def _copy_registrations(ctx: CopyContext) -> dict[str, Any]:
    rows = await ctx.db.fetch_all(
        "SELECT r.activity_id, a.title, a.place, a.starts_at, a.ends_at, a.status AS a_status, "
        "a.hours AS a_hours, u.code AS unit_code, u.name AS unit_name, r.status, r.answers, "
        "r.registered_at, r.confirmed_at, r.cancelled_at, t.recorded_at AS attended_at, "
        "t.present, t.method, t.hours AS hours_credited, r.thanked_at, "
        "CASE WHEN r.status = 'waitlisted' THEN (SELECT COUNT(*) FROM registrations w "
        " WHERE w.activity_id = r.activity_id AND w.status = 'waitlisted' "
        " AND w.waitlist_seq <= r.waitlist_seq) END AS waitlist_position "
        "FROM registrations r JOIN activities a ON a.id = r.activity_id "
        "JOIN units u ON u.id = a.unit_id LEFT JOIN attendance t ON t.activity_id = "
        "r.activity_id AND t.member_id = r.member_id "
        "WHERE r.member_id = ? ORDER BY a.starts_at, r.id",
        (ctx.person.member_id,),
    )
    prompts: dict[tuple[int, str], str] = {}
    ids = sorted({r["activity_id"] for r in rows})
    if ids:
        marks = ", ".join("?" for _ in ids)
        for q in await ctx.db.fetch_all(
            "SELECT activity_id, position, prompt FROM activity_questions "
            f"WHERE activity_id IN ({marks})",
            ids,
        ):
            prompts[(q["activity_id"], str(q["position"]))] = q["prompt"]
    registrations = []
    attendance = []
    for r in rows:
        activity = {
            "id": r["activity_id"],
            "title": r["title"],
            "unit": {"code": r["unit_code"], "name": r["unit_name"]},
            "place": r["place"],
            "starts_at": _time(r["starts_at"]),
            "ends_at": _time(r["ends_at"]),
            "status": r["a_status"],
        }
        answers = json.loads(r["answers"] or "{}")
        registrations.append(
            {
                "activity": activity,
                "status": r["status"],
                "waitlist_position": r["waitlist_position"],
                "registered_at": _time(r["registered_at"]),
                "confirmed_at": _time(r["confirmed_at"]),
                "cancelled_at": _time(r["cancelled_at"]),
                "answers": [
                    {"question": prompts.get((r["activity_id"], str(k)), str(k)), "answer": v}
                    for k, v in sorted(answers.items(), key=lambda kv: int(kv[0]))
                ],
            }
        )
        if r["attended_at"] is not None:
            attendance.append(
                {
                    "activity_id": r["activity_id"],
                    "title": r["title"],
                    "recorded_at": _time(r["attended_at"]),
                    "present": bool(r["present"]),
                    "hours": float(r["hours_credited"]),
                    "recorded": r["method"],
                    "thanked_at": _time(r["thanked_at"]),
                }
            )
    return {"registrations": registrations, "attendance": attendance}


async def _copy_attendance_changes(ctx: CopyContext) -> dict[str, Any]:
    rows = await ctx.db.fetch_all(
        "SELECT c.activity_id, a.title, c.at, c.method, c.from_present, c.to_present, "
        "c.hours_from, c.hours_to, c.reason, c.by_member IS NOT NULL AS by_cadre "
        "FROM attendance_changes c JOIN activities a ON a.id = c.activity_id "
        "WHERE c.member_id = ? ORDER BY c.id",
        (ctx.person.member_id,),
    )
    walk_ins = await ctx.db.fetch_all(
        "SELECT w.activity_id, a.title, w.status, w.requested_at, w.decided_at "
        "FROM walk_in_requests w JOIN activities a ON a.id = w.activity_id "
        "WHERE w.member_id = ? ORDER BY w.requested_at",
        (ctx.person.member_id,),
    )
    return {
        "attendance_history": [
            {
                "activity_id": r["activity_id"],
                "title": r["title"],
                "at": _time(r["at"]),
                "method": r["method"],
                "by": "cadre" if r["by_cadre"] else "you",
                "present_before": None if r["from_present"] is None else bool(r["from_present"]),
                "present_after": bool(r["to_present"]),
                "hours_before": float(r["hours_from"]),
                "hours_after": float(r["hours_to"]),
                "reason": r["reason"],
            }
            for r in rows
        ],
        "walk_in_requests": [
            {
                "activity_id": r["activity_id"],
                "title": r["title"],
                "status": r["status"],
                "requested_at": _time(r["requested_at"]),
                "decided_at": _time(r["decided_at"]),
            }
            for r in walk_ins
        ],
    }


# --- initiatives -----------------------------------------------------------------------------


def _marks(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


async def _erase_initiatives(ctx: EraseContext) -> None:
    member_id = ctx.person.member_id
    # Never submitted: no code, counted nowhere, the author's alone (attachments, history and
    # supports go with them by ON DELETE CASCADE).
    await ctx.run(
        "initiatives",
        "DELETE FROM initiatives WHERE author_member_id = ? AND code IS NULL",
        (member_id,),
    )
    # Still open: withdrawn, as the author no longer exists to revise or defend it; the history
    # keeps the step, so what /stats counts (submissions, decisions) does not move.
    for row in await ctx.all(
        "SELECT id, status FROM initiatives WHERE author_member_id = ? "
        f"AND status IN ({_marks(OPEN_INITIATIVE_STATUSES)})",
        (member_id,),
    ):
        await ctx.conn.execute(
            "UPDATE initiatives SET status = 'withdrawn', version = version + 1, updated_at = ? "
            "WHERE id = ?",
            (ctx.stamp, row["id"]),
        )
        await ctx.conn.execute(
            "INSERT INTO initiative_history (initiative_id, actor_member_id, "
            "actor_role, from_status, to_status, comment, at) "
            "VALUES (?, ?, 'author', ?, 'withdrawn', NULL, ?)",
            (row["id"], member_id, row["status"], ctx.stamp),
        )
    # Not the unit's record: the text goes, the row (code, unit, status, dates) stays counted.
    await ctx.run(
        "initiatives",
        "UPDATE initiatives SET title = '', problem = '', solution = '', benefit = '', "
        "coauthors = '', version = version + 1, updated_at = ? WHERE author_member_id = ? "
        f"AND status NOT IN ({_marks(PUBLIC_INITIATIVE_STATUSES)}) "
        "AND (title != '' OR problem != '' OR solution != '' OR benefit != '' OR coauthors != '')",
        (ctx.stamp, member_id),
    )
    # Accepted or recognised: the unit's record, kept; only the author's own name, phone and
    # email are taken out of it (the author link now points at an anonymous row).
    scrub = ctx.person.scrub
    for row in await ctx.all(
        "SELECT id, title, problem, solution, benefit, coauthors FROM initiatives "
        f"WHERE author_member_id = ? AND status IN ({_marks(PUBLIC_INITIATIVE_STATUSES)})",
        (member_id,),
    ):
        texts = [row[c] for c in ("title", "problem", "solution", "benefit", "coauthors")]
        cleaned = [scrub(t) for t in texts]
        if cleaned != texts:
            await ctx.run(
                "initiatives",
                "UPDATE initiatives SET title = ?, problem = ?, solution = ?, benefit = ?, "
                "coauthors = ?, version = version + 1, updated_at = ? WHERE id = ?",
                (*cleaned, ctx.stamp, row["id"]),
            )


async def _erase_attachments(ctx: EraseContext) -> None:
    await ctx.run(
        "initiative_attachments",
        "DELETE FROM initiative_attachments WHERE initiative_id IN (SELECT id FROM initiatives "
        f"WHERE author_member_id = ? AND status NOT IN ({_marks(PUBLIC_INITIATIVE_STATUSES)}))",
        (ctx.person.member_id,),
    )


async def _erase_history(ctx: EraseContext) -> None:
    await ctx.run(
        "initiative_history",
        "UPDATE initiative_history SET comment = NULL WHERE comment IS NOT NULL "
        "AND actor_member_id = ?",
        (ctx.person.member_id,),
    )


async def _copy_initiatives(ctx: CopyContext) -> dict[str, Any]:
    mid = ctx.person.member_id
    rows = await ctx.db.fetch_all(
        "SELECT i.*, u.code AS unit_code, u.name AS unit_name, "
        "(SELECT COUNT(*) FROM initiative_supports s WHERE s.initiative_id = i.id) AS supports "
        "FROM initiatives i JOIN units u ON u.id = i.unit_id WHERE i.author_member_id = ? "
        "ORDER BY i.id",
        (mid,),
    )
    initiatives = []
    for r in rows:
        attachments = await ctx.db.fetch_all(
            "SELECT kind, name, size, mime, channel, file_id, added_at FROM initiative_attachments "
            "WHERE initiative_id = ? ORDER BY id",
            (r["id"],),
        )
        history = await ctx.db.fetch_all(
            "SELECT at, actor_role, actor_member_id, from_status, to_status, comment "
            "FROM initiative_history WHERE initiative_id = ? ORDER BY id",
            (r["id"],),
        )
        initiatives.append(
            {
                "code": r["code"],
                "title": r["title"],
                "field": r["field"],
                "problem": r["problem"],
                "solution": r["solution"],
                "benefit": r["benefit"],
                "coauthors": r["coauthors"],
                "unit": {"code": r["unit_code"], "name": r["unit_name"]},
                "status": r["status"],
                "recognition_level": r["recognition_level"],
                "created_at": _time(r["created_at"]),
                "submitted_at": _time(r["submitted_at"]),
                "decided_at": _time(r["decided_at"]),
                "supports_received": int(r["supports"]),
                "attachments": [
                    {
                        "kind": a["kind"],
                        "name": a["name"],
                        "size": a["size"],
                        "mime": a["mime"],
                        "channel": a["channel"],
                        # A Telegram file id, or the name of a Zalo image kept by the bot.
                        "file_id": a["file_id"],
                        "added_at": _time(a["added_at"]),
                    }
                    for a in attachments
                ],
                # Reviewers appear by role, not by name: their names are their data.
                "history": [
                    {
                        "at": _time(h["at"]),
                        "by": "you" if h["actor_member_id"] == mid else h["actor_role"],
                        "from": h["from_status"],
                        "to": h["to_status"],
                        "comment": h["comment"],
                    }
                    for h in history
                ],
            }
        )
    reviews = await ctx.db.fetch_all(
        "SELECT h.at, i.code, h.from_status, h.to_status, h.comment FROM initiative_history h "
        "JOIN initiatives i ON i.id = h.initiative_id "
        "WHERE h.actor_member_id = ? AND i.author_member_id != ? "
        "ORDER BY h.id",
        (mid, mid),
    )
    return {
        "initiatives": initiatives,
        "initiative_reviews_you_made": [
            {
                "at": _time(h["at"]),
                "initiative": h["code"],
                "from": h["from_status"],
                "to": h["to_status"],
                "comment": h["comment"],
            }
            for h in reviews
        ],
    }


async def _copy_supports(ctx: CopyContext) -> dict[str, Any]:
    rows = await ctx.db.fetch_all(
        "SELECT i.code, i.title, s.created_at FROM initiative_supports s "
        "JOIN initiatives i ON i.id = s.initiative_id WHERE s.member_id = ? ORDER BY s.created_at",
        (ctx.person.member_id,),
    )
    return {
        "supports_given": [
            {"initiative": r["code"], "title": r["title"], "at": _time(r["created_at"])}
            for r in rows
        ]
    }


# --- announcements and reminders -------------------------------------------------------------


async def _erase_broadcasts(ctx: EraseContext) -> None:
    rows = await ctx.all(
        "SELECT id, text_html FROM broadcasts WHERE created_by = ?", (ctx.person.member_id,)
    )
    await ctx.conn.executemany(
        "UPDATE broadcasts SET text_html = ?, created_by = ? WHERE id = ?",
        [(ctx.person.scrub(r["text_html"]), ANONYMOUS_ACTOR, r["id"]) for r in rows],
    )
    if rows:
        ctx.rows["broadcasts"] = ctx.rows.get("broadcasts", 0) + len(rows)
    await ctx.run(
        "broadcasts",
        "UPDATE broadcasts SET progress_chat_id = NULL, progress_message_id = NULL "
        "WHERE progress_chat_id = ?",
        (ctx.person.telegram_id,),
    )


async def _erase_recipients(ctx: EraseContext) -> None:
    member_id = ctx.person.member_id
    # Not yet sent: out of the outbox, and out of the broadcast's total, so that the report's
    # sent + failed + blocked + pending still adds up to it and nobody counts them as sent.
    pending = await ctx.all(
        "SELECT broadcast_id FROM broadcast_recipients WHERE member_id = ? AND state = 'pending'",
        (member_id,),
    )
    if pending:
        await ctx.run(
            "broadcast_recipients",
            "DELETE FROM broadcast_recipients WHERE member_id = ? AND state = 'pending'",
            (member_id,),
        )
        await ctx.conn.executemany(
            "UPDATE broadcasts SET total = total - 1 WHERE id = ?",
            [(r["broadcast_id"],) for r in pending],
        )
        ctx.dropped_announcements += len(pending)
    # Sent, failed or blocked: counted in the reports; the chat they went to is forgotten.
    await ctx.run(
        "broadcast_recipients",
        "UPDATE broadcast_recipients SET telegram_id = ?, message_id = NULL WHERE member_id = ?",
        (ANONYMOUS_ACTOR, member_id),
    )


async def _copy_broadcasts(ctx: CopyContext) -> dict[str, Any]:
    received = await ctx.db.fetch_all(
        "SELECT br.broadcast_id, br.state, br.updated_at, b.created_at, b.text_html, "
        "b.media_kind FROM broadcast_recipients br JOIN broadcasts b ON b.id = br.broadcast_id "
        "WHERE br.member_id = ? ORDER BY br.broadcast_id",
        (ctx.person.member_id,),
    )
    sent = await ctx.db.fetch_all(
        "SELECT id, created_at, status, total, text_html FROM broadcasts WHERE created_by = ? "
        "ORDER BY id",
        (ctx.person.member_id,),
    )
    return {
        "announcements_received": [
            {
                "broadcast_id": r["broadcast_id"],
                "created_at": _time(r["created_at"]),
                "delivery": r["state"],
                "delivered_at": _time(r["updated_at"]) if r["state"] == "sent" else None,
                "text_html": r["text_html"],
                "media": r["media_kind"],
            }
            for r in received
        ],
        "announcements_you_sent": [
            {
                "broadcast_id": r["id"],
                "created_at": _time(r["created_at"]),
                "status": r["status"],
                "recipients": r["total"],
                "text_html": r["text_html"],
            }
            for r in sent
        ],
    }


async def _erase_reminder_log(ctx: EraseContext) -> None:
    # A log of messages to the person; nothing counts it, and without a Telegram id nothing is
    # due to them any more, so no row is needed to stop a message going twice.
    await ctx.run(
        "reminder_log", "DELETE FROM reminder_log WHERE member_id = ?", (ctx.person.member_id,)
    )


async def _erase_notices(ctx: EraseContext) -> None:
    # Not yet sent: nobody to send them to. Sent ones are a log of messages to them that
    # nothing counts either; neither kind is kept.
    await ctx.run("notices", "DELETE FROM notices WHERE member_id = ?", (ctx.person.member_id,))


async def _copy_notices(ctx: CopyContext) -> dict[str, Any]:
    rows = await ctx.db.fetch_all(
        "SELECT n.kind, n.activity_id, a.title, n.state, n.created_at, n.updated_at "
        "FROM notices n JOIN activities a ON a.id = n.activity_id WHERE n.member_id = ? "
        "ORDER BY n.id",
        (ctx.person.member_id,),
    )
    return {
        "notices_received": [
            {
                "kind": r["kind"],
                "activity_id": r["activity_id"],
                "title": r["title"],
                "state": r["state"],
                "created_at": _time(r["created_at"]),
                "updated_at": _time(r["updated_at"]),
            }
            for r in rows
        ]
    }


async def _erase_channel_state(ctx: EraseContext) -> None:
    """What channels keep per person: link codes and wrong tries, the numbered choices last
    shown, and files handed over as links (expired now: the sweep deletes the files)."""
    subject = ctx.person
    await ctx.run("link_codes", "DELETE FROM link_codes WHERE member_id = ?", (subject.member_id,))
    await ctx.run(
        "link_attempts", "DELETE FROM link_attempts WHERE person IN (?, ?)", subject.flow_keys
    )
    await ctx.run(
        "channel_menus",
        "DELETE FROM channel_menus WHERE (channel = 'telegram' AND address = ?) "
        "OR (channel = 'zalo' AND address = ?)",
        (str(subject.telegram_id), subject.zalo_id),
    )
    await ctx.run(
        "file_links",
        "UPDATE file_links SET expires_at = ?, member_id = NULL WHERE member_id = ?",
        (ctx.stamp, subject.member_id),
    )


async def _copy_reminder_log(ctx: CopyContext) -> dict[str, Any]:
    rows = await ctx.db.fetch_all(
        "SELECT l.kind, l.activity_id, a.title, l.due_at, l.state, l.sent_at FROM reminder_log l "
        "JOIN activities a ON a.id = l.activity_id WHERE l.member_id = ? ORDER BY l.due_at",
        (ctx.person.member_id,),
    )
    return {
        "reminders_received": [
            {
                "kind": r["kind"],
                "activity_id": r["activity_id"],
                "title": r["title"],
                "due_at": _time(r["due_at"]),
                "state": r["state"],
                "sent_at": _time(r["sent_at"]),
            }
            for r in rows
        ]
    }


# --- the list --------------------------------------------------------------------------------

NO_PERSONAL_DATA = "no column holds a person's id, name, phone, email or words"

PERSONAL_DATA: tuple[TableSteps, ...] = (
    TableSteps(
        "members",
        {
            "telegram_id, zalo_id, full_name, username, phone, email": "erased (NULL / empty)",
            "consent_at": "erased: the consent is withdrawn with the data",
            "id, unit_id, created_at": "kept: the anonymous row keeps per-unit counts right and "
            "its id, created_at and deleted_at are the erasure record (reapply-erasures)",
            "language, muted flags, reachable": "kept: preferences of nobody, harmless",
        },
        _erase_member,
        _copy_member,
    ),
    TableSteps(
        "roles",
        {
            "member_id (their grant)": "deleted: a forgotten person holds no role",
            "granted_by": f"{ANONYMOUS_ACTOR} where they granted someone else's role (it stays)",
        },
        _erase_roles,
        _copy_roles,
    ),
    TableSteps(
        "conversation_state",
        {"*": "deleted: a flow in progress (drafted answers, texts) is theirs alone"},
        _erase_flow,
        _copy_flow,
    ),
    TableSteps(
        "registrations",
        {
            "status (upcoming seats)": "cancelled through ActivityRepository.cancel_in, the "
            "member's own cancel: the first waitlisted member is promoted and told",
            "answers": "emptied on every registration: their free text",
            "member_id, status (past)": "kept: the anonymous row keeps registrations per "
            "unit right",
        },
        _erase_registrations,
        _copy_registrations,
    ),
    TableSteps(
        "attendance",
        {
            "member_id, present, hours, unit_id": "kept: the record of what the unit did (its "
            "hours and ngày công); it points at the anonymous row",
            "recorded_by": f"{ANONYMOUS_ACTOR} where they recorded someone's attendance as a "
            "cadre (NULL would read as the member's own scan)",
        },
        _erase_attendance,
    ),
    TableSteps(
        "attendance_changes",
        {
            "by_member": f"{ANONYMOUS_ACTOR} where they made the change as a cadre",
            "reason": "emptied where they wrote it; reasons others wrote are theirs",
        },
        None,
        _copy_attendance_changes,
    ),
    TableSteps(
        "walk_in_requests",
        {
            "pending requests of theirs": "deleted: nobody can confirm a person who is gone",
            "decided_by": f"{ANONYMOUS_ACTOR} where they decided as a cadre",
        },
    ),
    TableSteps("checkin_attempts", {"*": "deleted: their wrong typed codes"}),
    TableSteps(
        "initiatives",
        {
            "never submitted (no code)": "deleted with attachments and history: counted nowhere",
            "submitted, in_review, needs_revision": "withdrawn (with a history entry): nobody "
            "can revise or defend it any more",
            "title, problem, solution, benefit, coauthors (not accepted)": "emptied; the row "
            "(code, unit, status, dates) stays so that submissions and decisions count the same",
            "text of accepted / recognised ones": "kept as the unit's record, with the author's "
            "name, phone and email replaced; the author link points at the anonymous row",
        },
        _erase_initiatives,
        _copy_initiatives,
    ),
    TableSteps(
        "initiative_attachments",
        {
            "channel, file_id, file_unique_id, name (not accepted)": "deleted with the text",
            "of accepted / recognised ones": "kept with the unit's record",
        },
        _erase_attachments,
    ),
    TableSteps(
        "initiative_history",
        {
            "comment": "NULL where they wrote it (as author or reviewer); reviewers' comments on "
            "their initiatives are the reviewers' and stay",
            "actor_member_id": "kept: points at the anonymous row, so the history still counts",
        },
        _erase_history,
    ),
    TableSteps(
        "initiative_supports",
        {"member_id": "kept: points at the anonymous row; every initiative keeps its count"},
        None,
        _copy_supports,
    ),
    TableSteps(
        "campaigns",
        {"created_by": f"{ANONYMOUS_ACTOR}: the campaign is the union's; the creator is erased"},
        _erase_campaigns,
        _copy_created,
    ),
    TableSteps(
        "activities",
        {
            "created_by": f"{ANONYMOUS_ACTOR}: the activity is the unit's; the creator is erased",
            "title, description, place": "kept for the unit and its registrants, with the "
            "creator's name, phone and email replaced",
        },
        _erase_activities,
    ),
    TableSteps(
        "activity_questions",
        {"prompt, choices": "the organiser's questions; the person's answers are in registrations"},
    ),
    TableSteps("checkin_tokens", {"token": NO_PERSONAL_DATA}),
    TableSteps("units", {"*": NO_PERSONAL_DATA}),
    TableSteps(
        "broadcasts",
        {
            "created_by": f"{ANONYMOUS_ACTOR} on announcements they sent (counts and reports stay)",
            "text_html": "kept (the unit's announcement, already delivered), with the sender's "
            "name, phone and email replaced",
            "progress_chat_id, progress_message_id": "NULL: their chat (= their Telegram id)",
        },
        _erase_broadcasts,
    ),
    TableSteps(
        "broadcast_recipients",
        {
            "pending rows": "deleted and taken out of the broadcast's total: never sent, never "
            "counted as sent (the running sender is told to skip them, see bot.privacy)",
            "telegram_id": f"{ANONYMOUS_ACTOR} on delivered, failed or blocked rows (counted)",
            "message_id": "NULL: a message in their chat",
        },
        _erase_recipients,
        _copy_broadcasts,
    ),
    TableSteps(
        "reminder_log",
        {"*": "deleted: a log of messages to them that nothing counts"},
        _erase_reminder_log,
        _copy_reminder_log,
    ),
    TableSteps(
        "link_codes",
        {"*": "deleted: codes that would link another channel to them"},
        _erase_channel_state,
    ),
    TableSteps("link_attempts", {"*": "deleted: their wrong link codes"}),
    TableSteps("channel_menus", {"*": "deleted: the choices last shown to them on Zalo"}),
    TableSteps(
        "file_links",
        {
            "member_id": "NULL, and the link expired at once: the sweep deletes the file "
            "(bot.files.FileLinks.purge, run right after the erasure)",
        },
    ),
    TableSteps(
        "notices",
        {
            "*": "deleted: messages owed or sent to them (changes, cancellations, seats); "
            "nothing counts them"
        },
        _erase_notices,
        _copy_notices,
    ),
)

# Tables of the machinery, not of people.
INTERNAL_TABLES = frozenset({"schema_version"})


# --- the repository --------------------------------------------------------------------------

_PERSON = (
    "SELECT id, telegram_id, zalo_id, full_name, phone, email, created_at, deleted_at FROM members "
)


def _person(row: sqlite3.Row) -> DataSubject:
    return DataSubject(
        member_id=row["id"],
        telegram_id=row["telegram_id"],
        zalo_id=row["zalo_id"],
        full_name=row["full_name"],
        phone=row["phone"],
        email=row["email"],
        created_at=row["created_at"],
    )


class PrivacyRepository:
    def __init__(
        self,
        db: Database,
        activities: ActivityRepository,
        steps: tuple[TableSteps, ...] = PERSONAL_DATA,
    ) -> None:
        self._db = db
        self._activities = activities
        self._steps = steps

    async def copy(self, member_id: int) -> dict[str, Any] | None:
        """Every section of the person's data, in the order of ``PERSONAL_DATA``; None when
        there is no such member or they are erased already."""
        row = await self._db.fetch_one(_PERSON + "WHERE id = ?", (member_id,))
        if row is None or row["deleted_at"] is not None:
            return None
        ctx = CopyContext(self._db, _person(row))
        sections: dict[str, Any] = {}
        for steps in self._steps:
            if steps.copy is not None:
                sections.update(await steps.copy(ctx))
        return sections

    async def erase(
        self, member_id: int, now: datetime, *, erased_at: datetime | None = None
    ) -> ErasureReport | None:
        """Every step of ``PERSONAL_DATA`` in one transaction: all of it or nothing. None when
        the member is unknown or already erased (a second tap erases nothing twice)."""
        async with self._db.transaction() as conn:
            row = await first_row(conn, _PERSON + "WHERE id = ?", (member_id,))
            if row is None or row["deleted_at"] is not None:
                return None
            ctx = EraseContext(conn, _person(row), now, erased_at or now, self._activities)
            for steps in self._steps:
                if steps.erase is not None:
                    await steps.erase(ctx)
        return ErasureReport(
            member_id, tuple(ctx.released), ctx.dropped_announcements, dict(ctx.rows)
        )

    async def erased_members(self) -> list[ErasedMember]:
        rows = await self._db.fetch_all(
            "SELECT id, created_at, deleted_at FROM members WHERE deleted_at IS NOT NULL "
            "ORDER BY id"
        )
        return [ErasedMember(r[0], r[1], r[2]) for r in rows]

    async def reapply(self, erased: list[ErasedMember], now: datetime) -> ReapplyReport:
        """Erase again, in this copy, the members another copy records as erased (a database
        restored from a backup older than their /forgetme)."""
        report = ReapplyReport([], [], [], [])
        for record in erased:
            row = await self._db.fetch_one(_PERSON + "WHERE id = ?", (record.member_id,))
            if row is None:
                report.unknown.append(record.member_id)
            elif row["created_at"] != record.created_at:
                report.mismatched.append(record.member_id)
            elif row["deleted_at"] is not None:
                report.already.append(record.member_id)
            else:
                erased_at = from_db_time(record.erased_at)
                done = await self.erase(record.member_id, now, erased_at=erased_at)
                (report.applied if done else report.already).append(record.member_id)
        return report


def read_erased_members(path: Path) -> list[ErasedMember]:
    """The erasures recorded in another copy of the database (opened read-only, unchanged)."""
    if not path.is_file():
        raise FileNotFoundError(path)
    conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT id, created_at, deleted_at FROM members WHERE deleted_at IS NOT NULL "
            "ORDER BY id"
        ).fetchall()
    finally:
        conn.close()
    return [ErasedMember(int(r[0]), str(r[1]), str(r[2])) for r in rows]
