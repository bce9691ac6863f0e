"""A result as a box to read in a terminal, like DuckDB's own renderer; polars draws it.

polars draws the box (`pl.Config`: no shape or dtype rows, thousands separators, numbers aligned
right, text cut with `…`). Three things it cannot decide are done here first:

- Amounts. A DECIMAL column shows as many decimals as its most precise shown value needs, and at
  least those of its currency: the ISO 4217 minor units of the currencies in the rows' `currency`
  column (2 for EUR, USD and GBP, 0 for JPY, 3 for KWD), or 2 without such a column; never more
  than the column's own scale. So a value is never rounded (a unit price of 0.065 or a day's cost
  of 4,424.2359 reads as it is, and shown lines add up to a shown total; a display rounded to
  cents would show the very mismatches finance readers flag), trailing zeros go, and a column's
  decimal points line up. DECIMAL(p, 0), what SQL sums of counts give, shows as an integer.
  The cast is polars' exact decimal cast, checked to lose nothing; no float is involved.
- Width. polars wraps cell text when a table is wider than its width, which turns a wide result
  into cells of three lines. Instead, columns are left out from the middle (a `…` column in their
  place, as DuckDB does) until the box fits the terminal.
- Control characters in text (a client types its own name) show as their Unicode pictures
  (␍ ␊ ␛), so no cell can move the cursor or recolour the analyst's terminal.

DuckDB's renderer (`relation.show()`) fits the width too, but always prints a type row and has
no thousands separators from Python; `rich` is only a dependency of Dagster's, not of ours.
"""

from __future__ import annotations

import shutil
from typing import Any
from unicodedata import east_asian_width

import polars as pl

LEAST_DECIMALS = 2
"""Decimals an amount without a currency shows at least, and those of most currencies."""
CURRENCY_DECIMALS = {
    **dict.fromkeys(["BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG"], 0),
    **dict.fromkeys(["RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"], 0),
    **dict.fromkeys(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"], 3),
    **dict.fromkeys(["CLF", "UYW"], 4),
}
"""ISO 4217 minor units of the currencies that have other than LEAST_DECIMALS."""
TEXT_CHARS = 40
"""Text longer than this is cut with `…`, unless the whole table is asked for."""
_MAX_WIDTH = 65_535  # the widest table polars draws (its width is a u16)
_CONTROLS = [chr(code) for code in range(0x20)] + ["\x7f"]
_PICTURES = [chr(0x2400 + code) for code in range(0x20)] + ["\u2421"]


def terminal_width() -> int:
    """The terminal's columns (COLUMNS if set; 80 when the output is not a terminal)."""
    return shutil.get_terminal_size().columns


def result_table(frame: pl.DataFrame, width: int | None = None, more_rows: bool = False) -> str:
    """`frame` as a box and a line counting its rows (and columns left out). The box fits in
    `width` characters, text cut to TEXT_CHARS; None: every column and whole text. `more_rows`:
    the result has rows beyond those of `frame`."""
    shown, options = _prepared(frame, cut_text=width is not None)
    columns = frame.width if width is None else _columns_that_fit(shown, width, options)
    box = _draw(_narrowed(shown, columns), options)
    return f"{box}\n{_footer(frame, columns, more_rows)}\n"


def result_box(frame: pl.DataFrame) -> str:
    """`frame` whole as a box, without a footer: for a summary of a few rows."""
    shown, options = _prepared(frame, cut_text=False)
    return _draw(shown, options)


def _prepared(frame: pl.DataFrame, *, cut_text: bool) -> tuple[pl.DataFrame, dict[str, Any]]:
    """The frame as it is shown (amounts at their scale, control characters as pictures) and
    the polars options that draw it."""
    shown = readable_amounts(frame).with_columns(
        pl.col(pl.String).str.replace_many(_CONTROLS, _PICTURES)
    )
    options: dict[str, Any] = {
        "tbl_hide_column_data_types": True,
        "tbl_hide_dataframe_shape": True,
        "thousands_separator": ",",
        "tbl_cell_numeric_alignment": "RIGHT",
        "tbl_rows": -1,
        "tbl_cols": -1,
        "tbl_width_chars": _MAX_WIDTH,  # never wrap a cell: columns are left out instead
        "fmt_str_lengths": TEXT_CHARS if cut_text else _MAX_WIDTH,
    }
    return shown, options


def readable_amounts(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with each DECIMAL column at the scale the module docstring says, exactly."""
    least = _least_decimals(frame)
    return frame.with_columns(
        frame[name].cast(pl.Decimal(dtype.precision, _decimals(frame[name], dtype, least)))
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Decimal) and dtype.scale > 0
    )


def _least_decimals(frame: pl.DataFrame) -> int:
    if frame.schema.get("currency") != pl.String:
        return LEAST_DECIMALS
    codes = frame["currency"].drop_nulls().unique().to_list()
    decimals = (CURRENCY_DECIMALS.get(code.upper(), LEAST_DECIMALS) for code in codes)
    return max(decimals, default=LEAST_DECIMALS)


def _decimals(values: pl.Series, dtype: pl.Decimal, least: int) -> int:
    """The fewest decimals, from `least`, that hold every value exactly (at most its scale)."""
    for scale in range(min(least, dtype.scale), dtype.scale):
        if (values.cast(pl.Decimal(dtype.precision, scale)) == values).all():
            return scale
    return dtype.scale


def _columns_that_fit(frame: pl.DataFrame, width: int, options: dict[str, Any]) -> int:
    """The most columns (at least 1) whose box is at most `width` wide: a box only widens with
    more columns, so a binary search over the count."""
    low, high = 1, frame.width
    while low < high:
        middle = (low + high + 1) // 2
        if _box_width(_draw(_narrowed(frame, middle), options)) <= width:
            low = middle
        else:
            high = middle - 1
    return low


def _narrowed(frame: pl.DataFrame, columns: int) -> pl.DataFrame:
    """The first and last of `columns` columns, a `…` column between them when some are left
    out. Not polars' own `tbl_cols`, which aligns the columns after its `…` as the ones before
    them (a number to the left, a timestamp to the right)."""
    if columns >= frame.width:
        return frame
    first, last = frame.columns[: (columns + 1) // 2], frame.columns[frame.width - columns // 2 :]
    return frame.select(*first, pl.lit("…").alias("…"), *last)


def _draw(frame: pl.DataFrame, options: dict[str, Any]) -> str:
    with pl.Config(**options):
        return str(frame)


def _box_width(box: str) -> int:
    """Terminal columns of the box's widest line: East Asian wide characters take two."""
    return max(
        sum(2 if east_asian_width(char) in "WF" else 1 for char in line)
        for line in box.splitlines()
    )


def _footer(frame: pl.DataFrame, columns: int, more_rows: bool) -> str:
    rows = f"{frame.height:,} row{'' if frame.height == 1 else 's'}"
    if more_rows:
        rows = f"the first {rows}; more follow (--rows N or --full shows them)"
    if columns < frame.width:
        rows += f"; {columns} of {frame.width} columns shown (--full shows all)"
    return rows
