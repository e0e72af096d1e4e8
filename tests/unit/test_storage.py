"""Storage: migrations from empty and re-run, pragmas, refusing newer schemas, backup, units."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain.members import NewMember, Person, Role, RoleGrant
from storage import Database, SchemaTooNewError
from storage.members import MemberRepository, RoleRepository
from storage.migrations import apply_migrations, available_migrations
from storage.units import UnitRepository

NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


async def test_migrations_apply_from_empty_and_rerun_is_a_no_op(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    db = await Database.open(path)
    latest = available_migrations()[-1].version
    assert await db.schema_version() == latest
    await db.close()

    db = await Database.open(path)  # second start: nothing to do
    assert await db.schema_version() == latest
    assert await apply_migrations(db._writer) == []
    assert await db.fetch_value("SELECT COUNT(*) FROM schema_version") == len(
        available_migrations()
    )
    await db.close()


async def test_connection_uses_wal_foreign_keys_and_busy_timeout(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "db.sqlite3", busy_timeout_ms=1234)
    assert await db.fetch_value("PRAGMA journal_mode") == "wal"
    assert await db.fetch_value("PRAGMA foreign_keys") == 1
    assert await db.fetch_value("PRAGMA busy_timeout") == 1234
    with pytest.raises(sqlite3.IntegrityError):
        await db.execute(
            "INSERT INTO members (telegram_id, unit_id, created_at, updated_at) "
            "VALUES (1, 999, 'x', 'x')"
        )
    await db.close()


async def test_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    db = await Database.open(path)
    await db.execute(
        "INSERT INTO schema_version (version, name, applied_at) VALUES (999, 'future', 'x')"
    )
    await db.close()
    with pytest.raises(SchemaTooNewError, match="newer than this program"):
        await Database.open(path)


async def test_failed_transaction_leaves_nothing_half_written(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "db.sqlite3")
    units = UnitRepository(db)
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO units (code, name, name_folded) VALUES ('A', 'A', 'a')")
            raise RuntimeError("boom")
    assert await units.count() == 0
    await db.close()


async def test_unit_search_ignores_case_and_diacritics(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "db.sqlite3")
    units = UnitRepository(db)
    await units.upsert_many(
        [("BTP", "Bộ Tư pháp"), ("BTC", "Bộ Tài chính"), ("DTH", "Đài Truyền hình Việt Nam")]
    )
    assert [u.name for u in await units.page("bo tu phap")] == ["Bộ Tư pháp"]
    assert [u.name for u in await units.page("ĐÀI")] == ["Đài Truyền hình Việt Nam"]
    assert [u.name for u in await units.page("dai truyen")] == ["Đài Truyền hình Việt Nam"]
    assert await units.count("bộ") == 2
    # renaming by code updates in place
    await units.upsert_many([("BTP", "Bộ Tư pháp (mới)")])
    unit = await units.get_by_code("BTP")
    assert unit is not None and unit.name == "Bộ Tư pháp (mới)"
    assert await units.count() == 3
    await db.close()


async def test_a_unit_renamed_by_import_is_seen_at_once_and_from_elsewhere_within_the_snapshot(
    tmp_path: Path,
) -> None:
    db = await Database.open(tmp_path / "db.sqlite3")
    units = UnitRepository(db)
    await units.upsert_many([("BTP", "Bộ Tư pháp")])
    found = await units.get_by_code("BTP")
    assert found is not None
    assert (await units.get(found.id)) == found
    await units.upsert_many([("BTP", "Bộ Tư pháp (mới)")])  # through this repository
    renamed = await units.get(found.id)
    assert renamed is not None and renamed.name == "Bộ Tư pháp (mới)"
    # Another process (``nhipcau import-units``) renames it: seen once the snapshot is old.
    fresh = UnitRepository(db, snapshot_seconds=0.0)
    await fresh.get(found.id)
    await UnitRepository(db).upsert_many([("BTP", "Bộ Tư pháp (lần 3)")])
    third = await fresh.get(found.id)
    assert third is not None and third.name == "Bộ Tư pháp (lần 3)"
    assert await units.get(found.id + 1000) is None
    await db.close()


async def test_a_username_belongs_to_the_last_member_seen_with_it(tmp_path: Path) -> None:
    """Telegram gives a username to one account at a time: when the bot learns that someone
    has it, anyone it still knew by that name is known by it no longer."""
    db = await Database.open(tmp_path / "db.sqlite3")
    await UnitRepository(db).upsert_many([("BTP", "Bộ Tư pháp")])
    unit = await UnitRepository(db).get_by_code("BTP")
    assert unit is not None
    members = MemberRepository(db)

    def person(telegram_id: int, username: str | None) -> NewMember:
        return NewMember(
            telegram_id, f"Người {telegram_id}", username, unit.id, None, None, "vi", NOW
        )

    first = await members.create(person(1, "hoa_cb"), NOW)
    holders = await members.username_holders("@HOA_CB")
    assert [(h.member.id, h.username_at) for h in holders] == [(first.id, NOW)]
    second = await members.create(person(2, "hoa_cb"), NOW + timedelta(days=1))
    assert [h.member.id for h in await members.username_holders("hoa_cb")] == [second.id]
    assert (await members.by_id(first.id)).username is None  # type: ignore[union-attr]
    later = NOW + timedelta(days=2)
    await members.set_username(first.id, "Hoa_CB", later)  # it moved back to the first
    holders = await members.username_holders("hoa_cb")
    assert [(h.member.id, h.username_at) for h in holders] == [(first.id, later)]
    await members.set_username(first.id, None, later)
    assert await members.username_holders("hoa_cb") == []
    await db.close()


async def test_member_and_role_grant_come_back_together(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "db.sqlite3")
    await _seed(db)  # member 42, a cadre of their unit
    members, roles = MemberRepository(db), RoleRepository(db)
    hoa = Person.telegram(42)
    member, grant = await members.with_grant(hoa)
    assert member is not None and member.full_name == "Nguyễn Thị Hoa"
    assert grant == RoleGrant(member.id, Role.CADRE, member.unit_id, granted_by=1, granted_at=NOW)
    assert await members.with_grant(Person.telegram(7)) == (None, None)
    assert await members.with_grant(Person.zalo("6ede9afa66b88fe6d6a9")) == (None, None)
    now = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    await roles.delete(member.id)
    assert await members.with_grant(hoa) == (member, None)
    unit_id = member.unit_id
    await roles.set(RoleGrant(member.id, Role.CADRE, unit_id, 7, now))
    member_again, cadre = await members.with_grant(hoa)
    assert member_again == member
    assert cadre == RoleGrant(member.id, Role.CADRE, unit_id, 7, now)
    # The same member from a linked Zalo account: the same row, the same role.
    assert await members.attach_account(member.id, Person.zalo("6ede9afa66b88fe6d6a9"), now)
    from_zalo, zalo_grant = await members.with_grant(Person.zalo("6ede9afa66b88fe6d6a9"))
    assert from_zalo is not None and from_zalo.id == member.id and zalo_grant == cadre
    assert not await members.attach_account(member.id, Person.zalo("0000aaaa"), now)
    await db.close()


async def _seed(db: Database) -> None:
    units = UnitRepository(db)
    await units.upsert_many([("BTP", "Bộ Tư pháp")])
    unit = await units.get_by_code("BTP")
    assert unit is not None
    member = await MemberRepository(db).create(
        NewMember(
            telegram_id=42,
            full_name="Nguyễn Thị Hoa",
            username="hoa",
            unit_id=unit.id,
            phone="+84901234567",
            email="hoa@example.vn",
            language="vi",
            consent_at=NOW,
        ),
        NOW,
    )
    await RoleRepository(db).set(
        RoleGrant(member.id, Role.CADRE, unit.id, granted_by=1, granted_at=NOW)
    )


async def test_backup_produces_a_database_with_the_same_rows(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "db.sqlite3")
    await _seed(db)
    target = tmp_path / "backups" / "copy.sqlite3"
    await db.backup(target)
    await db.close()

    copy = await Database.open(target)
    member = await MemberRepository(copy).by_telegram_id(42)
    assert member is not None and member.full_name == "Nguyễn Thị Hoa"
    grant = await RoleRepository(copy).get(member.id)
    assert grant is not None and grant.role is Role.CADRE
    assert await copy.integrity_check() == "ok"
    await copy.close()


def test_cli_backup_and_import_units(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\npath = "{tmp_path / "live.sqlite3"}"\n', encoding="utf-8")
    units_csv = tmp_path / "units.csv"
    units_csv.write_text("code,name\nBTP,Bộ Tư pháp\nBYT,Bộ Y tế\n", encoding="utf-8")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args, "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    imported = cli("import-units", str(units_csv))
    assert imported.returncode == 0, imported.stderr
    assert "imported 2 units" in imported.stdout
    backup = cli("backup", str(tmp_path / "out.sqlite3"))
    assert backup.returncode == 0, backup.stderr
    with sqlite3.connect(tmp_path / "out.sqlite3") as conn:
        names = sorted(r[0] for r in conn.execute("SELECT name FROM units"))
    assert names == ["Bộ Tư pháp", "Bộ Y tế"]

    units_csv.write_text("code,name\nBTP\n", encoding="utf-8")
    broken = cli("import-units", str(units_csv))
    assert broken.returncode == 2
    assert "expected two columns" in broken.stderr


async def test_a_transaction_cancelled_midway_leaves_the_database_usable(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "db.sqlite3")
    units = UnitRepository(db)
    started = asyncio.Event()

    async def slow_writer() -> None:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO units (code, name, name_folded) VALUES ('X', 'X', 'x')")
            started.set()
            await asyncio.Event().wait()  # cancelled here, inside the transaction

    task = asyncio.create_task(slow_writer())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await units.upsert_many([("A", "Đơn vị A")])
    assert [u.code for u in await units.all()] == ["A"]  # the cancelled insert is gone
    await db.close()
