"""`python -m pipeline query` as a table to read: a box with the column names on top, amounts
with thousands separators and their currency's decimals but never rounded, counts as integers,
a wide result fitted to the terminal, `--full` for everything."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from finance.book import Book, Day, query
from report.test_hostile_names import HOSTILE_NAMES
from test_query_output import AUGUST, august_warehouse

from pipeline.cli import main
from pipeline.warehouse import Warehouse

# Cents in three currencies, a count in the millions, a name with a long tail.
CLIENTS = {
    "c1": ("Müller & Söhne GmbH", "EUR", [Decimal("1234.5"), Decimal("0.07")], 1_234_567),
    "c2": ("Big Buyer Incorporated " + "x" * 60, "USD", [Decimal("9876543.21")], 7),
    "c3": ("Tanaka Shoji", "JPY", [Decimal("150000")], 12),
}
STATEMENT = (
    "select client_name, currency, cost, billable_amount, quantity "
    "from client_monthly_statement order by client_id"
)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Warehouse:
    clients = {
        client_id: (
            name,
            [
                Day(client_id, AUGUST.replace(day=n + 1), currency, price, quantity=quantity)
                for n, price in enumerate(prices)
            ],
        )
        for client_id, (name, currency, prices, quantity) in CLIENTS.items()
    }
    return august_warehouse(tmp_path_factory.mktemp("table") / "warehouse.sqlite", clients)


@pytest.fixture(autouse=True)
def terminal(monkeypatch) -> None:
    """A terminal of 120 columns (shutil.get_terminal_size reads COLUMNS first)."""
    monkeypatch.setenv("COLUMNS", "120")


def table(wh: Warehouse, *args: str, capsys) -> list[str]:
    assert main(["query", "--warehouse", str(wh.path), *args]) == 0
    return capsys.readouterr().out.splitlines()


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in re.split("[│┆]", line)[1:-1]]


def test_a_statement_reads_as_money_with_separators_and_exact_cents(warehouse, capsys):
    lines = table(warehouse, STATEMENT, capsys=capsys)
    expected = query(warehouse, STATEMENT)
    top, header, rule, *rows, bottom, footer = lines
    assert top.startswith("┌") and rule.startswith("╞") and bottom.startswith("└")
    assert cells(header) == ["client_name", "currency", "cost", "billable_amount", "quantity"]
    assert footer == "3 rows"
    assert not any("decimal" in line or "shape:" in line or "---" in line for line in lines)
    shown = [cells(row) for row in rows]
    assert [row[2] for row in shown] == ["1,234.57", "9,876,543.21", "150,000.00"]
    for row, want in zip(shown, expected, strict=True):
        # Every digit the warehouse holds, grouped: the cents are exact, nothing was rounded.
        assert Decimal(row[2].replace(",", "")) == want["cost"]
        assert Decimal(row[3].replace(",", "")) == want["billable_amount"]
        assert row[4] == f"{want['quantity']:,}"  # a SQL sum, DECIMAL(38,0): an integer
    assert shown[0][4] == "2,469,134"
    assert shown[1][0] == "Big Buyer Incorporated " + "x" * 17 + "…"  # cut after 40 characters


def test_an_amount_finer_than_cents_is_shown_whole_never_rounded(warehouse, capsys):
    sql = "select 'EUR' as currency, 0.0650::decimal(18, 6) as unit_price, 2::decimal(38, 10) as x"
    *_, row, _, _ = table(warehouse, sql, capsys=capsys)
    assert cells(row) == ["EUR", "0.065", "2.00"]
    *_, row, _, _ = table(warehouse, sql.replace("EUR", "JPY"), capsys=capsys)
    assert cells(row) == ["JPY", "0.065", "2"]  # yen have no minor unit


def test_a_wide_result_leaves_out_middle_columns_instead_of_wrapping(
    warehouse, monkeypatch, capsys
):
    monkeypatch.setenv("COLUMNS", "80")
    lines = table(warehouse, "select * from client_monthly_statement", capsys=capsys)
    columns = len(query(warehouse, "select * from client_monthly_statement limit 1")[0])
    assert len(lines) == 4 + len(CLIENTS) + 1  # no cell took a second line
    assert all(len(line) <= 80 for line in lines)
    header = cells(lines[1])
    assert header[0] == "client_id" and header[-1] == "markup_valid_from" and "…" in header
    assert lines[-1] == f"3 rows; {len(header) - 1} of {columns} columns shown (--full shows all)"


def test_full_shows_every_row_every_column_and_whole_text(warehouse, capsys):
    lines = table(
        warehouse, "--full", "--rows", "1", "select * from client_monthly_statement", capsys=capsys
    )
    columns = list(query(warehouse, "select * from client_monthly_statement limit 1")[0])
    assert cells(lines[1]) == columns
    assert len(lines) == 4 + len(CLIENTS) + 1 and lines[-1] == "3 rows"
    assert any(CLIENTS["c2"][0] in line for line in lines)


def test_rows_shows_the_first_rows_and_says_more_follow(warehouse, capsys):
    lines = table(warehouse, "--rows", "2", STATEMENT, capsys=capsys)
    assert len(lines) == 4 + 2 + 1
    assert lines[-1] == "the first 2 rows; more follow (--rows N or --full shows them)"


def test_control_characters_in_a_name_cannot_reach_the_terminal(tmp_path, capsys):
    book = Book()
    for n, name in enumerate(HOSTILE_NAMES):
        book.clients[f"c{n}"] = name
    wh = book.write(Warehouse(tmp_path / "warehouse.sqlite"))
    out = "\n".join(
        table(wh, "--full", "select name from clients order by client_id", capsys=capsys)
    )
    assert not re.search("[\x00-\x09\x0b-\x1f\x7f]", out)
    assert len(out.splitlines()) == 4 + len(HOSTILE_NAMES) + 1  # a line break stays in its cell


def test_numbers_after_the_left_out_columns_stay_aligned_right(warehouse, monkeypatch, capsys):
    monkeypatch.setenv("COLUMNS", "60")
    sql = (
        "select client_id, client_name, month, currency, quantity, cost "
        "from client_monthly_statement order by client_id"
    )
    _, header, _, first, *_ = table(warehouse, sql, capsys=capsys)
    assert "…" in cells(header) and cells(header)[-1] == "cost"
    assert re.search(r"┆ {2,}1,234\.57 │$", first)  # padded on the left, as numbers are
