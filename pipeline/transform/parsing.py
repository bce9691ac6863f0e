"""Exact parsing of raw `/info/balance` text: JSON numbers stay strings until polars casts them.

Floats never appear: `json.loads` hands numbers over as their literal text, and the casts below
check every literal first, because polars' decimal cast silently rounds excess decimal places
(`"0.07120000000000001"` becomes `0.0712`) and turns garbage into null.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

import polars as pl

from pipeline.transform.errors import UsageFormatError, show_value
from pipeline.transform.schemas import MONEY, MONEY_SCALE

_DECIMAL_LITERAL = r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?"
_COUNT_LITERAL = r"^\d+$"
# Plain literals, which always pass the checks below: at most 18 digits always fit Int64, at most
# 28 integer and 10 decimal digits always fit MONEY. ASCII digits only (\d is Unicode in polars).
_PLAIN_COUNT = r"^[0-9]{1,18}$"
_PLAIN_MONEY = r"^[0-9]{1,28}(?:\.[0-9]{1,10})?$"
_PLAIN_SIGNED_MONEY = r"^-?[0-9]{1,28}(?:\.[0-9]{1,10})?$"


@dataclass(frozen=True)
class RawBalance:
    """One `/info/balance` response body exactly as received, so the transform can be replayed."""

    client_id: str
    raw_text: str | bytes
    fetched_at: datetime  # timezone-aware (stored as UTC)
    app_id: str | None = None  # the app the answer was filtered to; None: the whole client

    def __post_init__(self) -> None:
        if self.fetched_at.tzinfo is None or self.fetched_at.utcoffset() is None:
            # a naive time would be read as local time somewhere down the line
            raise ValueError(f"RawBalance.fetched_at must be timezone-aware ({self.client_id})")

    @cached_property
    def body(self) -> dict[str, Any]:
        """The body as a dict, every JSON number kept as its literal text; parsed once, however
        many frames are built from it. Exactness is decided later, column-wise in polars."""
        try:
            body = json.loads(self.raw_text, parse_float=str, parse_int=str)
        except UnicodeDecodeError:
            raise UsageFormatError(
                self.client_id, "-", "(body)", "is not valid UTF-8 (kept as received, not loaded)"
            ) from None
        except json.JSONDecodeError as error:
            raise UsageFormatError(self.client_id, "-", "(body)", f"is not JSON: {error}") from None
        if not isinstance(body, dict):
            raise UsageFormatError(self.client_id, "-", "(body)", "is not a JSON object")
        return body


def parse_balance_body(response: RawBalance, where: str) -> dict[str, Any]:
    """The body as a dict (see `RawBalance.body`); `where` fills the error's period slot."""
    try:
        return response.body
    except UsageFormatError as error:
        raise UsageFormatError(error.client_id, where, error.field, error.problem) from None


def scalar_text(value: object) -> str | None:
    """A JSON scalar of a body parsed by `RawBalance.body` as text: numbers arrive as their
    literal already; anything else stays visible (its repr) so the exact casts refuse it."""
    return value if value is None or isinstance(value, str) else repr(value)


def utc_timestamp(text: pl.Expr) -> pl.Expr:
    """ISO-8601 text with an offset (`2024-01-10T09:59:19Z`, fractions allowed) -> Datetime UTC.

    Null where the text does not parse; callers decide whether that is an error.
    """
    return text.str.to_datetime(format="%+", time_unit="us", time_zone="UTC", strict=False)


def decimal_scale(text: pl.Expr) -> pl.Expr:
    """Decimal places a literal needs: fraction digits (less trailing zeros) minus exponent."""
    mantissa = text.str.replace(r"[eE].*$", "")
    fraction = mantissa.str.extract(r"\.(\d+)$", 1).str.strip_chars_end("0").str.len_chars()
    exponent = text.str.extract(r"[eE]([+-]?\d+)$", 1).cast(pl.Int64, strict=False)
    return fraction.fill_null(0).cast(pl.Int64) - exponent.fill_null(0)


def money_problem(text: pl.Expr) -> pl.Expr:
    """True where a non-null literal is not an exact decimal that fits MONEY."""
    well_formed = text.str.contains(f"^{_DECIMAL_LITERAL}$") & (decimal_scale(text) <= MONEY_SCALE)
    fits = text.str.to_decimal(scale=MONEY_SCALE).is_not_null()
    return text.is_not_null() & ~(well_formed & fits).fill_null(False)


def count_problem(text: pl.Expr) -> pl.Expr:
    """True where a non-null literal is not a non-negative integer that fits Int64."""
    fits = text.str.contains(_COUNT_LITERAL) & text.cast(pl.Int64, strict=False).is_not_null()
    return text.is_not_null() & ~fits.fill_null(False)


def first_problem(
    frame: pl.DataFrame, problems: Mapping[str, pl.Expr]
) -> tuple[dict[str, Any], str] | None:
    """The first row (as a dict) with a problem and the name of the field at fault, if any.

    All checks run column-wise; only the single offending row is brought back to Python.
    """
    if not problems or frame.is_empty():
        return None
    flags = frame.select(**{name: expr.fill_null(False) for name, expr in problems.items()})
    any_flag = flags.select(pl.any_horizontal(pl.all())).to_series()
    if not any_flag.any():
        return None
    index = any_flag.arg_true()[0]
    flagged = flags.row(index, named=True)
    field = next(name for name, bad in flagged.items() if bad)
    return frame.row(index, named=True), field


ProblemReport = Callable[[dict[str, Any], str, str], Exception]
"""Builds the exception for (offending row, field, one-line problem)."""


def cast_exact(
    frame: pl.DataFrame,
    *,
    counts: Sequence[str],
    money: Sequence[str],
    required: Collection[str],
    report: ProblemReport,
    signed: Collection[str] = (),
) -> pl.DataFrame:
    """Validate text columns as counts (Int64 >= 0) and money (MONEY), then cast them.

    Money is non-negative except in `signed` columns: refunds or credits are not modelled by the
    warehouse, so a negative price is refused with its address rather than summed into a bill.
    Null is allowed except in `required` columns. Raises `report(...)` for the first bad value.
    """
    if not _all_plain(frame, counts=counts, money=money, required=required, signed=signed):
        _raise_first_problem(
            frame, counts=counts, money=money, required=required, report=report, signed=signed
        )
    return frame.with_columns(
        [pl.col(c).cast(pl.Int64) for c in counts]
        + [pl.col(c).str.to_decimal(scale=MONEY_SCALE).cast(MONEY) for c in money]
    )


def _all_plain(
    frame: pl.DataFrame,
    *,
    counts: Sequence[str],
    money: Sequence[str],
    required: Collection[str],
    signed: Collection[str],
) -> bool:
    """One cheap pass: True when every value is a plain literal (or an allowed null), so none can
    have a problem. Otherwise the exact checks decide, value by value."""
    patterns = {c: _PLAIN_COUNT for c in counts}
    patterns |= {c: _PLAIN_SIGNED_MONEY if c in signed else _PLAIN_MONEY for c in money}
    if not patterns or frame.is_empty():
        return True
    plain = [
        pl.col(c).str.contains(pattern).fill_null(c not in required)
        for c, pattern in patterns.items()
    ]
    return bool(frame.select(pl.all_horizontal(plain).all()).item())


def _raise_first_problem(
    frame: pl.DataFrame,
    *,
    counts: Sequence[str],
    money: Sequence[str],
    required: Collection[str],
    report: ProblemReport,
    signed: Collection[str],
) -> None:
    """Raise `report(...)` for the first value that is not an exact count or amount, if any."""
    problems = {c: count_problem(pl.col(c)) for c in counts}
    problems |= {
        c: money_problem(pl.col(c)) | (pl.col(c).str.starts_with("-") & (c not in signed))
        for c in money
    }
    problems = {
        c: (pl.col(c).is_null() | check) if c in required else check
        for c, check in problems.items()
    }
    found = first_problem(frame, problems)
    if found is not None:
        row, field = found
        value = row[field]
        if value is None:
            problem = "is missing"
        elif field in money:
            problem = _money_reason(value)
        else:
            problem = f"is not a non-negative integer: {show_value(value)}"
        raise report(row, field, problem)


def _money_reason(value: str) -> str:
    if value.startswith("-") and re.fullmatch(_DECIMAL_LITERAL, value):
        return f"is negative: {show_value(value)} (refunds and credits are refused, not summed)"
    if re.fullmatch(_DECIMAL_LITERAL, value):
        return f"has more than {MONEY_SCALE} decimal places or is out of range: {show_value(value)}"
    return f"is not a decimal number: {show_value(value)}"
