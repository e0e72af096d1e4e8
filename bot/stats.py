"""Statistics (SPEC 2.6): what each unit's members did in a period or a campaign, a ranking for
end-of-campaign recognition, and a bar chart of the leading units.

Every figure is defined once, in :class:`Figures`, for a unit and for the whole bloc alike; the
report, the ranking and the chart read them from there. Hours and ngày công are rounded only by
``bot.figures``, shares only by ``bot.figures.percentage``. Knows nothing of Telegram: the
handler renders the report from the catalogue.
"""

from __future__ import annotations

import enum
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal

from bot.clock import Clock
from bot.domain.errors import InvalidInput, NotAllowed
from bot.domain.members import Actor
from bot.domain.stats import UnitFigures
from bot.domain.text import fold
from bot.figures import format_figure, format_percent, percentage, person_days, rounded
from storage.exports import ExportRepository
from storage.stats import StatsRepository

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

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
class Figures:
    """What members did in a period, for one unit or summed over the bloc: the raw counts from
    ``storage.stats`` and every figure derived from them. "Credited to the unit" means recorded
    for the unit the member belonged to at the time of the activity."""

    members: int
    """The unit's members in the period: its members now (not erased), plus everyone credited
    with attendance for it in the period who has since moved to another unit or been erased.
    The database keeps no history of moves, so "now" is the best it knows; adding the former
    members keeps every attendee in the unit they attended for, so participation never
    exceeds 100%."""
    participants: int
    """Distinct members recorded present at least once in the period, credited to the unit."""
    attended: int
    """Attended participations: present records credited to the unit (one per activity)."""
    registrations: int
    """Confirmed seats (sign-ups) of the period's activities; a seat with no attendance record
    counts for the member's current unit. Shown, never ranked on."""
    settled_seats: int
    """The attendance-rate base: confirmed seats of activities that have ended, plus seats
    already recorded present (an activity under way, a walk-in)."""
    raw_hours: float
    """The hours credited to the unit, added up unrounded."""
    initiatives_submitted: int
    """Initiatives submitted for the first time in the period, from the unit."""
    initiatives_accepted: int
    """Initiatives accepted in the period, including those recognised since."""
    initiatives_recognised: int
    """Initiatives recognised in the period (recognition follows acceptance, so an initiative
    accepted and recognised in the period is in both columns; never add them up)."""
    hours_per_day: float

    @classmethod
    def of_unit(cls, row: UnitFigures, hours_per_day: float) -> Figures:
        return cls(
            members=row.current_members + row.former_members,
            participants=row.participants,
            attended=row.attended,
            registrations=row.registrations,
            settled_seats=row.settled_seats,
            raw_hours=row.hours,
            initiatives_submitted=row.initiatives_submitted,
            initiatives_accepted=row.initiatives_accepted,
            initiatives_recognised=row.initiatives_recognised,
            hours_per_day=hours_per_day,
        )

    @classmethod
    def total(cls, parts: Iterable[Figures], hours_per_day: float) -> Figures:
        items = list(parts)
        return cls(
            members=sum(f.members for f in items),
            participants=sum(f.participants for f in items),
            attended=sum(f.attended for f in items),
            registrations=sum(f.registrations for f in items),
            settled_seats=sum(f.settled_seats for f in items),
            raw_hours=sum((f.raw_hours for f in items), 0.0),
            initiatives_submitted=sum(f.initiatives_submitted for f in items),
            initiatives_accepted=sum(f.initiatives_accepted for f in items),
            initiatives_recognised=sum(f.initiatives_recognised for f in items),
            hours_per_day=hours_per_day,
        )

    @property
    def participation(self) -> float | None:
        """Participants ÷ members, in per cent (one decimal, half up); None without members."""
        return percentage(self.participants, self.members)

    @property
    def hours(self) -> float:
        """Volunteer hours credited to the unit, rounded by the one rule."""
        return rounded(self.raw_hours)

    @property
    def person_days(self) -> float:
        """Ngày công credited to the unit: its total hours ÷ hours per day, rounded."""
        return person_days(self.raw_hours, self.hours_per_day)

    @property
    def person_days_per_member(self) -> float:
        """Ngày công credited to the unit ÷ its members (from the unrounded hours); 0 without
        members."""
        if not self.members:
            return 0.0
        return person_days(self.raw_hours / self.members, self.hours_per_day)

    @property
    def attendance_rate(self) -> float | None:
        """Attended ÷ settled seats, in per cent; None only when no seat is settled, which
        means nobody attended either."""
        return percentage(self.attended, self.settled_seats)


@dataclass(frozen=True, slots=True)
class UnitStats:
    unit_id: int
    code: str
    name: str
    figures: Figures

    @property
    def ranked(self) -> bool:
        """Only units with members are ranked: a unit nobody belongs to has no share to
        compare."""
        return self.figures.members > 0


@dataclass(frozen=True, slots=True)
class BlocFigures:
    """The whole bloc: ``figures`` summed over every active unit (units with no members add
    nothing but the odd initiative or seat of an erased member), ``units`` the units ranked;
    the averages are per ranked unit."""

    figures: Figures
    units: int

    def average(self, count: int) -> float:
        """A count per ranked unit, rounded like every figure (two decimals, half up)."""
        return rounded(count / self.units) if self.units else 0.0

    @property
    def average_hours(self) -> float:
        return rounded(self.figures.raw_hours / self.units) if self.units else 0.0

    @property
    def average_person_days(self) -> float:
        if not self.units:
            return 0.0
        return person_days(self.figures.raw_hours / self.units, self.figures.hours_per_day)


@dataclass(frozen=True, slots=True)
class StatsReport:
    period: Period
    ranking: list[UnitStats]  # units with members, best first
    unranked: list[UnitStats]  # units with no members, by name
    bloc: BlocFigures
    focus: UnitStats | None = None  # a cadre's own unit
    focus_rank: int | None = None  # 1-based; None when their unit is not ranked


def rank_key(unit: UnitStats) -> tuple[float, float, int, str, str, str]:
    """Recognition favours how much of a unit takes part (fair to small and large units alike),
    then the work per member (ngày công), then attended participations, then the name. The
    figures compared are the ones the report shows, so that anyone can check the order."""
    f = unit.figures
    return (
        -(f.participation or 0.0),
        -f.person_days_per_member,
        -f.attended,
        *_by_name(unit),
    )


def _by_name(unit: UnitStats) -> tuple[str, str, str]:
    # Folded first so that "Đài …" sits among the D's as Vietnamese readers expect.
    return (fold(unit.name), unit.name, unit.code)


def number(value: float, language: str, digits: int = 1) -> str:
    """A count as people write it: 1.234 in Vietnamese, 1,234 in English (hours and ngày công
    go through ``bot.figures.format_figure`` instead)."""
    pattern = "#,##0" + ("." + "#" * digits if digits else "")
    return str(format_decimal(value, format=pattern, locale="vi" if language == "vi" else "en"))


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
        rows = await self._repo.per_unit(
            period.start, period.end, self._clock.now(), period.campaign_id
        )
        units = [
            UnitStats(r.unit_id, r.code, r.name, Figures.of_unit(r, self._hours_per_day))
            for r in rows
        ]
        ranking = sorted((u for u in units if u.ranked), key=rank_key)
        unranked = sorted((u for u in units if not u.ranked), key=_by_name)
        bloc = BlocFigures(
            Figures.total((u.figures for u in units), self._hours_per_day), len(ranking)
        )
        if actor.is_admin:
            return StatsReport(period, ranking, unranked, bloc)
        focus = next((u for u in units if u.unit_id == actor.cadre_unit_id), None)
        rank = next((i for i, u in enumerate(ranking, start=1) if u is focus), None)
        return StatsReport(period, ranking, unranked, bloc, focus, rank)


# --- text that fits ---------------------------------------------------------------------------

ELLIPSIS = "…"
_TRAILING = " ,;:.-–—·/"


def shorten(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters: whole when it fits, otherwise cut after the
    last whole word that fits, with "…". A word so long that cutting before it would leave
    less than half the room is cut inside instead."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    room = max(limit - 1, 1)
    head = text[:room]
    if text[room] != " " and " " in head:
        at_word = head[: head.rindex(" ")].rstrip(_TRAILING)
        if len(at_word) >= room // 2:
            head = at_word
    return (head.rstrip(_TRAILING) or text[:room]) + ELLIPSIS


def wrap_to_fit(text: str, fits: Callable[[str], bool], max_lines: int = 3) -> list[str]:
    """``text`` in lines that each ``fits``, broken between words; a word too long for a line
    is cut with "…", and what does not fit in ``max_lines`` ends the last line with "…"."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if fits(candidate):
            current = candidate
            continue
        if current:
            lines.append(current)
        current = word if fits(word) else _cut_to_fit(word, fits)
    if current:
        lines.append(current)
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], _end_with_ellipsis(lines[max_lines - 1], fits)]
    return lines


def _cut_to_fit(word: str, fits: Callable[[str], bool]) -> str:
    for end in range(len(word), 0, -1):
        if fits(word[:end] + ELLIPSIS):
            return word[:end] + ELLIPSIS
    return ELLIPSIS


def _end_with_ellipsis(line: str, fits: Callable[[str], bool]) -> str:
    words = line.split()
    while len(words) > 1:
        candidate = " ".join(words).rstrip(_TRAILING) + ELLIPSIS
        if fits(candidate):
            return candidate
        words.pop()
    return _cut_to_fit(words[0], fits) if words else ELLIPSIS


# --- the chart --------------------------------------------------------------------------------

CHART_WIDTH = 6.0  # inches: 1080 px at CHART_DPI, a phone screen's width
CHART_DPI = 180
LABEL_CHARS = 26  # unit names on the y axis
_BAR = "#1d4e89"
_FOCUS = "#d62828"
_AVERAGE = "#9aa5b1"


@dataclass(frozen=True, slots=True)
class ChartLabels:
    title: str
    axis: str  # x axis: participation, %
    average: str  # the bloc-average bar
    bar: str  # each bar's annotation, with {participation} and {days}


@dataclass(frozen=True, slots=True)
class _Bar:
    label: str
    participation: float
    annotation: str
    colour: str


def _bars(report: StatsReport, labels: ChartLabels, language: str) -> list[_Bar]:
    shown = report.ranking[:TOP_UNITS]
    if report.focus is not None and report.focus not in shown:
        shown = [*shown, report.focus]

    def bar(label: str, figures: Figures, days: float, colour: str) -> _Bar:
        return _Bar(
            shorten(label, LABEL_CHARS),
            figures.participation or 0.0,
            labels.bar.format(
                participation=format_percent(figures.participation, language),
                days=format_figure(days, language),
            ),
            colour,
        )

    bars = [
        bar(
            f"{u.code} — {u.name}",
            u.figures,
            u.figures.person_days,
            _FOCUS if u is report.focus else _BAR,
        )
        for u in shown
    ]
    if report.focus is not None:
        bars.append(
            bar(labels.average, report.bloc.figures, report.bloc.average_person_days, _AVERAGE)
        )
    return bars


def chart_figure(report: StatsReport, labels: ChartLabels, language: str) -> Figure:
    """A horizontal bar chart of the leading units' participation (0–100 %), each bar annotated
    with its share and ngày công; a cadre's unit is highlighted (and added if outside the top),
    with the bloc average as the last bar. Laid out for a phone: 1080 px wide, the title
    wrapped to the width it is measured at, names shortened at a word, each annotation inside
    its bar or after it, whichever it fits in.

    matplotlib (Agg backend, object API, no pyplot global state so it is safe on a worker
    thread) rather than bare Pillow: unit names are Vietnamese, and matplotlib ships the
    DejaVu Sans font that has every Vietnamese glyph, while Pillow ships no such font and a
    server may have none. It is imported here, on first use, so the bot pays its start-up
    time and memory only when someone asks for /stats.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    bars = _bars(report, labels, language)
    figure = Figure(
        figsize=(CHART_WIDTH, 1.8 + 0.45 * max(len(bars), 1)), dpi=CHART_DPI, layout="constrained"
    )
    canvas = FigureCanvasAgg(figure)
    renderer = canvas.get_renderer()  # type: ignore[no-untyped-call]

    def width_of(text: str, font: FontProperties) -> float:
        width, _, _ = renderer.get_text_width_height_descent(text, font, ismath=False)
        return float(width)

    title_font = FontProperties(size=12, weight="bold")
    room = figure.bbox.width * 0.94
    title = wrap_to_fit(labels.title, lambda line: width_of(line, title_font) <= room)
    figure.suptitle("\n".join(title), fontproperties=title_font, parse_math=False)
    axes = figure.add_subplot()
    positions = list(range(len(bars)))
    axes.barh(positions, [b.participation for b in bars], color=[b.colour for b in bars])
    axes.set_yticks(positions, labels=[b.label for b in bars], fontsize=10, parse_math=False)
    for tick, drawn in zip(axes.get_yticklabels(), bars, strict=True):
        if drawn.colour == _FOCUS:
            tick.set_fontweight("bold")
            tick.set_color(_FOCUS)
    axes.invert_yaxis()  # the best at the top
    axes.set_xlim(0, 100)
    axes.tick_params(axis="x", labelsize=9)
    axis_font = FontProperties(size=10)
    axis = wrap_to_fit(labels.axis, lambda line: width_of(line, axis_font) <= room * 0.6, 2)
    axes.set_xlabel("\n".join(axis), fontproperties=axis_font, parse_math=False)
    axes.xaxis.grid(True, color="#d9dee4", linewidth=0.8)
    axes.set_axisbelow(True)
    axes.spines[["top", "right"]].set_visible(False)
    figure.draw_without_rendering()  # lay out once, then keep the axes there while annotating
    figure.set_layout_engine("none")
    _annotate(axes, bars, width_of)
    return figure


def _annotate(
    axes: Axes, bars: Sequence[_Bar], width_of: Callable[[str, FontProperties], float]
) -> None:
    """Each bar's annotation inside the bar when it fits there, else right after it; a smaller
    font when it fits in neither (a long figure beside a bar near the middle)."""
    from matplotlib.font_manager import FontProperties

    box = axes.get_window_extent()
    per_percent = box.width / 100  # pixels
    pad = 8.0  # pixels
    for position, bar in enumerate(bars):
        length = bar.participation * per_percent
        size = 9.0
        while True:
            text_width = width_of(bar.annotation, FontProperties(size=size))
            inside = text_width + 2 * pad <= length
            after = length + 2 * pad + text_width <= box.width
            if inside or after or size <= 5:
                break
            size -= 0.5
        colour = "#1b1b1b" if bar.colour == _AVERAGE else "white"
        axes.text(
            (length - pad if inside else length + pad) / per_percent,
            position,
            bar.annotation,
            ha="right" if inside else "left",
            va="center",
            fontsize=size,
            color=colour if inside else "#1b1b1b",
            parse_math=False,
        )


def chart_png(report: StatsReport, labels: ChartLabels, language: str) -> bytes:
    buffer = io.BytesIO()
    chart_figure(report, labels, language).savefig(buffer, format="png")
    return buffer.getvalue()
