"""The service container: built once from config, handed to handlers through ``bot_data``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.activities import ActivityService
from bot.attendance import AttendanceService
from bot.broadcasts import BroadcastService
from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.exports import ExportService
from bot.files import FileLinks
from bot.flows import FlowService
from bot.i18n import Catalogue
from bot.initiatives import InitiativeService
from bot.linking import LinkingService
from bot.members import MemberService
from bot.privacy import PrivacyService
from bot.reminders import ReminderService
from bot.stats import StatsService
from storage import Database
from storage.activities import ActivityRepository
from storage.attendance import AttendanceRepository
from storage.broadcasts import BroadcastRepository
from storage.conversations import ConversationRepository
from storage.exports import ExportRepository
from storage.files import FileLinkRepository
from storage.initiatives import InitiativeRepository
from storage.linking import LinkRepository
from storage.members import MemberRepository, RoleRepository
from storage.privacy import PrivacyRepository
from storage.reminders import ReminderRepository
from storage.stats import StatsRepository
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
    initiatives: InitiativeService
    activities: ActivityService
    attendance: AttendanceService
    broadcasts: BroadcastService
    reminders: ReminderService
    exports: ExportService
    stats: StatsService
    privacy: PrivacyService
    linking: LinkingService
    files: FileLinks  # files handed over as links (Zalo carries no documents)

    @property
    def files_folder(self) -> Path:
        """Beside the database: files behind links, and images members sent on Zalo."""
        return self.config.database.path.parent / "files"

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
        catalogue = Catalogue.load(config.bot.default_language)
        tz, hours_per_day = config.bot.tz, config.bot.hours_per_day
        activity_repository = ActivityRepository(db)
        activities = ActivityService(
            activity_repository,
            members,
            units,
            clock,
            tz=config.bot.tz,
            hours_per_day=config.bot.hours_per_day,
            default_reminders=config.reminders.offsets,
        )
        files_folder = config.database.path.parent / "files"
        return cls(
            config=config,
            clock=clock,
            db=db,
            catalogue=catalogue,
            units=units,
            members=members,
            roles=roles,
            conversations=conversations,
            member_service=MemberService(
                members, roles, units, conversations, clock, config.bot.admins
            ),
            flows=FlowService(conversations, clock),
            activities=activities,
            attendance=AttendanceService(
                activities, activity_repository, AttendanceRepository(db), clock
            ),
            broadcasts=BroadcastService(BroadcastRepository(db), clock),
            reminders=ReminderService(
                ReminderRepository(db),
                clock,
                default_offsets=config.reminders.offsets,
                digest_before=config.reminders.deadline_digest_before,
                tz=config.bot.tz,
            ),
            initiatives=InitiativeService(InitiativeRepository(db), clock, config.bot.tz),
            exports=ExportService(
                ExportRepository(db), units, catalogue, clock, tz=tz, hours_per_day=hours_per_day
            ),
            stats=StatsService(
                StatsRepository(db), ExportRepository(db), clock, tz=tz, hours_per_day=hours_per_day
            ),
            privacy=PrivacyService(
                PrivacyRepository(db, activity_repository),
                activities,
                clock,
                hours_per_day=hours_per_day,
            ),
            linking=LinkingService(LinkRepository(db), members, clock),
            files=FileLinks(
                FileLinkRepository(db), files_folder / "links", config.web.public_base_url, clock
            ),
        )

    async def close(self) -> None:
        await self.db.close()
