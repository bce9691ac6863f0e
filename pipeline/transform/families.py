"""Category families: direction and pricing are two cuts of the same messages, never to be summed.

The vendor's rows fill either the direction pair or the pricing categories; each family that is
filled on a row must add up to that row's totals (checked in the warehouse by the view
sql/views/usage_family_mismatches.sql). New categories count as pricing.
"""

from __future__ import annotations

import polars as pl

DIRECTION_CATEGORIES = frozenset({"business_initiated", "user_initiated"})
DIRECTION = "direction"
PRICING = "pricing"


def category_family(category: pl.Expr) -> pl.Expr:
    """'direction' for business_initiated/user_initiated, 'pricing' for every other category."""
    return (
        pl.when(category.is_in(list(DIRECTION_CATEGORIES)))
        .then(pl.lit(DIRECTION))
        .otherwise(pl.lit(PRICING))
    )
