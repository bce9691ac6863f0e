"""python -m pipeline report | close: the month's documents from the configured warehouse."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from pipeline.finance import finance_ready_warehouse
from pipeline.finance.close import close_month
from pipeline.report.build import build_report
from pipeline.report.statement_pdf import write_statement_pdfs
from pipeline.settings import Settings, pipeline_settings


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


def run_close(settings: Settings, month: date, force_reason: str | None) -> int:
    """Close the month (see finance/close.py), write its statements as PDF files and print
    them; for a month closed before, the same files again (they are the same bytes)."""
    wh = finance_ready_warehouse(settings)
    result = close_month(wh, month, force_reason=force_reason)
    folder = settings.report_dir / "statements" / f"{month:%Y-%m}"
    paths = write_statement_pdfs(wh, month, folder)
    verb = "was already closed" if result.already_closed else "closed"
    print(f"{month:%Y-%m} {verb}: {len(result.statements)} statements in {folder}")
    for statement, path in zip(result.statements, paths, strict=True):
        print(f"  {statement.number}  {statement.currency} {statement.total:>14,.2f}  {path.name}")
    return 0
