"""A summer of usage for a handful of clients, with every case the finance views must get right:
month boundaries (June/July/August 2024), two currencies, a client without usage, a markup that
changes in July, a client fetched only partly, one that left the listing, balances."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from finance.book import Book, Category, Day, days_between

from pipeline.warehouse import Warehouse

JUNE, JULY, AUGUST = date(2024, 6, 1), date(2024, 7, 1), date(2024, 8, 1)
SUMMER_END = date(2024, 8, 31)
DEFAULT_MARKUP = Decimal("3.5")
LOW_BALANCE_DAYS = 10
SEPT_1 = datetime(2024, 9, 1, 6, 0, tzinfo=UTC)


def _cost(client_id: str, day: date) -> Decimal | None:
    """A made-up but varied daily cost; None on days without usage."""
    n = day.toordinal()
    if n % 5 == 0:
        return None
    if client_id == "eu":
        return Decimal(n % 17) + Decimal("0.1234")
    if client_id == "us":
        return Decimal(n % 13) + Decimal("0.55")
    return Decimal(n % 7) + Decimal("1.0001")


def _split(day: Day) -> list[Category]:
    """Categories that add up to the day: direction ones in June, pricing ones later."""
    first, second = (
        ("business_initiated", "user_initiated") if day.month == JUNE else ("marketing", "utility")
    )
    family = "direction" if day.month == JUNE else "pricing"
    share = (day.total_price * Decimal("0.6")).quantize(Decimal("0.0001"))
    return [
        Category(day.client_id, day.usage_date, day.currency, first, family, share, 6, 5),
        Category(
            day.client_id, day.usage_date, day.currency, second, family, day.total_price - share
        ),
    ]


def summer_book() -> Book:
    book = Book(settings=(DEFAULT_MARKUP, LOW_BALANCE_DAYS))
    book.client("eu", datetime(2023, 1, 5, tzinfo=UTC))
    book.client("us", datetime(2023, 3, 1, tzinfo=UTC))
    book.client("idle", datetime(2023, 3, 1, tzinfo=UTC))
    book.client("late", datetime(2024, 8, 9, 12, tzinfo=UTC))
    # "gone" left the listing: its rows stay, it is no longer in clients.
    for client_id in ("eu", "us", "idle"):
        book.cover(client_id, JUNE, SUMMER_END)
    book.cover("late", date(2024, 8, 10), SUMMER_END)
    book.cover("gone", JUNE, date(2024, 6, 15))
    spans = {
        "eu": (JUNE, SUMMER_END, "EUR"),
        "us": (JUNE, SUMMER_END, "USD"),
        "late": (date(2024, 8, 10), SUMMER_END, "EUR"),
        "gone": (JUNE, date(2024, 6, 15), "EUR"),
    }
    for client_id, (first, last, currency) in spans.items():
        for day in days_between(first, last):
            cost = _cost(client_id, day)
            if cost is not None:
                book.days.append(Day(client_id, day, currency, cost))
    for day in book.days:
        book.categories.extend(_split(day))
    # One client-day that fills both families (two cuts of the same messages).
    book.categories.append(
        Category("eu", date(2024, 7, 2), "EUR", "business_initiated", "direction", Decimal(3))
    )
    book.markups = [
        ("eu", None, Decimal(10)),
        ("eu", JULY, Decimal("12.5")),
    ]
    book.balances = [
        ("eu", datetime(2024, 8, 1, tzinfo=UTC), Decimal(500), "EUR"),
        ("eu", SEPT_1, Decimal(45), "EUR"),
        ("us", SEPT_1, Decimal(0), "USD"),
        ("idle", SEPT_1, Decimal(50), "EUR"),
    ]
    book.partner_balances = [
        (datetime(2024, 8, 1, tzinfo=UTC), "USD", Decimal(2000)),
        (SEPT_1, "USD", Decimal("1000.5")),
        (SEPT_1, "GBP", Decimal(30)),
    ]
    return book


def daily_sum(book: Book, client_id: str, month: date) -> Decimal:
    return sum(
        (d.total_price for d in book.days if d.client_id == client_id and d.month == month),
        Decimal(0),
    )


@pytest.fixture(scope="session")
def summer() -> Book:
    book = summer_book()
    book.api_months = [
        ("eu", JUNE, "EUR", 1, 1, daily_sum(book, "eu", JUNE)),
        ("eu", JULY, "EUR", 1, 1, daily_sum(book, "eu", JULY) + Decimal("0.0000000001")),
        ("eu", AUGUST, "EUR", 1, 1, daily_sum(book, "eu", AUGUST)),
        ("late", JULY, "EUR", 1, 1, Decimal(7)),
        ("late", AUGUST, "EUR", 1, 1, daily_sum(book, "late", AUGUST)),
    ]
    return book


@pytest.fixture(scope="session")
def summer_wh(summer, tmp_path_factory) -> Warehouse:
    return summer.write(Warehouse(tmp_path_factory.mktemp("summer") / "warehouse.sqlite"))
