"""The SQL behind exports (SPEC 2.6): one streaming query per table, read in chunks through
``Database.iterate`` so that an export of 90,000 rows never holds them all in memory.

Every query takes the same ``RowFilter``; its conditions are ANDed. The column order of each
``SELECT`` is the contract with ``bot.exports`` (which turns rows into typed cells), so the
queries and the column lists there change together.
"""

from __future__ import annotations

import copy
import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Self

from bot.domain.exports import Choice, Query, QuestionColumn, RowFilter
from storage.db import Database, Reads, to_db_time

CHUNK = 2000


_REGISTRATION_FROM = (
    " FROM registrations r"
    " JOIN activities a ON a.id = r.activity_id"
    " JOIN members m ON m.id = r.member_id"
    " LEFT JOIN attendance t ON t.activity_id = r.activity_id AND t.member_id = r.member_id"
    " LEFT JOIN units mu ON mu.id = COALESCE(t.unit_id, m.unit_id)"
    " JOIN units au ON au.id = a.unit_id"
    " LEFT JOIN campaigns c ON c.id = a.campaign_id"
)

# Column order: see bot.exports.REGISTRATION_COLUMNS (the answers JSON comes last).
REGISTRATIONS_SQL = (
    "SELECT r.id, a.id, a.title, au.code, c.name, a.starts_at, m.full_name, m.deleted_at,"
    " mu.code, mu.name, m.phone, m.email, r.status,"
    " CASE WHEN r.status = 'waitlisted' THEN (SELECT COUNT(*) FROM registrations w"
    "   WHERE w.activity_id = r.activity_id AND w.status = 'waitlisted'"
    "   AND w.waitlist_seq <= r.waitlist_seq) END,"
    " r.registered_at,"
    " CASE WHEN t.present = 1 THEN t.recorded_at END, COALESCE(t.hours, 0),"
    " COALESCE(t.hours, 0) / :hours_per_day, r.answers" + _REGISTRATION_FROM
)

ATTENDANCE_SQL = (
    "SELECT a.id, a.title, au.code, c.name, a.starts_at, m.full_name, m.deleted_at, mu.code,"
    " mu.name, t.recorded_at, t.method = 'walk_in', t.method = 'qr', t.hours,"
    " t.hours / :hours_per_day" + _REGISTRATION_FROM
)

ATTENDANCE_TOTALS_SQL = (
    "SELECT m.id, m.full_name, m.deleted_at, mu.code, mu.name, COUNT(*), SUM(t.hours),"
    " SUM(t.hours) / :hours_per_day" + _REGISTRATION_FROM
)

MEMBERS_SQL = (
    "SELECT m.id, m.full_name, m.username, u.code, u.name, m.phone, m.email, m.language,"
    " m.consent_at, m.created_at, COALESCE(t.attended, 0), COALESCE(t.hours, 0),"
    " COALESCE(t.hours, 0) / :hours_per_day"
    " FROM members m LEFT JOIN units u ON u.id = m.unit_id"
    " LEFT JOIN (SELECT t.member_id, t.unit_id, COUNT(*) AS attended, SUM(t.hours) AS hours"
    "   FROM attendance t JOIN activities a ON a.id = t.activity_id"
    "   WHERE t.present = 1 {hours_where} GROUP BY t.member_id, t.unit_id) t"
    " ON t.member_id = m.id AND t.unit_id IS m.unit_id"
)

INITIATIVES_SQL = (
    "SELECT i.code, i.title, i.field, m.full_name, m.deleted_at, u.code, u.name, i.coauthors,"
    " i.status, i.recognition_level, i.problem, i.solution, i.benefit,"
    " (SELECT COUNT(*) FROM initiative_supports s WHERE s.initiative_id = i.id),"
    " i.created_at, i.submitted_at, i.decided_at"
    " FROM initiatives i JOIN members m ON m.id = i.author_member_id"
    " JOIN units u ON u.id = i.unit_id"
)

HISTORY_SQL = (
    "SELECT i.code, i.title, h.at, am.full_name, am.deleted_at, h.actor_role, h.from_status,"
    " h.to_status, h.comment"
    " FROM initiative_history h JOIN initiatives i ON i.id = h.initiative_id"
    " LEFT JOIN members am ON am.id = h.actor_member_id"
)

BROADCASTS_SQL = (
    "SELECT b.id, b.created_at, sm.full_name, su.code, b.audience_kind, b.status,"
    " b.scheduled_at, b.started_at, b.finished_at, b.total,"
    " COALESCE(SUM(br.state = 'sent'), 0), COALESCE(SUM(br.state = 'failed'), 0),"
    " COALESCE(SUM(br.state = 'blocked'), 0), COALESCE(SUM(br.state = 'pending'), 0),"
    " b.text_html"
    " FROM broadcasts b"
    " LEFT JOIN members sm ON sm.id = b.created_by"
    " LEFT JOIN units su ON su.id = b.sender_unit_id"
    " LEFT JOIN broadcast_recipients br ON br.broadcast_id = b.id"
)


_FINAL_ORDER = re.compile(r" ORDER BY [^()]*$")  # not one inside a subquery


def _range(column: str, flt: RowFilter, params: dict[str, Any]) -> list[str]:
    where: list[str] = []
    if flt.start is not None:
        params["start"] = to_db_time(flt.start)
        where.append(f"{column} >= :start")
    if flt.end is not None:
        params["end"] = to_db_time(flt.end)
        where.append(f"{column} < :end")
    return where


def _registration_where(flt: RowFilter, params: dict[str, Any]) -> list[str]:
    where: list[str] = []
    if flt.activity_id is not None:
        params["activity"] = flt.activity_id
        where.append("a.id = :activity")
    if flt.campaign_id is not None:
        params["campaign"] = flt.campaign_id
        where.append("a.campaign_id = :campaign")
    if flt.unit_id is not None:
        params["unit"] = flt.unit_id
        where.append("(COALESCE(t.unit_id, m.unit_id) = :unit OR a.unit_id = :unit)")
    return where + _range("a.starts_at", flt, params)


def _sql(base: str, where: list[str], tail: str) -> str:
    return base + (" WHERE " + " AND ".join(where) if where else "") + tail


class ExportRepository:
    def __init__(self, db: Database) -> None:
        self._database = db
        self._db: Reads = db

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Self]:
        """This repository reading through a snapshot of its own (``Database.snapshot``): an
        export counts and streams its rows there, and every other read stays current."""
        async with self._database.snapshot() as reads:
            view = copy.copy(self)
            view._db = reads
            yield view

    # --- the statements -------------------------------------------------------------------

    def registrations(self, flt: RowFilter, hours_per_day: float) -> Query:
        params: dict[str, Any] = {"hours_per_day": hours_per_day}
        where = ["r.status != 'cancelled'", *_registration_where(flt, params)]
        return Query(_sql(REGISTRATIONS_SQL, where, " ORDER BY a.starts_at, a.id, r.id"), params)

    def attendance(self, flt: RowFilter, hours_per_day: float) -> Query:
        params: dict[str, Any] = {"hours_per_day": hours_per_day}
        where = ["t.present = 1", *_registration_where(flt, params)]
        return Query(_sql(ATTENDANCE_SQL, where, " ORDER BY a.starts_at, a.id, r.id"), params)

    def attendance_totals(self, flt: RowFilter, hours_per_day: float) -> Query:
        params: dict[str, Any] = {"hours_per_day": hours_per_day}
        where = ["t.present = 1", *_registration_where(flt, params)]
        # One row per member and unit: hours earned before a move stay with the old unit.
        return Query(
            _sql(
                ATTENDANCE_TOTALS_SQL,
                where,
                " GROUP BY m.id, mu.id ORDER BY mu.code, m.full_name, m.id",
            ),
            params,
        )

    def members(self, flt: RowFilter, hours_per_day: float) -> Query:
        """Every current member of the scope, with attendance and hours in the period or
        campaign (all time when neither is given) credited while in their current unit."""
        params: dict[str, Any] = {"hours_per_day": hours_per_day}
        hours_where: list[str] = []
        if flt.campaign_id is not None:
            params["campaign"] = flt.campaign_id
            hours_where.append("a.campaign_id = :campaign")
        hours_where += _range("a.starts_at", flt, params)
        base = MEMBERS_SQL.format(hours_where="".join(f" AND {w}" for w in hours_where))
        where = ["m.deleted_at IS NULL"]
        if flt.unit_id is not None:
            params["unit"] = flt.unit_id
            where.append("m.unit_id = :unit")
        return Query(_sql(base, where, " ORDER BY u.code, m.full_name, m.id"), params)

    def _initiative_where(self, flt: RowFilter, params: dict[str, Any]) -> list[str]:
        # Drafts never submitted (no code yet) belong to their author alone.
        where = ["i.code IS NOT NULL"]
        if flt.unit_id is not None:
            params["unit"] = flt.unit_id
            where.append("i.unit_id = :unit")
        return where + _range("COALESCE(i.submitted_at, i.created_at)", flt, params)

    def initiatives(self, flt: RowFilter) -> Query:
        params: dict[str, Any] = {}
        where = self._initiative_where(flt, params)
        return Query(_sql(INITIATIVES_SQL, where, " ORDER BY i.code_year, i.code_seq"), params)

    def initiative_history(self, flt: RowFilter) -> Query:
        params: dict[str, Any] = {}
        where = self._initiative_where(flt, params)
        return Query(_sql(HISTORY_SQL, where, " ORDER BY i.code_year, i.code_seq, h.id"), params)

    def broadcasts(self, flt: RowFilter) -> Query:
        params: dict[str, Any] = {}
        where: list[str] = []
        if flt.unit_id is not None:
            params["unit"] = flt.unit_id
            where.append("b.sender_unit_id = :unit")
        where += _range("b.created_at", flt, params)
        return Query(_sql(BROADCASTS_SQL, where, " GROUP BY b.id ORDER BY b.id"), params)

    # --- running them ---------------------------------------------------------------------

    async def stream(self, query: Query, chunk: int = CHUNK) -> AsyncIterator[list[sqlite3.Row]]:
        async for rows in self._db.iterate(query.sql, query.params, chunk=chunk):
            yield rows

    async def count(self, query: Query) -> int:
        """How many rows ``query`` gives (for progress bars and each sheet's dimension),
        without fetching them. Its final ORDER BY is left out: the count is the same, and
        SQLite then counts without building and sorting the rows (4x faster)."""
        unordered = _FINAL_ORDER.sub("", query.sql)
        return int(await self._db.fetch_value(f"SELECT COUNT(*) FROM ({unordered})", query.params))

    async def questions(self, flt: RowFilter) -> list[QuestionColumn]:
        """Registration questions of the activities in scope (bounded by activities, not
        rows), in the order activities and questions come."""
        params: dict[str, Any] = {}
        where = []
        if flt.activity_id is not None:
            params["activity"] = flt.activity_id
            where.append("a.id = :activity")
        if flt.campaign_id is not None:
            params["campaign"] = flt.campaign_id
            where.append("a.campaign_id = :campaign")
        if flt.unit_id is not None:
            # Activities of the unit, or any activity one of its members registered for.
            params["unit"] = flt.unit_id
            where.append(
                "(a.unit_id = :unit OR a.id IN (SELECT r.activity_id FROM registrations r "
                "JOIN members m ON m.id = r.member_id LEFT JOIN attendance t "
                "ON t.activity_id = r.activity_id AND t.member_id = r.member_id "
                "WHERE COALESCE(t.unit_id, m.unit_id) = :unit))"
            )
        where += _range("a.starts_at", flt, params)
        rows = await self._db.fetch_all(
            _sql(
                "SELECT q.activity_id, q.position, q.prompt FROM activity_questions q "
                "JOIN activities a ON a.id = q.activity_id",
                where,
                " ORDER BY a.starts_at, a.id, q.position",
            ),
            params,
        )
        return [QuestionColumn(r[0], r[1], r[2]) for r in rows]

    # --- lookups for the scope picker and for naming --------------------------------------

    async def unit_names(self) -> dict[str, str]:
        """Every unit's name by its code, retired units included (old rows still name them)."""
        rows = await self._db.fetch_all("SELECT code, name FROM units")
        return {str(r[0]): str(r[1]) for r in rows}

    async def activity_unit(self, activity_id: int) -> int | None:
        value = await self._db.fetch_value(
            "SELECT unit_id FROM activities WHERE id = ?", (activity_id,)
        )
        return None if value is None else int(value)

    async def activity_title(self, activity_id: int) -> str | None:
        value = await self._db.fetch_value(
            "SELECT title FROM activities WHERE id = ?", (activity_id,)
        )
        return None if value is None else str(value)

    async def campaign(self, campaign_id: int) -> tuple[str, int | None] | None:
        row = await self._db.fetch_one(
            "SELECT name, unit_id FROM campaigns WHERE id = ?", (campaign_id,)
        )
        return None if row is None else (str(row[0]), row[1])

    async def recent_activities(self, unit_id: int | None, limit: int) -> list[Choice]:
        where = "WHERE unit_id = ?" if unit_id is not None else ""
        rows = await self._db.fetch_all(
            f"SELECT id, title, unit_id, starts_at FROM activities {where} "
            "ORDER BY starts_at DESC, id DESC LIMIT ?",
            (unit_id, limit) if unit_id is not None else (limit,),
        )
        return [Choice(r[0], r[1], r[2], r[3]) for r in rows]

    async def recent_campaigns(self, unit_id: int | None, limit: int) -> list[Choice]:
        """Campaigns a cadre may look at: the whole union's and their own unit's."""
        where = "WHERE unit_id IS NULL OR unit_id = ?" if unit_id is not None else ""
        rows = await self._db.fetch_all(
            f"SELECT id, name, unit_id, starts_on FROM campaigns {where} "
            "ORDER BY starts_on DESC, id DESC LIMIT ?",
            (unit_id, limit) if unit_id is not None else (limit,),
        )
        return [Choice(r[0], r[1], r[2], r[3]) for r in rows]
