"""python -m pipeline demo: the whole product on the embedded simulator, in well under a minute.

It uses its own files under data/demo/ and ignores any D360_* settings, so it never mixes made-up
usage into a real warehouse nor sends anything to the real API.
"""

from __future__ import annotations

import os
import shutil
from datetime import date, timedelta
from pathlib import Path

from pipeline import clock
from pipeline.connect import connect_sql
from pipeline.demo_paths import (
    DEMO_DIR,
    DEMO_EXPORT,
    DEMO_MARKUPS,
    DEMO_PRICING,
    DEMO_REPORTS,
    DEMO_WAREHOUSE,
    demo_command,
)
from pipeline.finance import finance_ready_warehouse
from pipeline.finance.close import CloseRefused
from pipeline.finance.months import next_month
from pipeline.refresh import run_refresh
from pipeline.report.build import build_report
from pipeline.report.command import run_close
from pipeline.settings import pipeline_settings
from pipeline.simulator import Simulator, SimulatorOptions, run_simulator

# Thirteen calendar months: enough for month-on-month views, and quick, since Dagster's SQLite
# event log writes two events per day and asset of a ranged run (see docs/benchmarks.md).
DEMO_MONTHS = 13
DEMO_CLIENTS = 40
DEMO_SEED = 360
# The simulator accepts windows of up to 366 days, so a client's history is two requests: within
# the 5-per-30-s limit, and the demo never waits on it.
DEMO_WINDOW_DAYS = 366


def demo_first_day(yesterday: date) -> date:
    """The first day of the month DEMO_MONTHS - 1 months before yesterday's."""
    months = yesterday.year * 12 + yesterday.month - 1 - (DEMO_MONTHS - 1)
    return date(months // 12, months % 12 + 1, 1)


def demo_environment(sim: Simulator, first_day: date) -> dict[str, str]:
    """The demo's settings: its own folder, every feature on (channel usage, markups, prices),
    the sample finance files written into the folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("D360_", "PIPELINE_"))}
    markups, pricing = _finance_files(sim, first_day)
    env.update(
        {
            "D360_BASE_URL": sim.base_url,
            "D360_PARTNER_ID": sim.partner_id,
            "D360_API_KEY": sim.api_key,
            "PIPELINE_WAREHOUSE": str(DEMO_WAREHOUSE),
            "PIPELINE_EXPORT_DIR": str(DEMO_EXPORT),
            "PIPELINE_REPORT_DIR": str(DEMO_REPORTS),
            "PIPELINE_START_DATE": first_day.isoformat(),
            "PIPELINE_WINDOW_DAYS": str(DEMO_WINDOW_DAYS),
            "PIPELINE_CHANNEL_USAGE": "on",
            # With channel usage a client makes more than 5 requests, so it waits out one 30-s
            # window: every client in flight at once waits it out once, not batch after batch.
            "D360_CONCURRENCY": str(DEMO_CLIENTS),
            "PIPELINE_MARKUPS": str(markups),
            "PIPELINE_PRICING": str(pricing),
        }
    )
    return env


def _finance_files(sim: Simulator, first_day: date) -> tuple[Path, Path]:
    """What a finance team keeps beside the pipeline, for four of the simulator's clients: two
    markups (one changing half way through the history), a rate card with a fee per phone
    number, and a minimum monthly commitment. Clients with usage in every month of the history,
    so that each of these shows in every statement."""
    clients = sim.client_ids()
    active = [
        client_id
        for client_id in clients
        if len(sim.expected_usage(client_id, first_day, clock.yesterday(), "month")) == DEMO_MONTHS
    ]
    # A smaller world (a test's) may have fewer such clients: the others then make up the four.
    marked, changing, priced, committed = [*active, *(c for c in clients if c not in active)][:4]
    change = first_day
    for _ in range(6):  # the markup changes half way through the history
        change = next_month(change)
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    markups, pricing = DEMO_MARKUPS, DEMO_PRICING
    markups.write_text(
        "client_id,markup_pct,valid_from\n"
        f"{marked},12.5,\n{changing},8,\n{changing},10,{change:%Y-%m}\n"
    )
    currency = sim.client_currency(priced)
    pricing.write_text(
        "client_id,category,unit_price,currency,valid_from\n"
        + "".join(
            f"{priced},{category},{price},{currency},\n"
            for category, price in (
                ("marketing", "0.0650"),
                ("utility", "0.0150"),
                ("authentication", "0.0300"),
                ("service", "0"),
                ("number_fee", "2.50"),
            )
        )
        # A minimum high enough that the client's usage falls short of it: a top-up line shows.
        + f"{committed},minimum_monthly,2500,{sim.client_currency(committed)},\n"
    )
    return markups, pricing


def demo_simulator_options() -> SimulatorOptions:
    # The simulator's today is the pipeline's, so a pinned PIPELINE_TODAY moves both.
    return SimulatorOptions(seed=DEMO_SEED, clients=DEMO_CLIENTS, today=clock.today())


def run_demo() -> int:
    yesterday = clock.yesterday()
    first_day = demo_first_day(yesterday)
    # The demo's own folder starts empty each time, so its figures are those of this run only.
    shutil.rmtree(DEMO_DIR, ignore_errors=True)
    with run_simulator(demo_simulator_options()) as sim:
        print(
            f"Embedded Partner API simulator at {sim.base_url} ({DEMO_CLIENTS} clients, "
            "5 balance requests per 30 s per client)"
        )
        env = demo_environment(sim, first_day)
        code = run_refresh(env, first_day, yesterday)
    if code != 0:
        return code
    month = yesterday.replace(day=1) - timedelta(days=1)
    print(f"\nClosing {month:%Y-%m}, the latest month that has ended:")
    settings = pipeline_settings(env)
    try:
        run_close(settings, month.replace(day=1), None)
    except CloseRefused as refused:
        print(f"  not closed: {refused}")
    # The run drew the month's report before the close: again, so it shows the statements.
    build_report(finance_ready_warehouse(settings), settings.report_dir, month.replace(day=1))
    print(next_steps(month.replace(day=1)))
    return 0


def next_steps(closed: date) -> str:
    """What to type after the demo, each line as it works from this folder; `closed` is the
    month the demo closed (the report is of the month before it: another month than the one the
    run wrote)."""
    # The folder started empty, so the refresh's report is the only one there.
    report = next(DEMO_REPORTS.glob("usage-report-*.html"), DEMO_REPORTS)
    attach = connect_sql({"PIPELINE_WAREHOUSE": str(DEMO_WAREHOUSE.absolute())})
    earlier = (closed - timedelta(days=1)).replace(day=1)
    return NEXT_STEPS.format(
        warehouse=DEMO_WAREHOUSE,
        export=DEMO_EXPORT,
        report=report,
        report_command=demo_command(["report", "--month", f"{earlier:%Y-%m}"]),
        tables=demo_command(["tables"]),
        queries="\n".join(
            f"  {what}:\n  {demo_command(['query', sql])}" for what, sql in DEMO_QUERIES
        ),
        csv=demo_command(["query", "--format", "csv", "--output", "statement.csv", STATEMENT]),
        connect=demo_command(["connect-sql"]),
        attach="\n".join(f"  {line}" for line in attach.splitlines()[1:]),
        one_liner=duckdb_one_liner(attach),
    )


def duckdb_one_liner(attach: str) -> str:
    """The DuckDB CLI command that runs the attach statements, then a first query."""
    statements = " ".join(line for line in attach.splitlines() if not line.startswith("--"))
    return f'duckdb -c "{statements} FROM usage_monthly_by_client LIMIT 10;"'


STATEMENT = (
    "select client_name, month, currency, cost, markup_pct, billable_amount "
    "from client_monthly_statement order by month desc, client_name"
)
DEMO_QUERIES = (
    (
        "each client's month",
        "select client_name, month, currency, quantity, total_price from usage_monthly_by_client "
        "order by month desc, total_price desc limit 10",
    ),
    (
        f"markups ({DEMO_MARKUPS}, one changing mid-history)",
        "select client_name, month, markup_pct, cost, billable_amount "
        "from client_monthly_statement where markup_source = 'client' order by client_name, month",
    ),
    (
        "cost per phone number (PIPELINE_CHANNEL_USAGE=on)",
        "select month, client_name, phone_number, currency, cost, share_of_client_cost "
        "from channel_monthly_cost order by month desc, cost desc limit 10",
    ),
    (
        f"the closed month's statements (prices in {DEMO_PRICING})",
        "select * from statement_lines_by_month order by month desc",
    ),
    (
        "months reconciled with the API's own figures",
        "select status, count(*) as months from usage_reconciliation_monthly group by all",
    ),
)
"""What the closing text shows how to ask, one feature each."""

NEXT_STEPS = """
Warehouse: {warehouse}   Parquet for BI (tables and finance views): {export}/<name>/
Finance report (opens offline in any browser): {report}
  with the month's statement workbook beside it; another month (the demo's markups and prices
  named, so the report keeps them):
  {report_command}
Every table and view, with what it holds or answers:
  {tables}
Query it (read-only, so it never blocks the pipeline); what each feature looks like:
{queries}
  a result for a spreadsheet (UTF-8 CSV that Excel opens; --full shows every row and column):
  {csv}
From your own DuckDB 1.5 client (this prints it: {connect}):
{attach}
or in one line with the DuckDB CLI:
  {one_liner}
Open the Dagster UI on this warehouse, with a simulator behind it (Ctrl-C stops both):
  make dev                                      # then http://127.0.0.1:3000
"""
