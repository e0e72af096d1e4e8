"""Command line: ``nhipcau run|demo|migrate|backup|reapply-erasures|import-units|export``
(``python -m bot``)."""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.config import Config, ConfigError, load_config
from bot.logging_setup import configure_logging
from bot.units import UnitFileError, read_units_csv
from storage import Database, SchemaTooNewError
from storage.db import BackupRefused, check_backup_target, to_db_time

EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nhipcau", description="Nhịp Cầu chatbot")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", type=Path, default=None, help="TOML config file")
        return p

    with_config(
        sub.add_parser("run", help="run the bot on Telegram, Zalo or both (polling or webhook)")
    )
    demo = with_config(
        sub.add_parser("demo", help="run the bot on the built-in emulator (Telegram and Zalo)")
    )
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8080, help="web chat port (0 = any free)")
    demo.add_argument("--database", type=Path, default=Path("data/demo.sqlite3"))
    with_config(sub.add_parser("migrate", help="apply database migrations and exit"))
    with_config(sub.add_parser("doctor", help="check config, database and tokens; change nothing"))
    backup = with_config(sub.add_parser("backup", help="online backup of the database"))
    backup.add_argument("output", type=Path)
    reapply = with_config(
        sub.add_parser(
            "reapply-erasures",
            help="after restoring a backup: erase again whoever /forgetme erased since it",
        )
    )
    reapply.add_argument(
        "sources",
        type=Path,
        nargs="*",
        help="newer copies of the database (the damaged one, later backups) to read erasures from",
    )
    reapply.add_argument(
        "--member", type=int, action="append", default=[], help="a member id from the logs"
    )
    units = with_config(sub.add_parser("import-units", help="add or rename units from a CSV"))
    units.add_argument("file", type=Path)
    _add_export_parser(with_config(sub.add_parser("export", help="export data as XLSX or CSV")))
    return parser


def _add_export_parser(export: argparse.ArgumentParser) -> None:
    from bot.exports import ExportFormat, ExportKind

    export.add_argument("kind", choices=[kind.value for kind in ExportKind])
    export.add_argument("--activity", type=int, help="one activity (its id)")
    export.add_argument("--campaign", type=int, help="one campaign (its id)")
    export.add_argument("--unit", metavar="CODE", help="one unit (its code, e.g. BTP)")
    export.add_argument("--from", dest="date_from", metavar="DATE", help="first day, 2026-01-01")
    export.add_argument("--to", dest="date_to", metavar="DATE", help="last day, 2026-12-31")
    export.add_argument("--format", choices=[f.value for f in ExportFormat], default="xlsx")
    export.add_argument("--lang", choices=["vi", "en"], default=None, help="headers' language")
    export.add_argument("-o", "--output", type=Path, default=None, help="file to write")


async def _export(config: Config, args: argparse.Namespace) -> int:
    from bot.cli_export import run_export_command

    return await run_export_command(config, args)


async def _doctor(config: Config) -> int:
    from bot.doctor import diagnose

    healthy, lines = await diagnose(config)
    print("\n".join(lines))
    return 0 if healthy else 1


def _fail(message: str, code: int = EXIT_CONFIG) -> int:
    print(f"nhipcau: {message}", file=sys.stderr)
    return code


async def _reapply_erasures(config: Config, sources: list[Path], member_ids: list[int]) -> int:
    from bot.clock import SystemClock
    from bot.domain.privacy import ErasedMember
    from storage.activities import ActivityRepository
    from storage.privacy import PrivacyRepository, read_erased_members

    erased: dict[int, ErasedMember] = {}
    for source in sources:
        try:
            for record in read_erased_members(source):
                erased.setdefault(record.member_id, record)
        except (OSError, sqlite3.Error) as exc:
            return _fail(f"cannot read erasures from {source}: {exc}", 1)
    db = await Database.open(config.database.path, busy_timeout_ms=config.database.busy_timeout_ms)
    try:
        repository = PrivacyRepository(db, ActivityRepository(db))
        now = SystemClock().now()
        for member_id in member_ids:
            # From the logs ("erased member N"): no creation time to compare, so only for a
            # restored copy the bot has not run on yet (no member joined since the backup).
            row = await db.fetch_one("SELECT created_at FROM members WHERE id = ?", (member_id,))
            created = row["created_at"] if row is not None else ""
            erased.setdefault(member_id, ErasedMember(member_id, created, to_db_time(now)))
        report = await repository.reapply(sorted(erased.values(), key=lambda e: e.member_id), now)
    finally:
        await db.close()
    print(
        f"{config.database.path}: {len(report.applied)} erased again, {len(report.already)} "
        f"already erased, {len(report.unknown)} not in this copy, {len(report.mismatched)} "
        "left alone (a different member has that id here)"
    )
    return 0


async def _with_database(config: Config, action: str, argument: Path | None) -> int:
    if action == "backup" and argument is not None:
        try:  # before opening: opening creates the file and its -wal/-shm companions
            check_backup_target(config.database.path, argument)
        except BackupRefused as exc:
            return _fail(f"backup refused: {exc}; choose another file", 1)
    db = await Database.open(config.database.path, busy_timeout_ms=config.database.busy_timeout_ms)
    try:
        if action == "migrate":
            print(
                f"database {config.database.path} is at schema version {await db.schema_version()}"
            )
        elif action == "backup" and argument is not None:
            try:
                await db.backup(argument)
            except BackupRefused as exc:
                return _fail(f"backup refused: {exc}; choose another file", 1)
            print(f"backed up {config.database.path} to {argument}")
        elif action == "import-units" and argument is not None:
            from storage.units import UnitRepository

            count = await UnitRepository(db).upsert_many(read_units_csv(argument))
            print(f"imported {count} units from {argument}")
    finally:
        await db.close()
    return 0


async def _run(config: Config) -> int:
    from bot.app import serve
    from bot.services import Services

    services = await Services.open(config)
    try:
        await serve(services)
    finally:
        await services.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        config = load_config(args.config, require_token=args.command in ("run", "doctor"))
        if args.command == "import-units":
            read_units_csv(args.file)  # validate before touching the database
    except ConfigError as exc:
        return _fail(f"config error: {exc}")
    except UnitFileError as exc:
        return _fail(str(exc))
    configure_logging(
        config.logging.level,
        json_lines=config.logging.json,
        # The Zalo token's secret half too: the client cuts it out of Zalo's own messages.
        secrets=tuple(
            t
            for t in (config.telegram.token, config.zalo.token, config.zalo.token.partition(":")[2])
            if t
        ),
    )
    try:
        if args.command == "run":
            return asyncio.run(_run(config))
        if args.command == "doctor":
            return asyncio.run(_doctor(config))
        if args.command == "export":
            return asyncio.run(_export(config, args))
        if args.command == "reapply-erasures":
            return asyncio.run(_reapply_erasures(config, args.sources, args.member))
        if args.command == "demo":
            from bot.demo import run_demo

            return asyncio.run(run_demo(config, args.host, args.port, args.database))
        return asyncio.run(
            _with_database(
                config, args.command, getattr(args, "output", None) or getattr(args, "file", None)
            )
        )
    except SchemaTooNewError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
