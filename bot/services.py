"""The service container: built once from config, handed to handlers through ``bot_data``."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.flows import FlowService
from bot.i18n import Catalogue
from bot.members import MemberService
from storage import Database
from storage.conversations import ConversationRepository
from storage.members import MemberRepository, RoleRepository
from storage.units import UnitRepository


@dataclass
class Services:
    config: Config
    clock: Clock
    db: Database
    catalogue: Catalogue
    units: UnitRepository
    members: MemberRepository
    roles: RoleRepository
    conversations: ConversationRepository
    member_service: MemberService
    flows: FlowService

    @classmethod
    async def open(cls, config: Config, *, clock: Clock | None = None) -> Services:
        db = await Database.open(
            config.database.path, busy_timeout_ms=config.database.busy_timeout_ms
        )
        clock = clock or SystemClock()
        units = UnitRepository(db)
        members = MemberRepository(db)
        roles = RoleRepository(db)
        conversations = ConversationRepository(db)
        return cls(
            config=config,
            clock=clock,
            db=db,
            catalogue=Catalogue.load(config.bot.default_language),
            units=units,
            members=members,
            roles=roles,
            conversations=conversations,
            member_service=MemberService(
                members, roles, units, conversations, clock, config.bot.admins
            ),
            flows=FlowService(conversations, clock),
        )

    async def close(self) -> None:
        await self.db.close()
