"""Closing a month: numbered statements frozen from the warehouse, adjustments for later revisions,
rate cards, number fees and a minimum commitment, each checked against sums computed here with
Decimal from the rows the test wrote."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html import escape
from pathlib import Path

import dagster as dg
import pytest
from finance.book import Book, Category, Day, cents, days_between, query
from openpyxl import load_workbook
from pypdf import PdfReader

from pipeline.definitions import REFRESH_JOB, build_definitions
from pipeline.finance import refresh_finance_inputs
from pipeline.finance.close import CloseRefused, close_month
from pipeline.finance.pricing import PricingFileError
from pipeline.report import build_report
from pipeline.report.data import BILLABLE_ROUNDING
from pipeline.report.statement_pdf import write_statement_pdfs
from pipeline.warehouse import Warehouse
from pipeline.warehouse.store import Snapshot

JULY, AUGUST, SEPTEMBER = date(2024, 7, 1), date(2024, 8, 1), date(2024, 9, 1)
CLOSE_AT = datetime(2024, 9, 3, 9, 0, tzinfo=UTC)
DEFAULT_MARKUP, ACME_MARKUP = Decimal(2), Decimal(10)
PRICES = {("beta", "marketing"): Decimal("0.05"), ("beta", "utility"): Decimal("0.0125")}
NUMBER_FEE, MINIMUM = Decimal("4.5"), Decimal(150)
PRICING = f"""client_id,category,unit_price,currency,valid_from
beta,marketing,{PRICES["beta", "marketing"]},EUR,2024-07
beta,utility,{PRICES["beta", "utility"]},EUR,
corp,number_fee,{NUMBER_FEE},USD,2024-07
corp,minimum_monthly,{MINIMUM},USD,2024-01
"""
# corp's channels: live all summer; created mid-August; cancelled in June (never live).
CHANNELS = [
    ("ch-1", "+4930111", datetime(2023, 5, 1, tzinfo=UTC), None),
    ("ch-2", "+4930222", datetime(2024, 8, 14, tzinfo=UTC), None),
    ("ch-3", "+4930333", datetime(2023, 1, 1, tzinfo=UTC), datetime(2024, 6, 20, tzinfo=UTC)),
]
CURRENCY = {"acme": "EUR", "beta": "EUR", "corp": "USD"}


def _categories(client_id: str, day: date) -> list[Category]:
    n = day.day
    found = [
        Category(
            client_id,
            day,
            CURRENCY[client_id],
            "marketing",
            "pricing",
            Decimal("0.3141") * (n % 5 + 1),
            7,
            5,
        ),
        Category(
            client_id,
            day,
            CURRENCY[client_id],
            "utility",
            "pricing",
            Decimal("0.0123") * (n % 3 + 1),
            3,
            3,
        ),
    ]
    if client_id == "beta" and n % 2 == 0:  # not on beta's rate card: cost with markup
        found.append(Category(client_id, day, "EUR", "service", "pricing", Decimal("0.2"), 2, 2))
    if client_id == "corp" and n % 4 == 0:
        found.pop()  # some days without utility
    return found


def summer_book() -> Book:
    book = Book(settings=(DEFAULT_MARKUP, 7))
    for client_id in CURRENCY:
        book.client(client_id)
        book.cover(client_id, JULY, date(2024, 8, 31))
        for day in days_between(JULY, date(2024, 8, 31)):
            categories = _categories(client_id, day)
            book.categories.extend(categories)
            book.days.append(
                Day(
                    client_id,
                    day,
                    CURRENCY[client_id],
                    sum((c.price for c in categories), Decimal(0)),
                    sum(c.quantity for c in categories),
                    sum(c.paid_quantity for c in categories),
                    0,
                    0,
                )
            )
    book.markups = [("acme", None, ACME_MARKUP)]
    for client_id in CURRENCY:
        for month in (JULY, AUGUST):
            days = [d for d in book.days if d.client_id == client_id and d.month == month]
            book.api_months.append(
                (
                    client_id,
                    month,
                    CURRENCY[client_id],
                    sum(d.quantity for d in days),
                    sum(d.paid_quantity for d in days),
                    sum((d.total_price for d in days), Decimal(0)),
                )
            )
    return book


@pytest.fixture
def summer(tmp_path: Path) -> tuple[Book, Warehouse, Path]:
    book = summer_book()
    wh = book.write(Warehouse(tmp_path / "warehouse.sqlite"))
    with wh.write() as con:
        for channel_id, phone, created, cancelled in CHANNELS:
            con.execute(
                "INSERT INTO channels_history (channel_id, client_id, phone_number, created_at, "
                "cancelled_at, observed_at) VALUES (?, 'corp', ?, ?, ?, ?)",
                [channel_id, phone, created, cancelled, CLOSE_AT - timedelta(days=30)],
            )
    pricing = tmp_path / "pricing.csv"
    pricing.write_text(PRICING)
    load(wh, pricing)
    return book, wh, pricing


def load(wh: Warehouse, pricing: Path, markups: Path | None = None) -> None:
    if markups is None:
        markups = pricing.with_name("markups.csv")
        markups.write_text(f"client_id,markup_pct\nacme,{ACME_MARKUP}\n")
    refresh_finance_inputs(
        wh, markups, default_markup_pct=DEFAULT_MARKUP, low_balance_days=7, pricing_path=pricing
    )


def expected_lines(book: Book, month: date) -> dict[str, list[tuple]]:
    """(kind, category or description, amount) per client, computed independently."""
    per_category: dict[tuple, list[Category]] = defaultdict(list)
    for c in book.categories:
        if c.usage_date.replace(day=1) == month:
            per_category[c.client_id, c.category].append(c)
    lines: dict[str, list[tuple]] = defaultdict(list)
    for (client_id, category), rows in sorted(per_category.items()):
        price = PRICES.get((client_id, category))
        if price is not None:
            amount = cents(sum(r.paid_quantity for r in rows) * price)
        else:
            markup = ACME_MARKUP if client_id == "acme" else DEFAULT_MARKUP
            amount = cents(sum((r.price for r in rows), Decimal(0)) * (1 + markup / 100))
        lines[client_id].append(("usage", category, amount))
    month_end = date(month.year, month.month + 1, 1)
    for _, phone, created, cancelled in CHANNELS:
        live = created.date() < month_end and (cancelled is None or cancelled.date() >= month)
        if live:
            lines["corp"].append(("number_fee", f"number fee {phone}", cents(NUMBER_FEE)))
    usage = sum(amount for kind, _, amount in lines["corp"] if kind == "usage")
    if usage < MINIMUM:
        lines["corp"].append(
            ("minimum_commitment", f"minimum monthly commitment {MINIMUM:.2f}", MINIMUM - usage)
        )
    return lines


def statement_lines(wh: Warehouse, number: str) -> list[tuple]:
    return [
        (r["kind"], r["category"] or r["description"], r["amount"])
        for r in query(
            wh,
            "SELECT kind, category, description, amount FROM statement_lines "
            "WHERE statement_number = ? ORDER BY line_no",
            [number],
        )
    ]


def frozen(wh: Warehouse) -> list[list[tuple]]:
    with wh.read() as con:
        return [
            con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
            for table in ("statements", "statement_lines", "statement_adjustments")
        ]


def test_a_closed_month_is_its_draft_priced_numbered_and_summed(summer) -> None:
    book, wh, _ = summer
    draft = query(wh, "SELECT * FROM statement_draft_lines WHERE month = ?", [JULY])
    result = close_month(wh, JULY, now=CLOSE_AT)

    assert not result.already_closed
    assert [(s.number, s.client_id, s.currency) for s in result.statements] == [
        ("2024-000001", "acme", "EUR"),
        ("2024-000002", "beta", "EUR"),
        ("2024-000003", "corp", "USD"),
    ]
    expected = expected_lines(book, JULY)
    for statement in result.statements:
        lines = statement_lines(wh, statement.number)
        assert lines == expected[statement.client_id]
        assert statement.total == sum(amount for _, _, amount in lines)
        assert statement.adjustments_total == 0
    # corp's usage falls short of its minimum: topped up to exactly the minimum, with one fee.
    assert result.statements[2].total == MINIMUM + cents(NUMBER_FEE)
    # What was frozen is what the draft said at close.
    invoiced = query(
        wh,
        "SELECT s.client_id, l.kind, l.amount FROM statement_lines l "
        "JOIN statements s USING (statement_number)",
    )
    assert sorted((r["client_id"], r["kind"], r["amount"]) for r in invoiced) == sorted(
        (r["client_id"], r["kind"], r["amount"]) for r in draft
    )
    row = query(wh, "SELECT * FROM statements WHERE client_id = 'acme'")[0]
    assert (row["client_name"], row["closed_at"], row["forced_reason"]) == (
        "Acme Ltd",
        CLOSE_AT,
        None,
    )


def test_closing_a_closed_month_again_changes_nothing(summer) -> None:
    _, wh, _ = summer
    first = close_month(wh, JULY, now=CLOSE_AT)
    before = frozen(wh)
    again = close_month(wh, JULY, now=CLOSE_AT + timedelta(days=1))
    assert again.already_closed and again.statements == first.statements
    assert frozen(wh) == before


def test_numbers_go_on_without_a_gap_and_the_months_lines_add_up_by_category(summer) -> None:
    book, wh, _ = summer
    close_month(wh, JULY, now=CLOSE_AT)
    august = close_month(wh, AUGUST, now=CLOSE_AT)
    assert [s.number for s in august.statements] == ["2024-000004", "2024-000005", "2024-000006"]

    expected = expected_lines(book, AUGUST)
    marketing = {
        currency: sum(
            (
                amount
                for client_id, lines in expected.items()
                if CURRENCY[client_id] == currency
                for kind, category, amount in lines
                if category == "marketing"
            ),
            Decimal(0),
        )
        for currency in ("EUR", "USD")
    }
    assert query(
        wh,
        "SELECT currency, statements, amount FROM statement_lines_by_month "
        "WHERE month = ? AND kind = 'usage' AND category = 'marketing' ORDER BY currency",
        [AUGUST],
    ) == [
        {"currency": "EUR", "statements": 2, "amount": marketing["EUR"]},
        {"currency": "USD", "statements": 1, "amount": marketing["USD"]},
    ]


def test_a_revision_after_close_is_the_exact_adjustment_on_the_next_statement(summer) -> None:
    book, wh, _ = summer
    july = close_month(wh, JULY, now=CLOSE_AT)
    before = frozen(wh)
    revised_day, extra = date(2024, 7, 9), Decimal("1.2345")
    with wh.write() as con:  # the API revised acme's marketing on 9 July, as a re-fetch loads it
        con.execute(
            "UPDATE usage_by_category SET price = price + ? "
            "WHERE client_id = 'acme' AND usage_date = ? AND category = 'marketing'",
            [extra, revised_day],
        )
        con.execute(
            "UPDATE usage_daily SET total_price = total_price + ? "
            "WHERE client_id = 'acme' AND usage_date = ?",
            [extra, revised_day],
        )
    assert frozen(wh) == before  # the closed statement is untouched

    marketing = sum(
        (
            c.price
            for c in book.categories
            if (c.client_id, c.category) == ("acme", "marketing") and c.usage_date.month == 7
        ),
        Decimal(0),
    )
    factor = 1 + ACME_MARKUP / 100
    difference = cents((marketing + extra) * factor) - cents(marketing * factor)
    acme_july = july.statements[0].number
    assert query(
        wh, "SELECT corrects_statement_number, category, amount FROM open_adjustments"
    ) == [{"corrects_statement_number": acme_july, "category": "marketing", "amount": difference}]

    august = close_month(wh, AUGUST, now=CLOSE_AT)
    acme = august.statements[0]
    assert acme.adjustments_total == difference
    assert statement_lines(wh, acme.number)[-1] == ("adjustment", "marketing", difference)
    assert query(wh, "SELECT * FROM statement_adjustments") == [
        {
            "statement_number": acme.number,
            "corrects_statement_number": acme_july,
            "category": "marketing",
            "amount": difference,
            "found_at": CLOSE_AT,
        }
    ]
    assert query(wh, "SELECT * FROM open_adjustments") == []  # billed once
    assert [s.adjustments_total for s in august.statements[1:]] == [0, 0]


def test_an_unreconciled_month_is_refused_in_one_line_unless_forced(summer) -> None:
    _, wh, _ = summer
    with wh.write() as con:
        con.execute(
            "DELETE FROM usage_coverage WHERE client_id = 'beta' AND usage_date = ?",
            [date(2024, 7, 20)],
        )
        con.execute(
            "UPDATE usage_monthly_api SET total_price = total_price + 1 "
            "WHERE client_id = 'corp' AND month = ?",
            [JULY],
        )
    with pytest.raises(CloseRefused) as refused:
        close_month(wh, JULY, now=CLOSE_AT)
    assert str(refused.value) == (
        "2024-07 is not ready to close: client-months 1 incomplete, 1 mismatch in "
        "usage_reconciliation_monthly; load the month again (python -m pipeline run --start "
        '2024-07-01 --end 2024-07-31) or close anyway with --force "reason"'
    )
    assert frozen(wh) == [[], [], []]

    forced = close_month(wh, JULY, force_reason="corp disputes the API figure", now=CLOSE_AT)
    assert len(forced.statements) == 3
    reasons = query(wh, "SELECT DISTINCT forced_reason FROM statements")
    assert reasons == [{"forced_reason": "corp disputes the API figure"}]


def test_a_month_that_has_not_ended_is_refused(summer) -> None:
    _, wh, _ = summer
    with pytest.raises(CloseRefused, match="2024-08 has not ended yet; close it from 2024-09-01"):
        close_month(wh, AUGUST, now=datetime(2024, 8, 31, 23, 0, tzinfo=UTC))


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("beta,marketting,0.05,EUR,2024-07", "unknown category 'marketting'"),
        ("beta,utility,0,05,EUR,2024-07", "6 values, but the header has 5 columns"),
        ("beta,utility,five,EUR,2024-08", "unit_price 'five' is not a number"),
        ("beta,utility,0.01,EUR,", "already has a utility price from always on line 3"),
        ("acme,marketing,0.05,USD,2024-07", "client 'acme' uses EUR, not USD"),
        ("corp,number_fee,3,EUR,2024-09", "client 'corp' is priced in USD on line 4, not EUR"),
    ],
)
def test_a_bad_pricing_file_is_one_line_naming_file_and_line(summer, line, problem) -> None:
    _, wh, pricing = summer
    before = query(wh, "SELECT * FROM rate_cards ORDER BY ALL")
    pricing.write_text(PRICING + line + "\n")
    with pytest.raises(PricingFileError) as refused:
        load(wh, pricing)
    message = str(refused.value)
    assert message.startswith(f"{pricing}:6: ") and problem in message and "\n" not in message
    assert query(wh, "SELECT * FROM rate_cards ORDER BY ALL") == before  # nothing half-applied


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def test_each_statement_is_a_pdf_with_its_number_lines_and_total(summer, tmp_path) -> None:
    _, wh, _ = summer
    with wh.write() as con:  # a client names itself like a formula
        con.execute(
            "UPDATE clients SET name = '=HYPERLINK(\"http://x\",\"y\")' WHERE client_id = 'acme'"
        )
    result = close_month(wh, JULY, now=CLOSE_AT)
    paths = write_statement_pdfs(wh, JULY, tmp_path / "pdf")

    assert [p.name for p in paths] == [f"statement-{s.number}.pdf" for s in result.statements]
    for statement, path in zip(result.statements, paths, strict=True):
        text = pdf_text(path)
        assert f"Statement {statement.number}" in text
        assert "[partner name]" in text and "July 2024" in text
        for _, label, amount in statement_lines(wh, statement.number):
            assert f"{amount:,.2f}" in text and label in text
        assert f"Total {statement.total:,.2f}" in text
        assert "half away from zero" in text
        fonts = PdfReader(path).pages[0]["/Resources"]["/Font"]
        descriptors = [
            font.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            for font in fonts.values()
        ]
        assert all("/FontFile2" in d for d in descriptors)  # embedded: the same without fonts
    assert "'=HYPERLINK(" in pdf_text(paths[0])  # inert, as in every document
    first = [p.read_bytes() for p in paths]
    assert [p.read_bytes() for p in write_statement_pdfs(wh, JULY, tmp_path / "pdf")] == first


def test_the_report_and_workbook_carry_the_numbered_statements_and_open_corrections(
    summer, tmp_path
) -> None:
    _, wh, _ = summer
    july = close_month(wh, JULY, now=CLOSE_AT)
    with wh.write() as con:  # a revision found after the close
        con.execute(
            "UPDATE usage_by_category SET price = price + 5 WHERE client_id = 'beta' "
            "AND usage_date = ? AND category = 'service'",
            [date(2024, 7, 10)],
        )
    correction = query(wh, "SELECT amount FROM open_adjustments")[0]["amount"]
    files = build_report(wh, tmp_path / "reports", JULY, now=CLOSE_AT)

    page = files.html.read_text()
    for statement in july.statements:
        assert f'<td class="">{statement.number}</td>' in page
        assert f"{statement.total:,.2f}" in page
    assert "Corrections found, for the next statements" in page
    assert f"{correction:,.2f}" in page
    assert escape(BILLABLE_ROUNDING) in page

    book = load_workbook(files.statement)
    sheet = book["Statements"]
    written = [
        (number, line, kind, Decimal(str(amount)).quantize(Decimal("0.01")))
        for number, _, _, _, line, kind, _, _, _, amount in sheet.iter_rows(
            min_row=4, values_only=True
        )
    ]
    assert written == [
        (r["statement_number"], r["line_no"], r["kind"], r["amount"])
        for r in query(wh, "SELECT * FROM statement_lines ORDER BY statement_number, line_no")
    ]
    assert book["EUR"]["A3"].value == BILLABLE_ROUNDING


def test_the_month_close_asset_closes_its_partition_as_the_command_does(summer, tmp_path) -> None:
    _, wh, _ = summer
    env = {
        "PIPELINE_WAREHOUSE": str(wh.path),
        "PIPELINE_REPORT_DIR": str(tmp_path / "reports"),
        "PIPELINE_START_DATE": "2024-01-01",
    }
    defs = build_definitions(env)
    refresh = defs.resolve_job_def(REFRESH_JOB).asset_layer.executable_asset_keys
    assert dg.AssetKey("month_close") not in refresh  # finance's call, never a run's

    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            [defs.resolve_assets_def("month_close")],
            partition_key="2024-07-01",
            instance=instance,
        )
    assert result.success
    metadata = result.asset_materializations_for_node("month_close")[0].metadata
    assert metadata["statements"].value == 3
    assert (metadata["first_number"].value, metadata["last_number"].value) == (
        "2024-000001",
        "2024-000003",
    )
    folder = tmp_path / "reports" / "statements" / "2024-07"
    assert sorted(p.name for p in folder.glob("*.pdf")) == [
        f"statement-2024-00000{n}.pdf" for n in (1, 2, 3)
    ]
    assert [s.number for s in close_month(wh, JULY).statements] == [
        "2024-000001",
        "2024-000002",
        "2024-000003",
    ]


def test_the_snapshot_a_statement_records_reproduces_every_line(summer) -> None:
    _, wh, _ = summer
    close_month(wh, JULY, now=CLOSE_AT)
    with wh.write() as con:  # revised after the close: today's draft differs
        con.execute("UPDATE usage_by_category SET price = price + 3 WHERE client_id = 'acme'")
    [(snapshot,)] = {(r["snapshot_id"],) for r in query(wh, "SELECT snapshot_id FROM statements")}
    lines = "SELECT client_id, kind, category, amount FROM statement_draft_lines WHERE month = ?"
    names = ("client_id", "kind", "category", "amount")
    invoiced = query(
        wh,
        "SELECT s.client_id, l.kind, l.category, l.amount FROM statement_lines l "
        "JOIN statements s USING (statement_number) WHERE l.kind <> 'adjustment'",
    )
    with wh.read(Snapshot(version=snapshot)) as con:
        then = [dict(zip(names, r, strict=True)) for r in con.execute(lines, [JULY]).fetchall()]

    def key(row: dict) -> tuple:
        return (row["client_id"], row["kind"], row["category"] or "", row["amount"])

    assert sorted(map(key, then)) == sorted(map(key, invoiced))
    assert sorted(map(key, query(wh, lines, [JULY]))) != sorted(map(key, invoiced))
