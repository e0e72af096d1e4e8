"""Units (the 56 member organisations): seeding, listing and search."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable

from bot.domain.members import Unit
from bot.domain.text import fold
from storage.db import Database


def _unit(row: sqlite3.Row) -> Unit:
    return Unit(id=row["id"], code=row["code"], name=row["name"])


class UnitRepository:
    """Lookups by id (most updates need one: a card's unit, the actor's unit) are served from
    a snapshot of the active units, a few dozen rows. Units change only by import, through
    this class (the snapshot is dropped at once) or from ``nhipcau import-units`` in another
    process (seen within ``snapshot_seconds``)."""

    def __init__(self, db: Database, *, snapshot_seconds: float = 60.0) -> None:
        self._db = db
        self._snapshot_seconds = snapshot_seconds
        self._by_id: dict[int, Unit] | None = None
        self._taken_at = 0.0

    async def upsert_many(self, units: Iterable[tuple[str, str]]) -> int:
        """Insert or rename units by code; returns how many rows were written."""
        rows = [(code, name, fold(name)) for code, name in units]
        await self._db.executemany(
            "INSERT INTO units (code, name, name_folded) VALUES (?, ?, ?) "
            "ON CONFLICT(code) DO UPDATE SET name = excluded.name, "
            "name_folded = excluded.name_folded, active = 1",
            rows,
        )
        self._by_id = None
        return len(rows)

    async def get(self, unit_id: int) -> Unit | None:
        by_id = self._by_id
        if by_id is None or time.monotonic() - self._taken_at > self._snapshot_seconds:
            rows = await self._db.fetch_all("SELECT id, code, name FROM units WHERE active")
            by_id = self._by_id = {row["id"]: _unit(row) for row in rows}
            self._taken_at = time.monotonic()
        return by_id.get(unit_id)

    async def get_by_code(self, code: str) -> Unit | None:
        row = await self._db.fetch_one(
            "SELECT id, code, name FROM units WHERE code = ? AND active", (code,)
        )
        return None if row is None else _unit(row)

    async def count(self, query: str = "") -> int:
        return int(
            await self._db.fetch_value(
                "SELECT COUNT(*) FROM units WHERE active AND instr(name_folded, ?) > 0",
                (fold(query),),
            )
        )

    async def page(self, query: str = "", *, offset: int = 0, limit: int = 8) -> list[Unit]:
        """Units whose folded name contains the folded query, alphabetical."""
        rows = await self._db.fetch_all(
            "SELECT id, code, name FROM units WHERE active AND instr(name_folded, ?) > 0 "
            "ORDER BY name_folded, id LIMIT ? OFFSET ?",
            (fold(query), limit, offset),
        )
        return [_unit(r) for r in rows]

    async def all(self) -> list[Unit]:
        return await self.page("", limit=-1)
