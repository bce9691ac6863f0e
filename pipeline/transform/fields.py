"""The fields of a `/info/balance` usage row: totals, and `<category>_<measure>` triples.

Both readers of a body (the exact Python parse and Arrow's, in columnar.py) name and type the
fields from here, so they find the same categories.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# The categories the API is documented to send; the warehouse may know more (usage_by_category).
DOCUMENTED_CATEGORIES = frozenset(
    {
        "authentication",
        "authentication_international",
        "business_initiated",
        "marketing",
        "marketing_lite",
        "service",
        "user_initiated",
        "utility",
    }
)
REQUIRED_TOTALS = ("quantity", "paid_quantity", "total_price")
OPTIONAL_TOTALS = ("free_quantity", "free_tier", "free_entry_point")
CATEGORY_MEASURES = ("quantity", "paid_quantity", "price")
# `paid_quantity` before `quantity`, and the non-greedy prefix, so marketing_paid_quantity is
# category "marketing", measure "paid_quantity".
_CATEGORY_COLUMN = re.compile(r"(.+?)_(paid_quantity|quantity|price)")


def discover_categories(columns: Sequence[str]) -> list[str]:
    """Category prefixes of `<category>_quantity|_paid_quantity|_price` columns, sorted."""
    totals = {*REQUIRED_TOTALS, *OPTIONAL_TOTALS}
    found = {
        match.group(1)
        for column in columns
        if column not in totals and (match := _CATEGORY_COLUMN.fullmatch(column))
    }
    return sorted(found)


def category_columns(categories: Sequence[str]) -> list[str]:
    """Every measure column of `categories`, category by category."""
    return [f"{c}_{m}" for c in categories for m in CATEGORY_MEASURES]


def is_money(column: str) -> bool:
    """Money columns of a usage row (the rest but period_date are counts)."""
    return column == "total_price" or column.endswith("_price")
