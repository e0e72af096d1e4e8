"""Statistics (SPEC 2.6): per-unit participation, hours and initiatives for a period or a
campaign, a ranking for end-of-campaign recognition, and a bar chart of the top units.

Knows nothing of Telegram: the handler renders the report from the catalogue.
"""

from __future__ import annotations

import enum
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal

from bot.clock import Clock
from bot.domain.errors import InvalidInput, NotAllowed
from bot.domain.members import Actor
from bot.domain.stats import UnitFigures
from storage.exports import ExportRepository
from storage.stats import StatsRepository

TOP_UNITS = 10


class PeriodKind(enum.StrEnum):
    MONTH = "month"
    YEAR = "year"
    CAMPAIGN = "campaign"


@dataclass(frozen=True, slots=True)
class Period:
    kind: PeriodKind
    start: datetime  # aware, inclusive
    end: datetime  # aware, exclusive
    first_day: date
    campaign_id: int | None = None
    campaign_name: str | None = None


@dataclass(frozen=True, slots=True)
class UnitStats:
    figures: UnitFigures
    person_days: float

    @property
    def participation(self) -> float:
        """Share of the unit's members who registered for something in the period."""
        f = self.figures
        return f.active_members / f.members if f.members else 0.0

    @property
    def attendance_rate(self) -> float | None:
        """Attended / confirmed, over activities that have already ended."""
        f = self.figures
        return f.attended / f.ended_registrations if f.ended_registrations else None


@dataclass(frozen=True, slots=True)
class BlocFigures:
    """The whole bloc: totals, and the average unit (totals / units with members)."""

    units: int
    members: int
    active_members: int
    registrations: int
    attended: int
    ended_registrations: int
    hours: float
    person_days: float
    initiatives_submitted: int
    initiatives_accepted: int

    def average(self, total: float) -> float:
        return total / self.units if self.units else 0.0

    @property
    def participation(self) -> float:
        return self.active_members / self.members if self.members else 0.0

    @property
    def attendance_rate(self) -> float | None:
        return self.attended / self.ended_registrations if self.ended_registrations else None


@dataclass(frozen=True, slots=True)
class StatsReport:
    period: Period
    ranking: list[UnitStats]  # best first
    bloc: BlocFigures
    focus: UnitStats | None = None  # a cadre's own unit
    focus_rank: int | None = None  # 1-based

    def rank_of(self, unit_id: int) -> int | None:
        for index, unit in enumerate(self.ranking, start=1):
            if unit.figures.unit_id == unit_id:
                return index
        return None


@dataclass(frozen=True, slots=True)
class ChartLabels:
    title: str
    axis: str  # x axis: participation, %
    average: str  # the bloc-average bar
    person_days: str  # annotation format with {value}


def number(value: float, language: str, digits: int = 1) -> str:
    """Vietnamese writes 1.234,5; English 1,234.5."""
    pattern = "#,##0" + ("." + "#" * digits if digits else "")
    return str(format_decimal(value, format=pattern, locale="vi" if language == "vi" else "en"))


def percent(value: float | None, language: str) -> str:
    return "—" if value is None else number(value * 100, language) + "%"


def _rank_key(unit: UnitStats) -> tuple[float, float, int, str]:
    # Recognition favours how much of a unit takes part (fair to small and large units alike),
    # then the work done (ngày công), then accepted initiatives.
    return (
        -unit.participation,
        -unit.person_days,
        -unit.figures.initiatives_accepted,
        unit.figures.code,
    )


class StatsService:
    def __init__(
        self,
        repository: StatsRepository,
        exports: ExportRepository,
        clock: Clock,
        *,
        tz: ZoneInfo,
        hours_per_day: float,
    ) -> None:
        self._repo = repository
        self._exports = exports
        self._clock = clock
        self._tz = tz
        self._hours_per_day = hours_per_day

    @staticmethod
    def may_see(actor: Actor) -> bool:
        return actor.is_admin or (actor.is_cadre and actor.cadre_unit_id is not None)

    async def campaigns_to_pick(self, actor: Actor) -> list[tuple[int, str]]:
        if not self.may_see(actor):
            raise NotAllowed()
        unit = None if actor.is_admin else actor.cadre_unit_id
        return [(c.id, c.title) for c in await self._exports.recent_campaigns(unit, 20)]

    async def period(self, kind: PeriodKind, campaign_id: int | None = None) -> Period:
        today = self._clock.now().astimezone(self._tz).date()
        if kind is PeriodKind.CAMPAIGN:
            if campaign_id is None:
                raise InvalidInput("stats.campaign_missing")
            found = await self._repo.campaign_dates(campaign_id)
            if found is None:
                raise InvalidInput("stats.campaign_missing")
            name, starts_on, ends_on = found
            first = date.fromisoformat(starts_on)
            after = date.fromisoformat(ends_on) + timedelta(days=1)
            return Period(
                kind, self._midnight(first), self._midnight(after), first, campaign_id, name
            )
        if kind is PeriodKind.MONTH:
            first = today.replace(day=1)
            after = (first + timedelta(days=32)).replace(day=1)
        else:
            first = today.replace(month=1, day=1)
            after = first.replace(year=first.year + 1)
        return Period(kind, self._midnight(first), self._midnight(after), first)

    def _midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(), self._tz)

    async def report(
        self, actor: Actor, kind: PeriodKind, campaign_id: int | None = None
    ) -> StatsReport:
        """Admins see every unit; a cadre sees their unit against the bloc (the ranking is
        computed over all units so that their rank is real, but only their line is shown)."""
        if not self.may_see(actor):
            raise NotAllowed()
        if kind is PeriodKind.CAMPAIGN and campaign_id is not None and not actor.is_admin:
            campaign = await self._exports.campaign(campaign_id)
            if campaign is not None and campaign[1] not in (None, actor.cadre_unit_id):
                raise NotAllowed()
        period = await self.period(kind, campaign_id)
        figures = await self._repo.per_unit(
            period.start, period.end, self._clock.now(), period.campaign_id
        )
        units = [UnitStats(f, f.hours / self._hours_per_day) for f in figures]
        ranking = sorted(units, key=_rank_key)
        counted = [u for u in units if u.figures.members > 0]
        bloc = BlocFigures(
            units=len(counted),
            members=sum(u.figures.members for u in units),
            active_members=sum(u.figures.active_members for u in units),
            registrations=sum(u.figures.registrations for u in units),
            attended=sum(u.figures.attended for u in units),
            ended_registrations=sum(u.figures.ended_registrations for u in units),
            hours=sum(u.figures.hours for u in units),
            person_days=sum(u.person_days for u in units),
            initiatives_submitted=sum(u.figures.initiatives_submitted for u in units),
            initiatives_accepted=sum(u.figures.initiatives_accepted for u in units),
        )
        report = StatsReport(period, ranking, bloc)
        if not actor.is_admin:
            focus = next((u for u in units if u.figures.unit_id == actor.cadre_unit_id), None)
            rank = report.rank_of(actor.cadre_unit_id) if actor.cadre_unit_id else None
            report = StatsReport(period, ranking, bloc, focus, rank)
        return report


def chart_png(report: StatsReport, labels: ChartLabels, language: str) -> bytes:
    """A horizontal bar chart of the top units' participation, each bar annotated with its
    ngày công; a cadre's unit is highlighted (and added if outside the top), with the bloc
    average as the last bar.

    matplotlib (Agg backend, object API, no pyplot global state so it is safe on a worker
    thread) rather than bare Pillow: unit names are Vietnamese, and matplotlib ships the
    DejaVu Sans font that has every Vietnamese glyph, while Pillow ships no such font and a
    server may have none. It is imported here, on first use, so the bot pays its start-up
    time and memory only when someone asks for /stats.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    shown = report.ranking[:TOP_UNITS]
    if report.focus is not None and report.focus not in shown:
        shown = [*shown, report.focus]
    names = [f"{u.figures.code} — {u.figures.name}"[:40] for u in shown]
    values = [u.participation * 100 for u in shown]
    days = [u.person_days for u in shown]
    colours = [
        "#d62828" if report.focus is not None and u is report.focus else "#1d4e89" for u in shown
    ]
    if report.focus is not None:
        names.append(labels.average)
        values.append(report.bloc.participation * 100)
        days.append(report.bloc.average(report.bloc.person_days))
        colours.append("#9aa5b1")

    figure = Figure(figsize=(9, 0.5 * len(names) + 1.6), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = list(range(len(names)))
    axes.barh(positions, values, color=colours)
    axes.set_yticks(positions, labels=names)
    axes.invert_yaxis()  # the best at the top
    axes.set_xlabel(labels.axis)
    axes.set_title(labels.title)
    top = max(values, default=0.0)
    axes.set_xlim(0, max(top * 1.3, 1.0))
    for position, value, person_days in zip(positions, values, days, strict=True):
        axes.text(
            value + max(top, 1.0) * 0.01,
            position,
            labels.person_days.format(value=number(person_days, language)),
            va="center",
            fontsize=8,
        )
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
