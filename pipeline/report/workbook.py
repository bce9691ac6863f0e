"""The month's statement as an Excel workbook for invoicing: one sheet per currency.

Amounts are written as numbers (Excel holds doubles; 2-decimal formatting) straight from the
view's exact decimals; each total is a SUM formula whose cached value is the exact Decimal sum,
so a reader that does not recalculate (or a check with openpyxl) sees the right figure too.
Those totals are the only formulas: every text cell is written as a string (a client names
itself, and `write` would turn `=...` into a formula and `http://...` into a link), through
`inert_text`, so the sheet stays safe when saved again as CSV.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path

import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from pipeline.cell_text import inert_text
from pipeline.finance.months import month_label
from pipeline.report.data import BILLABLE_ROUNDING, Row

# (header, statement column, number format or None for text, summed in the total row)
COLUMNS: Sequence[tuple[str, str, str | None, bool]] = (
    ("Client ID", "client_id", None, False),
    ("Client", "client_name", None, False),
    ("Quantity", "quantity", "#,##0", True),
    ("Paid quantity", "paid_quantity", "#,##0", True),
    ("Free quantity", "free_quantity", "#,##0", True),
    ("Cost", "cost", "#,##0.00", True),
    ("Markup %", "markup_pct", "0.00##", False),
    ("Billable amount", "billable_amount", "#,##0.00", True),
    ("Days fetched", "days_covered", "0", False),
    ("Days in month", "days_in_month", "0", False),
    ("Month complete", "month_complete", None, False),
)
WIDTHS = (14, 30, 12, 13, 13, 14, 10, 16, 12, 13, 15)
HEADER_ROW = 3


def write_statement(
    path: Path, month: date, statement: list[Row], closed_lines: Sequence[Row] = ()
) -> None:
    """Write the workbook at `path` (the caller makes that atomic): a sheet per currency of the
    month's statement view, and the numbered statements once the month is closed."""
    # Built in memory and written in one go, so a full disk is the caller's plain OSError (in
    # a file, xlsxwriter would wrap it, and its half-written zip complain at exit). A `write` of
    # a string slipped in later still makes neither a formula nor a link.
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    workbook.set_properties({"title": f"Statement {month_label(month)}"})
    currencies = sorted({row["currency"] for row in statement})
    for currency in currencies:
        _sheet(workbook, month, currency, [r for r in statement if r["currency"] == currency])
    if not currencies:
        sheet = workbook.add_worksheet("Statement")
        sheet.write_string(0, 0, f"No usage in {month_label(month)}.")
    if closed_lines:
        _closed_sheet(workbook, month, closed_lines)
    workbook.close()
    path.write_bytes(buffer.getvalue())


def _sheet(workbook: Workbook, month: date, currency: str, rows: list[Row]) -> None:
    sheet = workbook.add_worksheet(currency)
    bold = workbook.add_format({"bold": True})
    formats = {
        name: workbook.add_format({"num_format": fmt}) if fmt else None
        for _, name, fmt, _ in COLUMNS
    }
    totals = {
        name: workbook.add_format({"num_format": fmt, "bold": True, "top": 1})
        for _, name, fmt, summed in COLUMNS
        if summed and fmt
    }
    sheet.write_string(
        0,
        0,
        f"Statement {month_label(month)} ({currency})",
        workbook.add_format({"bold": True, "font_size": 14}),
    )
    partial = [r["client_id"] for r in rows if not r["month_complete"]]
    sheet.write_string(1, 0, _completeness(partial, len(rows)))
    sheet.write_string(2, 0, BILLABLE_ROUNDING)
    for col, ((header, *_), width) in enumerate(zip(COLUMNS, WIDTHS, strict=True)):
        sheet.write_string(HEADER_ROW, col, header, bold)
        sheet.set_column(col, col, width)
    for i, row in enumerate(rows, start=HEADER_ROW + 1):
        for col, (_, name, _, _) in enumerate(COLUMNS):
            _write_value(sheet, i, col, row[name], formats[name])
    _total_row(sheet, HEADER_ROW + 1 + len(rows), rows, totals, bold)
    sheet.freeze_panes(HEADER_ROW + 1, 2)
    sheet.autofilter(HEADER_ROW, 0, HEADER_ROW + len(rows), len(COLUMNS) - 1)


# (header, column of ReportData.closed_lines, number format or None for text)
CLOSED_COLUMNS: Sequence[tuple[str, str, str | None]] = (
    ("Statement", "statement_number", None),
    ("Client ID", "client_id", None),
    ("Client", "client_name", None),
    ("Currency", "currency", None),
    ("Line", "line_no", "0"),
    ("Kind", "kind", None),
    ("Description", "description", None),
    ("Quantity", "quantity", "#,##0"),
    ("Unit price", "unit_price", "0.00####"),
    ("Amount", "amount", "#,##0.00"),
)


def _closed_sheet(workbook: Workbook, month: date, lines: Sequence[Row]) -> None:
    """The closed month's numbered statements, one row per line, as invoiced."""
    sheet = workbook.add_worksheet("Statements")
    bold = workbook.add_format({"bold": True})
    sheet.write_string(
        0, 0, f"Statements of {month_label(month)}", workbook.add_format({"bold": True})
    )
    for col, (header, _, _) in enumerate(CLOSED_COLUMNS):
        sheet.write_string(2, col, header, bold)
    formats = {
        name: workbook.add_format({"num_format": fmt}) if fmt else None
        for _, name, fmt in CLOSED_COLUMNS
    }
    for i, line in enumerate(lines, start=3):
        for col, (_, name, _) in enumerate(CLOSED_COLUMNS):
            _write_value(sheet, i, col, line[name], formats[name])
    sheet.set_column(0, 0, 14)
    sheet.set_column(6, 6, 40)
    sheet.freeze_panes(3, 1)


def _completeness(partial: list[str], clients: int) -> str:
    if not partial:
        return "Every day of the month fetched for every client below: final figures."
    return (
        f"NOT fully fetched for {len(partial)} of {clients} clients (Month complete = FALSE): "
        "their figures may still grow."
    )


def _write_value(sheet: Worksheet, row: int, col: int, value: object, fmt: object) -> None:
    if isinstance(value, bool):
        sheet.write_boolean(row, col, value)
    elif isinstance(value, Decimal | int):
        sheet.write_number(row, col, float(value), fmt)
    elif value is None:
        sheet.write_blank(row, col, None)
    else:
        sheet.write_string(row, col, inert_text(str(value)), fmt)


def _total_row(sheet: Worksheet, at: int, rows: list[Row], totals: dict, bold: object) -> None:
    sheet.write_string(at, 0, "Total", bold)
    for col, (_, name, _, summed) in enumerate(COLUMNS):
        if not summed:
            continue
        first, last = xl_rowcol_to_cell(HEADER_ROW + 1, col), xl_rowcol_to_cell(at - 1, col)
        exact = sum((r[name] for r in rows), 0)  # Decimal for amounts: exact
        sheet.write_formula(at, col, f"=SUM({first}:{last})", totals[name], float(exact))
