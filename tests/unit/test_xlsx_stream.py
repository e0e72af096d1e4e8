"""The streaming XLSX writer on its own, read back with openpyxl: typed cells and their formats,
the bold frozen header, widths and filters, tab order, hostile text; and that a workbook that
fails or is given up leaves no file behind and no thread running."""

from __future__ import annotations

import re
import threading
import zipfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from openpyxl import load_workbook
from openpyxl.utils.escape import unescape

from bot.xlsx_stream import MAX_TEXT, Style, XlsxWorkbook

DATE_FORMAT = "dd/mm/yyyy hh:mm"
START = datetime(2026, 11, 20, 8, 0)


def writer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("xlsx ")]


def two_tables_and_a_summary(path: Path) -> Path:
    book = XlsxWorkbook(path, date_format=DATE_FORMAT, created=datetime(2026, 11, 27, tzinfo=UTC))
    book.start_sheet(
        "Đăng ký",
        [Style.PLAIN, Style.PLAIN, Style.DATE, Style.DECIMAL],
        [10, 30, 16, None],
        rows=4,
        frozen_rows=1,
        active=True,
    )
    book.write_rows([["Mã", "Họ và tên", "Bắt đầu", "Số giờ"]], [Style.BOLD] * 4)
    book.write_rows([[1, "Nguyễn Văn An", START, 4.0], [2, None, None, 0]])
    book.write_rows([[3, "Trần Thị Bình", START + timedelta(days=1), 2.5]])
    book.end_sheet(filter_to_row=4)
    book.start_sheet("Điểm danh", [Style.PLAIN, Style.DECIMAL], [12, 12], rows=2, frozen_rows=1)
    book.write_rows([["Mã", "Ngày công"]], [Style.BOLD, Style.BOLD])
    book.write_rows([[7, 0.5]])
    book.end_sheet(filter_to_row=2)
    book.start_sheet("Tổng hợp", [Style.BOLD, Style.PLAIN], [32, 40], rows=4, position=0)
    book.write_rows([["Báo cáo xuất dữ liệu"], []])
    book.write_rows([["Thời điểm xuất", datetime(2026, 11, 27, 10, 0)]])
    book.write_rows([["Tổng cộng: Ngày công", 1.5]], [Style.BOLD, Style.DECIMAL])
    book.end_sheet()
    return book.close()


def test_two_tables_and_a_summary_open_with_their_types_formats_and_layout(
    tmp_path: Path,
) -> None:
    path = two_tables_and_a_summary(tmp_path / "báo-cáo.xlsx")
    assert list(tmp_path.iterdir()) == [path]
    book = load_workbook(path)
    assert book.sheetnames == ["Tổng hợp", "Đăng ký", "Điểm danh"]  # summary first
    assert book.active is not None and book.active.title == "Đăng ký"  # opens on the data

    sheet = book["Đăng ký"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows == [
        ("Mã", "Họ và tên", "Bắt đầu", "Số giờ"),
        (1, "Nguyễn Văn An", START, 4.0),
        (2, None, None, 0),
        (3, "Trần Thị Bình", START + timedelta(days=1), 2.5),
    ]
    assert isinstance(rows[1][0], int) and isinstance(rows[1][3], float)
    assert all(cell.font.bold for cell in sheet[1]) and not sheet["B2"].font.bold
    assert sheet["C2"].number_format == DATE_FORMAT
    assert sheet["D2"].number_format == "0.00" and sheet["D3"].number_format == "0.00"
    assert sheet["A2"].number_format == "General"
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:D4"
    widths = sheet.column_dimensions
    assert widths["B"].width > widths["A"].width > 10  # characters plus Excel's padding

    other = book["Điểm danh"]
    assert list(other.iter_rows(values_only=True)) == [("Mã", "Ngày công"), (7, 0.5)]
    assert other.auto_filter.ref == "A1:B2" and other.freeze_panes == "A2"

    summary = book["Tổng hợp"]
    assert list(summary.iter_rows(values_only=True)) == [
        ("Báo cáo xuất dữ liệu", None),
        (None, None),
        ("Thời điểm xuất", datetime(2026, 11, 27, 10, 0)),
        ("Tổng cộng: Ngày công", 1.5),
    ]
    assert summary["A1"].font.bold and summary["B3"].number_format == DATE_FORMAT
    assert summary["B4"].number_format == "0.00"
    assert summary.freeze_panes is None and summary.auto_filter.ref is None


def test_the_package_declares_every_part_it_holds(tmp_path: Path) -> None:
    path = two_tables_and_a_summary(tmp_path / "x.xlsx")
    with zipfile.ZipFile(path) as package:
        assert package.testzip() is None
        names = set(package.namelist())
        types = package.read("[Content_Types].xml").decode()
        targets = re.findall(
            r'Target="([^"]+)"', package.read("xl/_rels/workbook.xml.rels").decode()
        )
        workbook = package.read("xl/workbook.xml").decode()
    sheets = {n for n in names if n.startswith("xl/worksheets/")}
    assert len(sheets) == 3
    for name in sheets | {"xl/workbook.xml", "xl/styles.xml"}:
        assert f'PartName="/{name}"' in types
    assert {f"xl/{t}" for t in targets} == sheets | {"xl/styles.xml"}
    assert "_xlnm._FilterDatabase" in workbook  # Excel's own name for the filtered range
    assert {"_rels/.rels", "docProps/core.xml", "docProps/app.xml"} <= names


def test_hostile_text_comes_back_as_written(tmp_path: Path) -> None:
    texts = [
        'Trần "Bông" Hoa & <b>bạn</b> > 3',
        "chuông\x07 và \x01\x1f",
        "  hai dấu cách đầu",
        "dấu cách cuối ",
        "\tTab đầu dòng",
        "Dòng một\r\nDòng hai\nDòng ba",
        "_x0041_ không phải chữ A",
        "Nguyễn Thị Ánh Tuyết 🌸✨ — Đoàn TNCS Hồ Chí Minh",
        '=HYPERLINK("http://evil.example")',  # no neutralising asked of this writer
    ]
    path = tmp_path / "text.xlsx"
    book = XlsxWorkbook(path)
    book.start_sheet("Văn bản", [Style.PLAIN], rows=len(texts) + 3)
    book.write_rows([[text] for text in texts])
    book.write_rows([["x" * (MAX_TEXT + 10)], ["🌸" * MAX_TEXT], ["lẻ\ud800loi"]])
    book.end_sheet()
    book.close()
    # Excel reads _xHHHH_ as the character it stands for; openpyxl leaves that to unescape.
    values = [unescape(v) for (v,) in load_workbook(path)["Văn bản"].iter_rows(values_only=True)]
    assert values[: len(texts)] == texts
    too_long, emoji, surrogate = values[len(texts) :]
    assert too_long == "x" * MAX_TEXT  # Excel's limit per cell
    assert emoji == "🌸" * (MAX_TEXT // 2)  # counted in UTF-16, cut between characters
    assert surrogate == "lẻ\ufffdloi"  # cannot be stored: replaced, not a broken file


def test_numbers_and_times_excel_has_no_way_to_hold(tmp_path: Path) -> None:
    path = tmp_path / "numbers.xlsx"
    book = XlsxWorkbook(path)
    book.start_sheet("Số", [Style.PLAIN] * 5, rows=2)
    hanoi = timezone(timedelta(hours=7))
    book.write_rows(
        [
            [float("nan"), float("inf"), True, -2, datetime(2026, 1, 1, 8, 30, tzinfo=hanoi)],
            [1, 1.0, 1, "1", datetime(2026, 1, 1, 1, 30, tzinfo=UTC)],  # the same instant
        ]
    )
    book.end_sheet()
    book.close()
    rows = list(load_workbook(path)["Số"].iter_rows(values_only=True))
    assert rows[0] == (None, None, 1, -2, datetime(2026, 1, 1, 8, 30))  # wall-clock time
    assert rows[1] == (1, 1, 1, "1", datetime(2026, 1, 1, 1, 30))


def test_ragged_and_empty_rows_keep_their_places(tmp_path: Path) -> None:
    path = tmp_path / "ragged.xlsx"
    book = XlsxWorkbook(path)
    book.start_sheet("Dòng", [Style.PLAIN] * 3, rows=4)
    book.write_rows([["a", "b"], [], ["c"], ["d", "e", "f"]])
    book.end_sheet(filter_to_row=1)
    book.close()
    rows = list(load_workbook(path)["Dòng"].iter_rows(values_only=True))
    assert rows == [("a", "b", None), (None, None, None), ("c", None, None), ("d", "e", "f")]


def test_a_sheet_holds_exactly_the_rows_and_columns_it_announced(tmp_path: Path) -> None:
    book = XlsxWorkbook(tmp_path / "announced.xlsx")
    book.start_sheet("Dòng", [Style.PLAIN, Style.PLAIN], rows=2)
    with pytest.raises(ValueError, match="2 columns"):
        book.write_rows([["a", "b", "c"]])  # wider than its <dimension>
    book.write_rows([["a", "b"]])
    with pytest.raises(RuntimeError, match="1 rows written, 2 announced"):
        book.end_sheet()
    with pytest.raises(ValueError, match="2 rows"):
        book.write_rows([["b"], ["c"]])
    book.write_rows([["b"]])
    book.end_sheet()
    book.close()
    with zipfile.ZipFile(tmp_path / "announced.xlsx") as package:
        sheet = package.read("xl/worksheets/sheet1.xml").decode()
    assert '<dimension ref="A1:B2"/>' in sheet
    assert '<row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c><c r="B1" ' in sheet
    assert '<row r="2"><c r="A2" t="inlineStr"><is><t>b</t></is></c></row>' in sheet


def test_a_full_disk_fails_the_workbook_and_leaves_nothing(tmp_path: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("needs /dev/full")
    target = tmp_path / "out.xlsx"
    # The file grows under its .part name; point that at a device that is always full.
    (tmp_path / "out.xlsx.part").symlink_to("/dev/full")
    book = XlsxWorkbook(target)
    book.start_sheet("Đăng ký", [Style.PLAIN, Style.PLAIN], rows=400_000)
    with pytest.raises(OSError) as failure:
        for chunk in range(200):  # the deflating thread's error reaches the writer
            book.write_rows([[chunk * 2000 + i, f"Đoàn viên {i}"] for i in range(2000)])
        book.end_sheet()
        book.close()
    assert failure.value.errno == 28  # ENOSPC
    book.abort()
    assert list(tmp_path.iterdir()) == []
    assert writer_threads() == []


def test_a_workbook_given_up_half_way_leaves_nothing(tmp_path: Path) -> None:
    book = XlsxWorkbook(tmp_path / "out.xlsx")
    book.start_sheet("Đăng ký", [Style.PLAIN], rows=5000)
    book.write_rows([[f"dòng {i}"] for i in range(5000)])
    assert [p.name for p in tmp_path.iterdir()] == ["out.xlsx.part"]  # never the real name
    book.abort()
    book.abort()  # twice is harmless
    assert list(tmp_path.iterdir()) == []
    assert writer_threads() == []
    with pytest.raises(RuntimeError):
        book.write_rows([["muộn"]])


def test_sheet_names_excel_would_refuse_are_refused(tmp_path: Path) -> None:
    book = XlsxWorkbook(tmp_path / "names.xlsx")
    for bad in ("", "a" * 32, "🌸" * 16, "Tháng 1/2026", "'trích", "trích'", "History", "HISTORY"):
        with pytest.raises(ValueError):
            book.start_sheet(bad, [Style.PLAIN], rows=0)
    book.start_sheet("Đăng ký", [Style.PLAIN], rows=0)
    book.end_sheet()
    with pytest.raises(ValueError):
        book.start_sheet("ĐĂNG KÝ", [Style.PLAIN], rows=0)  # Excel compares names without case
    book.close()
    assert load_workbook(tmp_path / "names.xlsx").sheetnames == ["Đăng ký"]
