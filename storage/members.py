"""Members and their roles."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from bot.domain.members import Channel, Member, NewMember, Person, Role, RoleGrant, UsernameHolder
from storage.db import Database, from_db_time, to_db_time

_MEMBER_COLUMNS = (
    "id, telegram_id, full_name, username, unit_id, phone, email, language, consent_at, "
    "announcements_muted, reminders_muted, reachable, deleted_at, created_at, zalo_id, "
    "zalo_reachable, notify_channel, last_channel"
)
# The column that holds a person's account on each channel.
_ACCOUNT_COLUMN = {Channel.TELEGRAM: "telegram_id", Channel.ZALO: "zalo_id"}
_REACHABLE_COLUMN = {Channel.TELEGRAM: "reachable", Channel.ZALO: "zalo_reachable"}


def _account(person: Person) -> tuple[str, int | str]:
    """The members column and value that find this person's member row."""
    if person.channel is Channel.TELEGRAM:
        return "telegram_id", int(person.user_id)
    return "zalo_id", person.user_id


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
        zalo_id=row["zalo_id"],
        zalo_reachable=bool(row["zalo_reachable"]),
        notify_channel=Channel(row["notify_channel"]) if row["notify_channel"] else None,
        last_channel=Channel(row["last_channel"]) if row["last_channel"] else None,
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
    "notify_channel": "notify_channel",
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

    async def with_grant(self, person: Person) -> tuple[Member | None, RoleGrant | None]:
        """The person's member row and role grant in one query: asked on every update."""
        column, value = _account(person)
        columns = ", ".join(f"m.{c}" for c in _MEMBER_COLUMNS.split(", "))
        row = await self._db.fetch_one(
            f"SELECT {columns}, g.role AS grant_role, g.unit_id AS grant_unit_id, "
            "g.granted_by AS grant_granted_by, g.granted_at AS grant_granted_at "
            f"FROM members m LEFT JOIN roles g ON g.member_id = m.id WHERE m.{column} = ?",
            (value,),
        )
        if row is None:
            return None, None
        member = _member(row)
        grant = None
        if row["grant_role"] is not None:
            granted_at = from_db_time(row["grant_granted_at"])
            assert granted_at is not None
            grant = RoleGrant(
                member_id=member.id,
                role=Role(row["grant_role"]),
                unit_id=row["grant_unit_id"],
                granted_by=row["grant_granted_by"],
                granted_at=granted_at,
            )
        return member, grant

    async def by_person(self, person: Person) -> Member | None:
        column, value = _account(person)
        row = await self._db.fetch_one(
            f"SELECT {_MEMBER_COLUMNS} FROM members WHERE {column} = ?", (value,)
        )
        return None if row is None else _member(row)

    async def by_zalo_id(self, zalo_id: str) -> Member | None:
        return await self.by_person(Person.zalo(zalo_id))

    async def attach_account(self, member_id: int, person: Person, now: datetime) -> bool:
        """Link a channel account to a member (account linking); False when that account
        already belongs to a member or the member already has an account there."""
        column, value = _account(person)
        async with self._db.transaction() as conn:
            taken = await conn.execute_fetchall(
                f"SELECT 1 FROM members WHERE {column} = ? OR (id = ? AND {column} IS NOT NULL)",
                (value, member_id),
            )
            if taken:
                return False
            await conn.execute(
                f"UPDATE members SET {column} = ?, {_REACHABLE_COLUMN[person.channel]} = 1, "
                "updated_at = ? WHERE id = ? AND deleted_at IS NULL",
                (value, to_db_time(now), member_id),
            )
        return True

    async def detach_account(self, member_id: int, channel: Channel, now: datetime) -> None:
        await self._db.execute(
            f"UPDATE members SET {_ACCOUNT_COLUMN[channel]} = NULL, "
            "notify_channel = CASE WHEN notify_channel = ? THEN NULL ELSE notify_channel END, "
            "last_channel = CASE WHEN last_channel = ? THEN NULL ELSE last_channel END, "
            "updated_at = ? WHERE id = ?",
            (channel.value, channel.value, to_db_time(now), member_id),
        )

    async def set_last_channel(self, member_id: int, channel: Channel) -> None:
        await self._db.execute(
            "UPDATE members SET last_channel = ? WHERE id = ?", (channel.value, member_id)
        )

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
                "INSERT INTO members (telegram_id, zalo_id, last_channel, full_name, username, "
                "unit_id, phone, email, language, consent_at, created_at, updated_at, "
                "username_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    new.telegram_id,
                    new.zalo_id,
                    "telegram" if new.telegram_id is not None else "zalo",
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

    async def set_reachable(self, person: Person, reachable: bool) -> None:
        column, value = _account(person)
        flag = _REACHABLE_COLUMN[person.channel]
        await self._db.execute(
            f"UPDATE members SET {flag} = ? WHERE {column} = ? AND {flag} != ?",
            (int(reachable), value, int(reachable)),
        )

    async def count_active(self) -> int:
        return int(
            await self._db.fetch_value("SELECT COUNT(*) FROM members WHERE deleted_at IS NULL")
        )


def _grant(row: sqlite3.Row) -> RoleGrant:
    granted_at = from_db_time(row["granted_at"])
    assert granted_at is not None
    return RoleGrant(
        member_id=row["member_id"],
        role=Role(row["role"]),
        unit_id=row["unit_id"],
        granted_by=row["granted_by"],
        granted_at=granted_at,
    )


_GRANT_COLUMNS = "member_id, role, unit_id, granted_by, granted_at"


class RoleRepository:
    """Roles belong to members (whatever channel they use)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, member_id: int) -> RoleGrant | None:
        row = await self._db.fetch_one(
            f"SELECT {_GRANT_COLUMNS} FROM roles WHERE member_id = ?", (member_id,)
        )
        return None if row is None else _grant(row)

    async def set(self, grant: RoleGrant) -> None:
        await self._db.execute(
            f"INSERT INTO roles ({_GRANT_COLUMNS}) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(member_id) DO UPDATE SET role = excluded.role, "
            "unit_id = excluded.unit_id, granted_by = excluded.granted_by, "
            "granted_at = excluded.granted_at",
            (
                grant.member_id,
                grant.role.value,
                grant.unit_id,
                grant.granted_by,
                to_db_time(grant.granted_at),
            ),
        )

    async def delete(self, member_id: int) -> bool:
        async with self._db.transaction() as conn:
            cursor = await conn.execute("DELETE FROM roles WHERE member_id = ?", (member_id,))
            return cursor.rowcount > 0

    async def all(self) -> list[RoleGrant]:
        rows = await self._db.fetch_all(
            f"SELECT {_GRANT_COLUMNS} FROM roles ORDER BY role, unit_id, member_id"
        )
        return [_grant(r) for r in rows]


async def bulk_insert_members(db: Database, people: list[NewMember], now: datetime) -> None:
    """Seed many members in one transaction (demo data, benchmarks, imports)."""
    stamp = to_db_time(now)
    await db.executemany(
        "INSERT INTO members (telegram_id, zalo_id, last_channel, full_name, username, unit_id, "
        "phone, email, language, consent_at, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                p.telegram_id,
                p.zalo_id,
                "telegram" if p.telegram_id is not None else "zalo",
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
