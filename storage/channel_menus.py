"""The numbered choices last shown to each person on a channel without buttons (Zalo), so that
"2" means the same after a restart as before it."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from storage.db import Database, to_db_time


class ChannelMenuRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, channel: str, address: str) -> Any:
        value = await self._db.fetch_value(
            "SELECT options FROM channel_menus WHERE channel = ? AND address = ?",
            (channel, address),
        )
        return None if value is None else json.loads(value)

    async def put(self, channel: str, address: str, options: Any, now: datetime) -> None:
        await self._db.execute(
            "INSERT INTO channel_menus (channel, address, options, shown_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(channel, address) DO UPDATE SET options = excluded.options, "
            "shown_at = excluded.shown_at",
            (channel, address, json.dumps(options, ensure_ascii=False), to_db_time(now)),
        )

    async def clear(self, channel: str, address: str) -> None:
        """No choices stand for them (a turn that offered none, someone not yet consenting)."""
        # Most turns without choices follow one without either: a look is cheaper than a write.
        if await self._db.fetch_value(
            "SELECT 1 FROM channel_menus WHERE channel = ? AND address = ?", (channel, address)
        ):
            await self._db.execute(
                "DELETE FROM channel_menus WHERE channel = ? AND address = ?", (channel, address)
            )
