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
from pipeline.finance.close import CloseRefused
from pipeline.finance.months import next_month
from pipeline.refresh import run_refresh
from pipeline.report.command import run_close
from pipeline.settings import pipeline_settings
from pipeline.simulator import Simulator, SimulatorOptions, run_simulator

DEMO_DIR = Path("data/demo")
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
            "PIPELINE_WAREHOUSE": str(DEMO_DIR / "warehouse.sqlite"),
            "PIPELINE_EXPORT_DIR": str(DEMO_DIR / "export"),
            "PIPELINE_REPORT_DIR": str(DEMO_DIR / "reports"),
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
    number, and a minimum monthly commitment."""
    marked, changing, priced, committed = sim.client_ids()[:4]
    change = first_day
    for _ in range(6):  # the markup changes half way through the history
        change = next_month(change)
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    markups, pricing = DEMO_DIR / "markups.csv", DEMO_DIR / "pricing.csv"
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
    try:
        run_close(pipeline_settings(env), month.replace(day=1), None)
    except CloseRefused as refused:
        print(f"  not closed: {refused}")
    # The folder started empty, so the refresh's report is the only one there.
    report = next((DEMO_DIR / "reports").glob("usage-report-*.html"), DEMO_DIR / "reports")
    attach = connect_sql({"PIPELINE_WAREHOUSE": str((DEMO_DIR / "warehouse.sqlite").absolute())})
    print(
        NEXT_STEPS.format(
            warehouse=DEMO_DIR / "warehouse.sqlite",
            export=DEMO_DIR / "export",
            report=report,
            reports=DEMO_DIR / "reports",
            attach="\n".join(f"  {line}" for line in attach.splitlines()[1:]),
            one_liner=duckdb_one_liner(attach),
        )
    )
    return 0


def duckdb_one_liner(attach: str) -> str:
    """The DuckDB CLI command that runs the attach statements, then a first query."""
    statements = " ".join(line for line in attach.splitlines() if not line.startswith("--"))
    return f'duckdb -c "{statements} FROM usage_monthly_by_client LIMIT 10;"'


NEXT_STEPS = """
Warehouse: {warehouse}   Parquet for BI (tables and finance views): {export}/<name>/
Finance report (opens offline in any browser): {report}
  with the month's statement workbook beside it; another month:
  PIPELINE_WAREHOUSE={warehouse} PIPELINE_REPORT_DIR={reports} \\
      .venv/bin/python -m pipeline report --month YYYY-MM
Query it (read-only, so it never blocks the pipeline); what each feature looks like:
  Q='.venv/bin/python -m pipeline query --warehouse {warehouse}'
  $Q "select * from usage_monthly_by_client order by month desc, total_price desc limit 10"
  markups (data/demo/markups.csv, one changing mid-history):
  $Q "select client_name, month, markup_pct, cost, billable_amount from client_monthly_statement
      where markup_source = 'client' order by client_name, month"
  cost per phone number (PIPELINE_CHANNEL_USAGE=on):
  $Q "select * from channel_monthly_cost order by month desc, cost desc limit 10"
  the closed month's statements (prices in data/demo/pricing.csv) and reconciliation:
  $Q "select * from statement_lines_by_month order by month desc"
  $Q "select status, count(*) from usage_reconciliation_monthly group by all"
From your own DuckDB 1.5 client (`python -m pipeline connect-sql` prints this for any warehouse):
{attach}
or in one line with the DuckDB CLI:
  {one_liner}
Open the Dagster UI on this warehouse, with a simulator behind it (Ctrl-C stops both):
  make dev                                      # then http://127.0.0.1:3000
"""
