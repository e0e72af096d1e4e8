"""Durable state of multi-step flows (onboarding, profile edits, …), one row per person and
channel ("telegram:123", "zalo:6ede…"): someone not yet a member has no member id to key it."""

from __future__ import annotations

import json
from datetime import datetime

from bot.domain.members import FlowState, Person
from storage.db import Database, to_db_time


class ConversationRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, person: Person) -> FlowState | None:
        row = await self._db.fetch_one(
            "SELECT flow, step, data FROM conversation_state WHERE person = ?", (str(person),)
        )
        if row is None:
            return None
        return FlowState(flow=row["flow"], step=row["step"], data=json.loads(row["data"]))

    async def put(self, person: Person, state: FlowState, now: datetime) -> None:
        await self._db.execute(
            "INSERT INTO conversation_state (person, flow, step, data, updated_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(person) DO UPDATE SET flow = excluded.flow, "
            "step = excluded.step, data = excluded.data, updated_at = excluded.updated_at",
            (
                str(person),
                state.flow,
                state.step,
                json.dumps(state.data, ensure_ascii=False),
                to_db_time(now),
            ),
        )

    async def clear(self, person: Person) -> None:
        # Every menu press clears; most find nothing, and a look is cheaper than a write.
        if await self._db.fetch_value(
            "SELECT 1 FROM conversation_state WHERE person = ?", (str(person),)
        ):
            await self._db.execute(
                "DELETE FROM conversation_state WHERE person = ?", (str(person),)
            )
