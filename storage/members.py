"""Members and their roles."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from bot.domain.members import Member, NewMember, Role, RoleGrant, UsernameHolder
from storage.db import Database, from_db_time, to_db_time

_MEMBER_COLUMNS = (
    "id, telegram_id, full_name, username, unit_id, phone, email, language, consent_at, "
    "announcements_muted, reminders_muted, reachable, deleted_at, created_at"
)


def _member(row: sqlite3.Row) -> Member:
    created = from_db_time(row["created_at"])
    assert created is not None
    return Member(
        id=row["id"],
        telegram_id=row["telegram_id"],
        full_name=row["full_name"],
        username=row["username"],
        unit_id=row["unit_id"],
        phone=row["phone"],
        email=row["email"],
        language=row["language"],
        consent_at=from_db_time(row["consent_at"]),
        announcements_muted=bool(row["announcements_muted"]),
        reminders_muted=bool(row["reminders_muted"]),
        reachable=bool(row["reachable"]),
        deleted_at=from_db_time(row["deleted_at"]),
        created_at=created,
    )


# Fields a member may edit in their profile, mapped to their column; nothing else is updatable.
EDITABLE_FIELDS = {
    "full_name": "full_name",
    "unit_id": "unit_id",
    "phone": "phone",
    "email": "email",
    "language": "language",
    "username": "username",
    "announcements_muted": "announcements_muted",
    "reminders_muted": "reminders_muted",
}


class MemberRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def by_telegram_id(self, telegram_id: int) -> Member | None:
        row = await self._db.fetch_one(
            f"SELECT {_MEMBER_COLUMNS} FROM members WHERE telegram_id = ?", (telegram_id,)
        )
        return None if row is None else _member(row)

    async def with_grant(self, telegram_id: int) -> tuple[Member | None, RoleGrant | None]:
        """The person's member row and role grant in one query: asked on every update."""
        columns = ", ".join(f"m.{c}" for c in _MEMBER_COLUMNS.split(", "))
        row = await self._db.fetch_one(
            f"SELECT {columns}, g.role AS grant_role, g.unit_id AS grant_unit_id, "
            "g.granted_by AS grant_granted_by, g.granted_at AS grant_granted_at "
            "FROM (SELECT ? AS telegram_id) AS who "
            "LEFT JOIN members m ON m.telegram_id = who.telegram_id "
            "LEFT JOIN roles g ON g.telegram_id = who.telegram_id",
            (telegram_id,),
        )
        assert row is not None  # the one-row "who" table makes exactly one row
        member = None if row["id"] is None else _member(row)
        grant = None
        if row["grant_role"] is not None:
            granted_at = from_db_time(row["grant_granted_at"])
            assert granted_at is not None
            grant = RoleGrant(
                telegram_id=telegram_id,
                role=Role(row["grant_role"]),
                unit_id=row["grant_unit_id"],
                granted_by=row["grant_granted_by"],
                granted_at=granted_at,
            )
        return member, grant

    async def by_id(self, member_id: int) -> Member | None:
        row = await self._db.fetch_one(
            f"SELECT {_MEMBER_COLUMNS} FROM members WHERE id = ?", (member_id,)
        )
        return None if row is None else _member(row)

    async def by_username(self, username: str) -> Member | None:
        row = await self._db.fetch_one(
            f"SELECT {_MEMBER_COLUMNS} FROM members WHERE username = ? COLLATE NOCASE "
            "AND telegram_id IS NOT NULL",
            (username.lstrip("@"),),
        )
        return None if row is None else _member(row)

    async def username_holders(self, username: str) -> list[UsernameHolder]:
        """Everyone the bot has seen with this @username (Telegram lets a name pass from one
        person to another, and the bot learns it only when they write), newest first."""
        rows = await self._db.fetch_all(
            f"SELECT {_MEMBER_COLUMNS}, username_at FROM members WHERE username = ? "
            "COLLATE NOCASE AND telegram_id IS NOT NULL "
            "ORDER BY username_at IS NULL, username_at DESC, id DESC LIMIT 10",
            (username.lstrip("@"),),
        )
        return [UsernameHolder(_member(r), from_db_time(r["username_at"])) for r in rows]

    async def set_username(self, member_id: int, username: str | None, now: datetime) -> None:
        """Record the member's current @username. A username belongs to one Telegram account at
        a time, so anyone else the bot still knows by it is known by it no longer."""
        stamp = to_db_time(now)
        async with self._db.transaction() as conn:
            if username:
                await conn.execute(
                    "UPDATE members SET username = NULL, username_at = ? "
                    "WHERE username = ? COLLATE NOCASE AND id != ?",
                    (stamp, username, member_id),
                )
            await conn.execute(
                "UPDATE members SET username = ?, username_at = ?, updated_at = ? WHERE id = ?",
                (username, stamp if username else None, stamp, member_id),
            )

    async def create(self, new: NewMember, now: datetime) -> Member:
        stamp = to_db_time(now)
        async with self._db.transaction() as conn:
            if new.username:  # the name is this person's now, nobody else's
                await conn.execute(
                    "UPDATE members SET username = NULL, username_at = ? "
                    "WHERE username = ? COLLATE NOCASE",
                    (stamp, new.username),
                )
            cursor = await conn.execute(
                "INSERT INTO members (telegram_id, full_name, username, unit_id, phone, email, "
                "language, consent_at, created_at, updated_at, username_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    new.telegram_id,
                    new.full_name,
                    new.username,
                    new.unit_id,
                    new.phone,
                    new.email,
                    new.language,
                    to_db_time(new.consent_at),
                    stamp,
                    stamp,
                    stamp if new.username else None,
                ),
            )
            member_id = cursor.lastrowid
        member = await self.by_id(int(member_id or 0))
        assert member is not None
        return member

    async def update(self, member_id: int, now: datetime, **fields: object) -> None:
        unknown = set(fields) - set(EDITABLE_FIELDS)
        if unknown:
            raise ValueError(f"not editable: {sorted(unknown)}")
        if not fields:
            return
        assignments = ", ".join(f"{EDITABLE_FIELDS[name]} = ?" for name in fields)
        values = [int(v) if isinstance(v, bool) else v for v in fields.values()]
        await self._db.execute(
            f"UPDATE members SET {assignments}, updated_at = ? WHERE id = ?",
            (*values, to_db_time(now), member_id),
        )

    async def set_reachable(self, telegram_id: int, reachable: bool) -> None:
        await self._db.execute(
            "UPDATE members SET reachable = ? WHERE telegram_id = ? AND reachable != ?",
            (int(reachable), telegram_id, int(reachable)),
        )

    async def count_active(self) -> int:
        return int(
            await self._db.fetch_value("SELECT COUNT(*) FROM members WHERE deleted_at IS NULL")
        )


def _grant(row: sqlite3.Row) -> RoleGrant:
    granted_at = from_db_time(row["granted_at"])
    assert granted_at is not None
    return RoleGrant(
        telegram_id=row["telegram_id"],
        role=Role(row["role"]),
        unit_id=row["unit_id"],
        granted_by=row["granted_by"],
        granted_at=granted_at,
    )


class RoleRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, telegram_id: int) -> RoleGrant | None:
        row = await self._db.fetch_one(
            "SELECT telegram_id, role, unit_id, granted_by, granted_at FROM roles "
            "WHERE telegram_id = ?",
            (telegram_id,),
        )
        return None if row is None else _grant(row)

    async def set(self, grant: RoleGrant) -> None:
        await self._db.execute(
            "INSERT INTO roles (telegram_id, role, unit_id, granted_by, granted_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(telegram_id) DO UPDATE SET role = excluded.role, "
            "unit_id = excluded.unit_id, granted_by = excluded.granted_by, "
            "granted_at = excluded.granted_at",
            (
                grant.telegram_id,
                grant.role.value,
                grant.unit_id,
                grant.granted_by,
                to_db_time(grant.granted_at),
            ),
        )

    async def delete(self, telegram_id: int) -> bool:
        async with self._db.transaction() as conn:
            cursor = await conn.execute("DELETE FROM roles WHERE telegram_id = ?", (telegram_id,))
            return cursor.rowcount > 0

    async def all(self) -> list[RoleGrant]:
        rows = await self._db.fetch_all(
            "SELECT telegram_id, role, unit_id, granted_by, granted_at FROM roles "
            "ORDER BY role, unit_id, telegram_id"
        )
        return [_grant(r) for r in rows]


async def bulk_insert_members(db: Database, people: list[NewMember], now: datetime) -> None:
    """Seed many members in one transaction (demo data, benchmarks, imports)."""
    stamp = to_db_time(now)
    await db.executemany(
        "INSERT INTO members (telegram_id, full_name, username, unit_id, phone, email, language, "
        "consent_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                p.telegram_id,
                p.full_name,
                p.username,
                p.unit_id,
                p.phone,
                p.email,
                p.language,
                to_db_time(p.consent_at),
                stamp,
                stamp,
            )
            for p in people
        ],
    )
