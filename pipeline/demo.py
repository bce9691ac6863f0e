"""python -m pipeline demo: the whole product on the embedded simulator, in well under a minute.

It uses its own files under data/demo/ and ignores any D360_* settings, so it never mixes made-up
usage into a real warehouse nor sends anything to the real API.
"""

from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path

from pipeline import clock
from pipeline.connect import connect_sql
from pipeline.refresh import run_refresh
from pipeline.simulator import SimulatorOptions, run_simulator

DEMO_DIR = Path("data/demo")
# Thirteen calendar months: enough for month-on-month views, and quick, since Dagster's SQLite
# event log writes two events per day and asset of a ranged run (see the README's figures).
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


def demo_environment(
    base_url: str, partner_id: str, api_key: str, first_day: date
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("D360_", "PIPELINE_"))}
    env.update(
        {
            "D360_BASE_URL": base_url,
            "D360_PARTNER_ID": partner_id,
            "D360_API_KEY": api_key,
            "PIPELINE_WAREHOUSE": str(DEMO_DIR / "warehouse.sqlite"),
            "PIPELINE_EXPORT_DIR": str(DEMO_DIR / "export"),
            "PIPELINE_REPORT_DIR": str(DEMO_DIR / "reports"),
            "PIPELINE_START_DATE": first_day.isoformat(),
            "PIPELINE_WINDOW_DAYS": str(DEMO_WINDOW_DAYS),
        }
    )
    return env


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
        env = demo_environment(sim.base_url, sim.partner_id, sim.api_key, first_day)
        code = run_refresh(env, first_day, yesterday)
    if code == 0:
        # The folder started empty, so the publish run's report is the only one there.
        report = next((DEMO_DIR / "reports").glob("usage-report-*.html"), DEMO_DIR / "reports")
        warehouse = (DEMO_DIR / "warehouse.sqlite").absolute()
        attach = connect_sql({"PIPELINE_WAREHOUSE": str(warehouse)})
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
    return code


def duckdb_one_liner(attach: str) -> str:
    """The DuckDB CLI command that runs the attach statements, then a first query."""
    statements = " ".join(line for line in attach.splitlines() if not line.startswith("--"))
    return f'duckdb -c "{statements} FROM usage_monthly_by_client LIMIT 10;"'


NEXT_STEPS = """
Warehouse: {warehouse}   Parquet for BI: {export}/<table>/
Finance report (opens offline in any browser): {report}
  with the month's statement workbook beside it; another month:
  PIPELINE_WAREHOUSE={warehouse} PIPELINE_REPORT_DIR={reports} \\
      .venv/bin/python -m pipeline report --month YYYY-MM
Query it (read-only, so it never blocks the pipeline):
  .venv/bin/python -m pipeline query --warehouse {warehouse} \\
      "select * from usage_monthly_by_client order by month desc, total_price desc limit 10"
From your own DuckDB 1.5 client (`python -m pipeline connect-sql` prints this for any warehouse):
{attach}
or in one line with the DuckDB CLI:
  {one_liner}
Open the Dagster UI on this warehouse, with a simulator behind it (Ctrl-C stops both):
  make dev                                      # then http://127.0.0.1:3000
"""
