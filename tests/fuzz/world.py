"""The fuzzed world: one running bot on the emulator, seeded with units, people of every role,
activities, registrations, initiatives and broadcasts, and the machinery that sends a batch of
hostile updates, waits until the bot has handled each one, and checks what it did.

The bot runs on its own event loop in a background thread so that hypothesis can drive it from
a plain synchronous test; every interaction with the bot or the emulator is a coroutine sent to
that loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import threading
import time
import traceback
import zipfile
from collections.abc import Awaitable, Coroutine
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from telegram import Update

from bot.activities import ActivityDraft, ActivityKind, Audience, Question
from bot.clock import ManualClock
from bot.domain.broadcasts import Audience as BroadcastAudience
from bot.domain.broadcasts import AudienceKind, BroadcastContent
from bot.domain.initiatives import InitiativeStatus as S
from bot.domain.initiatives import RecognitionLevel
from bot.domain.members import Actor, NewMember, Role, RoleGrant
from bot.emulator import BotApiEmulator, BotMessage, EmulatedGroup, EmulatedUser
from tests.e2e.conftest import ADMIN_ID, TOKEN, BotHarness
from tests.fuzz.model import BatchFacts, Judge, snapshot
from tests.fuzz.strategies import Action, Batch, WorldIds

T = TypeVar("T")
log = logging.getLogger(__name__)

T0 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 08:00 in Hà Nội
START = T0 + timedelta(days=19)  # 20/12/2026 08:00
BOT_USERNAME = "nhipcau_test_bot"
SETTLE_TIMEOUT = 30.0
SENTINEL_ID = 999_999


@dataclass(frozen=True)
class Person:
    key: str
    telegram_id: int
    unit: str
    role: Role = Role.MEMBER

    @property
    def phone(self) -> str:
        return f"+8497{self.telegram_id * 7919 % 10**7:07d}"

    @property
    def email(self) -> str:
        return f"an{self.telegram_id * 3}@thu.vn"

    @property
    def secrets(self) -> tuple[str, str]:
        """What must never reach a person without the right to see it (digits, e-mail)."""
        return self.phone[-7:], self.email


CAST = (
    Person("admin", ADMIN_ID, "BTP", Role.ADMIN),
    Person("cadre_btp", 910_001, "BTP", Role.CADRE),
    Person("cadre_byt", 910_002, "BYT", Role.CADRE),
    Person("m_btp0", 920_001, "BTP"),
    Person("m_btp1", 920_002, "BTP"),
    Person("m_btp2", 920_003, "BTP"),
    Person("m_byt0", 920_011, "BYT"),
    Person("m_byt1", 920_012, "BYT"),
    Person("m_btc0", 920_021, "BTC"),
    # victims: never send anything
    Person("v_btp", 930_001, "BTP"),
    Person("v_byt", 930_002, "BYT"),
    Person("v_btc", 930_003, "BTC"),
    Person("v_btp_wait", 930_004, "BTP"),
)
BY_KEY = {p.key: p for p in CAST}
DRIFTERS = {f"drifter{i}": 940_001 + i for i in range(3)}  # never onboarded at the start
MIDFLOW_VICTIM = 930_005  # a new user half-way through onboarding
SUPERGROUP_ID, GROUP_ID, CHANNEL_ID = -1_001_000_000_001, -4001, -1_001_000_000_002


@dataclass
class Finding:
    batch: int
    mode: str
    what: str
    detail: str
    log: list[str]

    def render(self) -> str:
        lines = "\n".join(f"    {entry}" for entry in self.log)
        return (
            f"batch #{self.batch} ({self.mode}): {self.what}\n  {self.detail}\n"
            f"  updates of that batch:\n{lines}"
        )


@dataclass
class Stats:
    batches: int = 0
    updates: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    unanswered_callbacks: int = 0
    seconds: float = 0.0


class LoopThread:
    """An event loop running in a daemon thread; ``run`` waits for a coroutine's result."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fuzz-bot", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 600) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class ErrorCapture(logging.Handler):
    """Every ERROR record, from any logger, while the fuzz run lasts."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class FuzzWorld:
    def __init__(self, database: Path) -> None:
        self.database = database
        self.clock = ManualClock(T0)
        self.runner = LoopThread()
        self.emulator: BotApiEmulator | None = None
        self.harness: BotHarness | None = None
        self.errors: list[tuple[Any, BaseException]] = []
        self.capture = ErrorCapture()
        self.findings: list[Finding] = []
        self.stats = Stats()
        self.ids: WorldIds | None = None
        self.menu_labels: list[str] = []
        self.checkin_tokens: dict[str, int] = {}  # link payload (after "ci_") → activity
        self.checkin_codes: dict[str, int] = {}  # six digits → activity (the clock stands still)
        self._last_user_message: dict[int, int] = {}
        self._log: list[str] = []
        self.stuck = False  # the bot stopped handling updates: later batches are pointless

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        logging.getLogger().addHandler(self.capture)
        self.runner.run(self._start())

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.runner.run(self._stop(), timeout=60)
        self.runner.close()
        logging.getLogger().removeHandler(self.capture)

    async def _start(self) -> None:
        self.emulator = BotApiEmulator(token=TOKEN, bot_username=BOT_USERNAME)
        await self.emulator.start()
        self.harness = BotHarness(self.emulator, self.database, self.clock)
        await self.harness.start()
        assert self.harness.app is not None
        self.harness.app.add_error_handler(self._record_error)
        await self._seed()

    async def _stop(self) -> None:
        if self.harness is not None:
            await self.harness.stop()
        if self.emulator is not None:
            await self.emulator.stop()

    async def _record_error(self, update: object, context: Any) -> None:
        self.errors.append((update, context.error))

    @property
    def bot(self) -> BotHarness:
        assert self.harness is not None
        return self.harness

    @property
    def emu(self) -> BotApiEmulator:
        assert self.emulator is not None
        return self.emulator

    # --- seeding -----------------------------------------------------------------------------

    async def _actor(self, telegram_id: int) -> Actor:
        return await self.bot.svc.member_service.actor(telegram_id)

    async def _ensure_cast(self) -> None:
        """Put the cast back as seeded: everyone onboarded, in their unit, with their role.
        Runs between batches (a batch may have forgotten a member or the admin may have
        granted roles), so each batch starts from the roles the model expects."""
        svc = self.bot.svc
        now = self.clock.now()
        for person in CAST:
            unit_id = await self.bot.unit_id(person.unit)
            member = await svc.members.by_telegram_id(person.telegram_id)
            if member is None:
                await svc.members.create(
                    NewMember(
                        telegram_id=person.telegram_id,
                        full_name=f"Người {person.key.replace('_', ' ')}",
                        username=person.key,
                        unit_id=unit_id,
                        phone=person.phone,
                        email=person.email,
                        language="vi",
                        consent_at=now - timedelta(days=1),
                    ),
                    now,
                )
            elif member.unit_id != unit_id:
                await svc.members.update(member.id, now, unit_id=unit_id)
        desired: dict[int, Any] = {}
        for person in CAST:
            if person.role is Role.CADRE:
                found = await svc.members.by_telegram_id(person.telegram_id)
                assert found is not None
                desired[found.id] = person
        for grant in await svc.roles.all():
            if grant.member_id not in desired or grant.role is not Role.CADRE:
                await svc.roles.delete(grant.member_id)
        for member_id, person in desired.items():
            unit_id = await self.bot.unit_id(person.unit)
            grant = await svc.roles.get(member_id)
            if grant is None or grant.unit_id != unit_id or grant.role is not Role.CADRE:
                await svc.roles.set(RoleGrant(member_id, Role.CADRE, unit_id, 0, now))

    async def _seed(self) -> None:
        svc = self.bot.svc
        await self._ensure_cast()
        admin = await self._actor(ADMIN_ID)
        organisers = {
            "BTP": await self._actor(BY_KEY["cadre_btp"].telegram_id),
            "BYT": await self._actor(BY_KEY["cadre_byt"].telegram_id),
            "BTC": admin,
        }
        btp = await self.bot.unit_id("BTP")
        campaign = await svc.activities.create_campaign(
            organisers["BTP"], btp, "Tình nguyện mùa đông", date(2026, 12, 1), date(2027, 1, 31)
        )
        shirt = (Question(1, "Cỡ áo?", ("S", "M", "L"), True),)
        activity: dict[tuple[str, str], int] = {}
        for code, organiser in organisers.items():
            unit_id = await self.bot.unit_id(code)
            base = ActivityDraft(
                title=f"Hiến máu <b>{code}</b>",
                description="Mang theo căn cước công dân.",
                kind=ActivityKind.REGULAR,
                unit_id=unit_id,
                open_to=Audience.ALL,
                place="Viện Huyết học, Cầu Giấy",
                starts_at=START,
                ends_at=START + timedelta(hours=3),
                deadline_at=START - timedelta(days=1),
                capacity=2,
                hours=3.5,
            )
            drafts = {
                "all": replace(
                    base,
                    questions=shirt,
                    campaign_id=campaign.id if code == "BTP" else None,
                ),
                "unit": replace(
                    base, title=f"Sinh hoạt {code}", open_to=Audience.UNIT, capacity=None
                ),
                "now": replace(
                    base,
                    title=f"Dọn vệ sinh {code}",
                    open_to=Audience.UNIT if code == "BYT" else Audience.ALL,
                    starts_at=T0 + timedelta(minutes=30),
                    ends_at=T0 + timedelta(hours=3, minutes=30),
                    deadline_at=T0 + timedelta(minutes=20),
                    capacity=10,
                    hours=2,
                ),
                "cancelled": replace(base, title=f"Đã huỷ {code}"),
                "closed": replace(base, title=f"Đã đóng {code}"),
            }
            for name, draft in drafts.items():
                created = await svc.activities.create(organiser, draft)
                activity[(code, name)] = created.id
            await svc.activities.cancel_activity(organiser, activity[(code, "cancelled")])
            await svc.activities.set_registration_open(organiser, activity[(code, "closed")], False)
            qr = await svc.attendance.checkin_qr(organiser, activity[(code, "now")], BOT_USERNAME)
            self.checkin_tokens[qr.link.split("start=ci_", 1)[1]] = qr.activity.id
            self.checkin_codes[qr.code] = qr.activity.id

        async def register(key: str, code: str, name: str) -> None:
            actor = await self._actor(BY_KEY[key].telegram_id)
            answers = {"1": "M"} if name == "all" else {}
            await svc.activities.register(actor, activity[(code, name)], answers)

        for key, code, name in (
            ("m_btp0", "BTP", "all"),
            ("v_btp", "BTP", "all"),
            ("v_btp_wait", "BTP", "all"),  # waitlisted: promoted when m_btp0 cancels
            ("v_byt", "BYT", "all"),
            ("m_byt0", "BYT", "all"),
            ("m_btp1", "BYT", "all"),  # waitlisted at another unit's open activity
            ("v_btc", "BTC", "all"),
            ("m_btc0", "BTC", "all"),
            ("v_btp", "BTP", "unit"),
            ("m_btp2", "BTP", "unit"),
            ("v_byt", "BYT", "unit"),
            ("v_btp", "BTP", "now"),
            ("m_btp1", "BTP", "now"),
            ("v_byt", "BYT", "now"),
            ("m_byt1", "BYT", "now"),
        ):
            await register(key, code, name)
        registration = await svc.db.fetch_value(
            "SELECT r.id FROM registrations r JOIN members m ON m.id = r.member_id "
            "WHERE m.telegram_id = ? AND r.activity_id = ?",
            (BY_KEY["v_btp"].telegram_id, activity[("BTP", "now")]),
        )
        await svc.attendance.set_attendance(
            organisers["BTP"], activity[("BTP", "now")], registration, True
        )
        await self._seed_initiatives()
        byt = await self.bot.unit_id("BYT")
        await svc.broadcasts.create(
            organisers["BTP"],
            BroadcastContent("<b>Họp chi đoàn</b> thứ Sáu"),
            BroadcastAudience(AudienceKind.UNITS, (btp,)),
            scheduled_at=T0 + timedelta(days=2),
        )
        await svc.broadcasts.create(
            organisers["BYT"],
            BroadcastContent("Lịch trực <i>Tết</i>"),
            BroadcastAudience(AudienceKind.UNITS, (byt,)),
            scheduled_at=T0 + timedelta(days=2),
        )
        await svc.broadcasts.create(
            admin,
            BroadcastContent("Chào mừng đại hội"),
            BroadcastAudience(AudienceKind.ALL),
            scheduled_at=T0 + timedelta(days=3),
        )
        catalogue = svc.catalogue
        for key in (
            "menu.activities",
            "menu.my_registrations",
            "menu.initiatives",
            "menu.profile",
            "menu.help",
        ):
            for language in catalogue.languages:
                self.menu_labels.append(catalogue.plain(language, key))
        # People with a conversation going: a new user half-way through onboarding, the BTP
        # cadre creating an activity; everyone else has talked to the bot once.
        midflow = self.emu.user(MIDFLOW_VICTIM, first_name="Đang Dở")
        await self.send_and_settle(midflow.send("/start"))
        await self.send_and_settle(midflow.click(data="ob:consent:y"))
        for person in CAST:
            user = self._user(person.key, ())
            await self.send_and_settle(user.send("/help"))
        cadre = self._user("cadre_btp", ())
        await self.send_and_settle(cadre.send("/newactivity"))
        await self._settle_background()
        self.ids = await self._world_ids()

    async def _seed_initiatives(self) -> None:
        svc = self.bot.svc
        service = svc.initiatives

        async def submitted(key: str, title: str) -> int:
            actor = await self._actor(BY_KEY[key].telegram_id)
            draft = await service.start_draft(actor, title)
            for name, value in (
                ("field", "digital"),
                ("problem", "Sổ công văn giấy khó tra cứu, mất nhiều thời gian tìm văn bản."),
                ("solution", "Chuyển sổ công văn sang bảng tính dùng chung có ô tìm kiếm."),
                ("benefit", "Mỗi cán bộ văn thư tiết kiệm khoảng 2 giờ mỗi tuần."),
            ):
                draft = await service.update(actor, draft.id, name, value)
            await service.change_status(actor, draft.id, S.SUBMITTED, version=draft.version)
            return draft.id

        async def move(
            by: str, initiative_id: int, *targets: S, comment: str | None = None
        ) -> None:
            actor = await self._actor(BY_KEY[by].telegram_id)
            for target in targets:
                current = await service.get(actor, initiative_id)
                await service.change_status(
                    actor,
                    initiative_id,
                    target,
                    version=current.version,
                    comment=comment,
                    level=RecognitionLevel.UNIT if target is S.RECOGNISED else None,
                )

        await submitted("v_btp", "Số hoá sổ theo dõi công văn đến")
        accepted = await submitted("v_btp", "Ký số văn bản nội bộ của chi đoàn")
        await move("cadre_btp", accepted, S.IN_REVIEW, S.ACCEPTED)
        await service.start_draft(await self._actor(BY_KEY["v_btp"].telegram_id), "Bản nháp riêng")
        await submitted("v_byt", "Đặt lịch khám qua mạng cho đoàn viên")
        in_review = await submitted("v_byt", "Sổ tay điện tử phòng khám")
        await move("cadre_byt", in_review, S.IN_REVIEW)
        await submitted("m_btp0", "Tra cứu văn bản bằng mã QR")
        await service.start_draft(await self._actor(BY_KEY["m_btp0"].telegram_id), "Nháp của tôi")
        revision = await submitted("m_byt0", "Quy trình tiếp nhận hồ sơ một cửa")
        await move("cadre_byt", revision, S.IN_REVIEW)
        await move("cadre_byt", revision, S.NEEDS_REVISION, comment="Bổ sung số liệu")
        recognised = await submitted("v_btc", "Phần mềm quản lý tài sản công")
        await move("admin", recognised, S.IN_REVIEW, S.ACCEPTED, S.RECOGNISED)

    async def _world_ids(self) -> WorldIds:
        db = self.bot.svc.db

        async def ids(table: str) -> tuple[int, ...]:
            rows = await db.fetch_all(f"SELECT id FROM {table} ORDER BY id")
            return tuple(int(r[0]) for r in rows) or (1,)

        return WorldIds(
            activities=await ids("activities"),
            registrations=await ids("registrations"),
            initiatives=await ids("initiatives"),
            broadcasts=await ids("broadcasts"),
            units=await ids("units"),
            campaigns=await ids("campaigns"),
            people=(*(p.telegram_id for p in CAST), *DRIFTERS.values(), MIDFLOW_VICTIM),
            checkin_tokens=tuple(sorted(self.checkin_tokens)),
            checkin_codes=tuple(sorted(self.checkin_codes)),
        )

    # --- waiting ---------------------------------------------------------------------------

    async def _settle(self) -> None:
        """Until every queued update has been fetched by the bot and fully handled (PTB marks
        an update done on its queue after the last handler and error handler returned)."""
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while self.emu.pending_updates:
            if time.monotonic() > deadline:
                raise TimeoutError("the bot stopped fetching updates")
            await asyncio.sleep(0.001)
        assert self.bot.app is not None
        await asyncio.wait_for(self.bot.app.update_queue.join(), SETTLE_TIMEOUT)

    async def send_and_settle(self, sending: Awaitable[Any]) -> None:
        await sending
        await self._settle()

    async def _settle_background(self) -> None:
        """Exports, broadcasts and reminders run beside the updates: let them finish."""
        svc = self.bot.svc
        for _ in range(3):
            exports = [
                t
                for t in asyncio.all_tasks()
                if t.get_name().startswith("export-") and not t.done()
            ]
            if exports:
                await asyncio.wait(exports, timeout=60)
            if svc.broadcasts.sender is not None:
                await asyncio.wait_for(svc.broadcasts.sender.idle(), 60)
            if svc.reminders.scheduler is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(svc.reminders.scheduler.idle(), 10)
            await self._settle()

    # --- one batch ---------------------------------------------------------------------------

    def run_batch(self, batch: Batch, limit: int) -> None:
        """Send (at most ``limit`` updates of) ``batch`` and check what the bot did."""
        if self.stats.updates >= limit or self.stuck:
            return
        started = time.monotonic()
        self.runner.run(self._run_batch(batch, limit))
        self.stats.seconds += time.monotonic() - started

    def _user(self, key: str, stranger_names: tuple[str, ...]) -> EmulatedUser:
        if key.startswith("stranger"):
            index = int(key[-1])
            telegram_id = 950_000 + 2 * self.stats.batches + index
            name = (stranger_names[index] if index < len(stranger_names) else "")[:64]
            return self.emu.user(telegram_id, first_name=(name.strip() and name) or "Khách")
        if key in DRIFTERS:
            return self.emu.user(DRIFTERS[key], first_name=f"Lang {key[-1]}")
        person = BY_KEY[key]
        return self.emu.user(person.telegram_id, first_name=person.key, username=person.key)

    async def _run_batch(self, batch: Batch, limit: int) -> None:
        self.stats.batches += 1
        number = self.stats.batches
        self._log = []
        await self._ensure_cast()
        users = {
            key: self._user(key, batch.stranger_names) for key in {a.actor for a in batch.actions}
        }
        watched = [*users.values()]
        marks = {u.user_id: self._marks(u) for u in watched}
        before = await snapshot(self.bot.svc.db)
        facts = BatchFacts(senders={u.user_id for u in users.values()}, now=self.clock.now())
        errors_before, logs_before = len(self.errors), len(self.capture.records)
        for action in batch.actions:
            if self.stats.updates >= limit:
                break
            user = users[action.actor]
            try:
                await self._execute(user, action, facts)
                await self._settle()
            except TimeoutError as exc:
                self._find(number, batch.mode, "the bot stopped handling updates", repr(exc))
                self.stuck = True
                return
            self._check_callbacks_answered(user)
        await self._sentinel(number, batch.mode)
        await self._settle_background()
        after = await snapshot(self.bot.svc.db)
        if batch.mode != "admin":
            for violation in Judge(before, after, facts).judge():
                self._find(
                    number, batch.mode, "state changed beyond the senders' rights", violation
                )
            self._check_leaks(number, batch.mode, users, marks, before, after)
        await self._check_integrity(number, batch.mode)
        for update, error in self.errors[errors_before:]:
            self._find(number, batch.mode, "unhandled exception", _describe_error(update, error))
        seen = {id(e) for _, e in self.errors}
        for record in self.capture.records[logs_before:]:
            if record.exc_info and id(record.exc_info[1]) in seen:
                continue  # the error handler's own log line for an error reported above
            self._find(number, batch.mode, "error logged", _describe_record(record))

    def _marks(self, user: EmulatedUser) -> dict[int, int]:
        return {m.message_id: m.edit_count for m in user.all_messages}

    def _find(self, batch: int, mode: str, what: str, detail: str) -> None:
        self.findings.append(Finding(batch, mode, what, detail, list(self._log)))

    def _note(self, user: EmulatedUser, kind: str, payload: Any) -> None:
        self.stats.updates += 1
        self.stats.by_kind[kind] = self.stats.by_kind.get(kind, 0) + 1
        shown = repr(payload)
        if len(shown) > 240:
            shown = shown[:200] + f"… ({len(shown)} chars)"
        self._log.append(f"{user.user_id} {kind}: {shown}")

    async def _sentinel(self, batch: int, mode: str) -> None:
        """A person who never onboarded asks for /help: the bot must still answer."""
        sentinel = self.emu.user(SENTINEL_ID, first_name="Lính gác")
        sentinel.skip_pending()
        await sentinel.send("/help")
        try:
            await sentinel.next_message(10)
        except TimeoutError as exc:
            self._find(batch, mode, "no answer to /help after the batch", str(exc)[:500])

    def _check_callbacks_answered(self, user: EmulatedUser) -> None:
        pending = self.emu._callback_queries  # queries the bot never answered
        if pending:
            self.stats.unanswered_callbacks += len(pending)
            pending.clear()

    async def _check_integrity(self, batch: int, mode: str) -> None:
        db = self.bot.svc.db
        result = await db.fetch_value("PRAGMA integrity_check")
        if result != "ok":
            self._find(batch, mode, "integrity_check failed", str(result))
        broken = await db.fetch_all("PRAGMA foreign_key_check")
        if broken:
            self._find(batch, mode, "foreign_key_check failed", str([tuple(r) for r in broken]))

    def _check_leaks(
        self,
        batch: int,
        mode: str,
        users: dict[str, EmulatedUser],
        marks: dict[int, dict[int, int]],
        before: dict[str, Any],
        after: dict[str, Any],
    ) -> None:
        """Phones and e-mails of other people reach a sender only if they are a cadre of the
        unit those people belong to (or registered with)."""
        roles = before["roles"]
        units_of: dict[int, set[int]] = {}
        registered_with: dict[int, set[int]] = {}
        for snap in (before, after):
            members = snap["members"]
            for row in members.values():
                if row["telegram_id"] is not None and row["unit_id"] is not None:
                    units_of.setdefault(row["telegram_id"], set()).add(row["unit_id"])
            for reg in snap["registrations"].values():
                member = members.get((reg["member_id"],))
                activity = snap["activities"].get((reg["activity_id"],))
                if member and member["telegram_id"] is not None and activity:
                    registered_with.setdefault(member["telegram_id"], set()).add(
                        activity["unit_id"]
                    )
        member_of = {
            row["telegram_id"]: mid
            for snap in (before, after)
            for (mid,), row in snap["members"].items()
        }
        for user in users.values():
            grant = roles.get((member_of.get(user.user_id),))
            managed = {grant["unit_id"]} if grant and grant["role"] == "cadre" else set()
            seen = marks[user.user_id]
            fresh = [
                m
                for m in user.all_messages
                if m.message_id not in seen or m.edit_count != seen[m.message_id]
            ]
            if not fresh:
                continue
            text = "\n".join(_readable(m) for m in fresh)
            for person in CAST:
                if person.telegram_id == user.user_id:
                    continue
                theirs = units_of.get(person.telegram_id, set()) | registered_with.get(
                    person.telegram_id, set()
                )
                if managed & theirs:
                    continue
                for secret in person.secrets:
                    if secret in text:
                        self._find(
                            batch,
                            mode,
                            "personal data leaked",
                            f"{person.key}'s {secret!r} was sent to {user.user_id}",
                        )

    # --- sending one action ----------------------------------------------------------------

    async def _execute(self, user: EmulatedUser, action: Action, facts: BatchFacts) -> None:
        kind, payload = action.kind, action.payload
        times = 2 if action.twice else 1
        if kind in ("text", "command"):
            self._note_codes(user, str(payload), facts)
        if kind == "text":
            await self._text(user, payload)
        elif kind == "menu":
            await self._text(user, self.menu_labels[payload % len(self.menu_labels)], "menu")
        elif kind == "command":
            if payload.startswith("/start ci_"):
                facts.checkin_tokens_sent.setdefault(user.user_id, set()).add(payload[10:])
            for _ in range(times):
                await self._text(user, payload, "command")
        elif kind == "callback":
            data, target = payload
            await self._callback(user, data, target, times)
        elif kind == "press":
            await self._press(user, payload, times)
        elif kind == "reply_button":
            await self._reply_button(user, payload)
        elif kind == "edit":
            await self._edit(user, payload)
        elif kind == "contact":
            await self._contact(user, payload)
        elif kind == "document":
            await self._document(user, payload)
        elif kind == "photo":
            content, caption = payload
            self._remember(user, await user.send_photo(content, caption))
            self._note(user, "photo", (len(content), caption))
        elif kind == "other":
            self._remember(user, await user.send_update(payload))
            self._note(user, "other", payload)
        elif kind == "group":
            group = self._group(len(payload))
            await group.send(user, payload)
            self._note(user, f"group {group.id}", payload)
        elif kind == "group_callback":
            await self._group_callback(user, payload)
        elif kind == "channel_post":
            await self.emu.inject_update(
                {
                    "channel_post": {
                        "message_id": 1,
                        "chat": {"id": CHANNEL_ID, "type": "channel", "title": "Kênh"},
                        "sender_chat": {"id": CHANNEL_ID, "type": "channel", "title": "Kênh"},
                        "date": int(time.time()),
                        "text": payload,
                    }
                }
            )
            self._note(user, "channel_post", payload)
        elif kind == "chat_member":
            bot_user = {
                "id": self.emu.bot_id,
                "is_bot": True,
                "first_name": "Nhịp Cầu",
                "username": BOT_USERNAME,
            }
            new: dict[str, Any] = {"status": payload, "user": bot_user}
            if payload == "kicked":
                new["until_date"] = 0
            await self.emu.inject_update(
                {
                    "my_chat_member": {
                        "chat": user.api_chat(),
                        "from": user.api_user(),
                        "date": int(time.time()),
                        "old_chat_member": {"status": "member", "user": bot_user},
                        "new_chat_member": new,
                    }
                }
            )
            self._note(user, "my_chat_member", payload)
        else:  # pragma: no cover - a strategy without an executor
            raise AssertionError(kind)

    def _note_codes(self, user: EmulatedUser, text: str, facts: BatchFacts) -> None:
        """Which activities' six-digit codes this person typed (to check in by code)."""
        digits = "".join(text.split())
        for code, activity_id in self.checkin_codes.items():
            if code in digits:
                facts.checkin_codes_typed.setdefault(user.user_id, set()).add(activity_id)

    def _remember(self, user: EmulatedUser, message: dict[str, Any]) -> None:
        self._last_user_message[user.user_id] = message["message_id"]

    async def _text(self, user: EmulatedUser, text: str, kind: str = "text") -> None:
        self._remember(user, await user.send(text))
        self._note(user, kind, text)

    async def _callback(
        self, user: EmulatedUser, data: str, target: int | None, times: int
    ) -> None:
        messages = user.messages
        if not messages:  # nothing on screen to press: a real client cannot send a query
            await self._text(user, "/start", "command")
            return
        message_id = None if target is None else messages[target % len(messages)].message_id
        for _ in range(times):
            await user.click(data=data, message_id=message_id, timeout=1)
            self._note(user, "callback", (data, message_id))

    async def _press(self, user: EmulatedUser, index: int, times: int) -> None:
        found: tuple[BotMessage, str] | None = None
        for message in reversed(user.messages):
            data = [b.callback_data for row in message.buttons for b in row if b.callback_data]
            if data:
                found = (message, data[index % len(data)])
                break
        if found is None:
            await self._text(user, "/start", "command")
            return
        message, data = found
        for _ in range(times):
            await user.click(data=data, message_id=message.message_id, timeout=1)
            self._note(user, "press", (data, message.message_id))

    async def _reply_button(self, user: EmulatedUser, index: int) -> None:
        buttons = [b for row in user.reply_keyboard or [] for b in row]
        if not buttons:
            await self._text(user, "/start", "command")
            return
        button = buttons[index % len(buttons)]
        self._remember(user, await user.press_reply_button(button.text))
        self._note(user, "reply_button", button.text)

    async def _edit(self, user: EmulatedUser, text: str) -> None:
        message_id = self._last_user_message.get(user.user_id)
        if message_id is None:
            await self._text(user, text)
            return
        now = int(time.time())
        await self.emu.inject_update(
            {
                "edited_message": {
                    "message_id": message_id,
                    "from": user.api_user(),
                    "chat": user.api_chat(),
                    "date": now,
                    "edit_date": now,
                    "text": text,
                }
            }
        )
        self._note(user, "edited_message", (message_id, text))

    async def _contact(self, user: EmulatedUser, payload: dict[str, Any]) -> None:
        owner, phone = payload["owner"], payload["phone"]
        if owner == "self":
            sent = await user.share_contact(phone or None)
        elif owner == "none":
            sent = await user.share_contact(phone or None, include_user_id=False)
        else:
            other = BY_KEY["v_btp"] if owner == "victim" else BY_KEY["admin"]
            sent = await user.share_contact(
                phone or other.phone, other.telegram_id, first_name="Người khác"
            )
        self._remember(user, sent)
        self._note(user, "contact", payload)

    async def _document(self, user: EmulatedUser, payload: dict[str, Any]) -> None:
        file = self.emu.register_file(
            payload["content"], payload["name"], payload["mime"], kind="document"
        )
        document = file.document_api()
        if payload["claimed"] is not None:
            document["file_size"] = payload["claimed"]
        fields: dict[str, Any] = {"document": document}
        if payload["caption"] is not None:
            fields["caption"] = payload["caption"]
        self._remember(user, await user.send_update(fields))
        shown = {**payload, "content": payload["content"][:40]}
        self._note(user, "document", shown)

    def _group(self, selector: int) -> EmulatedGroup:
        if selector % 2:
            return self.emu.group(SUPERGROUP_ID, "Chi đoàn <b>BTP</b>")
        return self.emu.group(GROUP_ID, "Nhóm bạn", chat_type="group")

    async def _group_callback(self, user: EmulatedUser, data: str) -> None:
        group = self._group(len(data))
        if not group.messages:  # the bot has said nothing there: a command makes it speak
            await group.send(user, "/help")
            self._note(user, f"group {group.id}", "/help")
            return
        await group.click(user, data=data, timeout=1)
        self._note(user, f"group callback {group.id}", data)

    # --- the end -------------------------------------------------------------------------

    def report(self) -> str:
        """Each distinct finding once (with the first batch that showed it), and how often."""
        distinct: dict[tuple[str, str], list[Finding]] = {}
        for finding in self.findings:
            first_line = finding.detail.splitlines()[0] if finding.detail else ""
            distinct.setdefault((finding.what, first_line), []).append(finding)
        summary = "\n".join(
            f"  {len(found)}× {what}: {line}" for (what, line), found in distinct.items()
        )
        details = "\n\n".join(found[0].render() for found in distinct.values())
        return f"{len(self.findings)} findings, {len(distinct)} distinct:\n{summary}\n\n{details}"

    def final_checks(self) -> None:
        self.runner.run(self._final_checks())

    async def _final_checks(self) -> None:
        fresh = self.emu.user(998_877, first_name="Người Mới")
        await fresh.send("/start")
        self._log = ["998877 command: '/start'"]
        try:
            reply = await fresh.next_message(10)
            if not reply.buttons:
                self._find(0, "final", "/start of a fresh user has no consent buttons", reply.text)
        except TimeoutError as exc:
            self._find(0, "final", "a fresh user got no answer to /start", str(exc)[:500])
        await self._check_integrity(0, "final")


def _readable(message: BotMessage) -> str:
    parts = [message.text or "", message.caption or ""]
    for file in (message.document, message.photo):
        if file is None:
            continue
        content = file.content
        if content.startswith(b"PK\x03\x04"):
            with contextlib.suppress(zipfile.BadZipFile), zipfile.ZipFile(io.BytesIO(content)) as z:
                for name in z.namelist():
                    parts.append(z.read(name).decode("utf-8", "ignore"))
        else:
            parts.append(content.decode("utf-8", "ignore"))
    return "\n".join(parts)


def _describe_error(update: object, error: BaseException) -> str:
    if isinstance(update, Update):
        shown = repr(update.to_dict())
        if len(shown) > 1500:
            shown = shown[:1500] + "…"
    else:
        shown = repr(update)
    trace = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return f"{type(error).__name__}: {error}\n  update: {shown}\n{trace}"


def _describe_record(record: logging.LogRecord) -> str:
    text = f"{record.name}: {record.getMessage()}"
    if record.exc_info and record.exc_info[1] is not None:
        error = record.exc_info[1]
        text += "\n" + "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return text
