"""Spreadsheet files as other programs see them, for the export and import tests: an XLSX read
by independent readers (openpyxl, python-calamine, pandas over calamine) with its structure
checked the way strict readers need it, and hostile XLSX files (a zip bomb, a sheet that claims
or really spans the whole grid) built from a real workbook."""

from __future__ import annotations

import io
import re
import struct
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pandas as pd
from openpyxl import Workbook, load_workbook
from openpyxl.utils import column_index_from_string, get_column_letter
from python_calamine import CalamineWorkbook

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"

# --- reading ----------------------------------------------------------------------------------


def _canonical(value: Any) -> Any:
    """One spelling per value across readers: no value is None, numbers compare as numbers
    (calamine gives 4.0 where openpyxl gives 4), dates as datetimes."""
    if value is None or value == "" or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, bool):
        return int(value)
    return value


def _tidy(rows: Any) -> list[list[Any]]:
    table = [[_canonical(v) for v in row] for row in rows]
    table = [
        row[: max((i + 1 for i, v in enumerate(row) if v is not None), default=0)] for row in table
    ]
    while table and not table[-1]:
        table.pop()
    return table


# Read from the bytes: the readers would otherwise judge a file by its name's extension.


def read_with_openpyxl(path: Path) -> dict[str, list[list[Any]]]:
    book = load_workbook(io.BytesIO(path.read_bytes()))
    return {sheet.title: _tidy(sheet.iter_rows(values_only=True)) for sheet in book.worksheets}


def read_with_calamine(path: Path) -> dict[str, list[list[Any]]]:
    book = CalamineWorkbook.from_filelike(io.BytesIO(path.read_bytes()))
    return {name: _tidy(book.get_sheet_by_name(name).to_python()) for name in book.sheet_names}


def read_with_pandas(path: Path) -> dict[str, list[list[Any]]]:
    frames = pd.read_excel(
        io.BytesIO(path.read_bytes()), sheet_name=None, engine="calamine", header=None
    )
    return {name: _tidy(frame.astype(object).values.tolist()) for name, frame in frames.items()}


def assert_strict_structure(path: Path) -> None:
    """What Gnumeric and ExcelJS need besides what the format requires: every row and cell
    carries its reference, in order, each sheet states its used range, and sheet names are
    ones Excel accepts (≤ 31 characters, none of []:*?/\\, not "History")."""
    with zipfile.ZipFile(path) as package:
        assert package.testzip() is None
        workbook = ElementTree.fromstring(package.read("xl/workbook.xml"))
        names = [s.get("name", "") for s in workbook.iter(f"{_MAIN}sheet")]
        sheets = sorted(n for n in package.namelist() if n.startswith("xl/worksheets/"))
        parts = [ElementTree.fromstring(package.read(name)) for name in sheets]
    assert names and len(names) == len(parts)
    for name in names:
        assert 0 < len(name) <= 31 and not re.search(r"[\[\]:*?/\\]", name), name
        assert name.casefold() != "history"
    for sheet in parts:
        last_row, last_column = 0, 0
        for row in sheet.iter(f"{_MAIN}row"):
            number = int(row.get("r") or 0)
            assert number > last_row, "every <row> has its r, in order"
            last_row, previous = number, 0
            for cell in row.iter(f"{_MAIN}c"):
                reference = cell.get("r") or ""
                match = re.fullmatch(r"([A-Z]{1,3})(\d+)", reference)
                assert match and int(match[2]) == number, f"cell {reference!r} in row {number}"
                column = column_index_from_string(match[1])
                assert column > previous, "cells in order"
                previous = column
                last_column = max(last_column, column)
        dimension = sheet.find(f"{_MAIN}dimension")
        assert dimension is not None, "every sheet states its used range"
        expected = f"A1:{get_column_letter(max(last_column, 1))}{max(last_row, 1)}"
        assert dimension.get("ref") == ("A1" if expected == "A1:A1" else expected)


def open_in_every_reader(path: Path) -> dict[str, list[list[Any]]]:
    """The workbook's sheets, checked to read the same in openpyxl, python-calamine and pandas
    (calamine engine, independent of openpyxl) and to have the structure strict readers need."""
    assert_strict_structure(path)
    ours = read_with_openpyxl(path)
    assert read_with_calamine(path) == ours
    assert read_with_pandas(path) == ours
    return ours


def is_local_datetime(value: Any) -> bool:
    return isinstance(value, datetime) and value.tzinfo is None


# --- hostile files ----------------------------------------------------------------------------


def workbook_bytes(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _rewrite_sheet(content: bytes, change: Any) -> bytes:
    """The workbook with its first sheet's XML replaced by ``change(xml)`` (bytes, or an
    iterable of byte chunks streamed into the zip)."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename != "xl/worksheets/sheet1.xml":
                target.writestr(info.filename, data)
                continue
            new = change(data)
            with target.open(info.filename, "w") as entry:
                for chunk in [new] if isinstance(new, bytes) else new:
                    entry.write(chunk)
    return out.getvalue()


def whole_grid_dimension(content: bytes) -> bytes:
    """The same rows, but a sheet that declares A1:XFD1048576 as its used range."""
    return _rewrite_sheet(
        content,
        lambda xml: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:XFD1048576"', xml),
    )


def corner_cell(content: bytes) -> bytes:
    """The same rows plus one cell at XFD1048576: the used range really is the whole grid."""
    corner = (
        b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row></sheetData>'
    )
    return whole_grid_dimension(
        _rewrite_sheet(content, lambda xml: xml.replace(b"</sheetData>", corner, 1))
    )


def zip_bomb(content: bytes, megabytes: int = 50) -> bytes:
    """The workbook with ``megabytes`` of blank space in its sheet: ~1,000:1 packed."""

    def swell(xml: bytes) -> Any:
        head, tail = xml.split(b"<sheetData>", 1)
        yield head + b"<sheetData>"
        blank = b" " * (1 << 20)
        for _ in range(megabytes):
            yield blank
        yield tail

    return _rewrite_sheet(content, swell)


def understated(content: bytes, name: str = "xl/worksheets/sheet1.xml", size: int = 1000) -> bytes:
    """The zip with ``name``'s unpacked size declared as ``size`` bytes in the central
    directory (what zipfile goes by), whatever it really unpacks to."""
    data = bytearray(content)
    encoded = name.encode()
    position = 0
    while (position := data.find(b"PK\x01\x02", position)) >= 0:
        name_length = struct.unpack_from("<H", data, position + 28)[0]
        if bytes(data[position + 46 : position + 46 + name_length]) == encoded:
            struct.pack_into("<I", data, position + 24, size)
            return bytes(data)
        position += 4
    raise AssertionError(f"{name} is not in the zip")
