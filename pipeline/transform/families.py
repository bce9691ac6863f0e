"""Category families: direction and pricing are two cuts of the same messages, never to be summed.

The vendor's rows fill either the direction pair or the pricing categories; each family that is
filled on a row must add up to that row's totals. New categories count as pricing.
"""

from __future__ import annotations

import polars as pl

from pipeline.transform.schemas import FAMILY_MISMATCHES, MONEY

DIRECTION_CATEGORIES = frozenset({"business_initiated", "user_initiated"})
DIRECTION = "direction"
PRICING = "pricing"

# measure name in usage_daily -> the matching column in usage_by_category
_MEASURES = {"quantity": "quantity", "paid_quantity": "paid_quantity", "total_price": "price"}
_ROW_KEY = ["client_id", "usage_date"]


def category_family(category: pl.Expr) -> pl.Expr:
    """'direction' for business_initiated/user_initiated, 'pricing' for every other category."""
    return (
        pl.when(category.is_in(list(DIRECTION_CATEGORIES)))
        .then(pl.lit(DIRECTION))
        .otherwise(pl.lit(PRICING))
    )


def family_mismatches(daily: pl.DataFrame, by_category: pl.DataFrame) -> pl.DataFrame:
    """Rows where a filled family does not add up to the row's quantity/paid_quantity/total_price.

    A family is filled on a row when it has any stored category row there (usage_by_category keeps
    only rows with a non-zero figure). Counts are compared as MONEY so one column holds all three
    measures exactly. Empty result (schema FAMILY_MISMATCHES) when everything adds up.
    """
    sums = by_category.group_by([*_ROW_KEY, "category_family"]).agg(
        pl.col(column).sum().cast(MONEY).alias(measure) for measure, column in _MEASURES.items()
    )
    totals = daily.select(*_ROW_KEY, *(pl.col(m).cast(MONEY) for m in _MEASURES))
    actual = sums.unpivot(
        on=list(_MEASURES),
        index=[*_ROW_KEY, "category_family"],
        variable_name="measure",
        value_name="actual",
    )
    expected = totals.unpivot(
        on=list(_MEASURES), index=_ROW_KEY, variable_name="measure", value_name="expected"
    )
    return (
        actual.join(expected, on=[*_ROW_KEY, "measure"], how="left")
        .with_columns(pl.col("expected").fill_null(pl.lit(0).cast(MONEY)))
        .filter(pl.col("expected") != pl.col("actual"))
        .select(FAMILY_MISMATCHES.names())
        .cast(dict(FAMILY_MISMATCHES))
        .sort([*_ROW_KEY, "category_family", "measure"])
    )
