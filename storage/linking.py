"""One-time codes that link a second channel account to a member, and the wrong tries per
channel account. Only a hash of each code is kept; redeeming one is a single transaction (the
code is spent and the account attached together, or neither)."""

from __future__ import annotations

import hashlib
import sqlite3
from datetime import datetime, timedelta

from bot.domain.linking import LinkAttempts, LinkOutcome, Redeemed
from bot.domain.members import Channel, Person
from storage.db import Database, first_row, from_db_time, to_db_time

_ACCOUNT_COLUMN = {Channel.TELEGRAM: "telegram_id", Channel.ZALO: "zalo_id"}
_REACHABLE_COLUMN = {Channel.TELEGRAM: "reachable", Channel.ZALO: "zalo_reachable"}


def code_hash(channel: Channel, code: str) -> str:
    return hashlib.sha256(f"{channel.value}:{code}".encode()).hexdigest()


def _account_value(person: Person) -> int | str:
    return int(person.user_id) if person.channel is Channel.TELEGRAM else person.user_id


class LinkRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add_code(
        self, member_id: int, channel: Channel, code: str, now: datetime, expires_at: datetime
    ) -> bool:
        """Keep a new code (the member's earlier unused ones for that channel go); False when
        the same code is live for someone else right now (pick another)."""
        try:
            async with self._db.transaction() as conn:
                await conn.execute(
                    "DELETE FROM link_codes WHERE (member_id = ? AND channel = ? AND used_at IS "
                    "NULL) OR expires_at <= ?",
                    (member_id, channel.value, to_db_time(now)),
                )
                await conn.execute(
                    "INSERT INTO link_codes (code_hash, member_id, channel, created_at, "
                    "expires_at) VALUES (?, ?, ?, ?, ?)",
                    (
                        code_hash(channel, code),
                        member_id,
                        channel.value,
                        to_db_time(now),
                        to_db_time(expires_at),
                    ),
                )
        except sqlite3.IntegrityError:
            return False
        return True

    async def redeem(self, person: Person, code: str, now: datetime) -> Redeemed:
        """Spend ``code`` typed by ``person`` and attach their account to its member."""
        channel = person.channel
        column = _ACCOUNT_COLUMN[channel]
        value = _account_value(person)
        stamp = to_db_time(now)
        digest = code_hash(channel, code)
        async with self._db.transaction() as conn:
            row = await first_row(
                conn,
                "SELECT member_id FROM link_codes WHERE code_hash = ? AND channel = ? "
                "AND used_at IS NULL AND expires_at > ?",
                (digest, channel.value, stamp),
            )
            if row is None:
                return Redeemed(LinkOutcome.UNKNOWN_CODE)
            member_id = int(row["member_id"])
            member = await first_row(
                conn,
                f"SELECT {column} AS account, deleted_at FROM members WHERE id = ?",
                (member_id,),
            )
            if member is None or member["deleted_at"] is not None:
                return Redeemed(LinkOutcome.UNKNOWN_CODE)
            owner = await first_row(conn, f"SELECT id FROM members WHERE {column} = ?", (value,))
            if owner is not None and int(owner["id"]) == member_id:
                await conn.execute(
                    "UPDATE link_codes SET used_at = ? WHERE code_hash = ?", (stamp, digest)
                )
                return Redeemed(LinkOutcome.ALREADY_YOURS, member_id)
            if owner is not None:
                return Redeemed(LinkOutcome.ACCOUNT_TAKEN, member_id)
            if member["account"] is not None:
                return Redeemed(LinkOutcome.MEMBER_HAS_ACCOUNT, member_id)
            await conn.execute(
                f"UPDATE members SET {column} = ?, {_REACHABLE_COLUMN[channel]} = 1, "
                "updated_at = ? WHERE id = ?",
                (value, stamp, member_id),
            )
            await conn.execute(
                "UPDATE link_codes SET used_at = ? WHERE code_hash = ?", (stamp, digest)
            )
            # The account starts afresh as the member: what it was doing as a newcomer goes.
            await conn.execute("DELETE FROM conversation_state WHERE person = ?", (str(person),))
        return Redeemed(LinkOutcome.LINKED, member_id)

    async def attempts(self, person: Person) -> LinkAttempts | None:
        row = await self._db.fetch_one(
            "SELECT failures, first_failed_at, locked_until FROM link_attempts WHERE person = ?",
            (str(person),),
        )
        if row is None:
            return None
        first = from_db_time(row["first_failed_at"])
        assert first is not None
        return LinkAttempts(int(row["failures"]), first, from_db_time(row["locked_until"]))

    async def record_failure(
        self,
        person: Person,
        now: datetime,
        *,
        window: timedelta,
        max_failures: int,
        pause: timedelta,
    ) -> LinkAttempts:
        """One more wrong code: counted within ``window`` of the first; the ``max_failures``-th
        locks the account for ``pause`` and starts the count again."""
        async with self._db.transaction() as conn:
            row = await first_row(
                conn,
                "SELECT failures, first_failed_at FROM link_attempts WHERE person = ?",
                (str(person),),
            )
            failures, first = 1, now
            if row is not None:
                started = from_db_time(row["first_failed_at"])
                if started is not None and now - started < window:
                    failures, first = int(row["failures"]) + 1, started
            locked_until = now + pause if failures >= max_failures else None
            if locked_until is not None:
                failures, first = 0, now
            await conn.execute(
                "INSERT INTO link_attempts (person, failures, first_failed_at, locked_until) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(person) DO UPDATE SET "
                "failures = excluded.failures, first_failed_at = excluded.first_failed_at, "
                "locked_until = excluded.locked_until",
                (
                    str(person),
                    failures,
                    to_db_time(first),
                    None if locked_until is None else to_db_time(locked_until),
                ),
            )
        return LinkAttempts(failures, first, locked_until)

    async def clear_failures(self, person: Person) -> None:
        await self._db.execute("DELETE FROM link_attempts WHERE person = ?", (str(person),))

    async def forget_account_state(self, person: Person) -> None:
        """An account taken off its member starts afresh: no flow, no choices, no wrong tries."""
        async with self._db.transaction() as conn:
            await conn.execute("DELETE FROM conversation_state WHERE person = ?", (str(person),))
            await conn.execute("DELETE FROM link_attempts WHERE person = ?", (str(person),))
            await conn.execute(
                "DELETE FROM channel_menus WHERE channel = ? AND address = ?",
                (person.channel.value, person.user_id),
            )
