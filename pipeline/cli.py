"""python -m pipeline demo | run --start --end | query | tables | …: the operator's command line."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from pipeline.warehouse import Snapshot

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def _date_argument(text: str) -> date:
    from pipeline.settings import parse_iso_date

    try:
        return parse_iso_date(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _month_argument(text: str) -> date:
    from pipeline.finance import parse_month

    try:
        return parse_month(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class _OneLineErrors(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line that points to --help."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


# The commands that need a warehouse to be there already (run, replay and migrate create one).
READS_WAREHOUSE = frozenset({"query", "tables", "report", "close"})


def _warehouse_option() -> _OneLineErrors:
    """--warehouse, for every command that reads or writes the warehouse: one way to point any
    of them at another warehouse than the settings' (the demo's, say) without editing those."""
    option = _OneLineErrors(add_help=False)
    option.add_argument(
        "--warehouse",
        metavar="CATALOG",
        help="the warehouse to use: a DuckLake catalog file (e.g. data/demo/warehouse.sqlite) or "
        "postgres:<conninfo>; replaces PIPELINE_WAREHOUSE (default data/warehouse.sqlite)",
    )
    return option


def _parser() -> argparse.ArgumentParser:
    warehouse = _warehouse_option()
    parser = _OneLineErrors(
        prog="python -m pipeline",
        description="Usage and billing warehouse for 360dialog partners.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "demo",
        help="start the embedded simulator, backfill a history, build the warehouse",
        description="Builds data/demo/warehouse.sqlite and data/demo/export from the embedded "
        "Partner API simulator (nothing leaves this machine), then says how to query it.",
    )
    run = commands.add_parser(
        "run",
        parents=[warehouse],
        help="load clients, channels and usage for an inclusive UTC day range",
        description="Materializes clients, channels and usage for every day of the range, then "
        "the views and exports: one run of the Dagster job warehouse_refresh, as the schedule's. "
        "Usage is saved in batches of clients as it goes. Exit 0 only when all of it loaded.",
    )
    _range_arguments(run)
    run.add_argument(
        "--resume",
        action="store_true",
        help="finish an interrupted run of the same range: clients it already saved are not "
        "fetched again (without it, every day is fetched again, since figures get revised)",
    )
    replay = commands.add_parser(
        "replay",
        parents=[warehouse],
        help="rebuild the usage tables of a range from the kept raw responses (no API calls)",
        description="Reads the raw balance answers kept under PIPELINE_RAW_DIR for the range, "
        "transforms them again in batches of clients and replaces the days they cover, then "
        "rebuilds the views and the range's parquet partitions. Use it after a transform fix.",
    )
    _range_arguments(replay)
    replay.add_argument(
        "--resume", action="store_true", help="finish an interrupted replay of the same range"
    )
    query = commands.add_parser(
        "query",
        parents=[warehouse],
        help="run one SQL statement on the warehouse, read-only, and print the result",
        description="Opens the warehouse read-only, so it never blocks the pipeline; the "
        "connection cannot write files, attach databases, load extensions or change settings.",
    )
    query.add_argument("sql", help='e.g. "select * from usage_monthly_by_client limit 10"')
    query.add_argument(
        "--as-of",
        type=_snapshot_argument,
        help="read the warehouse as it was: a snapshot id (e.g. from a run's metadata) or a "
        "timestamp (2026-12-01T00:00:00Z)",
    )
    query.add_argument(
        "--rows", type=int, default=50, help="rows a table shows (default 50; csv and json: all)"
    )
    query.add_argument(
        "--full",
        action="store_true",
        help="a table of every row and column, text uncut (wider than the terminal if need be)",
    )
    query.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        default="table",
        help="table (default): amounts with separators and their currency's decimals, never "
        "rounded, fitted to the terminal; csv: for spreadsheets, text that opens like a formula "
        "gets a leading apostrophe, a file (--output) starts with a UTF-8 byte order mark for "
        "Excel; json: one array of objects, decimals as strings with every digit",
    )
    query.add_argument(
        "--output", type=Path, help="write the result to this file (whole or not at all)"
    )
    commands.add_parser(
        "tables",
        parents=[warehouse],
        help="list each table and view of the warehouse with what it holds or answers",
        description="Names every table (what one row is) and view (the question it answers) "
        "of the warehouse, from the header comments of sql/.",
    )
    commands.add_parser(
        "connect-sql",
        parents=[warehouse],
        help="print the SQL that attaches the warehouse read-only in any DuckDB 1.5 client",
        description="Prints INSTALL/LOAD, secret and ATTACH statements for the configured "
        "warehouse (read-only), credentials left as ${VARIABLE} placeholders.",
    )
    migrate = commands.add_parser(
        "migrate",
        parents=[warehouse],
        help="move a single-file warehouse of an earlier version (.duckdb) into the lake",
        description="Copies every table of the old file into the configured warehouse in one "
        "transaction and checks that row counts and money sums are equal.",
    )
    migrate.add_argument(
        "--from",
        dest="old",
        type=Path,
        required=True,
        help="the old warehouse, e.g. data/warehouse.sqlite",
    )
    report = commands.add_parser(
        "report",
        parents=[warehouse],
        help="write the month's finance report (HTML) and statement workbook, print their paths",
        description="Writes usage-report-YYYY-MM.html (self-contained: charts inline, opens "
        "offline) and statement-YYYY-MM.xlsx (one sheet per currency) under PIPELINE_REPORT_DIR, "
        "after loading the current PIPELINE_MARKUPS and finance settings into the warehouse.",
    )
    report.add_argument(
        "--month",
        type=_month_argument,
        help="YYYY-MM (default: the latest calendar month that has ended and has a fetched day)",
    )
    close = commands.add_parser(
        "close",
        parents=[warehouse],
        help="close a month: numbered statements frozen as the warehouse says now",
        description="Freezes the month into numbered statements (statements, statement_lines), "
        "one per client and currency, priced by PIPELINE_PRICING or cost with markup, with "
        "corrections of earlier statements as adjustment lines. Refuses a month that has not "
        "ended or is not complete and reconciled, unless --force gives a reason. Closing a "
        "closed month again changes nothing.",
    )
    close.add_argument("--month", type=_month_argument, required=True, help="YYYY-MM")
    close.add_argument(
        "--force", metavar="REASON", help="close a month not complete or reconciled; recorded"
    )
    dev = commands.add_parser(
        "dev",
        help="the Dagster UI on the demo settings: simulator + dagster dev, Ctrl-C stops both",
        description="Starts the embedded simulator and `dagster dev` pointed at it and at the "
        "demo warehouse (data/demo/), with the daily schedule visible, and prints the UI address.",
    )
    dev.add_argument("--port", type=int, default=3000, help="the UI's port (default 3000)")
    commands.add_parser(
        "simulator",
        add_help=False,
        help="serve the Partner API simulator alone (see simulator --help)",
    )
    return parser


def _range_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--start", type=_date_argument, required=True, help="first day, YYYY-MM-DD")
    parser.add_argument("--end", type=_date_argument, required=True, help="last day, YYYY-MM-DD")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["simulator"]:
        from pipeline.simulator.cli import serve

        return serve(argv[1:])
    args = _parser().parse_args(argv)
    os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT))
    from pipeline.errors import UserError, one_line
    from pipeline.settings import read_environment

    try:
        if args.command == "demo":
            from pipeline.demo import run_demo

            return run_demo()
        if args.command == "dev":
            from pipeline.dev import run_dev

            return run_dev(args.port)
        env = read_environment()
        if args.warehouse is not None:
            env["PIPELINE_WAREHOUSE"] = args.warehouse
        if args.command in READS_WAREHOUSE:
            _check_warehouse_exists(env, argv, chosen=args.warehouse is not None)
        if args.command == "query":
            return _query(args, env)
        if args.command == "tables":
            from pipeline.settings import pipeline_settings
            from pipeline.tables import run_tables

            return run_tables(pipeline_settings(env).lake())
        if args.command == "connect-sql":
            from pipeline.connect import print_connect_sql

            return print_connect_sql(env)
        if args.command == "migrate":
            from pipeline.connect import run_migrate

            return run_migrate(env, args.old)
        if args.command == "report":
            from pipeline.report.command import run_report

            return run_report(env, args.month)
        if args.command == "close":
            from pipeline.report.command import run_close
            from pipeline.settings import pipeline_settings

            return run_close(pipeline_settings(env), args.month, args.force)
        # A mistake in the settings, the range or a folder is reported before Dagster loads.
        from pipeline.preflight import check_run

        check_run(env, args.start, args.end, api=args.command == "run")
        if args.command == "replay":
            from pipeline.refresh import run_replay

            return run_replay(env, args.start, args.end, args.resume)
        from pipeline.refresh import run_refresh

        return run_refresh(env, args.start, args.end, args.resume)
    except UserError as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # Ctrl-C: any Dagster run in flight was marked canceled first (pipeline.interrupts);
        # 130 = 128 + SIGINT, what shells report for a command stopped by Ctrl-C.
        print("interrupted", file=sys.stderr)
        return 130


def _snapshot_argument(text: str) -> Snapshot:
    from pipeline.warehouse import Snapshot

    if text.isdigit():
        return Snapshot(version=int(text))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither a snapshot id nor a timestamp such as 2026-12-01T00:00:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # the warehouse's clock is UTC
    return Snapshot(timestamp=moment.isoformat())


def _query(args: argparse.Namespace, env: dict[str, str]) -> int:
    from pipeline.query import run_query
    from pipeline.settings import pipeline_settings

    wh = pipeline_settings(env).lake()
    return run_query(args.sql, wh, args.rows, args.format, args.output, args.as_of, args.full)


def _check_warehouse_exists(env: dict[str, str], argv: Sequence[str], *, chosen: bool) -> None:
    """Refuse a command that reads a warehouse not there yet, saying what to type instead: when
    the settings' default is missing but the demo built its own, the same command on the
    demo's (`chosen`: --warehouse named the missing one, so no other is guessed)."""
    from pipeline.demo_paths import DEMO_WAREHOUSE, demo_command
    from pipeline.settings import pipeline_settings
    from pipeline.warehouse import WarehouseError

    wh = pipeline_settings(env).lake()
    if wh.exists():
        return
    message = f"no warehouse at {wh.where()} yet; load some data first (see run --help)"
    if not chosen and DEMO_WAREHOUSE.is_file():
        message += f", or use the demo's: {demo_command(argv)}"
    raise WarehouseError(message)
