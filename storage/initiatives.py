"""Initiatives, their attachments, history and supports.

A state change is one ``UPDATE … WHERE id = ? AND status = ? AND version = ?`` plus its history
row in the same transaction: of two reviewers pressing at once, one changes the row and the other
changes nothing and is told so.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Literal

import aiosqlite

from bot.domain.initiatives import (
    Attachment,
    HistoryEntry,
    Initiative,
    InitiativeCard,
    InitiativeField,
    InitiativeStatus,
    NewAttachment,
    RecognitionLevel,
)
from bot.domain.members import Channel
from storage.db import Database, from_db_time, to_db_time

_COLUMNS = (
    "i.id, i.code, i.author_member_id, i.unit_id, i.title, i.field, i.problem, i.solution, "
    "i.benefit, i.coauthors, i.status, i.recognition_level, i.version, i.created_at, "
    "i.updated_at, i.submitted_at, i.decided_at, "
    "(SELECT COUNT(*) FROM initiative_attachments a WHERE a.initiative_id = i.id) AS attachments"
)
_CARD_COLUMNS = (
    f"{_COLUMNS}, COALESCE(m.full_name, '') AS author_name, COALESCE(u.name, '') AS unit_name, "
    "(SELECT COUNT(*) FROM initiative_supports s WHERE s.initiative_id = i.id) AS supports, "
    "EXISTS (SELECT 1 FROM initiative_supports s WHERE s.initiative_id = i.id "
    "AND s.member_id = :viewer) AS supported"
)
_CARD_FROM = (
    "FROM initiatives i LEFT JOIN members m ON m.id = i.author_member_id "
    "LEFT JOIN units u ON u.id = i.unit_id"
)
# Only these columns are ever written from a person's input.
_CONTENT_COLUMNS = frozenset({"title", "field", "problem", "solution", "benefit", "coauthors"})


def _time(text: str) -> datetime:
    value = from_db_time(text)
    assert value is not None
    return value


def _initiative(row: sqlite3.Row) -> Initiative:
    return Initiative(
        id=row["id"],
        code=row["code"],
        author_member_id=row["author_member_id"],
        unit_id=row["unit_id"],
        title=row["title"],
        field=InitiativeField(row["field"]) if row["field"] else None,
        problem=row["problem"],
        solution=row["solution"],
        benefit=row["benefit"],
        coauthors=row["coauthors"],
        status=InitiativeStatus(row["status"]),
        recognition_level=(
            RecognitionLevel(row["recognition_level"]) if row["recognition_level"] else None
        ),
        version=row["version"],
        attachment_count=row["attachments"],
        created_at=_time(row["created_at"]),
        updated_at=_time(row["updated_at"]),
        submitted_at=from_db_time(row["submitted_at"]),
        decided_at=from_db_time(row["decided_at"]),
    )


def _card(row: sqlite3.Row) -> InitiativeCard:
    return InitiativeCard(
        initiative=_initiative(row),
        author_name=row["author_name"],
        unit_name=row["unit_name"],
        supports=row["supports"],
        supported_by_viewer=bool(row["supported"]),
    )


def _in(values: Collection[str]) -> str:
    return ", ".join("?" for _ in values)


class InitiativeRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    # --- reading --------------------------------------------------------------------------

    async def get(self, initiative_id: int) -> Initiative | None:
        row = await self._db.fetch_one(
            f"SELECT {_COLUMNS} FROM initiatives i WHERE i.id = ?", (initiative_id,)
        )
        return None if row is None else _initiative(row)

    async def card(self, initiative_id: int, viewer_member_id: int | None) -> InitiativeCard | None:
        row = await self._db.fetch_one(
            f"SELECT {_CARD_COLUMNS} {_CARD_FROM} WHERE i.id = :id",
            {"id": initiative_id, "viewer": viewer_member_id},
        )
        return None if row is None else _card(row)

    async def attachments(self, initiative_id: int) -> list[Attachment]:
        rows = await self._db.fetch_all(
            "SELECT id, initiative_id, kind, file_id, file_unique_id, name, size, mime, channel "
            "FROM initiative_attachments WHERE initiative_id = ? ORDER BY id",
            (initiative_id,),
        )
        return [
            Attachment(
                id=r["id"],
                initiative_id=r["initiative_id"],
                kind=r["kind"],
                file_id=r["file_id"],
                file_unique_id=r["file_unique_id"],
                name=r["name"],
                size=r["size"],
                mime=r["mime"],
                channel=Channel(r["channel"]),
            )
            for r in rows
        ]

    async def history(self, initiative_id: int) -> list[HistoryEntry]:
        rows = await self._db.fetch_all(
            "SELECT h.at, COALESCE(m.full_name, '') AS actor_name, h.actor_role, h.from_status, "
            "h.to_status, h.comment FROM initiative_history h "
            "LEFT JOIN members m ON m.id = h.actor_member_id "
            "WHERE h.initiative_id = ? ORDER BY h.id",
            (initiative_id,),
        )
        return [
            HistoryEntry(
                at=_time(r["at"]),
                actor_name=r["actor_name"],
                actor_role=r["actor_role"],
                from_status=InitiativeStatus(r["from_status"]),
                to_status=InitiativeStatus(r["to_status"]),
                comment=r["comment"],
            )
            for r in rows
        ]

    async def count_by_author(self, member_id: int) -> int:
        return int(
            await self._db.fetch_value(
                "SELECT COUNT(*) FROM initiatives WHERE author_member_id = ?", (member_id,)
            )
        )

    async def by_author(self, member_id: int, *, offset: int, limit: int) -> list[Initiative]:
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM initiatives i WHERE i.author_member_id = ? "
            "ORDER BY i.updated_at DESC, i.id DESC LIMIT ? OFFSET ?",
            (member_id, limit, offset),
        )
        return [_initiative(r) for r in rows]

    async def count_drafts(self, member_id: int) -> int:
        return int(
            await self._db.fetch_value(
                "SELECT COUNT(*) FROM initiatives WHERE author_member_id = ? AND status = 'draft'",
                (member_id,),
            )
        )

    async def editable_of(self, member_id: int, limit: int) -> list[Initiative]:
        rows = await self._db.fetch_all(
            f"SELECT {_COLUMNS} FROM initiatives i WHERE i.author_member_id = ? "
            "AND i.status IN ('draft', 'needs_revision') "
            "ORDER BY i.updated_at DESC, i.id DESC LIMIT ?",
            (member_id, limit),
        )
        return [_initiative(r) for r in rows]

    def _queue_where(
        self, unit_id: int | None, statuses: Sequence[InitiativeStatus], exclude: int | None
    ) -> tuple[str, list[object]]:
        where = f"i.status IN ({_in(statuses)})"
        params: list[object] = [s.value for s in statuses]
        if unit_id is not None:
            where += " AND i.unit_id = ?"
            params.append(unit_id)
        if exclude is not None:
            where += " AND i.author_member_id != ?"
            params.append(exclude)
        return where, params

    async def count_queue(
        self, unit_id: int | None, statuses: Sequence[InitiativeStatus], exclude: int | None
    ) -> int:
        where, params = self._queue_where(unit_id, statuses, exclude)
        return int(
            await self._db.fetch_value(f"SELECT COUNT(*) FROM initiatives i WHERE {where}", params)
        )

    async def queue(
        self,
        unit_id: int | None,
        statuses: Sequence[InitiativeStatus],
        exclude: int | None,
        *,
        offset: int,
        limit: int,
    ) -> list[InitiativeCard]:
        where, params = self._queue_where(unit_id, statuses, exclude)
        rows = await self._db.fetch_all(
            f"SELECT {_CARD_COLUMNS.replace(':viewer', '?')} {_CARD_FROM} WHERE {where} "
            "ORDER BY COALESCE(i.submitted_at, i.created_at), i.id LIMIT ? OFFSET ?",
            [None, *params, limit, offset],
        )
        return [_card(r) for r in rows]

    async def count_public(self, field: InitiativeField | None) -> int:
        return int(
            await self._db.fetch_value(
                "SELECT COUNT(*) FROM initiatives WHERE status IN ('accepted', 'recognised') "
                "AND (:field IS NULL OR field = :field)",
                {"field": field.value if field else None},
            )
        )

    async def public(
        self, field: InitiativeField | None, viewer_member_id: int, *, offset: int, limit: int
    ) -> list[InitiativeCard]:
        rows = await self._db.fetch_all(
            f"SELECT {_CARD_COLUMNS} {_CARD_FROM} "
            "WHERE i.status IN ('accepted', 'recognised') AND (:field IS NULL OR i.field = :field) "
            "ORDER BY i.decided_at DESC, i.id DESC LIMIT :limit OFFSET :offset",
            {
                "field": field.value if field else None,
                "viewer": viewer_member_id,
                "limit": limit,
                "offset": offset,
            },
        )
        return [_card(r) for r in rows]

    # --- writing --------------------------------------------------------------------------

    async def create_draft(
        self, author_member_id: int, unit_id: int, title: str, now: datetime
    ) -> Initiative:
        stamp = to_db_time(now)
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO initiatives (author_member_id, unit_id, title, status, created_at, "
                "updated_at) VALUES (?, ?, ?, 'draft', ?, ?)",
                (author_member_id, unit_id, title, stamp, stamp),
            )
            initiative_id = int(cursor.lastrowid or 0)
        created = await self.get(initiative_id)
        assert created is not None
        return created

    async def update_content(
        self, initiative_id: int, version: int, now: datetime, **fields: str
    ) -> Initiative | None:
        """Write content of an editable initiative seen at ``version``; None if it moved on."""
        unknown = set(fields) - _CONTENT_COLUMNS
        if unknown or not fields:
            raise ValueError(f"not content columns: {sorted(unknown)}")
        assignments = ", ".join(f"{name} = ?" for name in fields)
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                f"UPDATE initiatives SET {assignments}, version = version + 1, updated_at = ? "
                "WHERE id = ? AND version = ? AND status IN ('draft', 'needs_revision')",
                (*fields.values(), to_db_time(now), initiative_id, version),
            )
            changed = cursor.rowcount > 0
        return await self.get(initiative_id) if changed else None

    async def add_attachment(
        self, initiative_id: int, new: NewAttachment, now: datetime, *, max_count: int
    ) -> Literal["added", "full", "duplicate", "not_editable"]:
        stamp = to_db_time(now)
        async with self._db.transaction() as conn:
            row = await (
                await conn.execute(
                    "SELECT status, (SELECT COUNT(*) FROM initiative_attachments "
                    "WHERE initiative_id = ?) FROM initiatives WHERE id = ?",
                    (initiative_id, initiative_id),
                )
            ).fetchone()
            if row is None or row[0] not in ("draft", "needs_revision"):
                return "not_editable"
            if int(row[1]) >= max_count:
                return "full"
            cursor = await conn.execute(
                "INSERT INTO initiative_attachments (initiative_id, kind, channel, file_id, "
                "file_unique_id, name, size, mime, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(initiative_id, file_unique_id) DO NOTHING",
                (
                    initiative_id,
                    new.kind,
                    new.channel.value,
                    new.file_id,
                    new.file_unique_id,
                    new.name,
                    new.size,
                    new.mime,
                    stamp,
                ),
            )
            if cursor.rowcount == 0:
                return "duplicate"
            await _touch(conn, initiative_id, stamp)
        return "added"

    async def clear_attachments(self, initiative_id: int, now: datetime) -> None:
        async with self._db.transaction() as conn:
            await conn.execute(
                "DELETE FROM initiative_attachments WHERE initiative_id = ? AND EXISTS ("
                "SELECT 1 FROM initiatives WHERE id = ? AND status IN ('draft', 'needs_revision'))",
                (initiative_id, initiative_id),
            )
            await _touch(conn, initiative_id, to_db_time(now))

    async def change_status(
        self,
        initiative_id: int,
        *,
        from_status: InitiativeStatus,
        version: int,
        to_status: InitiativeStatus,
        now: datetime,
        code_year: int,
        actor_member_id: int | None,
        actor_role: str,
        comment: str | None,
        recognition_level: RecognitionLevel | None,
        unit_id: int | None,
    ) -> Initiative | None:
        """Move from ``from_status`` (as seen at ``version``) to ``to_status`` and record it in
        the history, atomically; None when the initiative is no longer as seen."""
        stamp = to_db_time(now)
        sets = ["status = ?", "version = version + 1", "updated_at = ?"]
        params: list[object] = [to_status.value, stamp]
        if to_status is InitiativeStatus.SUBMITTED:
            sets.append("submitted_at = ?")
            params.append(stamp)
            if unit_id is not None:
                sets.append("unit_id = ?")
                params.append(unit_id)
        if to_status in (InitiativeStatus.ACCEPTED, InitiativeStatus.REJECTED):
            sets.append("decided_at = ?")
            params.append(stamp)
        if to_status is InitiativeStatus.RECOGNISED:
            sets.append("recognition_level = ?")
            params.append(recognition_level.value if recognition_level else None)
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                f"UPDATE initiatives SET {', '.join(sets)} "
                "WHERE id = ? AND status = ? AND version = ?",
                (*params, initiative_id, from_status.value, version),
            )
            if cursor.rowcount == 0:
                return None
            if to_status is InitiativeStatus.SUBMITTED:
                await _assign_code(conn, initiative_id, code_year)
            await conn.execute(
                "INSERT INTO initiative_history (initiative_id, "
                "actor_member_id, actor_role, from_status, to_status, comment, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    initiative_id,
                    actor_member_id,
                    actor_role,
                    from_status.value,
                    to_status.value,
                    comment,
                    stamp,
                ),
            )
        return await self.get(initiative_id)

    async def set_support(
        self,
        initiative_id: int,
        member_id: int,
        supported: bool,
        now: datetime,
        public_statuses: Collection[InitiativeStatus],
    ) -> bool:
        """Give (``supported``) or take back the member's support; doing it again changes
        nothing, so a double tap or an old copy of the card never undoes it. False if the
        initiative is not public."""
        statuses = [s.value for s in public_statuses]
        async with self._db.transaction() as conn:
            row = await (
                await conn.execute(
                    f"SELECT 1 FROM initiatives WHERE id = ? AND status IN ({_in(statuses)})",
                    (initiative_id, *statuses),
                )
            ).fetchone()
            if row is None:
                return False
            if supported:
                await conn.execute(
                    "INSERT INTO initiative_supports (initiative_id, member_id, created_at) "
                    "VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    (initiative_id, member_id, to_db_time(now)),
                )
            else:
                await conn.execute(
                    "DELETE FROM initiative_supports WHERE initiative_id = ? AND member_id = ?",
                    (initiative_id, member_id),
                )
        return True


async def _touch(conn: aiosqlite.Connection, initiative_id: int, stamp: str) -> None:
    await conn.execute(
        "UPDATE initiatives SET version = version + 1, updated_at = ? WHERE id = ?",
        (stamp, initiative_id),
    )


async def _assign_code(conn: aiosqlite.Connection, initiative_id: int, year: int) -> None:
    """``TTST-<year>-<seq>`` on the first submission; a resubmission keeps its code."""
    await conn.execute(
        "UPDATE initiatives SET code_year = :year, "
        "code_seq = (SELECT COALESCE(MAX(code_seq), 0) + 1 FROM initiatives "
        "WHERE code_year = :year), "
        "code = printf('TTST-%d-%04d', :year, (SELECT COALESCE(MAX(code_seq), 0) + 1 "
        "FROM initiatives WHERE code_year = :year)) "
        "WHERE id = :id AND code IS NULL",
        {"year": year, "id": initiative_id},
    )
