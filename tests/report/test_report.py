from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from finance.book import cents
from finance.conftest import AUGUST, DEFAULT_MARKUP, JULY, summer_book
from openpyxl import load_workbook

from pipeline.report import ReportError, build_report
from pipeline.warehouse import Warehouse

MID_SEPTEMBER = datetime(2024, 9, 15, 8, 0, tzinfo=UTC)
CHARTS = ("categories", "top-clients", "daily", "reconciliation")
# Anything that makes a browser reach outside the file.
EXTERNAL = [
    re.compile(r"https?://", re.I),
    re.compile(r"//[\w.-]+\.\w+/"),  # protocol-relative URLs
    re.compile(r"\bsrc\s*=", re.I),
    re.compile(r"@import", re.I),
    re.compile(r"url\(\s*['\"]?(?!#)", re.I),  # url() to anything but an in-page id
    re.compile(r"\bhref\s*=\s*['\"](?!#)", re.I),  # links other than in-page anchors
    re.compile(r"<(link|script|iframe|object|embed|img)\b", re.I),
]


@pytest.fixture(scope="module")
def summer_wh(tmp_path_factory) -> Warehouse:
    path = tmp_path_factory.mktemp("report") / "warehouse.sqlite"
    return summer_book().write(Warehouse(path))


@pytest.fixture(scope="module")
def august(summer_wh, tmp_path_factory):
    return build_report(summer_wh, tmp_path_factory.mktemp("reports"), now=MID_SEPTEMBER)


def test_default_month_is_the_latest_ended_month_with_a_fetched_day(august):
    assert august.month == AUGUST
    assert august.html.name == "usage-report-2024-08.html"
    assert august.statement.name == "statement-2024-08.xlsx"
    assert august.currencies == ["EUR", "USD"]


def test_page_has_no_external_reference(august):
    page = august.html.read_text(encoding="utf-8")
    for pattern in EXTERNAL:
        assert not pattern.search(page), pattern.pattern


def test_page_has_every_chart_for_every_currency(august):
    page = august.html.read_text(encoding="utf-8")
    for currency in ("EUR", "USD"):
        for chart in CHARTS:
            found = re.search(rf'<figure id="chart-{currency}-{chart}">(.*?)</figure>', page, re.S)
            assert found, (currency, chart)
            svg = found[1]
            assert "<svg" in svg and "</svg>" in svg, (currency, chart)
            assert "<path" in svg or "<rect" in svg, (currency, chart)
        assert f"Cost ({currency})" in page and f'id="cur-{currency}"' in page


def test_page_marks_a_month_not_fully_fetched(august, summer_wh, tmp_path):
    assert august.month_complete is False
    assert "is NOT fully fetched: 3 of 4 clients" in august.html.read_text(encoding="utf-8")
    july = build_report(summer_wh, tmp_path, JULY, now=MID_SEPTEMBER)
    assert july.month_complete is True
    assert "is fully fetched" in july.html.read_text(encoding="utf-8")


def test_statement_workbook_has_a_sheet_per_currency_with_exact_totals(august):
    book = summer_book()
    cost: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for d in book.days:
        if d.month == AUGUST:
            cost[(d.currency, d.client_id)] += d.total_price
    markup = {"eu": Decimal("12.5")}  # eu's markup from July; the others get the default
    workbook = load_workbook(august.statement, data_only=True)  # cached formula results
    assert workbook.sheetnames == ["EUR", "USD"]
    for currency in ("EUR", "USD"):
        sheet = workbook[currency]
        assert sheet["A1"].value == f"Statement August 2024 ({currency})"
        header = [cell.value for cell in sheet[4]]
        rows = [
            dict(zip(header, (c.value for c in row), strict=True))
            for row in sheet.iter_rows(min_row=5)
        ]
        total = rows.pop()
        clients = {k: v for k, v in cost.items() if k[0] == currency}
        assert {r["Client ID"] for r in rows} == {client for _, client in clients}
        for r in rows:
            exact = clients[(currency, r["Client ID"])]
            pct = markup.get(r["Client ID"], DEFAULT_MARKUP)
            assert r["Cost"] == float(exact)
            assert r["Billable amount"] == float(cents(exact * (1 + pct / 100)))
            assert r["Markup %"] == float(pct)
        assert total["Client ID"] == "Total"
        assert total["Cost"] == float(sum(clients.values()))
        expected_billable = sum(
            cents(v * (1 + markup.get(c, DEFAULT_MARKUP) / 100)) for (_, c), v in clients.items()
        )
        assert total["Billable amount"] == float(expected_billable)
        assert sheet.cell(5, 6).number_format == "#,##0.00"
    formulas = load_workbook(august.statement)["EUR"]
    assert formulas["F7"].value == "=SUM(F5:F6)"  # eu and late: a total Excel recalculates


def test_partly_fetched_clients_are_marked_in_the_workbook(august):
    sheet = load_workbook(august.statement, data_only=True)["EUR"]
    assert sheet["A2"].value.startswith("NOT fully fetched for 1 of 2 clients")


def test_no_ended_month_or_an_unfetched_month_is_one_clear_error(summer_wh, tmp_path):
    with pytest.raises(ReportError, match="no calendar month that has ended"):
        build_report(summer_wh, tmp_path, now=datetime(2024, 6, 20, tzinfo=UTC))
    with pytest.raises(ReportError, match="no day of 2023-01 was fetched"):
        build_report(summer_wh, tmp_path, datetime(2023, 1, 1).date(), now=MID_SEPTEMBER)
