"""The SQL behind ``/stats`` (SPEC 2.6): what each unit's members did in a period, as raw counts
(``bot.stats`` derives, rounds and ranks). An attendance counts for the unit the member belonged
to when it was recorded (``attendance.unit_id``), so that moving to another unit carries no past
hours along; a seat with nothing recorded yet counts for the member's current unit.

One grouped pass over the confirmed seats of the period's activities (each activity's
registrations and attendance found by their keys, each seat's member by id) and one over the
members' unit index: nothing is computed per unit, so the cost does not grow with the number of
units. It still reads every seat of the period, which is what the aggregates of a later issue
are for (1M members and 2M seats in a year: about 8 s on the test machine, as before)."""

from __future__ import annotations

from datetime import datetime

from bot.domain.stats import UnitFigures
from storage.db import Database, to_db_time

_PER_UNIT = """
WITH period_activities AS (
  SELECT a.id, a.ends_at <= :now AS ended
  FROM activities a
  WHERE a.status != 'cancelled' AND {activity_where}
),
seats AS (
  SELECT COALESCE(t.unit_id, m.unit_id) AS unit_id, r.member_id,
    COALESCE(t.present, 0) AS present, COALESCE(t.hours, 0) AS hours, p.ended,
    (m.deleted_at IS NOT NULL OR m.unit_id IS NOT COALESCE(t.unit_id, m.unit_id)) AS outside
  FROM period_activities p
  JOIN registrations r ON r.activity_id = p.id
  JOIN members m ON m.id = r.member_id
  LEFT JOIN attendance t ON t.activity_id = r.activity_id AND t.member_id = r.member_id
  WHERE r.status = 'confirmed'
),
by_unit AS (
  SELECT unit_id,
    COUNT(DISTINCT CASE WHEN present AND outside THEN member_id END) AS former,
    COUNT(DISTINCT CASE WHEN present THEN member_id END) AS participants,
    SUM(present) AS attended,
    COUNT(*) AS registrations,
    SUM(ended OR present) AS settled,
    SUM(hours) AS hours
  FROM seats
  GROUP BY unit_id
),
current_members AS (
  SELECT unit_id, COUNT(*) AS members FROM members WHERE deleted_at IS NULL GROUP BY unit_id
),
initiative_steps AS (
  SELECT i.unit_id,
    COUNT(DISTINCT CASE WHEN h.from_status = 'draft' AND h.to_status = 'submitted'
                        THEN i.id END) AS submitted,
    COUNT(DISTINCT CASE WHEN h.to_status = 'accepted' THEN i.id END) AS accepted,
    COUNT(DISTINCT CASE WHEN h.to_status = 'recognised' THEN i.id END) AS recognised
  FROM initiative_history h
  JOIN initiatives i ON i.id = h.initiative_id
  WHERE h.at >= :start AND h.at < :end
  GROUP BY i.unit_id
)
SELECT u.id, u.code, u.name, COALESCE(c.members, 0), COALESCE(b.former, 0),
  COALESCE(b.participants, 0), COALESCE(b.attended, 0), COALESCE(b.registrations, 0),
  COALESCE(b.settled, 0), COALESCE(b.hours, 0), COALESCE(s.submitted, 0),
  COALESCE(s.accepted, 0), COALESCE(s.recognised, 0)
FROM units u
LEFT JOIN current_members c ON c.unit_id = u.id
LEFT JOIN by_unit b ON b.unit_id = u.id
LEFT JOIN initiative_steps s ON s.unit_id = u.id
WHERE u.active
ORDER BY u.code
"""


class StatsRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def per_unit(
        self, start: datetime, end: datetime, now: datetime, campaign_id: int | None = None
    ) -> list[UnitFigures]:
        """Raw counts for every active unit, by code. Activities count by their start in
        [start, end), or by campaign when one is given; cancelled activities and cancelled or
        waitlisted seats do not count. Initiatives count by the date of each step in
        [start, end) and for the unit they were submitted from."""
        params: dict[str, object] = {
            "start": to_db_time(start),
            "end": to_db_time(end),
            "now": to_db_time(now),
        }
        if campaign_id is not None:
            params["campaign"] = campaign_id
            activity_where = "a.campaign_id = :campaign"
        else:
            activity_where = "a.starts_at >= :start AND a.starts_at < :end"
        rows = await self._db.fetch_all(_PER_UNIT.format(activity_where=activity_where), params)
        return [
            UnitFigures(
                unit_id=r[0],
                code=r[1],
                name=r[2],
                current_members=int(r[3]),
                former_members=int(r[4]),
                participants=int(r[5]),
                attended=int(r[6]),
                registrations=int(r[7]),
                settled_seats=int(r[8]),
                hours=float(r[9]),
                initiatives_submitted=int(r[10]),
                initiatives_accepted=int(r[11]),
                initiatives_recognised=int(r[12]),
            )
            for r in rows
        ]

    async def campaign_dates(self, campaign_id: int) -> tuple[str, str, str] | None:
        """(name, starts_on, ends_on) with local YYYY-MM-DD dates."""
        row = await self._db.fetch_one(
            "SELECT name, starts_on, ends_on FROM campaigns WHERE id = ?", (campaign_id,)
        )
        return None if row is None else (str(row[0]), str(row[1]), str(row[2]))
