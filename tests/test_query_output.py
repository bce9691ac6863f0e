"""`python -m pipeline query [--format table|csv|json] [--output FILE]`: what an analyst reads in
a terminal, or takes into a spreadsheet or a script, has exact numbers, ISO dates, and client
names that stay inert text."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from finance.book import Book, Day, query
from openpyxl import load_workbook
from report.test_hostile_names import HOSTILE_NAMES

from pipeline.cell_text import inert_text
from pipeline.cli import main
from pipeline.warehouse import Warehouse

AUGUST = date(2024, 8, 1)
BOM = "\ufeff".encode()
STATEMENT = (
    "select client_id, client_name, month, cost, -cost as credit, quantity, month_complete "
    "from client_monthly_statement order by client_id"
)


def august_warehouse(path: Path, clients: dict[str, tuple[str, list[Day]]]) -> Warehouse:
    """A warehouse of these clients (id -> name and usage days), each fetched for every day of
    August, so that their months are complete."""
    book = Book()
    for client_id, (name, days) in clients.items():
        book.clients[client_id] = name
        book.cover(client_id, AUGUST, date(2024, 8, 31))
        book.days += days
    return book.write(Warehouse(path))


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    """Nine clients named as attackers would, each with a day of August at 10 decimals."""
    clients = {
        # Every one of the 10 decimals counts.
        f"c{n}": (name, [Day(f"c{n}", AUGUST, "EUR", Decimal(f"{n}{n}.12345678{n}{n}"))])
        for n, name in enumerate(HOSTILE_NAMES)
    }
    return august_warehouse(tmp_path_factory.mktemp("query") / "warehouse.sqlite", clients).path


@pytest.fixture
def expected(warehouse) -> list[dict]:
    return query(Warehouse(warehouse), STATEMENT)


def run(warehouse: Path, *args: str, capsys) -> tuple[int, str, str]:
    code = main(["query", "--warehouse", str(warehouse), *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_csv_has_exact_numbers_iso_dates_and_inert_names(warehouse, expected, capsys):
    code, out, _ = run(warehouse, "--format", "csv", STATEMENT, capsys=capsys)
    assert code == 0
    header, *lines = list(csv.reader(io.StringIO(out, newline="")))
    assert header == list(expected[0])
    assert len(lines) == len(expected) == len(HOSTILE_NAMES)
    for line, row in zip(lines, expected, strict=True):
        client_id, name, month, cost, credit, quantity, complete = line
        assert client_id == row["client_id"]
        assert name == inert_text(row["client_name"])  # the exact name behind an apostrophe
        assert name.removeprefix("'") == row["client_name"]
        assert month == "2024-08-01"
        assert Decimal(cost) == row["cost"] and cost == f"{row['cost']:f}"  # every digit
        assert credit.startswith("-") and Decimal(credit) == -row["cost"]  # still a number
        assert Decimal(quantity) == row["quantity"] and complete == "true"


def test_json_is_one_array_keyed_by_column_with_decimals_as_strings(warehouse, expected, capsys):
    code, out, _ = run(warehouse, "--format", "json", STATEMENT, capsys=capsys)
    assert code == 0
    records = json.loads(out)
    assert isinstance(records, list) and len(records) == len(expected)
    for record, row in zip(records, expected, strict=True):
        assert list(record) == list(row)
        assert record["client_name"] == row["client_name"]  # JSON is not a spreadsheet
        assert record["cost"] == f"{row['cost']:f}" and len(record["cost"].split(".")[1]) == 10
        assert record["month"] == "2024-08-01" and record["month_complete"] is True


def test_output_file_is_written_whole_and_a_failed_query_leaves_none(warehouse, tmp_path, capsys):
    target = tmp_path / "out" / "statement.csv"
    code, out, _ = run(
        warehouse, "--format", "csv", "--output", str(target), STATEMENT, capsys=capsys
    )
    assert code == 0 and out == ""
    assert target.read_bytes().startswith(BOM + b"client_id,client_name,")
    before = target.read_bytes()

    code, _, err = run(warehouse, "--output", str(target), "select * from nowhere", capsys=capsys)
    assert code == 2 and err.startswith("error: Catalog Error") and err.count("\n") == 1
    assert target.read_bytes() == before
    assert sorted(p.name for p in target.parent.iterdir()) == ["statement.csv"]


def test_an_output_path_that_cannot_be_written_is_one_line(warehouse, capsys):
    code, _, err = run(warehouse, "--output", "/proc/statement.csv", STATEMENT, capsys=capsys)
    assert code == 2
    assert err.startswith("error: --output: cannot write /proc/statement.csv (")
    assert err.count("\n") == 1


@pytest.mark.skipif(
    shutil.which("soffice") is None,
    reason="LibreOffice is not installed (Debian: apt-get install libreoffice-calc-nogui); "
    "the CSV text itself is checked by the tests above",
)
def test_libreoffice_opens_the_csv_with_exact_values_and_no_formula(
    warehouse, expected, tmp_path, capsys
):
    source = tmp_path / "statement.csv"
    assert (
        run(warehouse, "--format", "csv", "--output", str(source), STATEMENT, capsys=capsys)[0] == 0
    )
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{tmp_path / 'profile'}",  # not the user's profile
            "--headless",
            # Comma, double quote, UTF-8 (76): what LibreOffice's import dialog detects from the
            # byte order mark; headless conversion asks for no dialog and would take Latin-1.
            "--infilter=CSV:44,34,76,1",
            "--convert-to",
            "xlsx",
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    sheet = load_workbook(tmp_path / "statement.xlsx").active
    assert [c.data_type for row in sheet.iter_rows() for c in row].count("f") == 0
    header, *rows = sheet.iter_rows(values_only=True)
    assert list(header) == list(expected[0])
    for values, row in zip(rows, expected, strict=True):
        client_id, name, month, cost, credit, quantity, complete = values
        assert client_id == row["client_id"]
        # A cell's line break is "\n" in LibreOffice, so the CR of "\rX" comes back as one.
        assert name == inert_text(row["client_name"]).replace("\r", "\n")
        assert month.date() == AUGUST  # read as a date
        assert cost == float(row["cost"]) and credit == -float(row["cost"])  # numbers, exact
        assert quantity == row["quantity"]
        assert complete is True  # read as a boolean


def test_a_csv_file_opens_with_a_byte_order_mark_and_standard_output_has_none(
    warehouse, expected, tmp_path, capsys
):
    target = tmp_path / "statement.csv"
    assert (
        run(warehouse, "--format", "csv", "--output", str(target), STATEMENT, capsys=capsys)[0] == 0
    )
    assert target.read_bytes().startswith(BOM)  # Excel then reads the file as UTF-8
    with target.open(encoding="utf-8-sig", newline="") as file:
        header, *lines = list(csv.reader(file))
    assert header == list(expected[0])
    assert [line[1].removeprefix("'") for line in lines] == [r["client_name"] for r in expected]

    _, out, _ = run(warehouse, "--format", "csv", STATEMENT, capsys=capsys)
    assert out.startswith("client_id,")  # a pipe gets no mark to trip over
