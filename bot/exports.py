"""Exports (SPEC 2.6): registrations, attendance and hours, members, initiatives with their
history and broadcast reports, as XLSX or CSV files written while the rows stream in.

Knows nothing of Telegram: the chat handler and the command line both call ``ExportService.run``
with an ``Actor`` and get files on disk back. Rows come from ``storage.exports`` in chunks; the
writers here turn them into typed cells, so memory stays flat however many rows there are.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import enum
import html
import io
import json
import os
import re
import sqlite3
import zipfile
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Any, Protocol
from zoneinfo import ZoneInfo

from bot.access import authorize
from bot.clock import Clock
from bot.domain.errors import InvalidInput, NotAllowed
from bot.domain.exports import Query, QuestionColumn, RowFilter
from bot.domain.members import Action, Actor
from bot.figures import person_days, rounded, total_hours
from bot.i18n import Catalogue
from bot.members import display_phone
from bot.xlsx_stream import MAX_ROWS, Style, XlsxWorkbook, check_sheet_name
from storage.exports import ExportRepository
from storage.units import UnitRepository

# Telegram bots may upload documents up to 50 MB; keep a margin for the multipart envelope.
TELEGRAM_UPLOAD_LIMIT = 49 * 1024 * 1024
XLSX_MAX_ROWS = MAX_ROWS  # Excel's limit per sheet, header included: then a new sheet
WIDTH_SAMPLE = 500  # rows looked at to size the columns
DATE_FORMAT = "dd/mm/yyyy hh:mm"
PICKER_LIMIT = 20

# Datetimes are local wall-clock times (naive); writers use their fields as they are.
Cell = str | int | float | datetime | None
CACHE_SIZE = 4096  # values remembered by the per-export memos below


class ExportKind(enum.StrEnum):
    REGISTRATIONS = "registrations"
    ATTENDANCE = "attendance"
    MEMBERS = "members"
    INITIATIVES = "initiatives"
    BROADCASTS = "broadcasts"


class ExportFormat(enum.StrEnum):
    XLSX = "xlsx"
    CSV = "csv"


class ScopeKind(enum.StrEnum):
    ALL = "all"  # for a cadre: their unit
    ACTIVITY = "activity"
    CAMPAIGN = "campaign"
    UNIT = "unit"
    DATES = "dates"


SCOPES: dict[ExportKind, tuple[ScopeKind, ...]] = {
    ExportKind.REGISTRATIONS: tuple(ScopeKind),
    ExportKind.ATTENDANCE: tuple(ScopeKind),
    ExportKind.MEMBERS: (ScopeKind.ALL, ScopeKind.CAMPAIGN, ScopeKind.UNIT, ScopeKind.DATES),
    ExportKind.INITIATIVES: (ScopeKind.ALL, ScopeKind.UNIT, ScopeKind.DATES),
    ExportKind.BROADCASTS: (ScopeKind.ALL, ScopeKind.UNIT, ScopeKind.DATES),
}


class ColumnType(enum.Enum):
    TEXT = "text"
    INTEGER = "integer"
    HOURS = "hours"  # volunteer hours: bot.figures' rule, a whole number as an integer
    PERSON_DAYS = "person_days"  # ngày công: derived from the hours, never summed
    DATETIME = "datetime"


@dataclass(frozen=True, slots=True)
class ExportScope:
    """What the rows are about; unset parts do not filter. Dates are local, inclusive."""

    activity_id: int | None = None
    campaign_id: int | None = None
    unit_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None

    @property
    def kinds(self) -> set[ScopeKind]:
        used = set()
        if self.activity_id is not None:
            used.add(ScopeKind.ACTIVITY)
        if self.campaign_id is not None:
            used.add(ScopeKind.CAMPAIGN)
        if self.unit_id is not None:
            used.add(ScopeKind.UNIT)
        if self.date_from is not None or self.date_to is not None:
            used.add(ScopeKind.DATES)
        return used


@dataclass(frozen=True, slots=True)
class ExportRequest:
    kind: ExportKind
    scope: ExportScope
    format: ExportFormat
    language: str = "vi"


@dataclass(frozen=True, slots=True)
class TableCount:
    name: str
    rows: int


@dataclass(frozen=True, slots=True)
class ExportResult:
    files: tuple[Path, ...]  # what to hand over: one file, a zip, or the parts of a split zip
    filename: str  # the export's own name (before any zipping)
    scope_text: str
    tables: tuple[TableCount, ...]
    packing: str | None = None  # None | "zip" | "split"

    @property
    def rows(self) -> int:
        return self.tables[0].rows if self.tables else 0

    @property
    def empty(self) -> bool:
        return self.rows == 0


# --- cells ----------------------------------------------------------------------------------

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# CSV and formula injection. A spreadsheet reads each CSV field as if it were typed, so a field
# that starts with = + - @ (or a tab or carriage return before one) becomes a formula, and text
# such as "-2" a number. OWASP's fix, a leading apostrophe, changes what people read wherever
# it is not taken as Excel's "this is text" prefix: LibreOffice Calc (7.4, checked) imports
# "'=1+1" as the four characters ', =, 1, +, 1… and every non-spreadsheet reader keeps it too.
# A zero-width space before the first character makes the field text just as surely (checked
# in LibreOffice and Gnumeric) and nobody sees it: the cell reads exactly as the stored text.
# XLSX needs none of this: a string cell is never evaluated, so it holds exactly the text.
CSV_TEXT_GUARD = "\u200b"  # ZERO WIDTH SPACE


def csv_text(text: str) -> str:
    """Text for a CSV field: as stored, behind an invisible guard when a spreadsheet would
    take it for a formula. Numbers are not text and are never touched."""
    return CSV_TEXT_GUARD + text if text.startswith(_FORMULA_STARTS) else text


def whole(figure: float) -> int | float:
    """A rounded figure as a cell: ``3`` rather than ``3.0``."""
    return int(figure) if figure.is_integer() else figure


class Figures:
    """Hours and ngày công cells of one export, by the one rule (bot.figures): a row's hours
    rounded, its ngày công derived from its raw hours. The few distinct hours of an export
    are worked out once each (the rule goes through ``Decimal``); the memo is bounded."""

    def __init__(self, hours_per_day: float) -> None:
        self._hours_per_day = hours_per_day
        self._hours: dict[float, int | float] = {}
        self._days: dict[float, int | float] = {}

    def hours(self, value: float | None) -> int | float:
        raw = value or 0.0
        found = self._hours.get(raw)
        if found is None:
            if len(self._hours) >= CACHE_SIZE:
                self._hours.clear()
            found = self._hours[raw] = whole(rounded(raw))
        return found

    def days(self, hours: float | None) -> int | float:
        raw = hours or 0.0
        found = self._days.get(raw)
        if found is None:
            if len(self._days) >= CACHE_SIZE:
                self._days.clear()
            found = self._days[raw] = whole(person_days(raw, self._hours_per_day))
        return found


def local_time(text: str | None, tz: ZoneInfo) -> datetime | None:
    """A stored UTC instant in local time (aware): spreadsheets get its wall-clock time."""
    if not text:
        return None
    return datetime.fromisoformat(text).astimezone(tz)


class LocalTimes:
    """``local_time`` for a whole export, as naive wall-clock time: an instant repeated on
    many rows (an activity's start) is converted once, and comes back as the same object,
    which the XLSX writer recognises cheaply. The cache is bounded, so memory stays flat."""

    def __init__(self, tz: ZoneInfo) -> None:
        self._tz = tz
        self._cache: dict[str, datetime] = {}

    def __call__(self, text: str | None) -> datetime | None:
        if not text:
            return None
        found = self._cache.get(text)
        if found is None:
            found = datetime.fromisoformat(text).astimezone(self._tz).replace(tzinfo=None)
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[text] = found
        return found


def parse_day(text: str) -> date:
    """``2026-12-31`` or ``31/12/2026``; InvalidInput otherwise."""
    cleaned = text.strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"):
        try:
            return datetime.strptime(cleaned, pattern).date()
        except ValueError:
            continue
    raise InvalidInput("exports.dates_invalid")


def check_range(date_from: date | None, date_to: date | None) -> None:
    if date_from is not None and date_to is not None and date_to < date_from:
        raise InvalidInput("exports.dates_reversed")


def parse_date_range(text: str) -> tuple[date, date]:
    """Two dates typed in one message: ``01/01/2026 - 31/12/2026`` (any separator)."""
    found = re.findall(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.-]\d{1,2}[/.-]\d{4}", text)
    if len(found) != 2:
        raise InvalidInput("exports.dates_invalid")
    date_from, date_to = parse_day(found[0]), parse_day(found[1])
    check_range(date_from, date_to)
    return date_from, date_to


def _display_width(value: Cell) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime):
        return 16
    if isinstance(value, str):
        return max((len(line) for line in value.split("\n")), default=0)
    return len(str(value))


def column_widths(headers: Sequence[str], sample: Iterable[Sequence[Cell]]) -> list[float]:
    """Widths (in characters) that fit the header and the sample, within reason."""
    widest = [len(h) for h in headers]
    for row in sample:
        for index, value in enumerate(row[: len(widest)]):
            width = _display_width(value)
            if width > widest[index]:
                widest[index] = width
    return [float(min(max(w + 2, 8), 60)) for w in widest]


# --- tables ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    type: ColumnType
    total: bool = False  # summed on the summary sheet


Mapper = Callable[[sqlite3.Row], list[Cell]]


@dataclass
class TablePlan:
    name: str  # sheet name (and CSV file name part)
    slug: str
    columns: list[Column]
    query: Query
    mapper: Mapper


@dataclass
class _TableState:
    plan: TablePlan
    rows: int = 0
    totals: dict[int, float] = field(default_factory=dict)


class TableSink(Protocol):
    # Whether start_table needs each table's number of rows (counted first, in the snapshot).
    needs_counts: bool

    def start_table(self, plan: TablePlan, rows: int | None) -> None: ...

    def write_rows(self, rows: list[list[Cell]]) -> None: ...

    def end_table(self, rows: int, note: str | None) -> None: ...

    def close(self, summary: Summary) -> list[Path]: ...

    def abort(self) -> None: ...  # remove what was written; a no-op after close


@dataclass(frozen=True, slots=True)
class Summary:
    title: str
    lines: list[tuple[str, Cell]]
    labels: dict[str, str]  # "table", "rows" headers
    tables: list[tuple[str, int]]
    note: str | None


# --- XLSX -----------------------------------------------------------------------------------

# Hours and ngày công keep Excel's General format: they are rounded to two decimals already,
# and General shows 4 as "4" and 2.5 as "2.5" (a fixed "0.00" would show 4 as "4.00").
_STYLES = {ColumnType.DATETIME: Style.DATE}


def _safe_sheet_name(name: str) -> str:
    cleaned = " ".join(re.sub(r"[\[\]:*?/\\]", " ", name).split()).strip("'") or "Sheet"
    while len(cleaned.encode("utf-16-le", "surrogatepass")) > 62:  # 31 as Excel counts
        cleaned = cleaned[:-1].rstrip("'")
    try:
        check_sheet_name(cleaned)
    except ValueError:  # a name Excel keeps for itself ("History")
        cleaned = f"{cleaned[:27]} (1)"
    return cleaned


class XlsxSink:
    """One sheet per table (split at Excel's row limit), with a bold, frozen header, column
    widths from the first rows and an auto filter; the summary sheet comes first among the
    tabs, while the file opens on the first table. Cells keep their types: numbers, dates
    (local wall-clock time) and text exactly as stored. Each table's rows are counted first
    (every sheet states its size)."""

    needs_counts = True

    def __init__(self, path: Path, *, created: datetime | None = None) -> None:
        self._book = XlsxWorkbook(path, date_format=DATE_FORMAT, created=created)
        self._plan: TablePlan | None = None
        self._styles: list[Style] = []
        self._sheet_no = 0
        self._in_sheet = False
        self._first = True
        self._counted = 0  # the current table's rows
        self._left = 0  # of them, not yet placed on a sheet
        self._sheet_rows = 0  # announced for the current sheet, header included

    def start_table(self, plan: TablePlan, rows: int | None) -> None:
        if rows is None:
            raise ValueError("an XLSX table needs its number of rows")
        self._plan = plan
        self._sheet_no = 0
        self._counted = self._left = rows
        self._styles = [_STYLES.get(c.type, Style.PLAIN) for c in plan.columns]

    def _start_sheet(self, sample: list[list[Cell]]) -> None:
        assert self._plan is not None
        self._sheet_no += 1
        suffix = f" ({self._sheet_no})" if self._sheet_no > 1 else ""
        name = _safe_sheet_name(self._plan.name[: 31 - len(suffix)] + suffix)
        headers = [c.header for c in self._plan.columns]
        data = min(self._left, XLSX_MAX_ROWS - 1)
        self._left -= data
        note = 1 if self._counted == 0 else 0  # "nothing in this scope", under the header
        self._sheet_rows = 1 + data + note
        self._book.start_sheet(
            name,
            self._styles,
            column_widths(headers, sample),
            rows=self._sheet_rows,
            frozen_rows=1,
            active=self._first,
        )
        self._first = False
        self._book.write_rows([headers], [Style.BOLD] * len(headers))
        self._in_sheet = True

    def write_rows(self, rows: list[list[Cell]]) -> None:
        while rows:
            if not self._in_sheet:
                if self._left == 0:
                    raise RuntimeError("more rows than were counted")
                self._start_sheet(rows[:WIDTH_SAMPLE])
            room = self._sheet_rows - self._book.rows
            if room <= 0:
                self._finish_sheet(None)
                continue
            batch, rows = rows[:room], rows[room:]
            self._book.write_rows(batch)

    def _finish_sheet(self, note: str | None) -> None:
        if note is not None:
            self._book.write_rows([[note]], [Style.PLAIN])
        last_data_row = self._book.rows - (1 if note is not None else 0)
        self._book.end_sheet(filter_to_row=max(last_data_row, 1))
        self._in_sheet = False

    def end_table(self, rows: int, note: str | None) -> None:
        if not self._in_sheet:
            self._start_sheet([])
        self._finish_sheet(note)

    def close(self, summary: Summary) -> list[Path]:
        bold, plain = Style.BOLD, Style.PLAIN
        book = self._book
        rows = 2 + len(summary.lines) + 2 + len(summary.tables) + (2 if summary.note else 0)
        book.start_sheet(
            _safe_sheet_name(summary.labels["sheet"]),
            [bold, plain],
            [32, 40],
            rows=rows,
            position=0,
        )
        book.write_rows([[summary.title], []], [bold])
        book.write_rows([[label, value] for label, value in summary.lines], [bold, plain])
        book.write_rows([[], [summary.labels["table"], summary.labels["rows"]]], [bold, bold])
        book.write_rows([[name, count] for name, count in summary.tables], [plain, plain])
        if summary.note:
            book.write_rows([[], [summary.note]], [plain])
        book.end_sheet()
        return [book.close()]

    def abort(self) -> None:
        self._book.abort()


# --- CSV ------------------------------------------------------------------------------------


def _csv_cell(value: Cell) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, str):
        return CSV_TEXT_GUARD + value if value.startswith(_FORMULA_STARTS) else value
    if isinstance(value, datetime):
        return value.isoformat(" ", "minutes")[:16]
    return value


class CsvSink:
    """UTF-8 with BOM (so Excel picks the encoding), comma, RFC 4180 quoting via ``csv``.
    One table is one CSV file; several travel together as CSV files in one zip, streamed
    into it. Either way the result is written at ``path`` itself (under a ``.part`` name
    until it is complete), and nothing else is left beside it."""

    needs_counts = False

    def __init__(self, path: Path, *, bundle: bool = False) -> None:
        self._path = path
        self._part = path.with_name(path.name + ".part")
        self._bundle: zipfile.ZipFile | None = None
        if bundle:
            self._bundle = zipfile.ZipFile(self._part, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
        self._handle: IO[str] | None = None
        self._writer: Any = None
        self._tables = 0
        self._done = False

    def start_table(self, plan: TablePlan, rows: int | None) -> None:
        self._tables += 1
        if self._bundle is not None:
            entry = self._bundle.open(f"{self._path.stem}_{plan.slug}.csv", "w")
            self._handle = io.TextIOWrapper(entry, encoding="utf-8-sig", newline="")
        elif self._tables > 1:
            raise RuntimeError("one table per CSV file; several go in a bundle")
        else:
            self._handle = self._part.open("w", encoding="utf-8-sig", newline="")
        self._writer = csv.writer(self._handle, lineterminator="\r\n")
        self._writer.writerow([csv_text(c.header) for c in plan.columns])

    def write_rows(self, rows: list[list[Cell]]) -> None:
        cell = _csv_cell
        self._writer.writerows([[cell(v) for v in row] for row in rows])

    def end_table(self, rows: int, note: str | None) -> None:
        if note is not None:
            self._writer.writerow([csv_text(note)])
        assert self._handle is not None
        self._handle.close()
        self._handle = None

    def close(self, summary: Summary) -> list[Path]:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
        if self._bundle is not None:
            self._bundle.close()
        os.replace(self._part, self._path)
        self._done = True
        return [self._path]

    def abort(self) -> None:
        if self._done:
            return
        self._done = True
        with contextlib.suppress(Exception):
            if self._handle is not None:
                self._handle.close()
        with contextlib.suppress(Exception):
            if self._bundle is not None:
                self._bundle.close()
        self._handle = None
        self._part.unlink(missing_ok=True)


# --- packing for Telegram ---------------------------------------------------------------------


def pack_for_upload(path: Path, limit: int) -> tuple[list[Path], str | None]:
    """Files over ``limit`` bytes are zipped; if the zip is still too big (an XLSX is
    already compressed), it is cut into numbered parts ``.zip.001``… that 7-Zip and WinRAR
    open directly (or ``cat`` joins)."""
    if path.stat().st_size <= limit:
        return [path], None
    archive = path.with_name(path.name + ".zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as bundle:
        bundle.write(path, path.name)
    if archive.stat().st_size <= limit:
        return [archive], "zip"
    parts: list[Path] = []
    with archive.open("rb") as source:
        number = 1
        while chunk := source.read(limit):
            part = archive.with_name(f"{archive.name}.{number:03d}")
            part.write_bytes(chunk)
            parts.append(part)
            number += 1
    archive.unlink()
    return parts, "split"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


# --- the service ----------------------------------------------------------------------------

Progress = Callable[[int, int], None]


class _PersonQueue:
    """One export at a time per person: a second request waits for the first (queued, not
    run side by side); the very same request while one is in flight is refused (doubled)."""

    def __init__(self) -> None:
        self._locks: dict[int, asyncio.Lock] = {}
        self._users: dict[int, int] = {}
        self._requests: dict[int, set[ExportRequest]] = {}

    def busy(self, person: int) -> bool:
        return self._users.get(person, 0) > 0

    @contextlib.asynccontextmanager
    async def turn(self, person: int, request: ExportRequest) -> AsyncIterator[None]:
        in_flight = self._requests.setdefault(person, set())
        if request in in_flight:
            raise InvalidInput("exports.already_running")
        in_flight.add(request)
        lock = self._locks.setdefault(person, asyncio.Lock())
        self._users[person] = self._users.get(person, 0) + 1
        try:
            async with lock:
                yield
        finally:
            in_flight.discard(request)
            self._users[person] -= 1
            if self._users[person] == 0:  # nobody waiting: forget the person
                del self._users[person], self._locks[person], self._requests[person]


class ExportService:
    def __init__(
        self,
        repository: ExportRepository,
        units: UnitRepository,
        catalogue: Catalogue,
        clock: Clock,
        *,
        tz: ZoneInfo,
        hours_per_day: float,
    ) -> None:
        self._repo = repository
        self._units = units
        self._catalogue = catalogue
        self._clock = clock
        self._tz = tz
        self._hours_per_day = hours_per_day
        self._queue = _PersonQueue()

    # --- what may be asked -----------------------------------------------------------------

    def busy(self, actor: Actor) -> bool:
        return self._queue.busy(actor.actor_id)

    @staticmethod
    def may_export(actor: Actor) -> bool:
        return actor.is_admin or (actor.is_cadre and actor.cadre_unit_id is not None)

    async def activities_to_pick(self, actor: Actor) -> list[tuple[int, str]]:
        unit = None if actor.is_admin else actor.cadre_unit_id
        choices = await self._repo.recent_activities(unit, PICKER_LIMIT)
        return [(c.id, f"{c.title} ({self._local_day(c.starts_at)})") for c in choices]

    async def campaigns_to_pick(self, actor: Actor) -> list[tuple[int, str]]:
        unit = None if actor.is_admin else actor.cadre_unit_id
        return [(c.id, c.title) for c in await self._repo.recent_campaigns(unit, PICKER_LIMIT)]

    def _local_day(self, stored: str) -> str:
        moment = local_time(stored, self._tz)
        return moment.strftime("%d/%m/%Y") if moment else ""

    async def check(self, actor: Actor, kind: ExportKind, scope: ExportScope) -> RowFilter:
        """Refuse what the actor may not see (NotAllowed) or what makes no sense
        (InvalidInput); return the row filter, narrowed to a cadre's unit."""
        if not self.may_export(actor):
            raise NotAllowed()
        unsupported = scope.kinds - set(SCOPES[kind])
        if unsupported:
            raise InvalidInput("exports.scope_unsupported")
        check_range(scope.date_from, scope.date_to)
        unit_id = scope.unit_id
        if unit_id is not None and await self._units.get(unit_id) is None:
            raise InvalidInput("exports.unit_missing")
        if scope.activity_id is not None:
            activity_unit = await self._repo.activity_unit(scope.activity_id)
            if activity_unit is None:
                raise InvalidInput("exports.activity_missing")
            if not actor.is_admin:
                authorize(actor, Action.MANAGE_UNIT, unit_id=activity_unit)
        if scope.campaign_id is not None:
            campaign = await self._repo.campaign(scope.campaign_id)
            if campaign is None:
                raise InvalidInput("exports.campaign_missing")
            if not actor.is_admin and campaign[1] is not None:
                authorize(actor, Action.MANAGE_UNIT, unit_id=campaign[1])
        if not actor.is_admin:
            if unit_id is not None:
                authorize(actor, Action.MANAGE_UNIT, unit_id=unit_id)
            unit_id = actor.cadre_unit_id
        start = end = None
        if scope.date_from is not None:
            start = datetime.combine(scope.date_from, time(), self._tz)
        if scope.date_to is not None:
            end = datetime.combine(scope.date_to + timedelta(days=1), time(), self._tz)
        return RowFilter(scope.activity_id, scope.campaign_id, unit_id, start, end)

    # --- naming ----------------------------------------------------------------------------

    def _text(self, language: str, key: str, **params: Any) -> str:
        return self._catalogue.plain(language, key, **params)

    async def filename(self, request: ExportRequest, flt: RowFilter) -> str:
        """``dang-ky_hoat-dong-12_2026-11-27.xlsx``: what, which scope, the local date."""
        lang, scope = request.language, request.scope
        parts = [_slug(self._text(lang, f"exports.file.{request.kind.value}"))]
        if scope.activity_id is not None:
            parts.append(_slug(self._text(lang, "exports.file.activity", id=scope.activity_id)))
        if scope.campaign_id is not None:
            parts.append(_slug(self._text(lang, "exports.file.campaign", id=scope.campaign_id)))
        if flt.unit_id is not None:
            unit = await self._units.get(flt.unit_id)
            code = unit.code if unit else str(flt.unit_id)
            parts.append(_slug(self._text(lang, "exports.file.unit", code=code)))
        if scope.date_from is not None or scope.date_to is not None:
            start = scope.date_from.isoformat() if scope.date_from else ""
            end = scope.date_to.isoformat() if scope.date_to else ""
            parts.append(f"{start}--{end}")
        if len(parts) == 1:
            parts.append(_slug(self._text(lang, "exports.file.all")))
        today = self._clock.now().astimezone(self._tz).date().isoformat()
        return f"{'_'.join(parts)}_{today}.{request.format.value}"

    async def describe_scope(self, request: ExportRequest, flt: RowFilter) -> str:
        lang, scope = request.language, request.scope
        pieces: list[str] = []
        if scope.activity_id is not None:
            title = await self._repo.activity_title(scope.activity_id) or ""
            pieces.append(
                self._text(lang, "exports.scope_text.activity", id=scope.activity_id, title=title)
            )
        if scope.campaign_id is not None:
            campaign = await self._repo.campaign(scope.campaign_id)
            pieces.append(
                self._text(
                    lang, "exports.scope_text.campaign", name=campaign[0] if campaign else ""
                )
            )
        if flt.unit_id is not None:
            unit = await self._units.get(flt.unit_id)
            if unit is not None:
                pieces.append(
                    self._text(lang, "exports.scope_text.unit", code=unit.code, name=unit.name)
                )
        if scope.date_from is not None or scope.date_to is not None:
            pieces.append(
                self._text(
                    lang,
                    "exports.scope_text.dates",
                    start=scope.date_from.strftime("%d/%m/%Y") if scope.date_from else "…",
                    end=scope.date_to.strftime("%d/%m/%Y") if scope.date_to else "…",
                )
            )
        return "; ".join(pieces) or self._text(lang, "exports.scope_text.all")

    # --- the tables of each kind -----------------------------------------------------------

    async def plan(
        self, request: ExportRequest, flt: RowFilter, repo: ExportRepository | None = None
    ) -> list[TablePlan]:
        """The tables of an export, reading what they need through ``repo`` (the export's
        snapshot; the service's repository when not given)."""
        repo = repo or self._repo
        lang = request.language
        local = LocalTimes(self._tz)
        hpd = self._hours_per_day
        figures = Figures(hpd)
        # Rows name units by code; the sheet shows them by name (of retired units too).
        unit_names = await repo.unit_names()

        def unit(code: str | None) -> str | None:
            return unit_names.get(code, code) if code else None

        def col(key: str, kind: ColumnType = ColumnType.TEXT, total: bool = False) -> Column:
            return Column(self._text(lang, f"exports.col.{key}"), kind, total)

        def labels(prefix: str, values: Iterable[str]) -> dict[str, str]:
            return {v: self._text(lang, f"{prefix}.{v}") for v in values}

        forgotten = self._text(lang, "exports.forgotten_member")

        def person(name: str | None, deleted_at: str | None) -> str:
            return forgotten if deleted_at else (name or "")

        def sheet(key: str) -> tuple[str, str]:
            return self._text(lang, f"exports.sheet.{key}"), self._text(lang, f"exports.file.{key}")

        text, integer, hours, days, when = (
            ColumnType.TEXT,
            ColumnType.INTEGER,
            ColumnType.HOURS,
            ColumnType.PERSON_DAYS,
            ColumnType.DATETIME,
        )
        kind = request.kind
        if kind is ExportKind.REGISTRATIONS:
            status = labels("exports.status", ("confirmed", "waitlisted", "cancelled"))
            questions = await repo.questions(flt)
            prompts, slots = _question_columns(questions)
            base = [
                col("registration_id", integer),
                col("activity_id", integer),
                col("activity"),
                col("organiser"),
                col("campaign"),
                col("starts_at", when),
                col("member"),
                col("unit_code"),
                col("unit_name"),
                col("phone"),
                col("email"),
                col("status"),
                col("waitlist_position", integer),
                col("registered_at", when),
                col("attended_at", when),
                col("hours", hours, total=True),
                col("person_days", days, total=True),
            ]
            extra = [Column(prompt, text) for prompt in prompts]
            width = len(prompts)
            parsed: dict[tuple[int, str], tuple[tuple[int, str], ...]] = {}

            def registration(r: sqlite3.Row) -> list[Cell]:
                cells: list[Cell] = [
                    r[0],
                    r[1],
                    r[2],
                    unit(r[3]),
                    r[4],
                    local(r[5]),
                    person(r[6], r[7]),
                    r[8],
                    r[9],
                    display_phone(r[10]),
                    r[11],
                    status.get(r[12], r[12]),
                    r[13],
                    local(r[14]),
                    local(r[15]),
                    figures.hours(r[16]),
                    figures.days(r[16]),
                ]
                if width:
                    answers: list[Cell] = [None] * width
                    raw = r[18]
                    if raw and raw != "{}":
                        # The same answers ({"1": "M"}) come back on many rows: parse once.
                        placed = parsed.get((r[1], raw))
                        if placed is None:
                            where = slots.get(r[1], {})
                            placed = tuple(
                                (index, str(answer))
                                for position, answer in json.loads(raw).items()
                                if (index := where.get(int(position))) is not None
                            )
                            if len(parsed) >= CACHE_SIZE:
                                parsed.clear()
                            parsed[(r[1], raw)] = placed
                        for index, answer in placed:
                            answers[index] = answer
                    cells.extend(answers)
                return cells

            name, slug = sheet("registrations")
            query = repo.registrations(flt, hpd)
            return [TablePlan(name, slug, base + extra, query, registration)]

        if kind is ExportKind.ATTENDANCE:
            methods = labels("exports.method", ("qr", "cadre", "walk_in"))

            def attendance(r: sqlite3.Row) -> list[Cell]:
                method = "walk_in" if r[10] else ("qr" if r[11] else "cadre")
                return [
                    r[0],
                    r[1],
                    unit(r[2]),
                    r[3],
                    local(r[4]),
                    person(r[5], r[6]),
                    r[7],
                    r[8],
                    local(r[9]),
                    methods[method],
                    figures.hours(r[12]),
                    figures.days(r[12]),
                ]

            def totals(r: sqlite3.Row) -> list[Cell]:
                # The member's raw hours added up, then rounded; ngày công from that total.
                return [
                    r[0],
                    person(r[1], r[2]),
                    r[3],
                    r[4],
                    r[5],
                    figures.hours(r[6]),
                    figures.days(r[6]),
                ]

            name, slug = sheet("attendance")
            totals_name, totals_slug = sheet("attendance_totals")
            return [
                TablePlan(
                    name,
                    slug,
                    [
                        col("activity_id", integer),
                        col("activity"),
                        col("organiser"),
                        col("campaign"),
                        col("starts_at", when),
                        col("member"),
                        col("unit_code"),
                        col("unit_name"),
                        col("attended_at", when),
                        col("method"),
                        col("hours", hours, total=True),
                        col("person_days", days, total=True),
                    ],
                    repo.attendance(flt, hpd),
                    attendance,
                ),
                TablePlan(
                    totals_name,
                    totals_slug,
                    [
                        col("member_id", integer),
                        col("member"),
                        col("unit_code"),
                        col("unit_name"),
                        col("activities_attended", integer),
                        col("hours", hours),
                        col("person_days", days),
                    ],
                    repo.attendance_totals(flt, hpd),
                    totals,
                ),
            ]

        if kind is ExportKind.MEMBERS:

            def member(r: sqlite3.Row) -> list[Cell]:
                return [
                    r[0],
                    r[1],
                    r[2],
                    r[3],
                    r[4],
                    display_phone(r[5]),
                    r[6],
                    r[7],
                    local(r[8]),
                    local(r[9]),
                    r[10],
                    figures.hours(r[11]),
                    figures.days(r[11]),
                ]

            name, slug = sheet("members")
            return [
                TablePlan(
                    name,
                    slug,
                    [
                        col("member_id", integer),
                        col("member"),
                        col("username"),
                        col("unit_code"),
                        col("unit_name"),
                        col("phone"),
                        col("email"),
                        col("language"),
                        col("consent_at", when),
                        col("joined_at", when),
                        col("activities_attended", integer, total=True),
                        col("hours", hours, total=True),
                        col("person_days", days, total=True),
                    ],
                    repo.members(flt, hpd),
                    member,
                )
            ]

        if kind is ExportKind.INITIATIVES:
            fields = labels(
                "exports.field",
                ("digital", "administrative", "professional", "research", "community", "other"),
            )
            statuses = labels(
                "exports.initiative_status",
                (
                    "draft",
                    "submitted",
                    "in_review",
                    "needs_revision",
                    "accepted",
                    "rejected",
                    "recognised",
                    "withdrawn",
                ),
            )
            levels = labels("exports.recognition", ("unit", "bloc"))
            roles = labels("exports.role", ("author", "unit_cadre", "admin"))

            def initiative(r: sqlite3.Row) -> list[Cell]:
                return [
                    r[0],
                    r[1],
                    fields.get(r[2], r[2]) if r[2] else None,
                    person(r[3], r[4]),
                    r[5],
                    r[6],
                    r[7],
                    statuses.get(r[8], r[8]),
                    levels.get(r[9], r[9]) if r[9] else None,
                    r[10],
                    r[11],
                    r[12],
                    r[13],
                    local(r[14]),
                    local(r[15]),
                    local(r[16]),
                ]

            def history(r: sqlite3.Row) -> list[Cell]:
                return [
                    r[0],
                    r[1],
                    local(r[2]),
                    person(r[3], r[4]) if r[3] is not None else None,
                    roles.get(r[5], r[5]),
                    statuses.get(r[6], r[6]),
                    statuses.get(r[7], r[7]),
                    r[8],
                ]

            name, slug = sheet("initiatives")
            history_name, history_slug = sheet("initiative_history")
            return [
                TablePlan(
                    name,
                    slug,
                    [
                        col("initiative_code"),
                        col("title"),
                        col("field"),
                        col("author"),
                        col("unit_code"),
                        col("unit_name"),
                        col("coauthors"),
                        col("status"),
                        col("recognition"),
                        col("problem"),
                        col("solution"),
                        col("benefit"),
                        col("supports", integer, total=True),
                        col("created_at", when),
                        col("submitted_at", when),
                        col("decided_at", when),
                    ],
                    repo.initiatives(flt),
                    initiative,
                ),
                TablePlan(
                    history_name,
                    history_slug,
                    [
                        col("initiative_code"),
                        col("title"),
                        col("changed_at", when),
                        col("changed_by"),
                        col("role"),
                        col("from_status"),
                        col("to_status"),
                        col("comment"),
                    ],
                    repo.initiative_history(flt),
                    history,
                ),
            ]

        audiences = labels("exports.audience", ("all", "units", "activity", "cadres"))
        states = labels(
            "exports.broadcast_status", ("scheduled", "sending", "paused", "done", "cancelled")
        )

        def broadcast(r: sqlite3.Row) -> list[Cell]:
            return [
                r[0],
                local(r[1]),
                r[2],
                unit(r[3]),
                audiences.get(r[4], r[4]),
                states.get(r[5], r[5]),
                local(r[6]),
                local(r[7]),
                local(r[8]),
                r[9],
                r[10],
                r[11],
                r[12],
                r[13],
                html.unescape(re.sub(r"<[^>]*>", "", r[14] or "")),
            ]

        name, slug = sheet("broadcasts")
        return [
            TablePlan(
                name,
                slug,
                [
                    col("broadcast_id", integer),
                    col("created_at", when),
                    col("sender"),
                    col("unit_name"),
                    col("audience"),
                    col("status"),
                    col("scheduled_at", when),
                    col("started_at", when),
                    col("finished_at", when),
                    col("recipients", integer, total=True),
                    col("sent", integer, total=True),
                    col("failed", integer, total=True),
                    col("blocked", integer, total=True),
                    col("pending", integer, total=True),
                    col("text"),
                ],
                repo.broadcasts(flt),
                broadcast,
            )
        ]

    # --- running ---------------------------------------------------------------------------

    async def run(
        self,
        actor: Actor,
        request: ExportRequest,
        directory: Path,
        *,
        output: Path | None = None,
        upload_limit: int | None = TELEGRAM_UPLOAD_LIMIT,
        progress: Progress | None = None,
    ) -> ExportResult:
        """Write the export into ``directory``, or exactly to ``output`` (several CSV tables
        go there as one zip); waits for this person's previous export to finish first.
        Raises NotAllowed or InvalidInput before writing.

        Everything is read through one snapshot of the export's own (the plan, the counts,
        the rows): the rows agree with the counts, and the bot's other reads stay current."""
        flt = await self.check(actor, request.kind, request.scope)
        async with self._queue.turn(actor.actor_id, request), self._repo.snapshot() as repo:
            filename = await self.filename(request, flt)
            scope_text = await self.describe_scope(request, flt)
            tables = await self.plan(request, flt, repo)
            bundle = request.format is ExportFormat.CSV and len(tables) > 1
            if bundle:
                filename = Path(filename).with_suffix(".zip").name
            target = output or directory / filename
            target.parent.mkdir(parents=True, exist_ok=True)
            sink: TableSink = (
                XlsxSink(target, created=self._clock.now())
                if request.format is ExportFormat.XLSX
                else CsvSink(target, bundle=bundle)
            )
            try:
                states = await self._write(sink, tables, repo, request.language, progress)
                summary = self._summary(request, actor, scope_text, states)
                files = await asyncio.to_thread(sink.close, summary)
            except BaseException:
                # No half-written file is left behind (also when the export is cancelled).
                await asyncio.to_thread(sink.abort)
                raise
            produced = files[0].name
            packing: str | None = None
            if upload_limit is not None and len(files) == 1:
                files, packing = await asyncio.to_thread(pack_for_upload, files[0], upload_limit)
            return ExportResult(
                files=tuple(files),
                filename=produced,
                scope_text=scope_text,
                tables=tuple(TableCount(s.plan.name, s.rows) for s in states),
                packing=packing,
            )

    async def _write(
        self,
        sink: TableSink,
        tables: list[TablePlan],
        repo: ExportRepository,
        language: str,
        progress: Progress | None,
    ) -> list[_TableState]:
        counts: list[int | None] = [None] * len(tables)
        if progress is not None or sink.needs_counts:
            counts = [await repo.count(table.query) for table in tables]
        total = sum(count or 0 for count in counts)
        if progress is not None:
            progress(0, total)
        done = 0
        states: list[_TableState] = []
        note = self._text(language, "exports.empty_note")
        for table, count in zip(tables, counts, strict=True):
            state = _TableState(table)
            # Ngày công are derived from the hours total, never added up (bot.figures).
            summed = [
                i
                for i, c in enumerate(table.columns)
                if c.total and c.type is not ColumnType.PERSON_DAYS
            ]
            sink.start_table(table, count)

            def write(
                rows: list[sqlite3.Row], state: _TableState = state, summed: list[int] = summed
            ) -> int:
                # Runs on a worker thread: turning rows into cells and XML is the CPU part,
                # and the bot keeps answering meanwhile.
                mapper = state.plan.mapper
                cells = [mapper(r) for r in rows]
                for index in summed:
                    state.totals[index] = state.totals.get(index, 0.0) + sum(
                        float(v) for row in cells if isinstance(v := row[index], int | float)
                    )
                sink.write_rows(cells)
                return len(cells)

            async for written in _pipelined(repo.stream(table.query), write):
                state.rows += written
                done += written
                if progress is not None:
                    progress(done, total)
            await asyncio.to_thread(sink.end_table, state.rows, note if state.rows == 0 else None)
            states.append(state)
        return states

    def _summary(
        self, request: ExportRequest, actor: Actor, scope_text: str, states: list[_TableState]
    ) -> Summary:
        lang = request.language
        now = self._clock.now().astimezone(self._tz).replace(tzinfo=None, microsecond=0)
        by = actor.member.full_name if actor.member else ""
        lines: list[tuple[str, Cell]] = [
            (
                self._text(lang, "exports.summary.kind"),
                self._text(lang, f"exports.kind.{request.kind.value}"),
            ),
            (self._text(lang, "exports.summary.scope"), scope_text),
            (self._text(lang, "exports.summary.generated_at"), now),
            (self._text(lang, "exports.summary.generated_by"), by),
        ]
        main = states[0] if states else None
        if main is not None and main.rows:
            # Hours credited carry at most two decimals, so a row's hours cell is its raw
            # value: the total is the raw hours added up, then rounded once.
            hours = next(
                (i for i, c in enumerate(main.plan.columns) if c.type is ColumnType.HOURS), None
            )
            for index, column in enumerate(main.plan.columns):
                if not column.total:
                    continue
                value: float
                if column.type is ColumnType.PERSON_DAYS:
                    raw = main.totals.get(hours, 0.0) if hours is not None else 0.0
                    value = person_days(raw, self._hours_per_day)
                elif column.type is ColumnType.HOURS:
                    value = total_hours([main.totals.get(index, 0.0)])
                else:
                    value = main.totals.get(index, 0.0)
                label = self._text(lang, "exports.summary.total", column=column.header)
                lines.append((label, whole(value)))
        return Summary(
            title=self._text(lang, "exports.summary.title"),
            lines=lines,
            labels={
                "sheet": self._text(lang, "exports.sheet.summary"),
                "table": self._text(lang, "exports.summary.table"),
                "rows": self._text(lang, "exports.summary.rows"),
            },
            tables=[(s.plan.name, s.rows) for s in states],
            note=self._text(lang, "exports.empty_note") if main and main.rows == 0 else None,
        )


async def _pipelined(
    chunks: AsyncIterator[list[sqlite3.Row]], write: Callable[[list[sqlite3.Row]], int]
) -> AsyncIterator[int]:
    """Write each chunk on a worker thread while the database thread already fetches the
    next one (SQLite releases the GIL while it steps), so reading and writing overlap; at
    most two chunks are in memory."""
    pending = asyncio.ensure_future(anext(chunks))
    try:
        while True:
            try:
                chunk = await pending
            except StopAsyncIteration:
                return
            pending = asyncio.ensure_future(anext(chunks))
            yield await asyncio.to_thread(write, chunk)
    finally:
        if not pending.done():
            pending.cancel()
        with contextlib.suppress(BaseException):
            await pending
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()


def _question_columns(
    questions: Sequence[QuestionColumn],
) -> tuple[list[str], dict[int, dict[int, int]]]:
    """One column per distinct question prompt (the same "Cỡ áo" in two activities shares a
    column), and for each activity where each of its answers goes."""
    prompts: list[str] = []
    index_of: dict[str, int] = {}
    slots: dict[int, dict[int, int]] = {}
    for q in questions:
        key = " ".join(q.prompt.split()).casefold()
        if key not in index_of:
            index_of[key] = len(prompts)
            prompts.append(" ".join(q.prompt.split()))
        slots.setdefault(q.activity_id, {})[q.position] = index_of[key]
    return prompts, slots
