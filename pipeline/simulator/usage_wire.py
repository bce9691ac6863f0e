"""Usage rows as the API writes them: a <category>_quantity/_paid_quantity/_price triple per
category and the row's totals, keys sorted, money an exact JSON number.

Rows are written straight to JSON text, one cached str.format template per tuple of
categories a row has, since a general JSON encoder walking Decimal-valued dicts cost more
than generating the usage. Categories every row carries but this one lacks are literal zeros
in its template. Prices are whole units of 10**-4 (every rate has 4 decimals), written with
all 4 decimals: digit for digit what str(Decimal) gives, as the simplejson writer did.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cache
from typing import Any

from .pricing import DIRECTION, PRICE_DECIMALS, PRICING, RATE_UNITS
from .usage import UsageRow

Row = dict[str, Any]
Categories = tuple[str, ...]

# Always written, as zeros when unused; any other category only on rows that have it.
ALWAYS = (*DIRECTION, *PRICING)
MEASURES = ("quantity", "paid_quantity", "price")
TOTALS = (
    "free_entry_point",
    "free_quantity",
    "free_tier",
    "paid_quantity",
    "period_date",
    "quantity",
    "total_price",
)
_SCALE = 10**PRICE_DECIMALS
_ZERO_PRICE = "0." + "0" * PRICE_DECIMALS


def money(units: int) -> str:
    """Units of 10**-4 as a plain decimal number with exactly 4 decimals."""
    whole, fraction = divmod(abs(units), _SCALE)
    return f"{'-' if units < 0 else ''}{whole}.{fraction:0{PRICE_DECIMALS}d}"


def _cells(row: UsageRow, currency: str) -> tuple[Categories, list[int], list[int]]:
    """The row's categories in its own order, a (quantity, paid, price units) triple per
    category, and the totals (free_entry_point, free, free_tier, paid, quantity, price units)."""
    rates = RATE_UNITS[currency]
    marketing = rates["marketing"]  # an unknown (drifted) category is billed like marketing
    categories = []
    cells: list[int] = []
    quantity = free_tier = free_entry_point = price = 0
    for category, q, ft, fe in row.counts:
        paid = q - ft - fe
        assert paid >= 0, "free messages never outnumber a category's messages"
        category_price = rates.get(category, marketing) * paid
        categories.append(category)
        cells += (q, paid, category_price)
        quantity += q
        free_tier += ft
        free_entry_point += fe
        price += category_price
    free = free_tier + free_entry_point
    totals = [free_entry_point, free, free_tier, quantity - free, quantity, price]
    return tuple(categories), cells, totals


@cache
def _template(categories: Categories) -> str:
    """Writes, in sorted key order, the format arguments of rows_json: per category its
    quantity, paid quantity, and price as whole and fraction; then free_entry_point,
    free_quantity, free_tier, paid_quantity, quantity, total price whole and fraction, and
    period_date (quoted)."""
    fields: dict[str, str] = {}
    for category in ALWAYS:
        fields.update(
            {
                f"{category}_quantity": "0",
                f"{category}_paid_quantity": "0",
                f"{category}_price": _ZERO_PRICE,
            }
        )
    index = 0
    for category in categories:
        fields[f"{category}_quantity"] = f"{{{index}}}"
        fields[f"{category}_paid_quantity"] = f"{{{index + 1}}}"
        fields[f"{category}_price"] = f"{{{index + 2}}}.{{{index + 3}:0{PRICE_DECIMALS}d}}"
        index += 4
    for offset, name in enumerate(("free_entry_point", "free_quantity", "free_tier")):
        fields[name] = f"{{{index + offset}}}"
    fields["paid_quantity"] = f"{{{index + 3}}}"
    fields["quantity"] = f"{{{index + 4}}}"
    fields["total_price"] = f"{{{index + 5}}}.{{{index + 6}:0{PRICE_DECIMALS}d}}"
    fields["period_date"] = f'"{{{index + 7}}}"'
    return "{{" + ",".join(f'"{name}":{fields[name]}' for name in sorted(fields)) + "}}"


def rows_json(rows: list[UsageRow], currency: str) -> str:
    """A JSON array of the rows, compact, keys sorted; _cells' arithmetic, inlined because
    this loop is most of a long window's cost."""
    rates = RATE_UNITS[currency]
    marketing = rates["marketing"]
    written = []
    for row in rows:
        categories = []
        arguments: list[int | str] = []
        quantity = free_tier = free_entry_point = price = 0
        for category, q, ft, fe in row.counts:
            paid = q - ft - fe
            category_price = rates.get(category, marketing) * paid
            categories.append(category)
            arguments += (q, paid, category_price // _SCALE, category_price % _SCALE)
            quantity += q
            free_tier += ft
            free_entry_point += fe
            price += category_price
        free = free_tier + free_entry_point
        arguments += (free_entry_point, free, free_tier, quantity - free, quantity)
        arguments += (price // _SCALE, price % _SCALE, row.period_date)
        written.append(_template(tuple(categories)).format(*arguments))
    return "[" + ",".join(written) + "]"


def row_dict(row: UsageRow, currency: str) -> Row:
    """The row as parsed from the wire: keys sorted, money as Decimal."""
    categories, cells, totals = _cells(row, currency)
    values: Row = {}
    for category in ALWAYS:
        values.update(
            {f"{category}_{measure}": 0 for measure in MEASURES},
        )
        values[f"{category}_price"] = Decimal(_ZERO_PRICE)
    for position, category in enumerate(categories):
        q, paid, price = cells[3 * position : 3 * position + 3]
        values[f"{category}_quantity"] = q
        values[f"{category}_paid_quantity"] = paid
        values[f"{category}_price"] = Decimal(money(price))
    free_entry_point, free, free_tier, paid, quantity, price = totals
    values.update(
        free_entry_point=free_entry_point,
        free_quantity=free,
        free_tier=free_tier,
        paid_quantity=paid,
        period_date=row.period_date,
        quantity=quantity,
        total_price=Decimal(money(price)),
    )
    return dict(sorted(values.items()))
