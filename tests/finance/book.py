"""Rows written straight into a test warehouse, kept in Python so that tests can compute the
expected figures themselves (with Decimal and the calendar, not with the views' SQL)."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pyarrow as pa

from pipeline.warehouse import Warehouse

FETCHED_AT = datetime(2024, 9, 1, 3, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Day:
    client_id: str
    usage_date: date
    currency: str
    total_price: Decimal
    quantity: int = 10
    paid_quantity: int = 8
    free_tier: int = 1
    free_entry_point: int = 1

    @property
    def free_quantity(self) -> int:
        return self.free_tier + self.free_entry_point

    @property
    def month(self) -> date:
        return self.usage_date.replace(day=1)


@dataclass(frozen=True)
class Category:
    client_id: str
    usage_date: date
    currency: str
    category: str
    family: str
    price: Decimal
    quantity: int = 5
    paid_quantity: int = 4


@dataclass
class Book:
    """Everything a test warehouse holds; `write` puts it in with plain INSERTs."""

    clients: dict[str, str] = field(default_factory=dict)  # client_id -> name
    created: dict[str, datetime] = field(default_factory=dict)
    coverage: set[tuple[str, date]] = field(default_factory=set)
    days: list[Day] = field(default_factory=list)
    categories: list[Category] = field(default_factory=list)
    api_months: list[tuple[str, date, str, int, int, Decimal]] = field(default_factory=list)
    balances: list[tuple[str, datetime, Decimal, str]] = field(default_factory=list)
    partner_balances: list[tuple[datetime, str, Decimal]] = field(default_factory=list)
    markups: list[tuple[str, date | None, Decimal]] = field(default_factory=list)
    settings: tuple[Decimal, int] | None = None
    channels: list[dict] = field(default_factory=list)
    channel_days: list[tuple[str, str, str | None, date, str, int, Decimal]] = field(
        default_factory=list
    )

    def client(self, client_id: str, created: datetime | None = None) -> None:
        self.clients[client_id] = f"{client_id.title()} Ltd"
        if created:
            self.created[client_id] = created

    def cover(self, client_id: str, first: date, last: date) -> None:
        self.coverage |= {(client_id, d) for d in days_between(first, last)}

    def write(self, wh: Warehouse) -> Warehouse:
        with wh.write() as con:
            for client_id, name in self.clients.items():
                con.execute(
                    "INSERT INTO clients (client_id, name, status, max_channels, created_at, "
                    "observed_at) VALUES (?, ?, 'active', 2, ?, ?)",
                    [client_id, name, self.created.get(client_id), FETCHED_AT],
                )
            _insert_many(
                con,
                "INSERT INTO usage_coverage VALUES (?, ?, ?)",
                [(c, d, FETCHED_AT) for c, d in sorted(self.coverage)],
            )
            _insert_many(
                con,
                "INSERT INTO usage_daily VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        d.client_id,
                        d.usage_date,
                        d.currency,
                        d.quantity,
                        d.paid_quantity,
                        d.free_quantity,
                        d.free_tier,
                        d.free_entry_point,
                        d.total_price,
                        FETCHED_AT,
                    )
                    for d in self.days
                ],
            )
            _insert_many(
                con,
                "INSERT INTO usage_by_category VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        c.client_id,
                        c.usage_date,
                        c.currency,
                        c.category,
                        c.family,
                        c.quantity,
                        c.paid_quantity,
                        c.price,
                        FETCHED_AT,
                    )
                    for c in self.categories
                ],
            )
            _insert_many(
                con,
                "INSERT INTO usage_monthly_api VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(*row, FETCHED_AT) for row in self.api_months],
            )
            _insert_many(
                con,
                "INSERT INTO balance_snapshots (client_id, observed_at, balance, currency, "
                "last_renewal_date, last_renewal_amount) VALUES (?, ?, ?, ?, ?, 100)",
                [(c, at, bal, cur, at - timedelta(days=20)) for c, at, bal, cur in self.balances],
            )
            _insert_many(
                con, "INSERT INTO partner_balance_snapshots VALUES (?, ?, ?)", self.partner_balances
            )
            _insert_many(
                con,
                "INSERT INTO client_markups VALUES (?, ?, ?, 'markups.csv', 2, ?)",
                [(*row, FETCHED_AT) for row in self.markups],
            )
            if self.settings:
                con.execute(
                    "INSERT INTO finance_settings VALUES (?, ?, ?)", [*self.settings, FETCHED_AT]
                )
            for channel in self.channels:
                names = ", ".join(channel)
                marks = ", ".join("?" for _ in channel)
                con.execute(
                    f"INSERT INTO channels ({names}, observed_at) VALUES ({marks}, ?)",
                    [*channel.values(), FETCHED_AT],
                )
            _insert_many(
                con,
                "INSERT INTO usage_daily_by_channel VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)",
                [(*row[:6], row[5], row[6], FETCHED_AT) for row in self.channel_days],
            )
        return wh


def _insert_many(con, sql: str, rows: list) -> None:
    """`INSERT INTO t [(columns)] VALUES (?, 'literal', ?, ...)` for every row, as one INSERT ...
    SELECT from an Arrow table of the rows. Not executemany: DuckDB's Python binding converts
    parameters value by value and tries to import pandas for each (not installed here, so every
    try searches sys.path again), which made the summer book's 1,300 rows cost 3 CPU-seconds,
    written before dozens of tests. Arrow infers the narrowest exact type of each column (a
    Decimal column is a decimal of the widest scale in it) and DuckDB casts it to the table's
    column as it cast the parameter."""
    if not rows:
        return
    head, _, values = sql.partition(" VALUES ")
    names = iter(f"c{i}" for i in range(len(rows[0])))
    select = re.sub(
        r"\?", lambda _: next(names), values.strip().removeprefix("(").removesuffix(")")
    )
    table = pa.Table.from_pylist([{f"c{i}": v for i, v in enumerate(row)} for row in rows])
    con.register("book_rows", table)
    try:
        con.execute(f"{head} SELECT {select} FROM book_rows")
    finally:
        con.unregister("book_rows")


def days_between(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def days_in_month(month: date) -> int:
    return calendar.monthrange(month.year, month.month)[1]


def cents(value: Decimal) -> Decimal:
    """Two decimals, half away from zero (Decimal's ROUND_HALF_UP is away from zero)."""
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def query(wh: Warehouse, sql: str, params: list | None = None) -> list[dict]:
    with wh.read() as con:
        result = con.execute(sql, params or [])
        names = [d[0] for d in result.description]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]
