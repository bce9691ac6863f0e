"""python -m pipeline report [--month YYYY-MM]: the month's report from the configured warehouse."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from pipeline.finance import refresh_finance_inputs
from pipeline.report.build import build_report
from pipeline.settings import pipeline_settings
from pipeline.warehouse import WarehouseError


def run_report(env: Mapping[str, str], month: date | None) -> int:
    """Apply the current markups and finance settings (a write only when they changed), build
    the report and print the paths of the HTML page and the statement workbook."""
    settings = pipeline_settings(env)
    wh = settings.lake()
    if not wh.exists():
        raise WarehouseError(f"no warehouse at {wh.where()} yet; load some data first")
    refresh_finance_inputs(
        wh,
        settings.markups_path,
        default_markup_pct=settings.default_markup_pct,
        low_balance_days=settings.low_balance_days,
    )
    files = build_report(wh, settings.report_dir, month)
    if not files.month_complete:
        print(f"note: {files.month:%Y-%m} is not fully fetched; the report marks it so")
    print(files.html)
    print(files.statement)
    return 0
