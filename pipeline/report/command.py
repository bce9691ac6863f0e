"""python -m pipeline report | close: the month's documents from the configured warehouse."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from pipeline.finance import finance_ready_warehouse
from pipeline.report.build import build_report
from pipeline.report.statement_pdf import close_with_statements
from pipeline.settings import Settings, pipeline_settings
from pipeline.warehouse import export_parquet


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
    """Close the month, write its statements as PDF files and print them."""
    wh = finance_ready_warehouse(settings)
    closed = close_with_statements(wh, settings.report_dir, month, force_reason)
    verb = "was already closed" if closed.result.already_closed else "closed"
    print(f"{month:%Y-%m} {verb}: {len(closed.result.statements)} statements in {closed.folder}")
    for statement, path in zip(closed.result.statements, closed.pdfs, strict=True):
        print(f"  {statement.number}  {statement.currency} {statement.total:>14,.2f}  {path.name}")
    # The statements go to BI with the month's facts (a month is one export partition).
    exported = export_parquet(wh, settings.export_dir, start=month, end=month)
    print(f"exports: {exported.files_written} parquet files written under {exported.export_dir}")
    return 0
