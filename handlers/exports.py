"""Exports and statistics on Telegram (SPEC 2.6): ``/export`` picks kind → scope → format with
buttons and sends the file back as a document; ``/stats`` shows per-unit figures, a ranking and
a chart. Every press re-checks the role and the unit through the services."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from datetime import date
from pathlib import Path

from telegram import Bot, InputFile, Update
from telegram.error import TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, filters

from bot.domain.errors import InvalidInput, NotAllowed
from bot.domain.members import Actor
from bot.exports import (
    SCOPES,
    ExportFormat,
    ExportKind,
    ExportRequest,
    ExportResult,
    ExportScope,
    ScopeKind,
    parse_date_range,
)
from bot.figures import format_figure, format_percent
from bot.flows import FlowState
from bot.i18n import Catalogue
from bot.services import Services
from bot.stats import TOP_UNITS, ChartLabels, PeriodKind, StatsReport, chart_png, number
from handlers import callbacks
from handlers.context import BotContext
from handlers.router import Router
from handlers.ui import answer, edit_or_send, inline, page_row, say

log = logging.getLogger(__name__)

FLOW = "export"
UNITS_PER_PAGE = 8
UPLOAD_TIMEOUT = 300  # seconds for a large document


async def _exporter(update: Update, context: BotContext) -> Actor | None:
    actor = await context.actor(update)
    if context.services.exports.may_export(actor):
        return actor
    if update.callback_query:
        await answer(update, context, "access.denied", alert=True)
    else:
        await say(update, context, "access.denied")
    return None


# --- /export ----------------------------------------------------------------------------------


async def start_export(update: Update, context: BotContext) -> None:
    actor = await _exporter(update, context)
    user = update.effective_user
    if actor is None or user is None:
        return
    await context.services.flows.start(user.id, FLOW, "kind")
    rows = [
        [
            (
                await context.label(update, f"exports.kind.{kind.value}"),
                callbacks.pack("ex", "k", kind),
            )
        ]
        for kind in ExportKind
    ]
    await say(update, context, "exports.pick_kind", reply_markup=inline(rows))


async def _ask_scope(update: Update, context: BotContext, actor: Actor, kind: ExportKind) -> None:
    rows = []
    for scope in SCOPES[kind]:
        if scope is ScopeKind.UNIT and not actor.is_admin:
            continue  # a cadre's "all" is their unit already
        key = (
            "exports.scope.my_unit"
            if scope is ScopeKind.ALL and not actor.is_admin
            else (f"exports.scope.{scope.value}")
        )
        rows.append([(await context.label(update, key), callbacks.pack("ex", "s", scope))])
    await edit_or_send(
        update,
        context,
        "exports.pick_scope",
        reply_markup=inline(rows),
        kind=await context.label(update, f"exports.kind.{kind.value}"),
    )


async def _ask_format(update: Update, context: BotContext) -> None:
    rows = [
        [
            (await context.label(update, "exports.format.xlsx"), callbacks.pack("ex", "f", "xlsx")),
            (await context.label(update, "exports.format.csv"), callbacks.pack("ex", "f", "csv")),
        ]
    ]
    await edit_or_send(update, context, "exports.pick_format", reply_markup=inline(rows))


async def _show_units(update: Update, context: BotContext, page: int) -> None:
    units = await context.services.units.all()
    pages = max(1, -(-len(units) // UNITS_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    rows = [
        [(f"{u.code} — {u.name}", callbacks.pack("ex", "u", u.id))]
        for u in units[page * UNITS_PER_PAGE : (page + 1) * UNITS_PER_PAGE]
    ]
    nav = await page_row(update, context, page, pages, lambda n: callbacks.pack("ex", "up", n))
    if nav:
        rows.append(nav)
    await edit_or_send(update, context, "exports.pick_unit", reply_markup=inline(rows))


def _scope_of(state: FlowState) -> ExportScope:
    data = state.data
    return ExportScope(
        activity_id=data.get("activity_id"),
        campaign_id=data.get("campaign_id"),
        unit_id=data.get("unit_id"),
        date_from=date.fromisoformat(data["from"]) if data.get("from") else None,
        date_to=date.fromisoformat(data["to"]) if data.get("to") else None,
    )


async def _choose_scope(
    update: Update, context: BotContext, actor: Actor, state: FlowState, **scope: object
) -> None:
    """Check the chosen scope now (a forged press is refused here) and again when running."""
    user = update.effective_user
    assert user is not None
    kind = ExportKind(state.data["kind"])
    moved = FlowState(state.flow, state.step, {**state.data, **scope})
    try:
        await context.services.exports.check(actor, kind, _scope_of(moved))
    except NotAllowed:
        await edit_or_send(update, context, "exports.not_allowed")
        return
    except InvalidInput as exc:
        await edit_or_send(update, context, exc.key, **exc.params)
        return
    await context.services.flows.move(user.id, state, "format", **scope)
    await _ask_format(update, context)


async def on_dates(update: Update, context: BotContext, state: FlowState) -> None:
    message = update.effective_message
    actor = await _exporter(update, context)
    if message is None or message.text is None or actor is None:
        return
    try:
        date_from, date_to = parse_date_range(message.text)
    except InvalidInput as exc:
        await say(update, context, exc.key, **exc.params)
        return
    await _choose_scope(
        update, context, actor, state, **{"from": date_from.isoformat(), "to": date_to.isoformat()}
    )


async def on_export_callback(update: Update, context: BotContext) -> None:
    parsed = callbacks.parse(update.callback_query.data if update.callback_query else None)
    user = update.effective_user
    actor = await _exporter(update, context)
    if actor is None or user is None:
        return
    services = context.services
    state = await services.flows.get(user.id)
    if parsed is None or state is None or state.flow != FLOW:
        await answer(update, context, "common.button_expired")
        return
    await answer(update, context)
    action, step = parsed.action, state.step
    if action == "k" and step == "kind" and parsed.arg() in set(ExportKind):
        kind = ExportKind(str(parsed.arg()))
        await services.flows.start(user.id, FLOW, "scope", kind=kind.value)
        await _ask_scope(update, context, actor, kind)
    elif action == "s" and step == "scope" and parsed.arg() in set(ScopeKind):
        await _on_scope_kind(update, context, actor, state, ScopeKind(str(parsed.arg())))
    elif action == "a" and step == "activity" and parsed.int_arg() is not None:
        await _choose_scope(update, context, actor, state, activity_id=parsed.int_arg())
    elif action == "c" and step == "campaign" and parsed.int_arg() is not None:
        await _choose_scope(update, context, actor, state, campaign_id=parsed.int_arg())
    elif action == "u" and step == "unit" and parsed.int_arg() is not None:
        await _choose_scope(update, context, actor, state, unit_id=parsed.int_arg())
    elif action == "up" and step == "unit":
        await _show_units(update, context, parsed.int_arg() or 0)
    elif action == "f" and step == "format" and parsed.arg() in set(ExportFormat):
        await services.flows.clear(user.id)  # a second tap finds no flow: no double export
        await _start_run(update, context, actor, state, ExportFormat(str(parsed.arg())))
    else:
        await say(update, context, "common.button_expired")


async def _on_scope_kind(
    update: Update, context: BotContext, actor: Actor, state: FlowState, scope: ScopeKind
) -> None:
    user = update.effective_user
    assert user is not None
    services = context.services
    kind = ExportKind(state.data["kind"])
    if scope not in SCOPES[kind]:
        await say(update, context, "exports.scope_unsupported")
    elif scope is ScopeKind.ALL:
        await _choose_scope(update, context, actor, state)
    elif scope is ScopeKind.ACTIVITY:
        choices = await services.exports.activities_to_pick(actor)
        if not choices:
            await edit_or_send(update, context, "exports.no_activities")
            return
        await services.flows.move(user.id, state, "activity")
        rows = [[(title[:60], callbacks.pack("ex", "a", i))] for i, title in choices]
        await edit_or_send(update, context, "exports.pick_activity", reply_markup=inline(rows))
    elif scope is ScopeKind.CAMPAIGN:
        choices = await services.exports.campaigns_to_pick(actor)
        if not choices:
            await edit_or_send(update, context, "exports.no_campaigns")
            return
        await services.flows.move(user.id, state, "campaign")
        rows = [[(title[:60], callbacks.pack("ex", "c", i))] for i, title in choices]
        await edit_or_send(update, context, "exports.pick_campaign", reply_markup=inline(rows))
    elif scope is ScopeKind.UNIT:
        if not actor.is_admin:
            await edit_or_send(update, context, "exports.not_allowed")
            return
        await services.flows.move(user.id, state, "unit")
        await _show_units(update, context, 0)
    else:
        await services.flows.move(user.id, state, "dates")
        await edit_or_send(update, context, "exports.ask_dates")


async def _start_run(
    update: Update, context: BotContext, actor: Actor, state: FlowState, fmt: ExportFormat
) -> None:
    chat = update.effective_chat
    assert chat is not None
    services = context.services
    language = await context.language(update)
    request = ExportRequest(ExportKind(state.data["kind"]), _scope_of(state), fmt, language)
    key = "exports.queued" if services.exports.busy(actor) else "exports.working"
    await edit_or_send(update, context, key)
    # A long export runs beside the person's lane, not in it: their next taps are answered.
    context.application.create_task(
        run_export(context.bot, services, actor, request, chat.id),
        name=f"export-{actor.actor_id}",
    )


async def run_export(
    bot: Bot, services: Services, actor: Actor, request: ExportRequest, chat_id: int
) -> None:
    catalogue = services.catalogue
    language = request.language
    try:
        with tempfile.TemporaryDirectory(prefix="nhipcau-export-") as folder:
            result = await services.exports.run(actor, request, Path(folder))
            await _send_result(bot, catalogue, language, chat_id, result)
    except NotAllowed:
        await bot.send_message(chat_id, catalogue.text(language, "exports.not_allowed"))
    except InvalidInput as exc:
        await bot.send_message(chat_id, catalogue.text(language, exc.key, **exc.params))
    except TelegramError:
        log.exception("sending an export failed")
        await bot.send_message(chat_id, catalogue.text(language, "exports.failed"))
    except Exception:
        log.exception("an export failed")
        await bot.send_message(chat_id, catalogue.text(language, "exports.failed"))


async def _send_result(
    bot: Bot, catalogue: Catalogue, language: str, chat_id: int, result: ExportResult
) -> None:
    caption = catalogue.text(
        language, "exports.done", rows=number(result.rows, language, 0), scope=result.scope_text
    )
    if result.empty:
        caption += "\n" + catalogue.text(language, "exports.done_empty")
    if result.packing == "zip":
        caption += "\n" + catalogue.text(language, "exports.packed_zip", name=result.filename)
    elif result.packing == "split":
        caption += "\n" + catalogue.text(
            language, "exports.packed_split", name=result.filename, parts=len(result.files)
        )
    for index, path in enumerate(result.files, start=1):
        text = (
            caption
            if index == 1
            else catalogue.text(language, "exports.part", part=index, parts=len(result.files))
        )
        with path.open("rb") as handle:
            await bot.send_document(
                chat_id,
                InputFile(handle, filename=path.name),
                caption=text,
                write_timeout=UPLOAD_TIMEOUT,
                read_timeout=UPLOAD_TIMEOUT,
            )


# --- /stats -----------------------------------------------------------------------------------


async def start_stats(update: Update, context: BotContext) -> None:
    actor = await context.actor(update)
    if not context.services.stats.may_see(actor):
        await say(update, context, "access.denied")
        return
    rows = [
        [
            (await context.label(update, "stats.period.month"), callbacks.pack("sx", "p", "month")),
            (await context.label(update, "stats.period.year"), callbacks.pack("sx", "p", "year")),
        ],
        [(await context.label(update, "stats.period.campaign"), callbacks.pack("sx", "cl"))],
    ]
    await say(update, context, "stats.pick_period", reply_markup=inline(rows))


async def on_stats_callback(update: Update, context: BotContext) -> None:
    parsed = callbacks.parse(update.callback_query.data if update.callback_query else None)
    actor = await context.actor(update)
    stats = context.services.stats
    if not stats.may_see(actor):
        await answer(update, context, "access.denied", alert=True)
        return
    if parsed is None:
        await answer(update, context, "common.button_expired")
        return
    await answer(update, context)
    try:
        if parsed.action == "cl":
            choices = await stats.campaigns_to_pick(actor)
            if not choices:
                await edit_or_send(update, context, "stats.no_campaigns")
                return
            rows = [[(name[:60], callbacks.pack("sx", "c", i))] for i, name in choices]
            await edit_or_send(update, context, "stats.pick_campaign", reply_markup=inline(rows))
            return
        if parsed.action == "p" and parsed.arg() in ("month", "year"):
            report = await stats.report(actor, PeriodKind(str(parsed.arg())))
        elif parsed.action == "c" and parsed.int_arg() is not None:
            report = await stats.report(actor, PeriodKind.CAMPAIGN, parsed.int_arg())
        else:
            await say(update, context, "common.button_expired")
            return
    except NotAllowed:
        await edit_or_send(update, context, "exports.not_allowed")
        return
    except InvalidInput as exc:
        await edit_or_send(update, context, exc.key, **exc.params)
        return
    await _send_report(update, context, report)


def _period_text(catalogue: Catalogue, language: str, report: StatsReport) -> str:
    period = report.period
    if period.kind is PeriodKind.CAMPAIGN:
        return catalogue.plain(language, "stats.period_campaign", name=period.campaign_name or "")
    if period.kind is PeriodKind.MONTH:
        return catalogue.plain(
            language, "stats.period_month", month=period.first_day.month, year=period.first_day.year
        )
    return catalogue.plain(language, "stats.period_year", year=period.first_day.year)


def render_report(catalogue: Catalogue, language: str, report: StatsReport) -> str:
    """The short message: the bloc in one paragraph, then the ranking with the units not
    ranked (admin) or the unit against the bloc average (cadre), then how shares are counted."""

    def count(value: int) -> str:
        return number(value, language, 0)

    def figure(value: float) -> str:
        return format_figure(value, language)

    def pct(value: float | None) -> str:
        return format_percent(value, language)

    bloc, total = report.bloc, report.bloc.figures
    lines = [
        catalogue.text(language, "stats.title", period=_period_text(catalogue, language, report)),
        catalogue.text(
            language,
            "stats.bloc",
            units=count(bloc.units),
            participants=count(total.participants),
            members=count(total.members),
            participation=pct(total.participation),
            attended=count(total.attended),
            registrations=count(total.registrations),
            attendance=pct(total.attendance_rate),
            hours=figure(total.hours),
            days=figure(total.person_days),
            days_per_member=figure(total.person_days_per_member),
            submitted=count(total.initiatives_submitted),
            accepted=count(total.initiatives_accepted),
            recognised=count(total.initiatives_recognised),
        ),
        "",
    ]
    focus = report.focus
    if focus is None:
        lines.append(catalogue.text(language, "stats.ranking_title"))
        for rank, unit in enumerate(report.ranking[:TOP_UNITS], start=1):
            f = unit.figures
            lines.append(
                catalogue.text(
                    language,
                    "stats.rank_line",
                    rank=rank,
                    code=unit.code,
                    name=unit.name,
                    participation=pct(f.participation),
                    participants=count(f.participants),
                    members=count(f.members),
                    days_per_member=figure(f.person_days_per_member),
                    days=figure(f.person_days),
                    attended=count(f.attended),
                )
            )
        if not report.ranking:
            lines.append(catalogue.text(language, "stats.ranking_empty"))
        if len(report.ranking) > TOP_UNITS:
            lines.append(
                catalogue.text(
                    language, "stats.ranking_more", count=len(report.ranking) - TOP_UNITS
                )
            )
        if report.unranked:
            lines.append(
                catalogue.text(
                    language,
                    "stats.unranked",
                    count=len(report.unranked),
                    codes=", ".join(u.code for u in report.unranked),
                )
            )
    else:
        f = focus.figures
        if report.focus_rank is None:
            lines.append(
                catalogue.text(
                    language, "stats.unit_title_unranked", code=focus.code, name=focus.name
                )
            )
        else:
            lines.append(
                catalogue.text(
                    language,
                    "stats.unit_title",
                    code=focus.code,
                    name=focus.name,
                    rank=report.focus_rank,
                    units=count(bloc.units),
                )
            )
        average = bloc.average
        rows: list[tuple[str, str, str]] = [
            ("members", count(f.members), figure(average(total.members))),
            ("participants", count(f.participants), figure(average(total.participants))),
            ("participation", pct(f.participation), pct(total.participation)),
            ("attended", count(f.attended), figure(average(total.attended))),
            ("registrations", count(f.registrations), figure(average(total.registrations))),
            ("attendance", pct(f.attendance_rate), pct(total.attendance_rate)),
            ("hours", figure(f.hours), figure(bloc.average_hours)),
            ("days", figure(f.person_days), figure(bloc.average_person_days)),
            (
                "days_per_member",
                figure(f.person_days_per_member),
                figure(total.person_days_per_member),
            ),
            (
                "submitted",
                count(f.initiatives_submitted),
                figure(average(total.initiatives_submitted)),
            ),
            (
                "accepted",
                count(f.initiatives_accepted),
                figure(average(total.initiatives_accepted)),
            ),
            (
                "recognised",
                count(f.initiatives_recognised),
                figure(average(total.initiatives_recognised)),
            ),
        ]
        for metric, value, avg in rows:
            lines.append(
                catalogue.text(
                    language,
                    "stats.unit_row",
                    label=catalogue.plain(language, f"stats.metric.{metric}"),
                    value=value,
                    average=avg,
                )
            )
    lines += ["", catalogue.text(language, "stats.how_counted")]
    return "\n".join(lines)


async def _send_report(update: Update, context: BotContext, report: StatsReport) -> None:
    chat = update.effective_chat
    assert chat is not None
    catalogue = context.services.catalogue
    language = await context.language(update)
    await edit_or_send(update, context, "stats.ready")
    await context.bot.send_message(chat.id, render_report(catalogue, language, report))
    if not report.ranking and report.focus is None:
        return  # no unit to draw
    period = _period_text(catalogue, language, report)
    labels = ChartLabels(
        title=catalogue.plain(language, "stats.chart_title", period=period),
        axis=catalogue.plain(language, "stats.chart_axis"),
        average=catalogue.plain(language, "stats.chart_average"),
        bar=catalogue.raw(language, "stats.chart_bar"),
    )
    png = await asyncio.to_thread(chart_png, report, labels, language)
    await context.bot.send_photo(
        chat.id,
        InputFile(png, filename="thong-ke.png"),
        caption=catalogue.text(language, "stats.chart_caption", period=period),
    )


def register(app: Application, router: Router) -> None:  # type: ignore[type-arg]
    private = filters.ChatType.PRIVATE
    app.add_handler(CommandHandler("export", start_export, filters=private))
    app.add_handler(CommandHandler("stats", start_stats, filters=private))
    app.add_handler(CallbackQueryHandler(on_export_callback, pattern=r"^ex:"))
    app.add_handler(CallbackQueryHandler(on_stats_callback, pattern=r"^sx:"))
    router.text_steps[(FLOW, "dates")] = on_dates
