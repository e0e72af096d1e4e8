"""Migration 0009: attachments kept before it came from Telegram and say so; new ones keep the
channel their reference belongs to, and nothing else is accepted as a channel."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.domain.initiatives import Attachment, NewAttachment
from bot.domain.members import Channel
from storage.db import Database
from storage.initiatives import InitiativeRepository
from storage.migrations import available_migrations

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
STAMP = "2026-03-02T02:00:00+00:00"


def database_before_0009(path: Path) -> None:
    """A database as the bot left it at migration 0008, with one Telegram attachment."""
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE schema_version ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    for migration in available_migrations():
        if migration.version > 8:
            break
        for statement in migration.statements():
            conn.execute(statement)
        conn.execute(
            "INSERT INTO schema_version VALUES (?, ?, ?)",
            (migration.version, migration.name, STAMP),
        )
    conn.execute(
        "INSERT INTO units (id, code, name, name_folded) "
        "VALUES (1, 'BTP', 'Bộ Tư pháp', 'bo tu phap')"
    )
    conn.execute(
        "INSERT INTO members (id, telegram_id, full_name, unit_id, created_at, updated_at) "
        "VALUES (1, 7001, 'Nguyễn Văn An', 1, ?, ?)",
        (STAMP, STAMP),
    )
    conn.execute(
        "INSERT INTO initiatives (id, author_member_id, unit_id, title, created_at, updated_at) "
        "VALUES (1, 1, 1, 'Sổ tay điện tử', ?, ?)",
        (STAMP, STAMP),
    )
    conn.execute(
        "INSERT INTO initiative_attachments (initiative_id, kind, file_id, file_unique_id, name, "
        "size, mime, added_at) VALUES (1, 'document', 'BQACAgIAAxkBAAIB', 'AgADBQ', 'de-an.pdf', "
        "14, 'application/pdf', ?)",
        (STAMP,),
    )
    conn.commit()
    conn.close()


async def test_attachments_from_before_say_telegram_and_new_ones_keep_their_channel(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    database_before_0009(path)
    db = await Database.open(path)
    try:
        repository = InitiativeRepository(db)
        zalo = NewAttachment(
            "photo", "5f1c0e7a9b2d4c3e", "zalo-372bb682", "anh-372bb682.jpg", 48_213,
            "image/jpeg", Channel.ZALO,
        )  # fmt: skip
        assert await repository.add_attachment(1, zalo, NOW, max_count=5) == "added"
        assert await repository.attachments(1) == [
            Attachment(
                1, 1, "document", "BQACAgIAAxkBAAIB", "AgADBQ", "de-an.pdf", 14,
                "application/pdf", Channel.TELEGRAM,
            ),
            Attachment(
                2, 1, "photo", "5f1c0e7a9b2d4c3e", "zalo-372bb682", "anh-372bb682.jpg", 48_213,
                "image/jpeg", Channel.ZALO,
            ),
        ]  # fmt: skip
        with pytest.raises(sqlite3.IntegrityError):
            await db.execute(
                "INSERT INTO initiative_attachments (initiative_id, kind, channel, file_id, "
                "file_unique_id, name, added_at) VALUES (1, 'photo', 'viber', 'x', 'y', 'z', ?)",
                (STAMP,),
            )
    finally:
        await db.close()
