"""Per-channel usage (answers filtered by `app_id`) -> usage_daily_by_channel and
usage_by_channel_category, attributed so that a client-day's channels add up to its own row.

Whatever the listed channels do not explain (a channel missing from the listing, say) is kept as
an explicit row with app_id 'unattributed' and no channel_id, never dropped: the remainder is
the client's figure minus the sum of its channels', per day and per category.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from pipeline.transform.schemas import USAGE_BY_CHANNEL_CATEGORY, USAGE_DAILY_BY_CHANNEL
from pipeline.transform.usage import UsageFrames

UNATTRIBUTED = "unattributed"
_DAILY_MEASURES = ("quantity", "paid_quantity", "free_quantity", "total_price")
_CATEGORY_MEASURES = ("quantity", "paid_quantity", "price")


def channel_usage_tables(
    client: UsageFrames, channels: UsageFrames, listing: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(usage_daily_by_channel, usage_by_channel_category) from the clients' own frames, their
    channels' frames (with app_id) and the listing (`app_id`, `channel_id`) for channel ids."""
    daily = pl.concat(
        [
            channels.daily.join(listing.select("app_id", "channel_id"), on="app_id", how="left"),
            _remainder(
                client.daily, channels.daily, ["client_id", "usage_date"], _DAILY_MEASURES
            ).with_columns(pl.lit(None, pl.String).alias("channel_id")),
        ],
        how="diagonal_relaxed",
    )
    by_category = pl.concat(
        [
            channels.by_category,
            _remainder(
                client.by_category,
                channels.by_category,
                ["client_id", "usage_date", "category"],
                _CATEGORY_MEASURES,
            ),
        ],
        how="diagonal_relaxed",
    )
    return (
        daily.select(_typed_columns(USAGE_DAILY_BY_CHANNEL)).sort(
            "client_id", "usage_date", "app_id"
        ),
        by_category.select(_typed_columns(USAGE_BY_CHANNEL_CATEGORY)).sort(
            "client_id", "usage_date", "app_id", "category"
        ),
    )


def _remainder(
    whole: pl.DataFrame, parts: pl.DataFrame, key: Sequence[str], measures: Sequence[str]
) -> pl.DataFrame:
    """The rows of `whole` minus the sum of `parts` per key, where any measure is left over."""
    summed = parts.group_by(key).agg(pl.col(m).sum() for m in measures)
    # a full join: channel figures on a day the client has none would leave a negative remainder,
    # which the channel check then shows rather than hides
    joined = whole.join(summed, on=list(key), how="full", coalesce=True, suffix="_channels")
    described = parts.select(*key, "currency", "fetched_at", *_family(parts)).unique(key)
    left = joined.with_columns(
        (pl.col(m).fill_null(0) - pl.col(f"{m}_channels").fill_null(0)).alias(m) for m in measures
    )
    left = left.join(described, on=list(key), how="left", suffix="_part").with_columns(
        pl.coalesce("currency", "currency_part").alias("currency"),
        pl.coalesce("fetched_at", "fetched_at_part").alias("fetched_at"),
        *(
            [pl.coalesce("category_family", "category_family_part").alias("category_family")]
            if "category_family" in whole.columns
            else []
        ),
    )
    return left.filter(pl.any_horizontal(pl.col(m) != 0 for m in measures)).with_columns(
        pl.lit(UNATTRIBUTED).alias("app_id")
    )


def _family(frame: pl.DataFrame) -> list[str]:
    return ["category_family"] if "category_family" in frame.columns else []


def _typed_columns(schema: pl.Schema) -> list[pl.Expr]:
    """The schema's columns, in its order, cast to its types."""
    return [pl.col(name).cast(dtype) for name, dtype in schema.items()]
