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
    # Numbers are handed out to work done side by side, so a checkout may lack some of them
    # for a while (0009 before 0007 is merged): gaps are allowed, twice the same number is not.
    if len(set(versions)) != len(versions) or (versions and versions[0] < 1):
        raise RuntimeError(f"migrations must have distinct numbers from 1, found {versions}")
    return found


async def apply_migrations(conn: aiosqlite.Connection) -> list[int]:
    """Apply what is missing; returns the versions applied (empty when up to date)."""
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    rows = await conn.execute_fetchall("SELECT version FROM schema_version")
    done = {int(r[0]) for r in rows}
    migrations = available_migrations()
    latest = migrations[-1].version if migrations else 0
    unknown = sorted(done - {m.version for m in migrations})
    if unknown:
        raise SchemaTooNewError(
            f"database schema version {unknown[-1]} is newer than this program supports "
            f"({latest}); upgrade Nhịp Cầu or restore a matching backup"
        )
    applied: list[int] = []
    for migration in migrations:
        if migration.version in done:  # each one once, whatever order they arrived in
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
    pending: int = 0  # migrations this program has that the database has not applied yet


def inspect_database(path: Path) -> SchemaReport:
    """Look at a database file without changing it (for ``nhipcau doctor``)."""
    known = {m.version for m in available_migrations()}
    latest = max(known)
    if not path.exists():
        return SchemaReport(False, 0, latest, "", "", len(known))
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        has_table = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        ).fetchone()
        done = (
            {int(r[0]) for r in conn.execute("SELECT version FROM schema_version")}
            if has_table
            else set()
        )
        mode = str(conn.execute("PRAGMA journal_mode").fetchone()[0])
        integrity = str(conn.execute("PRAGMA quick_check").fetchone()[0])
    return SchemaReport(True, max(done, default=0), latest, mode, integrity, len(known - done))
