"""Files handed over as links (channels that cannot carry documents): which stored file a link
opens, for whom, until when and how many more times. Only a hash of each link's token is kept,
so a copy of the database does not open anyone's files."""

from __future__ import annotations

import hashlib
from datetime import datetime

from bot.domain.files import StoredLink
from storage.db import Database, from_db_time, to_db_time


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class FileLinkRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(
        self,
        token: str,
        link: StoredLink,
        now: datetime,
    ) -> None:
        await self._db.execute(
            "INSERT INTO file_links (token_hash, name, filename, mime, member_id, created_at, "
            "expires_at, uses_left) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                token_hash(token),
                link.name,
                link.filename,
                link.mime,
                link.member_id,
                to_db_time(now),
                to_db_time(link.expires_at),
                link.uses_left,
            ),
        )

    async def open(self, token: str, now: datetime) -> StoredLink | None:
        """The link's file if it is still valid, counting this use (atomically)."""
        async with self._db.transaction() as conn:
            rows = await conn.execute_fetchall(
                "UPDATE file_links SET uses_left = uses_left - 1 WHERE token_hash = ? "
                "AND expires_at > ? AND (uses_left IS NULL OR uses_left > 0) "
                "RETURNING name, filename, mime, member_id, expires_at, uses_left",
                (token_hash(token), to_db_time(now)),
            )
        for row in rows:
            expires = from_db_time(row["expires_at"])
            assert expires is not None
            return StoredLink(
                row["name"],
                row["filename"],
                row["mime"],
                row["member_id"],
                expires,
                row["uses_left"],
            )
        return None

    async def expired(self, now: datetime, limit: int = 500) -> list[str]:
        rows = await self._db.fetch_all(
            "SELECT name FROM file_links WHERE expires_at <= ? "
            "OR (uses_left IS NOT NULL AND uses_left <= 0) LIMIT ?",
            (to_db_time(now), limit),
        )
        return [str(r["name"]) for r in rows]

    async def forget_names(self, names: list[str]) -> None:
        await self._db.executemany(
            "DELETE FROM file_links WHERE name = ?", [(name,) for name in names]
        )

    async def of_member(self, member_id: int) -> list[str]:
        rows = await self._db.fetch_all(
            "SELECT name FROM file_links WHERE member_id = ?", (member_id,)
        )
        return [str(r["name"]) for r in rows]
