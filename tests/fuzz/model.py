"""What a batch of updates may have changed, given who sent it (SPEC section 1).

The whole security-relevant database is snapshotted before and after a batch. Every difference
must be explained by something one of the batch's senders was allowed to do:

* anyone: their own member row, flow state and settings; onboarding themselves; registering
  themselves where the activity is open to them; their own check-in with a code they sent (a
  link or six typed digits): present if confirmed, else a walk-in request; their wrong codes;
  their own initiatives (author moves only), supports and attachments; /forgetme of themselves;
* a side effect of that: a waitlisted member promoted when a sender gave up their seat; and of
  /forgetme (``storage.privacy``): their never-submitted initiatives deleted and open ones
  withdrawn, their comments and ids taken out of the history, their outbox rows dropped (and the
  broadcasts' totals with them) or anonymised, their id as a creator or grantor replaced;
* a cadre among the senders: objects of their own unit (activities, questions, check-in tokens,
  registrations, attendance and its log, walk-in decisions, campaigns, reviews of the unit's
  initiatives, unit-level recognition, broadcasts to the unit) and broadcasts they created.

Attendance is never deleted, its log is append-only, and nobody cancels a registration while
recorded present.

Nothing else: no role is gained, no other unit's object or other person's row is touched.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from storage import Database

Row = dict[str, Any]
Snapshot = dict[str, dict[tuple[Any, ...], Row]]

TABLES: dict[str, tuple[str, ...]] = {
    "units": ("id",),
    "members": ("id",),
    "roles": ("member_id",),
    "conversation_state": ("person",),
    "campaigns": ("id",),
    "activities": ("id",),
    "activity_questions": ("id",),
    "registrations": ("id",),
    "checkin_tokens": ("token",),
    "attendance": ("activity_id", "member_id"),
    "attendance_changes": ("id",),
    "walk_in_requests": ("activity_id", "member_id"),
    "checkin_attempts": ("member_id",),
    "initiatives": ("id",),
    "initiative_attachments": ("id",),
    "initiative_history": ("id",),
    "initiative_supports": ("initiative_id", "member_id"),
    "broadcasts": ("id",),
    "broadcast_recipients": ("broadcast_id", "member_id"),
}

AUTHOR_MOVES = {
    ("draft", "submitted"),
    ("needs_revision", "submitted"),
    ("draft", "withdrawn"),
    ("submitted", "withdrawn"),
    ("needs_revision", "withdrawn"),
}
REVIEWER_MOVES = {
    ("submitted", "in_review"),
    ("in_review", "needs_revision"),
    ("in_review", "accepted"),
    ("in_review", "rejected"),
    ("accepted", "recognised"),
}
CONTENT = ("title", "field", "problem", "solution", "benefit", "coauthors")
OPEN_STATUSES = {"submitted", "in_review", "needs_revision"}
ANONYMOUS_ACTOR = 0  # storage.privacy.ANONYMOUS_ACTOR
PROMOTION_COLUMNS = {"status", "waitlist_seq", "confirmed_at", "updated_at"}


async def snapshot(db: Database) -> Snapshot:
    result: Snapshot = {}
    for table, key in TABLES.items():
        rows = await db.fetch_all(f"SELECT * FROM {table}")
        result[table] = {tuple(row[k] for k in key): dict(row) for row in rows}
    return result


@dataclass
class Diff:
    added: dict[tuple[Any, ...], Row]
    removed: dict[tuple[Any, ...], Row]
    changed: dict[tuple[Any, ...], tuple[Row, Row]]

    def touched(self) -> Iterable[tuple[Any, ...]]:
        yield from self.added
        yield from self.removed
        yield from self.changed

    def rows(self, key: tuple[Any, ...]) -> tuple[Row | None, Row | None]:
        if key in self.added:
            return None, self.added[key]
        if key in self.removed:
            return self.removed[key], None
        return self.changed[key]


def diff(before: Snapshot, after: Snapshot) -> dict[str, Diff]:
    result: dict[str, Diff] = {}
    for table in TABLES:
        b, a = before[table], after[table]
        result[table] = Diff(
            added={k: a[k] for k in a.keys() - b.keys()},
            removed={k: b[k] for k in b.keys() - a.keys()},
            changed={k: (b[k], a[k]) for k in a.keys() & b.keys() if a[k] != b[k]},
        )
    return result


@dataclass
class BatchFacts:
    """Who sent the batch, as the database knew them when it started."""

    senders: set[int]
    now: datetime
    checkin_tokens_sent: dict[int, set[str]] = field(default_factory=dict)  # after "ci_"
    checkin_codes_typed: dict[int, set[int]] = field(default_factory=dict)  # activity ids


@dataclass
class Judge:
    before: Snapshot
    after: Snapshot
    facts: BatchFacts
    violations: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.changes = diff(self.before, self.after)
        senders = self.facts.senders
        roles = self.before["roles"]
        self.own_members: set[int] = set()
        self.member_tid: dict[int, int] = {}
        for snap in (self.before, self.after):
            for (mid,), row in snap["members"].items():
                tid = row["telegram_id"]
                if tid is not None:
                    self.member_tid.setdefault(mid, tid)
                if tid in senders:
                    self.own_members.add(mid)
        # Roles and "who did it" columns hold member ids; senders are Telegram ids.
        self.cadre_member_unit: dict[int, int] = {
            mid: row["unit_id"]
            for (mid,), row in roles.items()
            if self.member_tid.get(mid) in senders and row["role"] == "cadre"
        }
        self.cadre_unit: dict[int, int] = {
            self.member_tid[mid]: unit for mid, unit in self.cadre_member_unit.items()
        }
        self.managed_units = set(self.cadre_unit.values())
        # Senders who used /forgetme in this batch: their row lost its Telegram id.
        self.erased_members: set[int] = set()
        self.erased_tids: set[int] = set()
        for (mid,), row in self.after["members"].items():
            old = self.before["members"].get((mid,))
            if (
                old is not None
                and old["telegram_id"] in senders
                and row["telegram_id"] is None
                and row.get("deleted_at") is not None
            ):
                self.erased_members.add(mid)
                self.erased_tids.add(old["telegram_id"])

    # --- helpers -------------------------------------------------------------------------

    def refuse(self, table: str, key: tuple[Any, ...], why: str) -> None:
        before, after = self.changes[table].rows(key)
        self.violations.append(
            f"{table}{list(key)}: {why}\n      before={before}\n      after={after}"
        )

    def row(self, table: str, key: Any) -> Row | None:
        """The row after the batch, or before it when it is gone."""
        k = key if isinstance(key, tuple) else (key,)
        return self.after[table].get(k) or self.before[table].get(k)

    def activity_unit(self, activity_id: int | None) -> int | None:
        activity = self.row("activities", activity_id)
        return activity["unit_id"] if activity else None

    def member_units(self, member_id: int) -> set[int]:
        units = set()
        for snap in (self.before, self.after):
            row = snap["members"].get((member_id,))
            if row is not None and row["unit_id"] is not None:
                units.add(row["unit_id"])
        return units

    def managed(self, *unit_ids: int | None) -> bool:
        return all(u is not None and u in self.managed_units for u in unit_ids)

    # --- the rules ------------------------------------------------------------------------

    def judge(self) -> list[str]:
        self.units()
        self.roles()
        self.members()
        self.flow_states()
        self.campaigns()
        self.activities()
        self.registrations()
        self.attendance()
        self.initiatives()
        self.initiative_children()
        self.broadcasts()
        return self.violations

    def units(self) -> None:
        for key in self.changes["units"].touched():
            self.refuse("units", key, "units changed without an admin")

    def roles(self) -> None:
        d = self.changes["roles"]
        for key in d.added:
            self.refuse("roles", key, "a role was granted without an admin")
        for key in d.changed:
            before, after = d.changed[key]
            changed = {c for c in after if before[c] != after[c]}
            anonymised = (
                changed == {"granted_by"}
                and before["granted_by"] in self.erased_members
                and after["granted_by"] == ANONYMOUS_ACTOR
            )
            if not anonymised:
                self.refuse("roles", key, "a role was changed without an admin")
        for key in d.removed:
            if self.member_tid.get(key[0]) not in self.facts.senders:
                self.refuse("roles", key, "someone else's role was removed")

    def members(self) -> None:
        d = self.changes["members"]
        known = {
            row["telegram_id"]
            for snap in (self.before, self.after)
            for row in snap["members"].values()
        }
        # Senders who were not members before or after: they may have onboarded and then
        # used /forgetme within the batch, leaving a new row already anonymised.
        passing = self.facts.senders - known
        for key in d.touched():
            before, after = d.rows(key)
            tids = {r["telegram_id"] for r in (before, after) if r is not None}
            forgotten_at_once = (
                before is None
                and after is not None
                and after["telegram_id"] is None
                and after["deleted_at"] is not None
                and bool(passing)
            )
            if key in d.removed:
                self.refuse("members", key, "a member row was deleted")
            elif not tids & self.facts.senders and not forgotten_at_once:
                self.refuse("members", key, "another person's member row changed")

    def flow_states(self) -> None:
        for key in self.changes["conversation_state"].touched():
            channel, _, user_id = str(key[0]).partition(":")
            if (
                channel != "telegram"
                or not user_id.isdigit()
                or int(user_id) not in self.facts.senders
            ):
                self.refuse("conversation_state", key, "another person's flow state changed")

    def campaigns(self) -> None:
        d = self.changes["campaigns"]
        for key in d.touched():
            before, after = d.rows(key)
            units = [r["unit_id"] for r in (before, after) if r is not None]
            if not self.managed(*units):
                self.refuse("campaigns", key, "a campaign outside the sender cadre's unit")
            elif (
                after is not None
                and key in d.added
                and after["created_by"] not in self.cadre_member_unit
            ):
                self.refuse("campaigns", key, "created by someone who is not a cadre")

    def activities(self) -> None:
        for table, unit_of in (
            ("activities", lambda r: r["unit_id"]),
            ("activity_questions", lambda r: self.activity_unit(r["activity_id"])),
            ("checkin_tokens", lambda r: self.activity_unit(r["activity_id"])),
        ):
            d = self.changes[table]
            for key in d.touched():
                units = [unit_of(r) for r in d.rows(key) if r is not None]
                if not self.managed(*units):
                    self.refuse(table, key, "an activity of a unit no sender manages changed")
        d = self.changes["activities"]
        for key, row in d.added.items():
            if row["created_by"] not in self.cadre_member_unit:
                self.refuse("activities", key, "created by someone who is not a cadre")

    def registrations(self) -> None:
        d = self.changes["registrations"]
        gave_up: set[int] = set()  # activities where a sender's seat was freed
        for key in d.changed:
            before, after = d.changed[key]
            if (
                before["member_id"] in self.own_members
                and before["status"] == "confirmed"
                and after["status"] == "cancelled"
            ):
                gave_up.add(after["activity_id"])
        for key in d.touched():
            before, after = d.rows(key)
            current = after or before
            assert current is not None
            activity_id = current["activity_id"]
            activity = self.before["activities"].get((activity_id,)) or self.row(
                "activities", activity_id
            )
            assert activity is not None
            if self.managed(activity["unit_id"]):
                continue
            if after is None:
                self.refuse("registrations", key, "a registration was deleted")
                continue
            member_id = after["member_id"]
            if member_id in self.own_members:
                self.own_registration(key, before, after, activity)
                continue
            changed = {c for c in after if before is None or before[c] != after[c]}
            promoted = (
                before is not None
                and before["status"] == "waitlisted"
                and after["status"] == "confirmed"
                and changed <= PROMOTION_COLUMNS
                and activity_id in gave_up
            )
            if not promoted:
                self.refuse(
                    "registrations", key, "another member's registration changed (no promotion)"
                )

    def scanned(self, member_id: int, activity_id: int) -> bool:
        """Whether the member sent a check-in code of this activity in the batch."""
        tid = self.member_tid.get(member_id, -1)
        links = self.facts.checkin_tokens_sent.get(tid, set())
        typed = self.facts.checkin_codes_typed.get(tid, set())
        return activity_id in typed or any(p.split("_", 1)[0] == str(activity_id) for p in links)

    def present_before(self, activity_id: int, member_id: int) -> bool:
        row = self.before["attendance"].get((activity_id, member_id))
        return row is not None and bool(row["present"])

    def own_registration(
        self, key: tuple[Any, ...], before: Row | None, after: Row, activity: Row
    ) -> None:
        member_id = after["member_id"]
        visible = activity["open_to"] == "all" or activity["unit_id"] in self.member_units(
            member_id
        )
        became_active = after["status"] in ("confirmed", "waitlisted") and (
            before is None or before["status"] == "cancelled"
        )
        if became_active:
            if not visible:
                self.refuse("registrations", key, "registered for an activity not open to them")
            elif not (
                activity["status"] == "open"
                and self.facts.now < datetime.fromisoformat(activity["deadline_at"])
            ):
                self.refuse("registrations", key, "registered for a closed activity")
        if (
            before is not None
            and before["status"] == "confirmed"
            and after["status"] != "confirmed"
            and self.present_before(after["activity_id"], member_id)
        ):
            self.refuse("registrations", key, "cancelled after checking in")

    def attendance(self) -> None:
        """Only the unit's cadre corrects or confirms; a member only checks themselves in
        (present with their own code, or asks as a walk-in). Records stay; the log only grows."""
        d = self.changes["attendance"]
        touched = set(d.touched())
        for key in d.removed:
            self.refuse("attendance", key, "an attendance record was deleted")
        for key in d.added.keys() | d.changed.keys():
            activity_id, member_id = key
            if self.managed(self.activity_unit(activity_id)):
                continue
            before, after = d.rows(key)
            assert after is not None
            own_scan = (
                before is None
                and member_id in self.own_members
                and after["present"] == 1
                and after["method"] == "qr"
                and after["recorded_by"] is None
                and self.scanned(member_id, activity_id)
            )
            if not own_scan:
                self.refuse("attendance", key, "attendance changed without the member's code")
        log = self.changes["attendance_changes"]
        for key in log.changed.keys() | log.removed.keys():
            self.refuse("attendance_changes", key, "the attendance log is append-only")
        for key, row in log.added.items():
            if (row["activity_id"], row["member_id"]) not in touched:
                self.refuse("attendance_changes", key, "a log entry without a change")
        w = self.changes["walk_in_requests"]
        for key in w.touched():
            activity_id, member_id = key
            if self.managed(self.activity_unit(activity_id)):
                continue
            before, after = w.rows(key)
            own = member_id in self.own_members
            asked = after is not None and after["status"] == "pending"
            # A pending request goes once the member checks in with a seat after all.
            settled = after is None and (activity_id, member_id) in d.added
            if not (own and ((asked and self.scanned(member_id, activity_id)) or settled)):
                self.refuse("walk_in_requests", key, "a walk-in changed without its member's scan")
        for key in self.changes["checkin_attempts"].touched():
            if key[0] not in self.own_members:
                self.refuse("checkin_attempts", key, "another member's wrong codes changed")

    def initiatives(self) -> None:
        d = self.changes["initiatives"]
        history = self.changes["initiative_history"]
        for key in history.changed:
            if not self.erased_from_history(*history.changed[key]):
                self.refuse("initiative_history", key, "history is append-only")
        for key, row in history.removed.items():
            gone = d.removed.get((row["initiative_id"],))
            if gone is None or not self.erased_draft(gone):
                self.refuse("initiative_history", key, "history is append-only")
        new_history: dict[int, list[Row]] = {}
        for row in sorted(history.added.values(), key=lambda r: r["id"]):
            new_history.setdefault(row["initiative_id"], []).append(row)
        for key in d.touched():
            before, after = d.rows(key)
            if after is None:
                if before is None or not self.erased_draft(before):
                    self.refuse("initiatives", key, "an initiative was deleted")
                continue
            author = after["author_member_id"]
            is_author = author in self.own_members
            units = {r["unit_id"] for r in (before, after) if r is not None}
            reviewer = self.managed(*units)
            if not (is_author or reviewer):
                self.refuse("initiatives", key, "an initiative of someone else, in another unit")
                continue
            if before is None and not (is_author and after["unit_id"] in self.member_units(author)):
                self.refuse("initiatives", key, "created for someone else or another unit")
            if any(before is None or before[c] != after[c] for c in CONTENT) and not is_author:
                self.refuse("initiatives", key, "content edited by someone who is not the author")
            if after["recognition_level"] == "bloc" and (
                before is None or before["recognition_level"] != "bloc"
            ):
                self.refuse("initiatives", key, "bloc-level recognition without an admin")
            moves = new_history.pop(key[0], [])
            status_before = before["status"] if before else "draft"
            if status_before != after["status"] and not moves:
                self.refuse("initiatives", key, "status changed without a history entry")
            for move in moves:
                self.history_move(key, move, author, after)
        for initiative_id, moves in new_history.items():
            for move in moves:
                self.violations.append(
                    f"initiative_history[{move['id']}]: entry for unchanged initiative "
                    f"{initiative_id}: {move}"
                )

    def history_move(self, key: tuple[Any, ...], move: Row, author: int, initiative: Row) -> None:
        actor_tid = self.member_tid.get(move["actor_member_id"])
        if actor_tid not in self.facts.senders:
            self.refuse("initiatives", key, f"moved by someone who sent nothing: {move}")
            return
        pair = (move["from_status"], move["to_status"])
        erased = author in self.erased_members and pair[0] in OPEN_STATUSES
        by_author = move["actor_member_id"] == author and (
            pair in AUTHOR_MOVES or (erased and pair[1] == "withdrawn")
        )
        by_reviewer = (
            actor_tid in self.cadre_unit
            and self.cadre_unit[actor_tid] == initiative["unit_id"]
            and pair in REVIEWER_MOVES
        )
        if not (by_author or by_reviewer):
            self.refuse("initiatives", key, f"a move this sender may not make: {move}")

    def erased_draft(self, row: Row) -> bool:
        """An initiative /forgetme deletes: never submitted, by a member erased now."""
        return row["author_member_id"] in self.erased_members and row.get("code") is None

    def erased_from_history(self, before: Row, after: Row) -> bool:
        """A history row /forgetme changes: the erased person's comment and id, nothing else."""
        mine = before["actor_member_id"] in self.erased_members
        changed = {c for c in after if before[c] != after[c]}
        return mine and changed <= {"comment"} and all(after[c] is None for c in changed)

    def initiative_children(self) -> None:
        for key in self.changes["initiative_attachments"].touched():
            rows = [r for r in self.changes["initiative_attachments"].rows(key) if r is not None]
            initiative = self.row("initiatives", rows[0]["initiative_id"])
            if initiative is None or initiative["author_member_id"] not in self.own_members:
                self.refuse(
                    "initiative_attachments", key, "attachments of someone else's initiative"
                )
        d = self.changes["initiative_supports"]
        for key in d.touched():
            initiative_id, member_id = key
            if member_id not in self.own_members:
                self.refuse("initiative_supports", key, "a support in another member's name")
                continue
            initiative = self.row("initiatives", initiative_id)
            if key in d.added and (
                initiative is None
                or initiative["status"] not in ("accepted", "recognised")
                or initiative["author_member_id"] == member_id
            ):
                self.refuse(
                    "initiative_supports", key, "support for a non-public or own initiative"
                )

    def broadcasts(self) -> None:
        d = self.changes["broadcasts"]
        new_ids = {k[0] for k in d.added}
        mine = {
            k[0]
            for k, row in self.before["broadcasts"].items()
            if row["created_by"] in self.cadre_member_unit
        }
        recipients = self.changes["broadcast_recipients"]
        dropped: dict[int, int] = {}  # broadcast → pending rows of erased members removed
        for (broadcast_id, member_id), row in recipients.removed.items():
            if member_id in self.erased_members and row["state"] == "pending":
                dropped[broadcast_id] = dropped.get(broadcast_id, 0) + 1
        for key in d.touched():
            before, after = d.rows(key)
            if after is None:
                self.refuse("broadcasts", key, "a broadcast was deleted")
            elif before is None:
                self.new_broadcast(key, after)
            elif key[0] not in mine and not self.erased_from_broadcast(before, after, dropped):
                self.refuse("broadcasts", key, "someone else's broadcast changed")
        for key in recipients.touched():
            if key[0] in new_ids | mine:
                continue
            before, after = recipients.rows(key)
            if key[1] in self.erased_members and (
                after is None
                or (
                    before is not None
                    and after["telegram_id"] == ANONYMOUS_ACTOR
                    and after["message_id"] is None
                    and {c for c in after if before[c] != after[c]} <= {"telegram_id", "message_id"}
                )
            ):
                continue
            self.refuse("broadcast_recipients", key, "someone else's broadcast outbox changed")

    def erased_from_broadcast(self, before: Row, after: Row, dropped: dict[int, int]) -> bool:
        """What /forgetme changes in a broadcast: the total, less the erased members' pending
        rows; on one they sent, their id, their chat and their name in the text."""
        changed = {c for c in after if before[c] != after[c]}
        allowed: set[str] = set()
        if before["total"] - after["total"] == dropped.get(before["id"], 0):
            allowed.add("total")
        if before["created_by"] in self.erased_members and after["created_by"] == ANONYMOUS_ACTOR:
            allowed |= {"created_by", "text_html"}
        if before["progress_chat_id"] in self.erased_tids and after["progress_chat_id"] is None:
            allowed |= {"progress_chat_id", "progress_message_id"}
        return changed <= allowed

    def new_broadcast(self, key: tuple[Any, ...], row: Row) -> None:
        unit = self.cadre_member_unit.get(row["created_by"])
        if unit is None or row["sender_unit_id"] != unit:
            self.refuse("broadcasts", key, "created by someone who is not a cadre of its unit")
            return
        kind = row["audience_kind"]
        if kind == "units" and json.loads(row["audience_units"]) == [unit]:
            return
        if kind == "activity" and self.activity_unit(row["audience_activity"]) == unit:
            return
        self.refuse("broadcasts", key, "a cadre's broadcast reaches beyond their unit")
