"""Put the finance inputs (markups, prices and settings) into the warehouse, replacing the
previous ones.

The tables are replaced whole in one copy-on-write transaction: the markups file and the
environment are the source of truth, so a markup removed from the file stops applying. Every run
checks them; when the warehouse already holds exactly these values nothing is written, which
spares a copy of the warehouse file and lets `report` run beside a pipeline run without waiting.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
from polars.datatypes import DataTypeClass

from pipeline import clock
from pipeline.finance.markups import Markup, check_markup_pct, read_markups
from pipeline.finance.pricing import Price, check_currencies, read_pricing
from pipeline.settings import Settings, SettingsError
from pipeline.warehouse import Warehouse, WarehouseError

MARKUPS_SCHEMA: dict[str, pl.DataType | DataTypeClass] = {
    "client_id": pl.String,
    "valid_from": pl.Date,
    "markup_pct": pl.Decimal(9, 4),
    "source_file": pl.String,
    "source_line": pl.Int32,
    "loaded_at": pl.Datetime("us", "UTC"),
}
_KEY_COLUMNS = "client_id, valid_from, markup_pct, source_file, source_line"
PRICES_SCHEMA: dict[str, pl.DataType | DataTypeClass] = {
    "client_id": pl.String,
    "category": pl.String,
    "unit_price": pl.Decimal(18, 6),
    "currency": pl.String,
    "valid_from": pl.Date,
    "source_file": pl.String,
    "source_line": pl.Int32,
    "loaded_at": pl.Datetime("us", "UTC"),
}
_PRICE_COLUMNS = "client_id, category, unit_price, currency, valid_from, source_file, source_line"


@dataclass(frozen=True)
class FinanceInputsResult:
    markups: int
    clients_with_markup: int
    default_markup_pct: Decimal
    low_balance_days: int
    written: bool  # False: the warehouse already held exactly these inputs

    def as_metadata(self) -> dict[str, int | float | bool]:
        return {
            "client_markups.rows": self.markups,
            "clients_with_markup": self.clients_with_markup,
            "default_markup_pct": float(self.default_markup_pct),
            "low_balance_days": self.low_balance_days,
            "written": self.written,
        }


def load_finance_inputs(
    wh: Warehouse,
    markups: Sequence[Markup],
    *,
    default_markup_pct: Decimal,
    low_balance_days: int,
    prices: Sequence[Price] = (),
    now: datetime | None = None,
) -> FinanceInputsResult:
    """Replace client_markups by `markups`, rate_cards by `prices` and finance_settings by these
    two settings, unless the warehouse holds exactly them already."""
    _check_settings(default_markup_pct, low_balance_days)
    result = FinanceInputsResult(
        markups=len(markups),
        clients_with_markup=len({m.client_id for m in markups}),
        default_markup_pct=default_markup_pct,
        low_balance_days=low_balance_days,
        written=True,
    )
    wanted = (
        _markup_keys(markups),
        _sorted_prices(map(_price_key, prices)),
        (default_markup_pct, low_balance_days),
    )
    if _held(wh) == wanted:
        return replace(result, written=False)
    loaded_at = now or clock.now()
    rows = pl.DataFrame(
        [
            (m.client_id, m.valid_from, m.markup_pct, m.source_file, m.source_line, loaded_at)
            for m in markups
        ],
        schema=MARKUPS_SCHEMA,
        orient="row",
    )
    with wh.write("finance inputs") as con:
        con.execute("DELETE FROM client_markups")
        con.register("incoming_markups", rows)
        con.execute("INSERT INTO client_markups BY NAME SELECT * FROM incoming_markups")
        con.unregister("incoming_markups")
        con.execute("DELETE FROM rate_cards")
        con.register("incoming_prices", _price_rows(prices, loaded_at))
        con.execute("INSERT INTO rate_cards BY NAME SELECT * FROM incoming_prices")
        con.unregister("incoming_prices")
        con.execute("DELETE FROM finance_settings")
        con.execute(
            "INSERT INTO finance_settings (default_markup_pct, low_balance_days, written_at) "
            "VALUES (?, ?, ?)",
            [default_markup_pct, low_balance_days, loaded_at],
        )
    return result


def refresh_finance_inputs(
    wh: Warehouse,
    markups_path: Path | None,
    *,
    default_markup_pct: Decimal,
    low_balance_days: int,
    pricing_path: Path | None = None,
) -> FinanceInputsResult:
    """Read the markups and pricing files (None: none) and load them with the settings; a bad
    file raises MarkupsFileError or PricingFileError before the warehouse is touched."""
    markups = read_markups(markups_path) if markups_path is not None else []
    prices: list[Price] = []
    if pricing_path is not None:
        categories, currencies = _usage_known(wh)
        prices = read_pricing(pricing_path, categories)
        check_currencies(prices, currencies)
    return load_finance_inputs(
        wh,
        markups,
        default_markup_pct=default_markup_pct,
        low_balance_days=low_balance_days,
        prices=prices,
    )


def finance_ready_warehouse(settings: Settings) -> Warehouse:
    """The configured warehouse with the current finance inputs loaded (a write only when they
    changed), for the commands that read the finance views."""
    wh = settings.lake()
    if not wh.exists():
        raise WarehouseError(f"no warehouse at {wh.where()} yet; load some data first")
    refresh_finance_inputs(
        wh,
        settings.markups_path,
        default_markup_pct=settings.default_markup_pct,
        low_balance_days=settings.low_balance_days,
        pricing_path=settings.pricing_path,
    )
    return wh


def _usage_known(wh: Warehouse) -> tuple[set[str], dict[str, str]]:
    """The usage categories the warehouse has seen, and each client's latest currency."""
    if not wh.exists():
        return set(), {}
    with wh.read() as con:
        categories = con.execute("SELECT DISTINCT category FROM usage_by_category").fetchall()
        currencies = con.execute(
            "SELECT client_id, arg_max(currency, usage_date) FROM usage_daily GROUP BY client_id"
        ).fetchall()
    return {c for (c,) in categories}, dict(currencies)


def _price_rows(prices: Sequence[Price], loaded_at: datetime) -> pl.DataFrame:
    return pl.DataFrame(
        [(*_price_key(p), loaded_at) for p in prices], schema=PRICES_SCHEMA, orient="row"
    )


def _price_key(p: Price) -> tuple:
    # The order of _PRICE_COLUMNS.
    return (
        p.client_id,
        p.category,
        p.unit_price,
        p.currency,
        p.valid_from,
        p.source_file,
        p.source_line,
    )


def _sorted_prices(keys: Iterable[tuple]) -> list[tuple]:
    return sorted(keys, key=lambda key: (key[0], key[1], key[4] or date.min, key[5], key[6]))


def _markup_keys(markups: Sequence[Markup]) -> list[tuple]:
    return sorted(
        ((m.client_id, m.valid_from, m.markup_pct, m.source_file, m.source_line) for m in markups),
        key=_order,
    )


def _order(key: tuple) -> tuple:
    # Not by value representation: 10 from the file equals 10.0000 from the table.
    client_id, valid_from, _, source_file, source_line = key
    return client_id, valid_from or date.min, source_file, source_line


def _held(wh: Warehouse) -> tuple[list[tuple], list[tuple], tuple[Decimal, int]] | None:
    """What the warehouse holds now; None when it has no finance inputs (or no file) yet."""
    if not wh.exists():
        return None
    with wh.read() as con:
        tables = con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
        ).fetchall()
        if ("finance_settings",) not in tables:
            return None  # a warehouse from before the finance tables existed
        settings = con.execute(
            "SELECT default_markup_pct, low_balance_days FROM finance_settings"
        ).fetchall()
        if ("rate_cards",) not in tables:
            return None  # a warehouse from before the pricing file existed
        markups = con.execute(f"SELECT {_KEY_COLUMNS} FROM client_markups").fetchall()
        prices = con.execute(f"SELECT {_PRICE_COLUMNS} FROM rate_cards").fetchall()
    if len(settings) != 1:
        return None
    return sorted(markups, key=_order), _sorted_prices(prices), settings[0]


def _check_settings(default_markup_pct: Decimal, low_balance_days: int) -> None:
    # The tables' types would silently round a markup with more decimals; refuse it instead.
    try:
        check_markup_pct(format(default_markup_pct, "f"))
    except ValueError as error:
        raise SettingsError(f"PIPELINE_DEFAULT_MARKUP_PCT: {error}") from None
    if low_balance_days < 0:
        raise SettingsError(f"PIPELINE_LOW_BALANCE_DAYS={low_balance_days} must not be negative")
