"""python -m pipeline report [--month YYYY-MM]: the month's report from the configured warehouse."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from pipeline.finance import finance_ready_warehouse
from pipeline.report.build import build_report
from pipeline.settings import pipeline_settings


def run_report(env: Mapping[str, str], month: date | None) -> int:
    """Apply the current markups and finance settings (a write only when they changed), build
    the report and print the paths of the HTML page and the statement workbook."""
    settings = pipeline_settings(env)
    wh = finance_ready_warehouse(settings)
    files = build_report(wh, settings.report_dir, month)
    if not files.month_complete:
        print(f"note: {files.month:%Y-%m} is not fully fetched; the report marks it so")
    print(files.html)
    print(files.statement)
    return 0
