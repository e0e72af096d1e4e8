"""``nhipcau export …``: the same exports as ``/export`` in the chat, from the command line, run
with the operator's rights (whoever can read the database file is an administrator already),
with a progress bar on stderr when it is a terminal. ``-o FILE`` writes exactly FILE (several
CSV tables as one zip there); without it, the export's own name in the current folder."""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import TextIO

from bot.clock import SystemClock
from bot.config import Config
from bot.domain.errors import InvalidInput, NotAllowed
from bot.domain.members import Actor, Role
from bot.exports import (
    ExportFormat,
    ExportKind,
    ExportRequest,
    ExportScope,
    ExportService,
    check_range,
    parse_day,
)
from bot.i18n import Catalogue
from storage import Database
from storage.exports import ExportRepository
from storage.units import UnitRepository

EXIT_BAD_INPUT = 2
BAR_WIDTH = 30


class ProgressBar:
    """``[#########---------]  45%  40,500/90,000`` redrawn in place, at most 10 times a second."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        share = done / total if total else 1.0
        filled = int(BAR_WIDTH * share)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        self._stream.write(f"\r[{bar}] {share:4.0%}  {done:,}/{total:,}")
        self._stream.flush()

    def finish(self) -> None:
        self._stream.write("\n")
        self._stream.flush()


def _plain(catalogue: Catalogue, language: str, key: str, **params: object) -> str:
    return re.sub(r"<[^>]+>", "", catalogue.plain(language, key, **params))


async def run_export_command(config: Config, args: argparse.Namespace) -> int:
    catalogue = Catalogue.load(config.bot.default_language)
    language = args.lang or config.bot.default_language
    try:
        date_from = parse_day(args.date_from) if args.date_from else None
        date_to = parse_day(args.date_to) if args.date_to else None
        check_range(date_from, date_to)
    except InvalidInput as exc:
        print(f"nhipcau: {_plain(catalogue, language, exc.key)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.output is not None and args.output.is_dir():
        message = _plain(catalogue, language, "exports.output_is_folder", path=args.output)
        print(f"nhipcau: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    db = await Database.open(config.database.path, busy_timeout_ms=config.database.busy_timeout_ms)
    try:
        units = UnitRepository(db)
        unit_id = None
        if args.unit:
            unit = await units.get_by_code(args.unit.strip().upper())
            if unit is None:
                print(
                    f"nhipcau: {_plain(catalogue, language, 'exports.unit_missing')}",
                    file=sys.stderr,
                )
                return EXIT_BAD_INPUT
            unit_id = unit.id
        service = ExportService(
            ExportRepository(db),
            units,
            catalogue,
            SystemClock(),
            tz=config.bot.tz,
            hours_per_day=config.bot.hours_per_day,
        )
        request = ExportRequest(
            ExportKind(args.kind),
            ExportScope(args.activity, args.campaign, unit_id, date_from, date_to),
            ExportFormat(args.format),
            language,
        )
        operator = Actor(0, None, Role.ADMIN)
        bar = ProgressBar(sys.stderr) if sys.stderr.isatty() else None
        with tempfile.TemporaryDirectory(prefix="nhipcau-export-") as scratch:
            try:
                result = await service.run(
                    operator,
                    request,
                    Path(scratch),
                    output=args.output,
                    upload_limit=None,
                    progress=bar,
                )
            except (InvalidInput, NotAllowed) as exc:
                key = exc.key if isinstance(exc, InvalidInput) else exc.reason
                print(f"nhipcau: {_plain(catalogue, language, key)}", file=sys.stderr)
                return EXIT_BAD_INPUT
            finally:
                if bar is not None:
                    bar.finish()
            written: list[Path] = []
            for file in result.files:
                if args.output is None:  # written in the scratch folder: move it here
                    target = Path.cwd() / file.name
                    file.replace(target)
                    file = target
                written.append(file)
    finally:
        await db.close()
    for file in written:
        print(f"{file}: {result.rows:,} rows ({result.scope_text})")
    return 0
