"""XLSX and CSV exports of 90,000 registrations against a plain stdlib ``csv`` dump of the same
query, and peak memory at 9,000 vs 90,000 rows (SPEC 4: XLSX ≤ 3x the dump; flat memory).

Builds a temporary database (56 units, 90,000 members, 900 activities with two registration
questions each, one registration per member, 60% attended), then:

* times (best of ``--repeat``) the plain dump — the export's own SQL through stdlib
  ``sqlite3`` into ``csv.writer`` —, the CSV export and the XLSX export;
* runs each export again in a child process at 9,000 and at 90,000 rows and reports its peak
  Python heap (tracemalloc) and peak RSS.

    .venv/bin/python bench/export.py [--rows 90000] [--repeat 2]

The last line of output is one JSON object with the same figures.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import print_table, seed_members
from bot.clock import ManualClock
from bot.domain.exports import RowFilter
from bot.domain.members import Actor, Role
from bot.exports import ExportFormat, ExportKind, ExportRequest, ExportScope, ExportService
from bot.i18n import Catalogue
from storage import Database
from storage.db import to_db_time
from storage.exports import ExportRepository
from storage.units import UnitRepository

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
FIRST_DAY = date(2024, 1, 1)
ACTIVITIES = 900
HOURS_PER_DAY = 8.0
SIZES = ("S", "M", "L", "XL")


async def build(path: Path, rows: int) -> None:
    """``rows`` members, each registered for one of 900 activities (activity i on day i)."""
    await seed_members(path, rows)
    db = await Database.open(path)
    try:
        unit_ids = [u.id for u in await UnitRepository(db).all()]
        stamp = to_db_time(NOW)
        activities = []
        for i in range(ACTIVITIES):
            start = datetime.combine(FIRST_DAY + timedelta(days=i), datetime.min.time(), TZ)
            start += timedelta(hours=8)
            activities.append(
                (
                    i + 1,
                    f"Hoạt động tình nguyện số {i + 1} — “Tiếp sức” & chia sẻ",
                    unit_ids[i % len(unit_ids)],
                    to_db_time(start),
                    to_db_time(start + timedelta(hours=4)),
                    to_db_time(start - timedelta(days=1)),
                    4.0,
                    stamp,
                    stamp,
                )
            )
        await db.executemany(
            "INSERT INTO activities (id, title, kind, unit_id, open_to, place, starts_at, ends_at, "
            "deadline_at, hours, created_by, created_at, updated_at) "
            "VALUES (?, ?, 'regular', ?, 'all', 'Hà Nội', ?, ?, ?, ?, 1, ?, ?)",
            activities,
        )
        await db.executemany(
            "INSERT INTO activity_questions (activity_id, position, prompt, choices, required) "
            "VALUES (?, ?, ?, ?, ?)",
            [(i + 1, 1, "Cỡ áo", json.dumps(SIZES), 1) for i in range(ACTIVITIES)]
            + [(i + 1, 2, "Ghi chú", None, 0) for i in range(ACTIVITIES)],
        )
        members = [r[0] for r in await db.fetch_all("SELECT id FROM members ORDER BY id")]
        chance = random.Random(8)
        registrations = []
        attendance = []
        for index, member_id in enumerate(members):
            activity = index % ACTIVITIES + 1
            start = datetime.fromisoformat(activities[activity - 1][3])
            attended = chance.random() < 0.6
            answers = {"1": chance.choice(SIZES)}
            if chance.random() < 0.3:
                answers["2"] = chance.choice(["Ăn chay", "=1+1", "Đi cùng bạn, “Lan”", "🚲"])
            registrations.append(
                (
                    activity,
                    member_id,
                    json.dumps(answers, ensure_ascii=False),
                    to_db_time(start - timedelta(days=3)),
                    to_db_time(start - timedelta(days=3)),
                    stamp,
                )
            )
            if attended:
                checked_in = to_db_time(start + timedelta(minutes=10))
                attendance.append((activity, member_id, checked_in, checked_in, member_id))
        await db.executemany(
            "INSERT INTO registrations (activity_id, member_id, status, answers, registered_at, "
            "confirmed_at, updated_at) VALUES (?, ?, 'confirmed', ?, ?, ?, ?)",
            registrations,
        )
        await db.executemany(
            "INSERT INTO attendance (activity_id, member_id, present, hours, unit_id, method, "
            "recorded_at, updated_at) SELECT ?, ?, 1, 4.0, unit_id, 'qr', ?, ? FROM members "
            "WHERE id = ?",
            attendance,
        )
    finally:
        await db.close()


def scope_for(rows: int, total: int) -> ExportScope:
    """The first ``rows`` registrations: activities are one a day, equally filled."""
    if rows >= total:
        return ExportScope()
    days = ACTIVITIES * rows // total
    return ExportScope(date_from=FIRST_DAY, date_to=FIRST_DAY + timedelta(days=days - 1))


def plain_dump(path: Path, out: Path) -> tuple[float, int]:
    """The baseline: the export's own SQL, stdlib sqlite3 straight into csv.writer."""
    query = ExportRepository(None).registrations(RowFilter(), HOURS_PER_DAY)  # type: ignore[arg-type]
    begin = time.perf_counter()
    conn = sqlite3.connect(path)
    try:
        with out.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            cursor = conn.execute(query.sql, query.params)
            writer.writerow([d[0] for d in cursor.description])
            count = 0
            while chunk := cursor.fetchmany(2000):
                writer.writerows(chunk)
                count += len(chunk)
    finally:
        conn.close()
    return time.perf_counter() - begin, count


async def export_once(
    path: Path, fmt: ExportFormat, scope: ExportScope, folder: Path
) -> tuple[float, int, int]:
    db = await Database.open(path)
    try:
        service = ExportService(
            ExportRepository(db),
            UnitRepository(db),
            Catalogue.load(),
            ManualClock(NOW),
            tz=TZ,
            hours_per_day=HOURS_PER_DAY,
        )
        request = ExportRequest(ExportKind.REGISTRATIONS, scope, fmt)
        begin = time.perf_counter()
        result = await service.run(Actor(0, None, Role.ADMIN), request, folder, upload_limit=None)
        elapsed = time.perf_counter() - begin
        return elapsed, result.rows, result.files[0].stat().st_size
    finally:
        await db.close()


def child(path: Path, fmt: str, rows: int, total: int) -> None:
    """Run one export under tracemalloc; print peak heap and peak RSS as JSON."""
    tracemalloc.start()
    with tempfile.TemporaryDirectory() as folder:
        _, written, _ = asyncio.run(
            export_once(path, ExportFormat(fmt), scope_for(rows, total), Path(folder))
        )
    _, peak = tracemalloc.get_traced_memory()
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rows": written, "peak_heap_mb": peak / 2**20, "peak_rss_mb": rss_kb / 1024}))


def measure_memory(path: Path, fmt: str, rows: int, total: int) -> dict[str, float]:
    output = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            fmt,
            "--db",
            str(path),
            "--rows",
            str(rows),
            "--total",
            str(total),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    figures: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    return figures


async def main(rows: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory(prefix="nhipcau-bench-export-") as scratch:
        folder = Path(scratch)
        path = folder / "bench.sqlite3"
        begin = time.perf_counter()
        await build(path, rows)
        build_s = time.perf_counter() - begin

        def best(results: list[tuple[float, int, int]]) -> tuple[float, int, int]:
            return min(results, key=lambda r: r[0])

        dumps = [plain_dump(path, folder / f"plain{i}.csv") for i in range(repeat)]
        dump_s, dump_rows = min(dumps)
        csv_s, csv_rows, csv_bytes = best(
            [
                await export_once(path, ExportFormat.CSV, ExportScope(), folder / f"c{i}")
                for i in range(repeat)
            ]
        )
        xlsx_s, xlsx_rows, xlsx_bytes = best(
            [
                await export_once(path, ExportFormat.XLSX, ExportScope(), folder / f"x{i}")
                for i in range(repeat)
            ]
        )
        small = rows // 10
        memory = {
            (fmt, n): measure_memory(path, fmt, n, rows)
            for fmt in ("csv", "xlsx")
            for n in (small, rows)
        }
    assert dump_rows == csv_rows == xlsx_rows == rows, (dump_rows, csv_rows, xlsx_rows)
    figures: dict[str, float | int | bool] = {
        "rows": rows,
        "build_s": round(build_s, 2),
        "plain_csv_dump_s": round(dump_s, 3),
        "csv_export_s": round(csv_s, 3),
        "xlsx_export_s": round(xlsx_s, 3),
        "csv_ratio": round(csv_s / dump_s, 2),
        "xlsx_ratio": round(xlsx_s / dump_s, 2),
        "csv_mb": round(csv_bytes / 2**20, 1),
        "xlsx_mb": round(xlsx_bytes / 2**20, 1),
    }
    for (fmt, n), values in memory.items():
        label = "small" if n == small else "full"
        figures[f"{fmt}_{label}_rows"] = int(values["rows"])
        figures[f"{fmt}_{label}_peak_heap_mb"] = round(values["peak_heap_mb"], 1)
        figures[f"{fmt}_{label}_peak_rss_mb"] = round(values["peak_rss_mb"], 1)
    figures["xlsx_target_met"] = figures["xlsx_ratio"] <= 3.0
    figures["memory_flat"] = all(
        figures[f"{fmt}_full_peak_heap_mb"] <= 1.5 * figures[f"{fmt}_small_peak_heap_mb"] + 2
        for fmt in ("csv", "xlsx")
    )
    table = [(name, value) for name, value in figures.items()]
    print_table(f"Export of {rows:,} registrations (Nhịp Cầu, SPEC 4)", table, figures)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=90_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--child", choices=["csv", "xlsx"], help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--total", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.db, args.child, args.rows, args.total)
    else:
        asyncio.run(main(args.rows, args.repeat))
