"""Numbered SQL migrations (``migrations/NNNN_name.sql``), each applied once in a transaction."""

from __future__ import annotations

import contextlib
import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import aiosqlite

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class SchemaTooNewError(RuntimeError):
    """The database was written by a newer Nhịp Cầu; refusing to guess how to read it."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    def statements(self) -> list[str]:
        """Split where SQLite sees statement ends (a semicolon inside a string is safe)."""
        statements: list[str] = []
        pending = ""
        for line in self.sql.splitlines(keepends=True):
            pending += line
            if sqlite3.complete_statement(pending):
                if pending.strip():
                    statements.append(pending.strip())
                pending = ""
        if pending.strip() and not all(
            ln.strip().startswith("--") or not ln.strip() for ln in pending.splitlines()
        ):
            raise ValueError(f"migration {self.name} ends with an incomplete statement")
        return statements


def available_migrations() -> list[Migration]:
    folder = resources.files("storage") / "migrations"
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..n without gaps, found {versions}")
    return found


async def apply_migrations(conn: aiosqlite.Connection) -> list[int]:
    """Apply what is missing; returns the versions applied (empty when up to date)."""
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    row = await (
        await conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version")
    ).fetchone()
    current = int(row[0]) if row else 0
    migrations = available_migrations()
    latest = migrations[-1].version if migrations else 0
    if current > latest:
        raise SchemaTooNewError(
            f"database schema version {current} is newer than this program supports ({latest}); "
            "upgrade Nhịp Cầu or restore a matching backup"
        )
    applied: list[int] = []
    for migration in migrations:
        if migration.version <= current:
            continue
        await conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in migration.statements():
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)",
                (
                    migration.version,
                    migration.name,
                    datetime.now(UTC).isoformat(timespec="seconds"),
                ),
            )
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
        await conn.execute("COMMIT")
        applied.append(migration.version)
    return applied


@dataclass(frozen=True, slots=True)
class SchemaReport:
    exists: bool
    current: int
    latest: int
    journal_mode: str
    integrity: str


def inspect_database(path: Path) -> SchemaReport:
    """Look at a database file without changing it (for ``nhipcau doctor``)."""
    latest = available_migrations()[-1].version
    if not path.exists():
        return SchemaReport(False, 0, latest, "", "")
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        has_table = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        ).fetchone()
        current = (
            int(conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0])
            if has_table
            else 0
        )
        mode = str(conn.execute("PRAGMA journal_mode").fetchone()[0])
        integrity = str(conn.execute("PRAGMA quick_check").fetchone()[0])
    return SchemaReport(True, current, latest, mode, integrity)
