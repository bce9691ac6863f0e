"""What an operator wants to see on a materialization: counts, API effort, time, a preview."""

from __future__ import annotations

import polars as pl
from dagster import MetadataValue

PREVIEW_ROWS = 10


def preview(frame: pl.DataFrame) -> MetadataValue:
    with pl.Config(
        tbl_formatting="MARKDOWN",
        tbl_hide_dataframe_shape=True,
        tbl_hide_column_data_types=True,
        tbl_rows=PREVIEW_ROWS,
        tbl_cols=-1,
        tbl_width_chars=10_000,  # one line per row: a narrower table wraps names and values
        fmt_str_lengths=40,
    ):
        return MetadataValue.md(str(frame.head(PREVIEW_ROWS)))


def api_effort(stats: dict[str, int | float]) -> dict[str, int | float]:
    """The client's request counters, prefixed so they group together in the UI."""
    return {f"api_{name}": value for name, value in stats.items()}
