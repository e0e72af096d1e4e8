"""The SQL behind ``/stats`` (SPEC 2.6): per-unit participation, hours and initiatives for a
period. Participation counts by the member's unit, wherever the activity was organised: the unit
they belonged to when their attendance was recorded (their current unit while nothing is
recorded), so that moving to another unit does not carry past hours along."""

from __future__ import annotations

from datetime import datetime

from bot.domain.stats import UnitFigures
from storage.db import Database, to_db_time

_PER_UNIT = """
SELECT u.id, u.code, u.name,
  (SELECT COUNT(*) FROM members m WHERE m.unit_id = u.id AND m.deleted_at IS NULL),
  COALESCE(p.active, 0), COALESCE(p.registrations, 0), COALESCE(p.ended, 0),
  COALESCE(p.attended, 0), COALESCE(p.hours, 0),
  COALESCE(i.submitted, 0), COALESCE(i.accepted, 0)
FROM units u
LEFT JOIN (
  SELECT COALESCE(t.unit_id, m.unit_id) AS unit_id,
    COUNT(DISTINCT r.member_id) AS active,
    SUM(r.status = 'confirmed') AS registrations,
    SUM(r.status = 'confirmed' AND a.ends_at <= :now) AS ended,
    SUM(COALESCE(t.present, 0)) AS attended,
    SUM(COALESCE(t.hours, 0)) AS hours
  FROM registrations r
  JOIN activities a ON a.id = r.activity_id
  JOIN members m ON m.id = r.member_id
  LEFT JOIN attendance t ON t.activity_id = r.activity_id AND t.member_id = r.member_id
  WHERE r.status != 'cancelled' AND a.status != 'cancelled' AND {activity_where}
  GROUP BY COALESCE(t.unit_id, m.unit_id)
) p ON p.unit_id = u.id
LEFT JOIN (
  SELECT i.unit_id AS unit_id,
    SUM(EXISTS (SELECT 1 FROM initiative_history h WHERE h.initiative_id = i.id
                AND h.from_status = 'draft' AND h.to_status = 'submitted'
                AND h.at >= :start AND h.at < :end)) AS submitted,
    SUM(i.status IN ('accepted', 'recognised') AND i.decided_at >= :start
        AND i.decided_at < :end) AS accepted
  FROM initiatives i WHERE i.code IS NOT NULL
  GROUP BY i.unit_id
) i ON i.unit_id = u.id
WHERE u.active
ORDER BY u.code
"""


class StatsRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def per_unit(
        self, start: datetime, end: datetime, now: datetime, campaign_id: int | None = None
    ) -> list[UnitFigures]:
        """Figures for every active unit. Activities count by their start in [start, end),
        or by campaign when one is given; initiatives always by the dates."""
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
                members=int(r[3]),
                active_members=int(r[4]),
                registrations=int(r[5]),
                ended_registrations=int(r[6]),
                attended=int(r[7]),
                hours=float(r[8]),
                initiatives_submitted=int(r[9]),
                initiatives_accepted=int(r[10]),
            )
            for r in rows
        ]

    async def campaign_dates(self, campaign_id: int) -> tuple[str, str, str] | None:
        """(name, starts_on, ends_on) with local YYYY-MM-DD dates."""
        row = await self._db.fetch_one(
            "SELECT name, starts_on, ends_on FROM campaigns WHERE id = ?", (campaign_id,)
        )
        return None if row is None else (str(row[0]), str(row[1]), str(row[2]))
