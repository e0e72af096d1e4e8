"""Exports and statistics (SPEC 2.6), for every channel: ``/export`` picks kind → scope →
format and hands the file over as a document made for the asker; ``/stats`` shows per-unit
figures, a ranking and a chart. Every press re-checks the role and the unit through the
services."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from datetime import date
from pathlib import Path

from bot.domain.errors import InvalidInput, NotAllowed
from bot.domain.members import Actor, FlowState
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
from bot.i18n import Catalogue
from bot.stats import TOP_UNITS, ChartLabels, PeriodKind, StatsReport, chart_png, number
from handlers import callbacks
from handlers.dialog import Attachment, Button, Reply, Turn, Unreachable
from handlers.dispatch import Routes

log = logging.getLogger(__name__)

FLOW = "export"
UNITS_PER_PAGE = 8
MIME_TYPES = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".csv": "text/csv",
    ".zip": "application/zip",
}
# Exports running beside their asker's lane (kept referenced until they end).
_RUNNING: set[asyncio.Task[None]] = set()


async def _exporter(turn: Turn) -> Actor | None:
    actor = await turn.actor()
    if turn.services.exports.may_export(actor):
        return actor
    await turn.refuse("access.denied")
    return None


# --- /export ----------------------------------------------------------------------------------


async def start_export(turn: Turn) -> None:
    if await _exporter(turn) is None:
        return
    await turn.services.flows.start(turn.person, FLOW, "kind")
    rows = [
        [await turn.button(f"exports.kind.{kind.value}", callbacks.pack("ex", "k", kind))]
        for kind in ExportKind
    ]
    await turn.say("exports.pick_kind", buttons=rows)


async def _ask_scope(turn: Turn, actor: Actor, kind: ExportKind) -> None:
    rows: list[list[Button]] = []
    for scope in SCOPES[kind]:
        if scope is ScopeKind.UNIT and not actor.is_admin:
            continue  # a cadre's "all" is their unit already
        key = (
            "exports.scope.my_unit"
            if scope is ScopeKind.ALL and not actor.is_admin
            else (f"exports.scope.{scope.value}")
        )
        rows.append([await turn.button(key, callbacks.pack("ex", "s", scope))])
    await turn.show(
        "exports.pick_scope", buttons=rows, kind=await turn.label(f"exports.kind.{kind.value}")
    )


async def _ask_format(turn: Turn) -> None:
    rows = [
        [
            await turn.button("exports.format.xlsx", callbacks.pack("ex", "f", "xlsx")),
            await turn.button("exports.format.csv", callbacks.pack("ex", "f", "csv")),
        ]
    ]
    await turn.show("exports.pick_format", buttons=rows)


async def _show_units(turn: Turn, page: int) -> None:
    units = await turn.services.units.all()
    pages = max(1, -(-len(units) // UNITS_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    rows = [
        [Button(f"{u.code} — {u.name}", callbacks.pack("ex", "u", u.id))]
        for u in units[page * UNITS_PER_PAGE : (page + 1) * UNITS_PER_PAGE]
    ]
    nav = await turn.page_row(page, pages, lambda n: callbacks.pack("ex", "up", n))
    if nav:
        rows.append(nav)
    await turn.show("exports.pick_unit", buttons=rows)


def _scope_of(state: FlowState) -> ExportScope:
    data = state.data
    return ExportScope(
        activity_id=data.get("activity_id"),
        campaign_id=data.get("campaign_id"),
        unit_id=data.get("unit_id"),
        date_from=date.fromisoformat(data["from"]) if data.get("from") else None,
        date_to=date.fromisoformat(data["to"]) if data.get("to") else None,
    )


async def _choose_scope(turn: Turn, actor: Actor, state: FlowState, **scope: object) -> None:
    """Check the chosen scope now (a forged press is refused here) and again when running."""
    kind = ExportKind(state.data["kind"])
    moved = FlowState(state.flow, state.step, {**state.data, **scope})
    try:
        await turn.services.exports.check(actor, kind, _scope_of(moved))
    except NotAllowed:
        await turn.show("exports.not_allowed")
        return
    except InvalidInput as exc:
        await turn.show(exc.key, **exc.params)
        return
    await turn.services.flows.move(turn.person, state, "format", **scope)
    await _ask_format(turn)


async def on_dates(turn: Turn, state: FlowState) -> None:
    actor = await _exporter(turn)
    if actor is None:
        return
    try:
        date_from, date_to = parse_date_range(turn.typed or "")
    except InvalidInput as exc:
        await turn.say(exc.key, **exc.params)
        return
    dates = {"from": date_from.isoformat(), "to": date_to.isoformat()}
    await _choose_scope(turn, actor, state, **dates)


async def on_export_press(turn: Turn) -> None:
    parsed = turn.pressed
    actor = await _exporter(turn)
    if actor is None:
        return
    services = turn.services
    state = await services.flows.get(turn.person)
    if parsed is None or state is None or state.flow != FLOW:
        await turn.answer("common.button_expired")
        return
    await turn.answer()
    action, step = parsed.action, state.step
    if action == "k" and step == "kind" and parsed.arg() in set(ExportKind):
        kind = ExportKind(str(parsed.arg()))
        await services.flows.start(turn.person, FLOW, "scope", kind=kind.value)
        await _ask_scope(turn, actor, kind)
    elif action == "s" and step == "scope" and parsed.arg() in set(ScopeKind):
        await _on_scope_kind(turn, actor, state, ScopeKind(str(parsed.arg())))
    elif action == "a" and step == "activity" and parsed.int_arg() is not None:
        await _choose_scope(turn, actor, state, activity_id=parsed.int_arg())
    elif action == "c" and step == "campaign" and parsed.int_arg() is not None:
        await _choose_scope(turn, actor, state, campaign_id=parsed.int_arg())
    elif action == "u" and step == "unit" and parsed.int_arg() is not None:
        await _choose_scope(turn, actor, state, unit_id=parsed.int_arg())
    elif action == "up" and step == "unit":
        await _show_units(turn, parsed.int_arg() or 0)
    elif action == "f" and step == "format" and parsed.arg() in set(ExportFormat):
        await services.flows.clear(turn.person)  # a second tap finds no flow: no double export
        await _start_run(turn, actor, state, ExportFormat(str(parsed.arg())))
    else:
        await turn.say("common.button_expired")


async def _on_scope_kind(turn: Turn, actor: Actor, state: FlowState, scope: ScopeKind) -> None:
    services = turn.services
    kind = ExportKind(state.data["kind"])
    if scope not in SCOPES[kind]:
        await turn.say("exports.scope_unsupported")
    elif scope is ScopeKind.ALL:
        await _choose_scope(turn, actor, state)
    elif scope is ScopeKind.ACTIVITY:
        choices = await services.exports.activities_to_pick(actor)
        if not choices:
            await turn.show("exports.no_activities")
            return
        await services.flows.move(turn.person, state, "activity")
        rows = [[Button(title[:60], callbacks.pack("ex", "a", i))] for i, title in choices]
        await turn.show("exports.pick_activity", buttons=rows)
    elif scope is ScopeKind.CAMPAIGN:
        choices = await services.exports.campaigns_to_pick(actor)
        if not choices:
            await turn.show("exports.no_campaigns")
            return
        await services.flows.move(turn.person, state, "campaign")
        rows = [[Button(title[:60], callbacks.pack("ex", "c", i))] for i, title in choices]
        await turn.show("exports.pick_campaign", buttons=rows)
    elif scope is ScopeKind.UNIT:
        if not actor.is_admin:
            await turn.show("exports.not_allowed")
            return
        await services.flows.move(turn.person, state, "unit")
        await _show_units(turn, 0)
    else:
        await services.flows.move(turn.person, state, "dates")
        await turn.show("exports.ask_dates")


async def _start_run(turn: Turn, actor: Actor, state: FlowState, fmt: ExportFormat) -> None:
    services = turn.services
    language = await turn.language()
    request = ExportRequest(ExportKind(state.data["kind"]), _scope_of(state), fmt, language)
    await turn.show("exports.queued" if services.exports.busy(actor) else "exports.working")
    # A long export runs beside the person's lane, not in it: their next taps are answered.
    task = asyncio.create_task(run_export(turn, actor, request), name=f"export-{actor.actor_id}")
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)


async def run_export(turn: Turn, actor: Actor, request: ExportRequest) -> None:
    """Make the file and hand it over in the asker's chat (after their turn has ended)."""
    services = turn.services
    catalogue = services.catalogue
    language = request.language
    try:
        with tempfile.TemporaryDirectory(prefix="nhipcau-export-") as folder:
            result = await services.exports.run(actor, request, Path(folder))
            for reply in result_replies(catalogue, language, result, actor.member_id):
                await turn.send(reply)
        return
    except NotAllowed:
        failure = catalogue.text(language, "exports.not_allowed")
    except InvalidInput as exc:
        failure = catalogue.text(language, exc.key, **exc.params)
    except Unreachable:
        log.info("the asker of an export cannot be reached any more")
        await services.member_service.mark_unreachable(turn.person)
        return
    except Exception:
        log.exception("an export failed")
        failure = catalogue.text(language, "exports.failed")
    try:
        await turn.send(Reply(failure))
    except Exception:
        log.warning("could not say that an export failed")


def result_replies(
    catalogue: Catalogue, language: str, result: ExportResult, for_member: int | None
) -> list[Reply]:
    """The export's files as documents made for the asker: the first with what it holds and
    how it was packed, the others numbered."""
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
    replies = []
    for index, path in enumerate(result.files, start=1):
        text = (
            caption
            if index == 1
            else catalogue.text(language, "exports.part", part=index, parts=len(result.files))
        )
        document = Attachment(
            path.name, path=path, mime=MIME_TYPES.get(path.suffix), for_member=for_member
        )
        replies.append(Reply(text, document=document))
    return replies


# --- /stats -----------------------------------------------------------------------------------


async def start_stats(turn: Turn) -> None:
    actor = await turn.actor()
    if not turn.services.stats.may_see(actor):
        await turn.say("access.denied")
        return
    rows = [
        [
            await turn.button("stats.period.month", callbacks.pack("sx", "p", "month")),
            await turn.button("stats.period.year", callbacks.pack("sx", "p", "year")),
        ],
        [await turn.button("stats.period.campaign", callbacks.pack("sx", "cl"))],
    ]
    await turn.say("stats.pick_period", buttons=rows)


async def on_stats_press(turn: Turn) -> None:
    parsed = turn.pressed
    actor = await turn.actor()
    stats = turn.services.stats
    if not stats.may_see(actor):
        await turn.answer("access.denied", alert=True)
        return
    if parsed is None:
        await turn.answer("common.button_expired")
        return
    await turn.answer()
    try:
        if parsed.action == "cl":
            choices = await stats.campaigns_to_pick(actor)
            if not choices:
                await turn.show("stats.no_campaigns")
                return
            rows = [[Button(name[:60], callbacks.pack("sx", "c", i))] for i, name in choices]
            await turn.show("stats.pick_campaign", buttons=rows)
            return
        if parsed.action == "p" and parsed.arg() in ("month", "year"):
            report = await stats.report(actor, PeriodKind(str(parsed.arg())))
        elif parsed.action == "c" and parsed.int_arg() is not None:
            report = await stats.report(actor, PeriodKind.CAMPAIGN, parsed.int_arg())
        else:
            await turn.say("common.button_expired")
            return
    except NotAllowed:
        await turn.show("exports.not_allowed")
        return
    except InvalidInput as exc:
        await turn.show(exc.key, **exc.params)
        return
    await _send_report(turn, actor, report)


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


async def _send_report(turn: Turn, actor: Actor, report: StatsReport) -> None:
    catalogue = turn.services.catalogue
    language = await turn.language()
    await turn.show("stats.ready")
    await turn.send(Reply(render_report(catalogue, language, report)))
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
    chart = Attachment("thong-ke.png", content=png, mime="image/png", for_member=actor.member_id)
    await turn.photo(chart, "stats.chart_caption", period=period)


def register(routes: Routes) -> None:
    routes.commands["export"] = start_export
    routes.commands["stats"] = start_stats
    routes.actions["ex"] = on_export_press
    routes.actions["sx"] = on_stats_press
    routes.text_steps[(FLOW, "dates")] = on_dates
    routes.flows.add(FLOW)
