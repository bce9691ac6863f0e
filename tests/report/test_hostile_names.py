"""Clients that name themselves like formulas or markup: the statement and the page stay inert.

A client types its own name in its hub. Through the real pipeline over the simulator, the names
land exactly in the warehouse, the workbook holds them as text cells behind OWASP's apostrophe
(no formula but the totals the statement writes itself), and the HTML page escapes them.
"""

from __future__ import annotations

import re
from datetime import timedelta
from html import escape
from pathlib import Path

import pytest
from end_to_end.stack import YESTERDAY, Stack, small_options, stack_env
from finance.book import query
from openpyxl import load_workbook
from openpyxl.utils.escape import unescape

from pipeline.cell_text import inert_text
from pipeline.simulator import run_simulator
from pipeline.warehouse import Warehouse

HOSTILE_NAMES = (
    '=HYPERLINK("http://x","y")',
    "=1+1",
    '+1+cmd|"/C calc"!A0',
    "-2+3",
    "@SUM(A1)",
    "\tX",
    "\rX",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
)
MONTH = (YESTERDAY.replace(day=1) - timedelta(days=1)).replace(day=1)  # the last ended month
TOTAL = re.compile(r"=SUM\(([A-Z]+)5:\1(\d+)\)")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> tuple[dict[str, str], Stack]:
    """A run of the last ended month's first days, nine clients named as attackers would."""
    tmp = tmp_path_factory.mktemp("hostile")
    with run_simulator(small_options(clients=12)) as sim:
        active = [c for c in sim.client_ids() if sim.expected_usage(c, MONTH, MONTH)]
        names = dict(zip(active, HOSTILE_NAMES, strict=False))
        assert len(names) == len(HOSTILE_NAMES)
        for client_id, name in names.items():
            sim.rename_client(client_id, name)
        # The run's own finance_report step writes the documents: they are the subject here.
        stack = Stack(sim, stack_env(sim, tmp, PIPELINE_RUN_REPORT="on"), tmp)
        outcome = stack.refresh(MONTH, MONTH + timedelta(days=2))
    assert outcome.success, outcome.problems
    return names, stack


def report_file(stack: Stack, pattern: str) -> Path:
    """A file the run's own finance_report step wrote (the latest ended month)."""
    return stack.tmp / "reports" / pattern.format(month=f"{MONTH:%Y-%m}")


def test_the_warehouse_keeps_each_name_exactly(hostile):
    names, stack = hostile
    wh = Warehouse(stack.warehouse)
    stored = {r["client_id"]: r["name"] for r in query(wh, "select client_id, name from clients")}
    assert {c: stored[c] for c in names} == names
    statement = query(
        wh, "select client_id, client_name from client_monthly_statement where month = ?", [MONTH]
    )
    assert {r["client_id"]: r["client_name"] for r in statement if r["client_id"] in names} == names


def test_the_statement_holds_names_as_text_and_no_formula_but_its_totals(hostile):
    names, stack = hostile
    workbook = load_workbook(report_file(stack, "statement-{month}.xlsx"))
    seen: dict[str, str] = {}
    for sheet in workbook:
        last_row = sheet.max_row
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    # Only the total row's SUM over the client rows above it.
                    found = TOTAL.fullmatch(cell.value)
                    assert found and cell.row == last_row == int(found[2]) + 1, cell.coordinate
        for client_id, name in sheet.iter_rows(min_row=5, max_row=last_row - 1, max_col=2):
            if client_id.value in names:
                assert name.data_type == "s", name.coordinate
                # openpyxl leaves OOXML's escapes of control characters (_x000D_ for CR) as
                # they are in the file; a spreadsheet program shows the character.
                seen[client_id.value] = unescape(name.value)
    assert seen == {c: inert_text(n) for c, n in names.items()}
    for client_id, cell in seen.items():  # what a reader sees behind the apostrophe
        assert cell.removeprefix("'") == names[client_id]


def test_the_page_escapes_every_name(hostile):
    names, stack = hostile
    # Bytes, not read_text: its newline translation would turn the CR of "\rX" into "\n".
    page = report_file(stack, "usage-report-{month}.html").read_bytes().decode("utf-8")
    for name in names.values():
        assert escape(name) in page, name
    assert "<script>alert" not in page and "<img src=x" not in page
