"""Closed statements as PDF files, one per client and currency, under PIPELINE_REPORT_DIR.

Each page carries the statement number, the partner (a placeholder to fill in), the client, the
period, every line with its quantity, unit price and amount, and the totals, read from the frozen
`statements` and `statement_lines` tables (never recomputed). The font is embedded (DejaVu Sans,
which matplotlib ships, already a dependency), so the file renders the same on a machine without
fonts; text from the API goes through the documents' rule (cell_text.inert_text); and the
creation date is the close's, so a statement always gives the same bytes.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.fonts import FontFace

from pipeline.atomic_files import write_atomically
from pipeline.cell_text import inert_text
from pipeline.finance.close import CloseResult, close_month
from pipeline.finance.months import month_label
from pipeline.warehouse import Warehouse, rows

PARTNER_PLACEHOLDER = "[partner name]"
ROUNDING_NOTE = (
    "Each line is rounded to 2 decimals, half away from zero; the total is the sum of the "
    "rounded lines."
)
FONT = "DejaVu"


@dataclass(frozen=True)
class StatementDocument:
    number: str
    client_id: str
    client_name: str | None
    month: date
    currency: str
    subtotal: Decimal
    adjustments_total: Decimal
    total: Decimal
    closed_at: datetime
    forced_reason: str | None
    lines: list[dict[str, Any]]


@dataclass(frozen=True)
class ClosedMonth:
    result: CloseResult
    folder: Path
    pdfs: list[Path]


def close_with_statements(
    wh: Warehouse, report_dir: Path, month: date, force_reason: str | None
) -> ClosedMonth:
    """Close the month (finance/close.py) and write its statements as PDF files under
    `report_dir`; for a month closed before, the same files again (the same bytes)."""
    result = close_month(wh, month, force_reason=force_reason)
    folder = report_dir / "statements" / f"{month:%Y-%m}"
    return ClosedMonth(result, folder, write_statement_pdfs(wh, month, folder))


def write_statement_pdfs(wh: Warehouse, month: date, folder: Path) -> list[Path]:
    """One PDF per closed statement of `month` in `folder`, named by statement number."""
    paths = []
    for document in closed_statements(wh, month):
        paths.append(folder / f"statement-{document.number}.pdf")
        _publish(paths[-1], statement_pdf(document))
    return paths


def _publish(path: Path, content: bytes) -> None:
    write_atomically(path, lambda staging: staging.write_bytes(content), "PIPELINE_REPORT_DIR")


def closed_statements(wh: Warehouse, month: date) -> list[StatementDocument]:
    with wh.read() as con:
        heads = rows(
            con,
            "SELECT statement_number AS number, client_id, client_name, month, currency, "
            "subtotal, adjustments_total, total, closed_at, forced_reason FROM statements "
            "WHERE month = ? ORDER BY statement_number",
            [month],
        )
        lines = rows(
            con,
            "SELECT l.* FROM statement_lines AS l JOIN statements AS s "
            "USING (statement_number) WHERE s.month = ? ORDER BY statement_number, line_no",
            [month],
        )
    return [
        StatementDocument(
            **head, lines=[line for line in lines if line["statement_number"] == head["number"]]
        )
        for head in heads
    ]


def statement_pdf(document: StatementDocument) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_creation_date(document.closed_at)
    pdf.set_title(f"Statement {document.number}")
    pdf.add_font(FONT, "", _font_file("DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", _font_file("DejaVuSans-Bold.ttf"))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font(FONT, "B", 16)
    pdf.cell(0, 10, f"Statement {document.number}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, "", 10)
    client = inert_text(document.client_name or document.client_id)
    facts = [
        ("From", PARTNER_PLACEHOLDER),
        ("To", f"{client} ({inert_text(document.client_id)})"),
        ("Period", month_label(document.month)),
        ("Currency", document.currency),
        ("Closed", f"{document.closed_at:%Y-%m-%d %H:%M} UTC"),
    ]
    if document.forced_reason:
        facts.append(("Closed with", f"--force: {inert_text(document.forced_reason)}"))
    for label, value in facts:
        pdf.cell(28, 6, label)
        pdf.multi_cell(0, 6, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    _lines_table(pdf, document)
    pdf.ln(4)
    pdf.set_font(FONT, "", 8)
    pdf.multi_cell(0, 4, ROUNDING_NOTE, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _lines_table(pdf: FPDF, document: StatementDocument) -> None:
    bold = FontFace(emphasis="BOLD")
    with pdf.table(
        col_widths=(90, 25, 30, 35),
        text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
        headings_style=bold,
        line_height=6,
    ) as table:
        table.row(["Description", "Quantity", "Unit price", f"Amount ({document.currency})"])
        for line in document.lines:
            table.row(
                [
                    inert_text(line["description"]),
                    "" if line["quantity"] is None else f"{line['quantity']:,}",
                    "" if line["unit_price"] is None else _plain(line["unit_price"]),
                    f"{line['amount']:,.2f}",
                ]
            )
        for label, amount in (
            ("Subtotal", document.subtotal),
            ("Adjustments", document.adjustments_total),
            ("Total", document.total),
        ):
            table.row([label, "", "", f"{amount:,.2f}"], style=bold if label == "Total" else None)


def _plain(value: Decimal) -> str:
    """A unit price with the digits it has (at least cents), without an exponent."""
    exponent = value.normalize().as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    return f"{value:,.{places}f}"


def _font_file(name: str) -> Path:
    # matplotlib's own copy of DejaVu, found without importing matplotlib (0.4 s).
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or spec.origin is None:
        raise RuntimeError("matplotlib, which ships the statement's font, is not installed")
    return Path(spec.origin).parent / "mpl-data" / "fonts" / "ttf" / name
