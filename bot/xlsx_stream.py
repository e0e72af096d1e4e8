"""A streaming XLSX writer for the exports: each sheet's XML goes straight into its zip entry
while the rows come, and is deflated on a second thread.

Why not XlsxWriter: its per-cell API made a 90,000-row export ~13x slower than a stdlib CSV
dump, and even with rows serialised by hand into its ``constant_memory`` row file it writes
every sheet to a temporary file and packages and deflates the whole book, single-threaded, at
``close``, with no way to choose the compression level short of patching its module. The parts
an export needs are few, so they are written here: inline strings, four cell styles (plain,
bold, date, two decimals), a frozen header, column widths and an auto filter. zlib and
``crc32`` release the GIL, so deflating on a thread fed through a bounded queue uses the second
core while the first builds rows, and memory stays flat however long the sheet.

The format leaves some things optional that strict readers need all the same: Gnumeric shows
a sheet blank and ExcelJS refuses it unless every ``<row>`` and ``<c>`` carries its reference
(``r="12"``, ``r="B12"``), and readers size a sheet from its ``<dimension>``. So each sheet is
announced with its number of rows (an export counts them first, in the same read snapshot),
the dimension is written before the rows, and the workbook refuses to end a sheet whose rows
do not match.
"""

from __future__ import annotations

import contextlib
import enum
import math
import os
import queue
import re
import threading
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from html import escape
from itertools import chain
from pathlib import Path
from typing import IO

# Datetimes are written at their wall-clock time: Excel has no time zones.
Cell = str | int | float | datetime | None

MAX_ROWS = 1_048_576  # per sheet, header included
MAX_COLUMNS = 16_384  # per sheet: A … XFD
MAX_TEXT = 32_767  # per cell, in UTF-16 code units as Excel counts them
QUEUE_DEPTH = 2  # chunks waiting for the deflating thread: bounds memory, keeps it busy
CACHE_LIMIT = 256  # cells remembered per column (an activity's title repeats on every row)
CACHEABLE_TEXT = 120  # longer text is not worth remembering

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"


class Style(enum.IntEnum):
    """Cell formats, by their index in ``styles.xml``'s ``cellXfs``."""

    PLAIN = 0
    BOLD = 1
    DATE = 2  # a datetime is always written with this one
    DECIMAL = 3  # two decimals


# --- cells ----------------------------------------------------------------------------------

_NOT_XML = re.compile(r"[\x00-\x08\x0b-\x1f\ud800-\udfff\ufffe\uffff]")  # tab, LF allowed
_XML_SPECIAL = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ud800-\udfff\ufffe\uffff]|_x[0-9A-Fa-f]{4}_")
_EDGE = " \t\n\r"
_EXCEL_EPOCH = date(1899, 12, 30).toordinal()
# A cell's markup is cut where its row number goes: ``<c r="B`` + ``12`` + ``" t=…>…</c>``.
# The part after the number ends with the start of the next cell (or the end of the row), so
# that a row is its opening, then for each cell the row number (one shared string) and the
# cell's remembered markup: no string is built per cell.
_EMPTY = '"/>'
_RESERVED_SHEET_NAMES = frozenset({"history"})  # Excel keeps "History" for tracked changes


def _not_xml(match: re.Match[str]) -> str:
    char = match.group()
    # Control characters have an Excel escape (a carriage return too, which XML would turn
    # into a line feed); lone surrogates and U+FFFE/F cannot be stored at all.
    return f"_x{ord(char):04X}_" if char < " " else "\ufffd"


def xml_text(text: str) -> str:
    """Text as it goes between ``<t>`` tags: capped at Excel's cell limit, XML-escaped,
    control characters as Excel's ``_xHHHH_`` (and a literal ``_xHHHH_`` escaped first)."""
    if len(text) > MAX_TEXT // 2:
        units = text.encode("utf-16-le", "surrogatepass")
        if len(units) > 2 * MAX_TEXT:  # cut between characters, never inside an emoji
            text = units[: 2 * MAX_TEXT].decode("utf-16-le", "ignore")
    if _XML_SPECIAL.search(text) is None:
        return text  # the common case: one search in C
    text = re.sub(r"_(x[0-9A-Fa-f]{4}_)", r"_x005F_\1", text)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _NOT_XML.sub(_not_xml, text)


def excel_serial(moment: datetime) -> float:
    """Excel's date number for a wall-clock datetime (days since 1899-12-30)."""
    seconds = moment.hour * 3600 + moment.minute * 60 + moment.second
    return moment.toordinal() - _EXCEL_EPOCH + seconds / 86400


def column_letters(index: int) -> str:
    """``0`` → ``A``, ``26`` → ``AA``."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


class _Column(dict[Cell, str]):
    """The markup of one column's cells, a whole chunk's values at a time: for each value,
    what follows the row number in ``<c r="B12" …>…</c>``, up to the start of the next cell.

    Most cells repeat (an activity's title, a unit, a start time), so the column is a dict
    from recent values to their markup: ``map`` over its ``__getitem__`` turns a chunk's
    values into cells without a line of Python per hit, and ``__missing__`` makes the rest.
    Keys compare by equality, which is safe here: numbers equal across int/float/bool are the
    same number, text equals only text, and only naive datetimes are kept (an aware one
    equals the same instant in another zone, whose wall-clock time differs)."""

    def __init__(self, style: Style, prepare: Callable[[str], str], after: str) -> None:
        self._after = after  # the next cell's ``<c r="C`` or the row's end
        self._empty = _EMPTY + after
        super().__init__({None: self._empty, "": self._empty})
        self._prepare = prepare
        attr = f' s="{style.value}"' if style else ""
        self._text_open = f'"{attr} t="inlineStr"><is><t>'
        self._kept_open = f'"{attr} t="inlineStr"><is><t xml:space="preserve">'
        self._number_open = f'"{attr}><v>'
        self._close = "</c>" + after

    def cells(self, values: Iterable[Cell]) -> list[str]:
        return list(map(self.__getitem__, values))

    def _text(self, value: str) -> str:
        text = xml_text(self._prepare(value))
        if not text:
            return self._empty
        edge = text[0] in _EDGE or text[-1] in _EDGE
        return f"{self._kept_open if edge else self._text_open}{text}</t></is>{self._close}"

    def __missing__(self, value: Cell) -> str:
        kind = type(value)
        keep = True
        if kind is str:
            cell = self._text(value)  # type: ignore[arg-type]
            keep = len(value) <= CACHEABLE_TEXT  # type: ignore[arg-type]
        elif kind is int or kind is bool:
            cell = f"{self._number_open}{int(value)}</v>{self._close}"  # type: ignore[arg-type]
        elif kind is float:
            finite = math.isfinite(value)  # type: ignore[arg-type]
            # No NaN or infinity in a spreadsheet: an empty cell.
            cell = f"{self._number_open}{value!r}</v>{self._close}" if finite else self._empty
        elif isinstance(value, datetime):
            cell = f'" s="{Style.DATE.value}"><v>{excel_serial(value)!r}</v>{self._close}'
            keep = value.tzinfo is None
        else:  # anything unexpected: as text, never kept
            return self._text(str(value))
        if keep:
            if len(self) >= CACHE_LIMIT:
                self.clear()
                self[None] = self[""] = self._empty
            self[value] = cell
        return cell


# --- the zip entry of one sheet -------------------------------------------------------------


class _DeflatingEntry:
    """One zip entry written by its own thread from a bounded queue of encoded chunks. The
    caller never blocks on zlib, only when the queue is full (that is the memory bound)."""

    def __init__(self, archive: zipfile.ZipFile, name: str) -> None:
        self._chunks: queue.Queue[bytes | None] = queue.Queue(QUEUE_DEPTH)
        self._failure: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, args=(archive, name), name=f"xlsx {name}", daemon=True
        )
        self._thread.start()

    def _run(self, archive: zipfile.ZipFile, name: str) -> None:
        drained = False
        try:
            # Not force_zip64: Excel is strict about ZIP64 headers, and a sheet's XML stays
            # well under zipfile's 2 GiB limit (a full sheet of registrations is ~0.65 GB);
            # past it, zipfile raises here and the workbook fails rather than breaks.
            with archive.open(name, "w") as entry:
                while (chunk := self._chunks.get()) is not None:
                    entry.write(chunk)
                drained = True
        except BaseException as error:  # handed to the writer by write() or finish()
            self._failure = error
            while not drained:  # keep taking chunks so that the writer never blocks
                drained = self._chunks.get() is None

    def write(self, data: bytes) -> None:
        if self._failure is not None:
            raise self._failure
        self._chunks.put(data)

    def finish(self) -> None:
        self._chunks.put(None)
        self._thread.join()
        if self._failure is not None:
            raise self._failure


# --- the workbook ---------------------------------------------------------------------------


@dataclass
class _Sheet:
    name: str
    part: int  # xl/worksheets/sheet{part}.xml
    columns: int
    rows: int  # announced at the start, in its <dimension>
    filter_to_row: int | None = None


class XlsxWorkbook:
    """Sheets are written one after the other: ``start_sheet``, ``write_rows``…,
    ``end_sheet``; ``close`` writes the rest of the package and moves the file to ``path``.
    Until then it grows under a ``.part`` name, which ``abort`` removes.

    Calls may come from different threads, one at a time (the export runs each chunk on a
    worker thread); a lock keeps an ``abort`` from racing a chunk still being written."""

    def __init__(
        self,
        path: Path,
        *,
        date_format: str = "dd/mm/yyyy hh:mm",
        prepare_text: Callable[[str], str] = str,
        created: datetime | None = None,
        compresslevel: int = 1,
    ) -> None:
        self._path = path
        self._part_path = path.with_name(path.name + ".part")
        self._date_format = date_format
        self._prepare = prepare_text
        self._created = created
        self._level = compresslevel
        self._lock = threading.Lock()
        self._file: IO[bytes] = self._part_path.open("wb")
        # Level 1: the 55 MB of XML of 90,000 registrations deflate in ~0.09 s of CPU into
        # 2.2 MB, against ~0.27 s and 1.5 MB at zlib's default 6; the bot shares its CPU.
        self._zip = zipfile.ZipFile(
            self._file, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel
        )
        self._sheets: list[_Sheet] = []  # in workbook (tab) order
        self._active: _Sheet | None = None
        self._sheet: _Sheet | None = None
        self._entry: _DeflatingEntry | None = None
        self._styles: tuple[Style, ...] = ()
        self._column_sets: dict[tuple[Style, ...], list[_Column]] = {}
        self._rows = 0
        self._done = False

    @property
    def rows(self) -> int:
        """Rows written to the current sheet."""
        return self._rows

    def start_sheet(
        self,
        name: str,
        styles: Sequence[Style],
        widths: Sequence[float | None] = (),
        *,
        rows: int,
        frozen_rows: int = 0,
        position: int | None = None,
        active: bool = False,
    ) -> None:
        """A new sheet of ``rows`` rows (header included), ``styles`` giving each column's
        format; no row may be wider. ``widths`` are in characters; ``position`` puts it
        elsewhere than last among the tabs; the ``active`` sheet is the one Excel opens on."""
        check_sheet_name(name)
        if not 0 <= rows <= MAX_ROWS:
            raise ValueError(f"a sheet holds at most {MAX_ROWS:,} rows")
        if len(styles) > MAX_COLUMNS:
            raise ValueError(f"a sheet holds at most {MAX_COLUMNS:,} columns")
        with self._lock:
            self._check_open()
            if self._sheet is not None:
                raise RuntimeError("end the current sheet first")
            if any(s.name.casefold() == name.casefold() for s in self._sheets):
                raise ValueError(f"duplicate sheet name: {name!r}")
            sheet = _Sheet(name, len(self._sheets) + 1, len(styles), rows)
            self._sheets.insert(len(self._sheets) if position is None else position, sheet)
            if active:
                self._active = sheet
            self._sheet, self._styles, self._rows = sheet, tuple(styles), 0
            self._entry = _DeflatingEntry(self._zip, f"xl/worksheets/sheet{sheet.part}.xml")
            self._put(_XML_DECL + self._sheet_head(sheet, widths, frozen_rows, active))

    def _sheet_head(
        self, sheet: _Sheet, widths: Sequence[float | None], frozen_rows: int, active: bool
    ) -> str:
        selected = ' tabSelected="1"' if active else ""
        view = f'<sheetView{selected} workbookViewId="0"/>'
        if frozen_rows:
            view = (
                f'<sheetView{selected} workbookViewId="0"><pane ySplit="{frozen_rows}" '
                f'topLeftCell="A{frozen_rows + 1}" activePane="bottomLeft" state="frozen"/>'
                '<selection pane="bottomLeft"/></sheetView>'
            )
        cols = "".join(
            f'<col min="{i}" max="{i}" width="{_excel_width(w):.16g}" customWidth="1"/>'
            for i, w in enumerate(widths, 1)
            if w is not None
        )
        return (
            f'<worksheet xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
            f'<dimension ref="{_range(sheet, sheet.rows, absolute=False)}"/>'
            f"<sheetViews>{view}</sheetViews>"
            '<sheetFormatPr defaultRowHeight="15"/>'
            + (f"<cols>{cols}</cols>" if cols else "")
            + "<sheetData>"
        )

    def write_rows(
        self, rows: Sequence[Sequence[Cell]], styles: Sequence[Style] | None = None
    ) -> None:
        """Rows of the current sheet, formatted by the sheet's column styles or ``styles``."""
        with self._lock:
            self._check_open()
            sheet = self._sheet
            if sheet is None:
                raise RuntimeError("no sheet started")
            if self._rows + len(rows) > sheet.rows:
                raise ValueError(f"the sheet was announced with {sheet.rows:,} rows")
            if rows:
                if max(map(len, rows)) > sheet.columns:
                    raise ValueError(f"the sheet was announced with {sheet.columns} columns")
                styles = self._styles if styles is None else tuple(styles)
                self._put(self._rows_xml(rows, styles, self._rows + 1))
                self._rows += len(rows)

    def _rows_xml(
        self, rows: Sequence[Sequence[Cell]], styles: tuple[Style, ...], first: int
    ) -> str:
        # Column by column: each column's cells come out of its own dict in one map(), then
        # zip() lays them back into rows between the row numbers, so the per-cell work stays
        # in C for repeated values. Every cell of a row is written (empty ones too).
        widths = set(map(len, rows))
        if len(widths) > 1:  # ragged rows (rare): one at a time
            return "".join(
                self._rows_xml([row], styles, first + offset) for offset, row in enumerate(rows)
            )
        width = widths.pop()
        numbers = list(map(str, range(first, first + len(rows))))
        if width == 0:
            return "".join(map('<row r="{}"/>'.format, numbers))
        columns = self._columns(styles, width)
        by_column = zip(*rows, strict=True)
        cells = [column.cells(values) for column, values in zip(columns, by_column, strict=True)]
        pieces: list[list[str]] = [cells[0]]
        for column_cells in cells[1:]:
            pieces += (numbers, column_cells)
        opens = map('<row r="{0}"><c r="A{0}'.format, numbers)
        return "".join(chain.from_iterable(zip(opens, *pieces, strict=True)))

    def _columns(self, styles: tuple[Style, ...], width: int) -> list[_Column]:
        styles = (styles + (Style.PLAIN,) * width)[:width]
        columns = self._column_sets.get(styles)
        if columns is None:
            columns = [
                _Column(
                    style,
                    self._prepare,
                    f'<c r="{column_letters(index + 1)}' if index + 1 < width else "</row>",
                )
                for index, style in enumerate(styles)
            ]
            self._column_sets[styles] = columns
        return columns

    def end_sheet(self, *, filter_to_row: int | None = None) -> None:
        """Finish the current sheet; ``filter_to_row`` (1-based, header included) puts an
        auto filter on all its columns down to that row."""
        with self._lock:
            self._check_open()
            sheet, entry = self._sheet, self._entry
            if sheet is None or entry is None:
                raise RuntimeError("no sheet started")
            if self._rows != sheet.rows:
                raise RuntimeError(f"{self._rows:,} rows written, {sheet.rows:,} announced")
            tail = "</sheetData>"
            if filter_to_row is not None and sheet.columns:
                sheet.filter_to_row = filter_to_row
                tail += f'<autoFilter ref="{_range(sheet, filter_to_row, absolute=False)}"/>'
            tail += (
                '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" '
                'footer="0.3"/></worksheet>'
            )
            self._put(tail)
            self._sheet = self._entry = None
            self._column_sets.clear()
            entry.finish()

    def _put(self, text: str) -> None:
        assert self._entry is not None
        self._entry.write(text.encode("utf-8"))

    def close(self) -> Path:
        """Write the package parts and move the file to its name; returns the path."""
        with self._lock:
            self._check_open()
            if self._sheet is not None:
                raise RuntimeError("end the current sheet first")
            if not self._sheets:
                raise RuntimeError("a workbook needs at least one sheet")
            for name, xml in self._package_parts():
                # A fixed date, as the streamed sheets have: the same rows, the same file.
                self._zip.writestr(
                    zipfile.ZipInfo(name), _XML_DECL + xml, zipfile.ZIP_DEFLATED, self._level
                )
            self._zip.close()
            self._file.close()
            os.replace(self._part_path, self._path)
            self._done = True
            return self._path

    def abort(self) -> None:
        """Stop and remove the partial file; a no-op once closed or aborted."""
        with self._lock:
            if self._done:
                return
            self._done = True
            if self._entry is not None:
                with contextlib.suppress(BaseException):
                    self._entry.finish()
            try:
                with contextlib.suppress(BaseException):
                    self._zip.close()
                with contextlib.suppress(OSError):  # a full disk fails the last flush too
                    self._file.close()
            finally:
                self._part_path.unlink(missing_ok=True)

    def _check_open(self) -> None:
        if self._done:
            raise RuntimeError("the workbook is closed")

    def _package_parts(self) -> list[tuple[str, str]]:
        sheets = sorted(self._sheets, key=lambda s: s.part)
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{s.part}.xml" ContentType="{_SHEET_TYPE}"/>'
            for s in sheets
        )
        office = "application/vnd.openxmlformats-officedocument"
        content_types = (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" '
            f'ContentType="{office}.spreadsheetml.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{office}.spreadsheetml.styles+xml"/>'
            f'<Override PartName="/docProps/app.xml" '
            f'ContentType="{office}.extended-properties+xml"/>'
            '<Override PartName="/docProps/core.xml" '
            'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
            f"{overrides}</Types>"
        )
        package_rels = (
            f'<Relationships xmlns="{_PKG_REL_NS}">'
            f'<Relationship Id="rId1" Type="{_REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
            f'<Relationship Id="rId2" Type="{_PKG_REL_NS}/metadata/core-properties" '
            'Target="docProps/core.xml"/>'
            f'<Relationship Id="rId3" Type="{_REL_NS}/extended-properties" '
            'Target="docProps/app.xml"/></Relationships>'
        )
        created = ""
        if self._created is not None:
            # W3CDTF in UTC; a naive datetime is taken as UTC already.
            moment = self._created
            if moment.utcoffset() is not None:
                moment = moment.astimezone(UTC)
            stamp = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
            created = (
                f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
                f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>'
            )
        core = (
            '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
            'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f"<dc:creator>Nhịp Cầu</dc:creator>{created}</cp:coreProperties>"
        )
        app = (
            '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
            'extended-properties">'
            "<Application>Nhịp Cầu</Application></Properties>"
        )
        active = ""
        if self._active is not None:
            active = f' activeTab="{self._sheets.index(self._active)}"'
        filters = "".join(
            f'<definedName name="_xlnm._FilterDatabase" localSheetId="{index}" hidden="1">'
            f"{escape(_quoted(s.name), quote=False)}!"
            f"{_range(s, s.filter_to_row, absolute=True)}</definedName>"
            for index, s in enumerate(self._sheets)
            if s.filter_to_row is not None
        )
        workbook = (
            f'<workbook xmlns="{_MAIN_NS}" xmlns:r="{_REL_NS}">'
            f"<bookViews><workbookView{active}/></bookViews><sheets>"
            + "".join(
                f'<sheet name="{escape(s.name)}" sheetId="{s.part}" r:id="rId{s.part}"/>'
                for s in self._sheets
            )
            + "</sheets>"
            + (f"<definedNames>{filters}</definedNames>" if filters else "")
            + "</workbook>"
        )
        workbook_rels = (
            f'<Relationships xmlns="{_PKG_REL_NS}">'
            + "".join(
                f'<Relationship Id="rId{s.part}" Type="{_REL_NS}/worksheet" '
                f'Target="worksheets/sheet{s.part}.xml"/>'
                for s in sheets
            )
            + f'<Relationship Id="rId{len(sheets) + 1}" Type="{_REL_NS}/styles" '
            'Target="styles.xml"/></Relationships>'
        )
        return [
            ("[Content_Types].xml", content_types),
            ("_rels/.rels", package_rels),
            ("docProps/core.xml", core),
            ("docProps/app.xml", app),
            ("xl/workbook.xml", workbook),
            ("xl/_rels/workbook.xml.rels", workbook_rels),
            ("xl/styles.xml", self._styles_xml()),
        ]

    def _styles_xml(self) -> str:
        font = '<sz val="11"/><name val="Calibri"/><family val="2"/>'
        xf = 'fontId="{}" fillId="0" borderId="0" xfId="0"'
        return (
            f'<styleSheet xmlns="{_MAIN_NS}">'
            '<numFmts count="1"><numFmt numFmtId="164" '
            f'formatCode="{escape(self._date_format)}"/></numFmts>'
            f'<fonts count="2"><font>{font}</font><font><b/>{font}</font></fonts>'
            '<fills count="2"><fill><patternFill patternType="none"/></fill>'
            '<fill><patternFill patternType="gray125"/></fill></fills>'
            '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border>'
            "</borders>"
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
            "</cellStyleXfs>"
            '<cellXfs count="4">'  # in Style's order
            f'<xf numFmtId="0" {xf.format(0)}/>'
            f'<xf numFmtId="0" {xf.format(1)} applyFont="1"/>'
            f'<xf numFmtId="164" {xf.format(0)} applyNumberFormat="1"/>'
            f'<xf numFmtId="2" {xf.format(0)} applyNumberFormat="1"/>'
            "</cellXfs>"
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
            "</styleSheet>"
        )


def _excel_width(characters: float) -> float:
    # What Excel stores for a width typed in characters (Calibri 11: 7-pixel digits, 5 of
    # padding), as Excel and XlsxWriter compute it.
    pixels = int(characters * 7 + 0.5) + 5 if characters >= 1 else int(characters * 12 + 0.5)
    return (pixels * 256 // 7) / 256


def check_sheet_name(name: str) -> None:
    """ValueError unless Excel accepts ``name`` for a sheet: 1 to 31 characters (UTF-16, as
    Excel counts), none of ``[]:*?/\\``, not starting or ending with a quote, not "History"."""
    length = len(name.encode("utf-16-le", "surrogatepass")) // 2
    if (
        not 0 < length <= 31
        or re.search(r"[\[\]:*?/\\]", name)
        or name[0] == "'"
        or name[-1] == "'"
        or name.casefold() in _RESERVED_SHEET_NAMES
    ):
        raise ValueError(f"not a valid sheet name: {name!r}")


def _quoted(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _range(sheet: _Sheet, last_row: int | None, *, absolute: bool) -> str:
    last = column_letters(max(sheet.columns, 1) - 1)
    row = max(last_row or 1, 1)
    if not absolute and last == "A" and row == 1:
        return "A1"  # one cell, as Excel writes the dimension of an empty sheet
    return f"$A$1:${last}${row}" if absolute else f"A1:{last}{row}"
