"""Reading the unit list (CSV of ``code,name``) used to seed the units table."""

from __future__ import annotations

import csv
from pathlib import Path


class UnitFileError(ValueError):
    pass


def read_units_csv(path: Path) -> list[tuple[str, str]]:
    """Rows of (code, name); a header row ``code,name`` is optional. Raises UnitFileError."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UnitFileError(f"{path}: file not found") from None
    except UnicodeDecodeError:
        raise UnitFileError(f"{path}: not UTF-8 text") from None
    units: list[tuple[str, str]] = []
    seen: set[str] = set()
    for number, row in enumerate(csv.reader(text.splitlines()), start=1):
        if not row or all(not cell.strip() for cell in row):
            continue
        if number == 1 and [c.strip().lower() for c in row[:2]] == ["code", "name"]:
            continue
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            raise UnitFileError(f"{path}:{number}: expected two columns: code,name")
        code, name = row[0].strip(), " ".join(row[1].split())
        if code in seen:
            raise UnitFileError(f"{path}:{number}: duplicate code {code!r}")
        seen.add(code)
        units.append((code, name))
    if not units:
        raise UnitFileError(f"{path}: no units found")
    return units
