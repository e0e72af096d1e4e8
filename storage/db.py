"""The SQLite database: one writer connection guarded by a lock, one shared read-only
connection, and for each long read (an export) a read-only snapshot on a connection of its own.

SQLite allows one writer at a time; serialising writers in-process (instead of letting them
collide on SQLITE_BUSY) keeps business rules that need ``BEGIN IMMEDIATE`` simple and fast.
WAL mode lets the reader connection run alongside the writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from storage.migrations import SchemaTooNewError, apply_migrations

__all__ = [
    "BackupRefused",
    "Database",
    "Reads",
    "SchemaTooNewError",
    "Snapshot",
    "first_row",
    "from_db_time",
    "to_db_time",
]

Params = Sequence[Any] | dict[str, Any]


def to_db_time(moment: datetime) -> str:
    """Store instants as UTC ISO-8601 text (sorts correctly, readable in the sqlite3 shell)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime given to storage")
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def from_db_time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


async def first_row(
    conn: aiosqlite.Connection, sql: str, params: Params = ()
) -> sqlite3.Row | None:
    """The first row of a query in one trip to the connection's thread (``execute`` then
    ``fetchone`` would take three, and with a dozen lookups per update those trips, not the
    queries, were most of the bot's database time). Meant for lookups by key or LIMIT 1."""
    rows = await conn.execute_fetchall(sql, params)
    for row in rows:
        return row
    return None


class BackupRefused(Exception):
    """The backup target is not a place a copy may be written (the live database, say)."""


# Files SQLite keeps beside the database: writing a copy over any of them corrupts it.
_COMPANIONS = ("", "-wal", "-shm", "-journal")


def _is_same_file(a: Path, b: Path) -> bool:
    if a.resolve() == b.resolve():  # symlinks and relative paths, even if b does not exist
        return True
    try:
        return os.path.samefile(a, b)  # hard links, bind mounts
    except OSError:
        return False


def check_backup_target(live: Path, target: Path) -> None:
    """Refuse a target that is the live database or one of its companion files."""
    for suffix in _COMPANIONS:
        if _is_same_file(Path(f"{live}{suffix}"), target):
            what = f"the live database's {suffix[1:]} file" if suffix else "the live database"
            raise BackupRefused(f"{target} is {what} ({live}{suffix})")
    if target.is_dir():
        raise BackupRefused(f"{target} is a folder; give the backup's file name")


async def _connect(path: Path, busy_timeout_ms: int, *, read_only: bool) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    await conn.execute("PRAGMA foreign_keys = ON")
    await conn.execute("PRAGMA synchronous = NORMAL")
    if read_only:
        await conn.execute("PRAGMA query_only = ON")
    return conn


async def _release(conn: aiosqlite.Connection) -> None:
    with contextlib.suppress(Exception):
        await conn.execute("ROLLBACK")  # it only read: nothing to keep
    await conn.close()


class Reads:
    """The read side of a connection: ``fetch_*`` and ``iterate``."""

    def __init__(self, reader: aiosqlite.Connection) -> None:
        self._reader = reader

    async def fetch_all(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        rows = await self._reader.execute_fetchall(sql, params)
        return list(rows)

    async def fetch_one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        return await first_row(self._reader, sql, params)

    async def fetch_value(self, sql: str, params: Params = ()) -> Any:
        row = await self.fetch_one(sql, params)
        return None if row is None else row[0]

    async def iterate(
        self, sql: str, params: Params = (), *, chunk: int = 2000
    ) -> AsyncIterator[list[sqlite3.Row]]:
        """Stream a large result in chunks without holding it all in memory. Keep it short on
        the shared reader: while a statement is open there, every read on that connection
        sees the database as it was when the statement began (a long read belongs on a
        ``Database.snapshot``)."""
        async with self._reader.execute(sql, params) as cursor:
            while rows := await cursor.fetchmany(chunk):
                yield list(rows)


class Snapshot(Reads):
    """Reads on a connection of their own, all in one read transaction: they see the database
    as it was at the first of them, whatever is written meanwhile."""


class Database(Reads):
    """Owns the connections; repositories borrow them through ``transaction`` and ``fetch_*``."""

    def __init__(
        self,
        path: Path,
        writer: aiosqlite.Connection,
        reader: aiosqlite.Connection,
        *,
        busy_timeout_ms: int = 5000,
    ):
        super().__init__(reader)
        self.path = path
        self._writer = writer
        self._busy_timeout_ms = busy_timeout_ms
        self._write_lock = asyncio.Lock()
        self._closed = False

    @classmethod
    async def open(cls, path: Path, *, busy_timeout_ms: int = 5000) -> Database:
        """Open (creating if needed), switch to WAL and apply pending migrations."""
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = await _connect(path, busy_timeout_ms, read_only=False)
        try:
            mode = await (await writer.execute("PRAGMA journal_mode = WAL")).fetchone()
            if mode is None or str(mode[0]).lower() != "wal":
                raise RuntimeError(f"could not switch {path} to WAL mode")
            await apply_migrations(writer)
            reader = await _connect(path, busy_timeout_ms, read_only=True)
        except BaseException:
            await writer.close()
            raise
        return cls(path, writer, reader, busy_timeout_ms=busy_timeout_ms)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._reader.close()
        async with self._write_lock:
            await self._writer.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; rolls back on any exception (nothing half-written)."""
        async with self._write_lock:
            # aiosqlite runs statements on its own thread in order, whether or not the awaiting
            # task is cancelled. A cancellation while BEGIN is queued must not leave it open
            # behind our back: wait for it, roll it back, then let the cancellation through.
            begin = asyncio.ensure_future(self._writer.execute("BEGIN IMMEDIATE"))
            try:
                await asyncio.shield(begin)
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await begin
                if self._writer.in_transaction:
                    await self._writer.execute("ROLLBACK")
                raise
            try:
                yield self._writer
            except BaseException:
                if self._writer.in_transaction:
                    await self._writer.execute("ROLLBACK")
                raise
            await self._writer.execute("COMMIT")

    async def execute(self, sql: str, params: Params = ()) -> int:
        """One write statement in its own transaction; returns lastrowid."""
        async with self.transaction() as conn:
            cursor = await conn.execute(sql, params)
            return cursor.lastrowid or 0

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Snapshot]:
        """A read-only connection of its own in one read transaction, for a long read (an
        export streaming its rows): its reads agree with each other (a count and the rows it
        counts), while the shared reader, which every reply uses, keeps seeing current data
        and never waits behind it."""
        conn = await _connect(self.path, self._busy_timeout_ms, read_only=True)
        try:
            await conn.execute("BEGIN")  # the snapshot is taken at the first read
            yield Snapshot(conn)
        finally:
            # Closed even when the export is cancelled again meanwhile: no thread is left.
            await asyncio.shield(_release(conn))

    async def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        async with self.transaction() as conn:
            await conn.executemany(sql, rows)

    async def integrity_check(self) -> str:
        return str(await self.fetch_value("PRAGMA integrity_check"))

    async def schema_version(self) -> int:
        return int(await self.fetch_value("SELECT COALESCE(MAX(version), 0) FROM schema_version"))

    async def backup(self, target: Path) -> None:
        """Online backup (SQLite's backup API): consistent even while the bot keeps writing.
        Written beside the target under a ``.part`` name and moved into place when complete,
        so a failed backup leaves the previous one intact; never over the live database."""
        check_backup_target(self.path, target)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".part")
        check_backup_target(self.path, partial)
        partial.unlink(missing_ok=True)
        dest = await aiosqlite.connect(partial)
        try:
            async with self._write_lock:
                await self._writer.backup(dest)
        finally:
            await dest.close()
        os.replace(partial, target)
