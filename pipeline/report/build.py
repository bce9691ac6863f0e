"""Build the month's report: the HTML page and the statement workbook under the report folder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from pipeline import clock
from pipeline.atomic_files import write_atomically
from pipeline.report.data import latest_ended_month, month_status, report_data
from pipeline.report.page import render_page
from pipeline.warehouse import Warehouse, WarehouseError


class ReportError(WarehouseError):
    """The warehouse holds nothing to report for the month asked; the message says what to do."""


@dataclass(frozen=True)
class ReportFiles:
    month: date
    html: Path
    statement: Path
    month_complete: bool
    currencies: list[str]


def build_report(
    wh: Warehouse,
    report_dir: Path,
    month: date | None = None,
    *,
    now: datetime | None = None,
) -> ReportFiles:
    """Write `usage-report-YYYY-MM.html` and `statement-YYYY-MM.xlsx` for `month` (default: the
    latest calendar month that has ended and has a fetched day) and return their paths."""
    now = now or clock.now()
    with wh.read() as con:
        month = month or latest_ended_month(con, now.date())
        if month is None:
            raise ReportError(
                f"no calendar month that has ended has a fetched day in {wh.where()}; "
                "load one first (python -m pipeline run) or pass --month YYYY-MM"
            )
        status = month_status(con, month)
        if status is None:
            raise ReportError(
                f"no day of {month:%Y-%m} was fetched into {wh.where()}; load it first"
            )
        data = report_data(con, status)
    # Imported here, like the charts: xlsxwriter is only needed once a report is written, and
    # every process that loads the Dagster definitions would pay for its import.
    from pipeline.report.workbook import write_statement

    html = report_dir / f"usage-report-{month:%Y-%m}.html"
    statement = report_dir / f"statement-{month:%Y-%m}.xlsx"
    page = render_page(data, now, wh.label())
    where = f"PIPELINE_REPORT_DIR={report_dir}"
    write_atomically(html, lambda path: path.write_text(page, encoding="utf-8"), where)
    write_atomically(
        statement,
        lambda path: write_statement(path, month, data.statement, data.closed_lines),
        where,
    )
    return ReportFiles(
        month=month,
        html=html,
        statement=statement,
        month_complete=data.status.complete,
        currencies=[s.currency for s in data.sections],
    )
