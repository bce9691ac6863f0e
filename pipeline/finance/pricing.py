"""The PIPELINE_PRICING file: rate cards, number fees and minimum commitments per client.

`client_id,category,unit_price,currency,valid_from`, one price per client, category and month
from which it applies (valid_from `YYYY-MM`, empty: since always). category is a usage category
(a price per paid message of that category), `number_fee` (per channel live in the month) or
`minimum_monthly` (the least a client's usage is billed for a month). Read and checked whole, as
every finance input file (csv_input.py); a client's currency is checked against its usage when
the file is loaded (load.py).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from pipeline.finance.csv_input import InputFileError, csv_rows, plain_decimal
from pipeline.finance.months import parse_month
from pipeline.transform.fields import DOCUMENTED_CATEGORIES

COLUMNS = ("client_id", "category", "unit_price", "currency")
OPTIONAL_COLUMNS = ("valid_from",)
NUMBER_FEE, MINIMUM_MONTHLY = "number_fee", "minimum_monthly"
PRICE_DECIMALS = 6  # rate_cards.unit_price is DECIMAL(18, 6)
PRICE_HIGHEST = Decimal("999999999999.999999")
_CURRENCY = re.compile(r"[A-Z]{3}")


class PricingFileError(InputFileError):
    """The pricing file cannot be used; the message names the file and the line to fix."""


@dataclass(frozen=True)
class Price:
    client_id: str
    category: str
    unit_price: Decimal
    currency: str
    valid_from: date | None  # first month it applies; None: since always
    source_file: str
    source_line: int


def read_pricing(path: Path, categories: Collection[str] = ()) -> list[Price]:
    """Every price of the file, checked; PricingFileError (one line) on the first problem.
    `categories`: usage categories the warehouse knows besides the documented ones."""
    known = DOCUMENTED_CATEGORIES | set(categories) | {NUMBER_FEE, MINIMUM_MONTHLY}
    prices: list[Price] = []
    first_line: dict[tuple[str, str, date | None], int] = {}
    currency_line: dict[str, Price] = {}
    for line, fields in csv_rows(
        path, "PIPELINE_PRICING", COLUMNS, OPTIONAL_COLUMNS, error=PricingFileError
    ):
        price = _row(path, line, fields, known)
        key = (price.client_id, price.category, price.valid_from)
        if key in first_line:
            since = price.valid_from.strftime("%Y-%m") if price.valid_from else "always"
            raise PricingFileError(
                f"{path}:{line}: client {price.client_id!r} already has a {price.category} "
                f"price from {since} on line {first_line[key]}: valid_from overlaps; keep one"
            )
        first = currency_line.setdefault(price.client_id, price)
        if first.currency != price.currency:
            raise PricingFileError(
                f"{path}:{line}: client {price.client_id!r} is priced in {first.currency} on "
                f"line {first.source_line}, not {price.currency}; a client has one currency"
            )
        first_line[key] = line
        prices.append(price)
    return prices


def check_currencies(prices: Sequence[Price], usage_currencies: Mapping[str, str]) -> None:
    """Refuse a price in another currency than the client's usage (client id -> currency)."""
    for price in prices:
        usage = usage_currencies.get(price.client_id)
        if usage is not None and usage != price.currency:
            raise PricingFileError(
                f"{price.source_file}:{price.source_line}: client {price.client_id!r} uses "
                f"{usage}, not {price.currency}; price it in {usage}"
            )


def _row(path: Path, line: int, fields: dict[str, str], known: Collection[str]) -> Price:
    def problem(text: str) -> PricingFileError:
        return PricingFileError(f"{path}:{line}: {text}")

    if not fields["client_id"]:
        raise problem("client_id is empty")
    category = fields["category"]
    if category not in known:
        raise problem(
            f"unknown category {category!r}; use a usage category (e.g. marketing), "
            f"{NUMBER_FEE} or {MINIMUM_MONTHLY}"
        )
    try:
        unit_price = plain_decimal("unit_price", fields["unit_price"], PRICE_DECIMALS, "0.0125")
    except ValueError as error:
        raise problem(str(error)) from None
    if not Decimal(0) <= unit_price <= PRICE_HIGHEST:
        raise problem(f"unit_price {fields['unit_price']!r} is outside 0..{PRICE_HIGHEST}")
    currency = fields["currency"]
    if not _CURRENCY.fullmatch(currency):
        raise problem(f"currency {currency!r} is not a 3-letter code such as EUR")
    month = fields.get("valid_from", "")
    try:
        valid_from = parse_month(month) if month else None
    except ValueError as error:
        raise problem(f"valid_from {error}") from None
    return Price(fields["client_id"], category, unit_price, currency, valid_from, str(path), line)
