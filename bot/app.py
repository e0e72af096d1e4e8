"""Composition: the channels the config enables (Telegram's PTB Application, the Zalo channel),
the bot's own web server, the outboxes, all on one set of services and one set of journey
routes, and running them.

``serve`` is the one start-up path, used by the CLI, the demo and the end-to-end tests, so that
what tests exercise is what production runs (PTB's ``post_init`` only fires under
``run_polling``/``run_webhook``, which is why start-up lives here instead).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from telegram import (
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, Application, Defaults

from bot.broadcasts import BroadcastSender
from bot.channels.messenger import ChannelMessenger
from bot.channels.telegram import entry, guards
from bot.channels.telegram.bulk_api import BulkBotApi
from bot.channels.telegram.commands import commands_for
from bot.channels.telegram.conversation import read_telegram_file
from bot.channels.telegram.outbox import (
    TelegramNoticeTransport,
    TelegramProgress,
    TelegramReminderTransport,
    TelegramTransport,
)
from bot.channels.telegram.sender import TelegramSender
from bot.channels.vault import FileVault
from bot.channels.zalo.channel import ZaloChannel
from bot.channels.zalo.client import ZaloBotApi, parse_event
from bot.config import Config
from bot.delivery import Courier, DeliverySettings
from bot.domain.members import Channel, Role
from bot.notices import NoticeSender
from bot.reminders import ReminderScheduler
from bot.services import Services
from bot.web import TELEGRAM_SECRET_HEADER, ZALO_SECRET_HEADER, WebServer
from handlers.aiohttp_request import AiohttpRequest
from handlers.dialog import BotLinks
from handlers.dispatch import Routes
from handlers.journeys import build_routes
from handlers.lanes import PerPersonUpdateProcessor
from storage.notices import NoticeRepository

log = logging.getLogger(__name__)

BotApplication = Application[Any, Any, Any, Any, Any, Any]


def build_application(services: Services, routes: Routes) -> BotApplication:
    config = services.config
    telegram = config.telegram
    # PTB takes a slot before an update waits for its lane: enough slots that one person's
    # queued taps (a flood behind a slow export, say) cannot take them all from everyone else.
    lanes = PerPersonUpdateProcessor(4096)
    builder = (
        Application.builder()
        .token(telegram.token)
        .base_url(telegram.api_base_url)
        .base_file_url(telegram.api_file_url)
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                tzinfo=config.bot.tz,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .rate_limiter(
            AIORateLimiter(overall_max_rate=telegram.rate_limit_per_second, max_retries=3)
        )
        # Each person's updates in order, different people's side by side (handlers/lanes.py).
        .concurrent_updates(lanes)
        # aiohttp instead of PTB's default httpx: HTTP was most of the CPU under load.
        .request(AiohttpRequest(connections=8))
        # On stop, PTB makes one more getUpdates to confirm the last batch while the cancelled
        # long poll may still hold its connection; a second connection avoids a pool timeout.
        # While many updates are in hand, the next poll waits a moment (handlers/lanes.py).
        .get_updates_request(AiohttpRequest(connections=2, before_request=lanes.pace_intake))
    )
    app: BotApplication = builder.build()
    app.bot_data["services"] = services
    guards.register(app)
    entry.register(app, routes)
    return app


async def publish_command_menus(app: BotApplication) -> None:
    """Members see the default menu; cadres and admins get a menu scoped to their chat."""
    services: Services = app.bot_data["services"]
    catalogue = services.catalogue
    try:
        for language in catalogue.languages:
            code = None if language == catalogue.default else language
            await app.bot.set_my_commands(
                commands_for(catalogue, Role.MEMBER, language),
                scope=BotCommandScopeAllPrivateChats(),
                language_code=code,
            )
        grants: dict[int, tuple[Role, str]] = {}
        for grant in await services.roles.all():
            member = await services.members.by_id(grant.member_id)
            if member is not None and member.telegram_id is not None:
                grants[member.telegram_id] = (grant.role, member.language)
        for admin_id in services.config.bot.admins:
            member = await services.members.by_telegram_id(admin_id)
            grants[admin_id] = (Role.ADMIN, member.language if member else catalogue.default)
        for telegram_id, (role, language) in grants.items():
            await app.bot.set_my_commands(
                commands_for(catalogue, role, language), scope=BotCommandScopeChat(telegram_id)
            )
    except TelegramError as exc:
        # A chat the bot has not met yet cannot get a scoped menu; that is not fatal.
        log.warning("could not publish every command menu: %s", exc)


async def on_startup(app: BotApplication) -> None:
    services: Services = app.bot_data["services"]
    if services.config.units.file is not None:
        from bot.units import read_units_csv

        count = await services.units.upsert_many(read_units_csv(services.config.units.file))
        log.info("seeded %d units from %s", count, services.config.units.file)
    await publish_command_menus(app)


@dataclass
class Running:
    """What ``serve`` started, handed to ``ready``: the channels that run and their server."""

    services: Services
    routes: Routes
    messenger: ChannelMessenger
    telegram: BotApplication | None
    zalo: ZaloChannel | None
    web: WebServer | None


def _telegram_receiver(app: BotApplication) -> Callable[[Any], Awaitable[bool]]:
    async def receive(data: Any) -> bool:
        try:
            update = Update.de_json(data, app.bot)
        except (ValueError, TypeError, KeyError):
            return False
        if update is None:
            return False
        await app.update_queue.put(update)
        return True

    return receive


def _zalo_receiver(zalo: ZaloChannel) -> Callable[[Any], Awaitable[bool]]:
    async def receive(data: Any) -> bool:
        zalo.receive(parse_event(data))  # answered in its person's lane, after this returns
        return True

    return receive


async def serve(
    services: Services,
    *,
    stop: asyncio.Event | None = None,
    ready: Callable[[Running], Awaitable[None]] | None = None,
    poll_timeout: float = 10.0,
) -> None:
    """Run every channel the config enables (Telegram, Zalo or both, sharing the services, the
    journeys' routes and the messenger) until ``stop`` is set (or SIGINT/SIGTERM when ``stop``
    is None)."""
    config: Config = services.config
    stop = stop or _stop_on_signals()
    routes = build_routes()
    messenger = ChannelMessenger()
    routes.messenger = messenger
    routes.channels = frozenset(
        channel
        for channel, on in (
            (Channel.TELEGRAM, config.telegram.enabled),
            (Channel.ZALO, config.zalo.enabled),
        )
        if on
    )
    vault = FileVault()
    async with contextlib.AsyncExitStack() as stack:
        app: BotApplication | None = None
        if config.telegram.enabled:
            app = build_application(services, routes)
            app.bot_data["vault"] = vault
            await app.initialize()
            stack.push_async_callback(app.shutdown)
            telegram_bot = app.bot
            routes.links = BotLinks(telegram_username=telegram_bot.username)
            messenger.senders[Channel.TELEGRAM] = TelegramSender(
                telegram_bot,
                services.catalogue,
                services.member_service.role_of,
                services.member_service.mark_unreachable,
                vault,
            )
            vault.register(
                Channel.TELEGRAM,
                lambda file, limit: read_telegram_file(telegram_bot, file, limit),
            )
            await on_startup(app)
        zalo: ZaloChannel | None = None
        if config.zalo.enabled:
            zalo_api = ZaloBotApi(config.zalo.api_base_url, config.zalo.token)
            stack.push_async_callback(zalo_api.close)
            zalo = ZaloChannel(services, routes, zalo_api, vault, poll_timeout=poll_timeout)
            messenger.senders[Channel.ZALO] = zalo.sender
        server: WebServer | None = None
        if config.needs_web_server:
            server = WebServer(config.web, services.db, services.files)
            if app is not None and config.telegram.mode == "webhook":
                queue = app.update_queue
                server.add_webhook(
                    config.telegram.webhook.path,
                    TELEGRAM_SECRET_HEADER,
                    config.telegram.webhook.secret_token,
                    _telegram_receiver(app),
                    queue.qsize,
                )
            if zalo is not None and config.zalo.mode == "webhook":
                channel = zalo
                server.add_webhook(
                    config.zalo.webhook_path,
                    ZALO_SECRET_HEADER,
                    config.zalo.secret_token,
                    _zalo_receiver(channel),
                    lambda: channel.in_progress,
                )
            await server.start()
            stack.push_async_callback(server.stop)
        if app is not None:
            await app.start()
            stack.push_async_callback(app.stop)
            updater = app.updater
            assert updater is not None
            if config.telegram.mode == "webhook":
                webhook = config.telegram.webhook
                await app.bot.set_webhook(
                    webhook.url, secret_token=webhook.secret_token, allowed_updates=Update.ALL_TYPES
                )
            else:
                await updater.start_polling(
                    poll_interval=0.0, timeout=int(poll_timeout), allowed_updates=Update.ALL_TYPES
                )
                stack.push_async_callback(_stop_updater, updater)
        if zalo is not None:
            await zalo.start()
            stack.push_async_callback(zalo.stop)
        if app is not None:
            outboxes = await start_outboxes(app, services)
            stack.push_async_callback(outboxes.stop)
        else:
            # Announcements, reminders and notices stay in their outboxes (SQLite) until a
            # channel that delivers them runs.
            log.warning("Telegram is off: announcements, reminders and notices wait")
        running = ", ".join(sorted(channel.value for channel in routes.channels))
        log.info("Nhịp Cầu is running on %s", running)
        if ready is not None:
            await ready(Running(services, routes, messenger, app, zalo, server))
        await stop.wait()
        log.info("stopping")


async def _stop_updater(updater: Any) -> None:
    if updater.running:
        await updater.stop()


@dataclass
class Outboxes:
    """The senders that deliver outside a reply: broadcasts, scheduled messages and notices."""

    api: BulkBotApi
    broadcasts: BroadcastSender
    reminders: ReminderScheduler
    notices: NoticeSender

    async def stop(self) -> None:
        await self.notices.stop()
        await self.reminders.stop()
        await self.broadcasts.stop()
        await self.api.close()


async def start_outboxes(app: BotApplication, services: Services) -> Outboxes:
    """Broadcasts, reminders and notices pace themselves through one courier (Telegram's
    limit is per bot) and send through the bulk API, not PTB's rate-limited Bot, which would
    cap paid broadcasts at 30/s and hide 429s from them."""
    config = services.config
    courier = Courier(
        DeliverySettings(
            rate_per_second=config.broadcast.rate_per_second,
            per_chat_interval=config.broadcast.per_chat_interval_seconds,
        )
    )
    api = BulkBotApi(
        config.telegram.api_base_url,
        config.telegram.token,
        connections=courier.settings.concurrency + 2,
    )
    await api.start()

    broadcasts = BroadcastSender(
        services.broadcasts.repository,
        TelegramTransport(api, services.catalogue, paid=config.broadcast.paid),
        TelegramProgress(app.bot, services.catalogue, services.members.by_id, config.bot.tz),
        services.clock,
        courier,
        actor_of=services.member_service.actor_by_member_id,
    )
    services.broadcasts.sender = broadcasts
    reminders = ReminderScheduler(
        services.reminders,
        TelegramReminderTransport(
            api, services.catalogue, config.bot.tz, config.bot.hours_per_day, services.clock
        ),
        services.clock,
        courier,
    )
    services.reminders.scheduler = reminders
    services.activities.schedule_listeners.append(reminders.wake)
    notices = NoticeSender(
        NoticeRepository(services.db),
        TelegramNoticeTransport(api, services.catalogue, config.bot.tz),
        services.clock,
        courier,
    )
    services.activities.notice_listeners.append(notices.wake)
    services.privacy.erasure_listeners += [broadcasts.skip_member, reminders.skip_member]
    await broadcasts.start()
    await reminders.start()
    await notices.start()  # first pass: whatever was pending when the bot last stopped
    return Outboxes(api, broadcasts, reminders, notices)


def _stop_on_signals() -> asyncio.Event:
    event = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with suppress(NotImplementedError):
            loop.add_signal_handler(sig, event.set)
    return event
