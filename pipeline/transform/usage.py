"""`/info/balance` usage rows -> the usage_daily and usage_by_category frames.

All rows of all responses become one typed frame, read by Arrow where it reads them exactly
(columnar.py), else parsed exactly here; everything after is column-wise and the same for both.
Wide `<category>_<measure>` columns go long with one `unpivot`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import polars as pl

from pipeline.transform.columnar import MONEY_MAX, Answers
from pipeline.transform.errors import UsageFormatError, show_value
from pipeline.transform.families import category_family
from pipeline.transform.fields import (
    CATEGORY_MEASURES,
    OPTIONAL_TOTALS,
    REQUIRED_TOTALS,
    category_columns,
    discover_categories,
    is_money,
)
from pipeline.transform.parsing import RawBalance, cast_exact, first_problem, parse_balance_body
from pipeline.transform.schemas import (
    FETCHED_AT,
    MONEY,
    USAGE_BY_CATEGORY_FRAME,
    USAGE_DAILY_FRAME,
    with_app_id,
)

_MIDNIGHT_UTC = r"^\d{4}-\d{2}-\d{2}T00:00:00(?:\.0+)?(?:Z|[+-]00:?00)$"
_RESPONSE = "_response"  # position of the response in the input: the tie-break after fetched_at
_META = ["client_id", "app_id", "currency", "fetched_at", _RESPONSE]


@dataclass(frozen=True)
class UsageFrames:
    """`daily`: schema USAGE_DAILY_FRAME; `by_category`: schema USAGE_BY_CATEGORY_FRAME."""

    daily: pl.DataFrame
    by_category: pl.DataFrame


def usage_frames(responses: Sequence[RawBalance], granularity: str = "day") -> UsageFrames:
    """Tidy usage frames from raw `/info/balance` responses of one granularity (`day`, or
    `month`, whose rows are dated the first of their month).

    A day served by several responses (overlapping windows, re-fetches of revised figures) is
    taken whole from the latest `fetched_at` (then the later response in `responses`), so its
    categories never mix two versions. Raises UsageFormatError on anything that would need guessing.
    """
    return usage_frames_of(Answers.of(responses), granularity)


def usage_frames_of(answers: Answers, granularity: str = "day") -> UsageFrames:
    """`usage_frames` of answers whose bodies may have been read with others (batch_frames reads
    a batch's bodies once)."""
    frames = _frames(answers, granularity)
    return UsageFrames(
        daily=frames.daily.select(USAGE_DAILY_FRAME.names()),
        by_category=frames.by_category.select(USAGE_BY_CATEGORY_FRAME.names()),
    )


def channel_usage_frames(responses: Sequence[RawBalance]) -> UsageFrames:
    """Like `usage_frames` (day granularity), for answers filtered to one app each (their
    `app_id`): both frames carry `app_id` after `client_id`, one row per client x app x day."""
    return channel_usage_frames_of(Answers.of(responses))


def channel_usage_frames_of(answers: Answers) -> UsageFrames:
    """`channel_usage_frames` of answers whose bodies may have been read with others."""
    return _frames(answers, "day")


def _frames(answers: Answers, granularity: str) -> UsageFrames:
    typed = _read_rows(answers, granularity)
    rows, categories = typed if typed is not None else _parsed_rows(answers.raws, granularity)
    if rows.is_empty():
        return UsageFrames(
            daily=pl.DataFrame(schema=with_app_id(USAGE_DAILY_FRAME)),
            by_category=pl.DataFrame(schema=with_app_id(USAGE_BY_CATEGORY_FRAME)),
        )
    latest = _latest_per_day(rows)
    return UsageFrames(daily=_daily(latest), by_category=_by_category(latest, categories))


def _read_rows(answers: Answers, granularity: str) -> tuple[pl.DataFrame, list[str]] | None:
    """What `_parsed_rows` gives, from Arrow's typed read of the bodies; None where an answer or
    value needs the exact parse's judgement (which then refuses it, naming client, day and
    field, or accepts it)."""
    if answers.read is None:
        return None
    granularity_text = pl.col("granularity")
    usage = pl.col("usage")
    # ASCII only: Python's and polars' case mappings agree there
    currency_ok = pl.col("currency").str.contains("^[A-Za-z]+$")
    sound = (
        usage.is_not_null()
        & (usage.list.len().eq(0) | currency_ok).fill_null(False)
        & (
            granularity_text.is_null()
            | (
                granularity_text.str.contains("^[A-Za-z]+$")
                & (granularity_text.str.to_lowercase() == granularity)
            )
        )
    )
    if not answers.read.select(sound.all()).item():
        return None
    meta = _meta(answers.raws, answers.read["currency"].str.to_uppercase())
    listed = answers.read.select(usage, pl.int_range(pl.len(), dtype=pl.Int64).alias(_RESPONSE))
    rows = listed.explode("usage", keep_nulls=False)
    if rows["usage"].null_count():  # null in a usage list: not a list of objects
        return None
    rows = rows.unnest("usage")
    categories = _present(rows)
    absent = set(category_columns(discover_categories(rows.columns))) - set(
        category_columns(categories)
    )
    rows = pl.concat([meta[rows[_RESPONSE]], rows.drop(_RESPONSE, *absent)], how="horizontal")
    if _value_problem(rows, categories):
        return None
    try:
        rows = _with_usage_date(rows)
    except UsageFormatError:
        return None
    return rows.with_columns(pl.col(_zero_filled(categories)).fill_null(0)), categories


def _present(rows: pl.DataFrame) -> list[str]:
    """The categories with a figure on some row (an all-null one only adds all-zero rows,
    which the long frame leaves out)."""
    nulls = rows.null_count().row(0, named=True)
    return [
        category
        for category in discover_categories(rows.columns)
        if any(nulls[column] < rows.height for column in category_columns([category]))
    ]


def _value_problem(rows: pl.DataFrame, categories: Sequence[str]) -> bool:
    """True if a required total is missing, a count or price is negative, or a price is
    beyond MONEY (Arrow keeps 29-digit integer parts)."""
    columns = [*REQUIRED_TOTALS, *OPTIONAL_TOTALS, *category_columns(categories)]
    problems = [pl.col(column).is_null() for column in REQUIRED_TOTALS]
    problems += [pl.col(column) < 0 for column in columns]
    problems += [pl.col(c) > pl.lit(MONEY_MAX, MONEY) for c in columns if is_money(c)]
    return bool(rows.select(pl.any_horizontal(problems).fill_null(False).any()).item())


def _parsed_rows(
    responses: Sequence[RawBalance], granularity: str
) -> tuple[pl.DataFrame, list[str]]:
    """The usage rows the exact way: every number's text from `json.loads`, checked and cast."""
    rows = _usage_rows(responses, granularity)
    if rows.is_empty():
        return rows, []
    categories = discover_categories(rows.columns)
    return _typed(rows, categories), categories


def _usage_rows(responses: Sequence[RawBalance], granularity: str) -> pl.DataFrame:
    """One text frame of all usage rows, with client, currency and fetch time of their response."""
    usages = [_usage_and_currency(response, granularity) for response in responses]
    meta = _meta(responses, pl.Series([currency for _, currency in usages], dtype=pl.String))
    dicts = list(itertools.chain.from_iterable(usage for usage, _ in usages))
    # Every JSON number is already its literal text (RawBalance.body), so every column is text:
    # named up front, polars builds them without a pass inferring their types.
    names = sorted(set().union(*dicts))
    try:
        rows = (
            pl.from_dicts(dicts, schema=dict.fromkeys(names, pl.String))
            if dicts
            else pl.DataFrame()
        )
    except (TypeError, ValueError, pl.exceptions.PolarsError):
        # polars cannot build a column holding both objects and scalars: find and name it.
        raise _first_non_scalar(responses, [usage for usage, _ in usages]) from None
    counts = pl.Series([len(usage) for usage, _ in usages], dtype=pl.Int64)
    owner = meta[_RESPONSE].repeat_by(counts).explode(empty_as_null=False)
    frame = pl.concat([meta[owner], rows.drop(_META, strict=False)], how="horizontal")
    _reject_nested(frame)
    return frame.with_columns(pl.exclude(_META).cast(pl.String))


def _meta(responses: Sequence[RawBalance], currencies: pl.Series) -> pl.DataFrame:
    """Per response: client, app, upper-cased currency, fetch time and position."""
    return pl.DataFrame(
        {
            "client_id": [response.client_id for response in responses],
            "app_id": [response.app_id for response in responses],
            "currency": currencies,
            "fetched_at": [response.fetched_at.astimezone(UTC) for response in responses],
            _RESPONSE: range(len(responses)),
        },
        schema={
            "client_id": pl.String,
            "app_id": pl.String,
            "currency": pl.String,
            **FETCHED_AT,
            _RESPONSE: pl.Int64,
        },
    )


def _usage_and_currency(
    response: RawBalance, expected: str
) -> tuple[list[dict[str, Any]], str | None]:
    """The usage rows of one response (maybe none) and its upper-cased currency."""
    body = parse_balance_body(response, "-")
    granularity = body.get("granularity")
    if isinstance(granularity, str) and granularity.lower() != expected:
        # a month row loaded as one day (or the reverse) would silently misstate usage
        raise UsageFormatError(
            response.client_id,
            "-",
            "granularity",
            f"is {show_value(granularity)}, expected {expected!r}",
        )
    usage = body.get("usage")
    if usage is None:
        # Only an explicit list says "no usage": anything else would delete the client's days.
        raise UsageFormatError(response.client_id, "-", "usage", "is missing (expected a list)")
    # a cheap type check of the rows (json.loads makes exact types; map and set run in C): polars
    # would otherwise read a list of numbers as a column
    if not isinstance(usage, list) or not set(map(type, usage)) <= {dict}:
        raise UsageFormatError(response.client_id, "-", "usage", "is not a list of objects")
    currency = body.get("currency")
    if usage and not (isinstance(currency, str) and currency.strip()):
        raise UsageFormatError(response.client_id, "-", "currency", "is missing")
    return usage, currency.strip().upper() if isinstance(currency, str) else None


def _first_non_scalar(
    responses: Sequence[RawBalance], usages: Sequence[Sequence[dict[str, Any]]]
) -> UsageFormatError:
    """Error path only: scan for the value polars could not put in a column."""
    for response, usage in zip(responses, usages, strict=True):
        for row in usage:
            for field, value in row.items():
                if isinstance(value, dict | list):
                    period = str(row.get("period_date", "?"))
                    return UsageFormatError(response.client_id, period, field, "is not a scalar")
    return UsageFormatError("?", "?", "usage", "cannot be read as a table")


def _reject_nested(frame: pl.DataFrame) -> None:
    """Objects or arrays where a number belongs (a whole column of them) are a format error."""
    nested = [name for name, dtype in frame.schema.items() if dtype.is_nested()]
    found = first_problem(frame, {name: pl.col(name).is_not_null() for name in nested})
    if found is not None:
        row, field = found
        raise UsageFormatError(row["client_id"], _period(row), field, "is not a scalar")


def _period(row: dict[str, Any]) -> str:
    return str(row.get("period_date") or "?")


def _report(row: dict[str, Any], field: str, problem: str) -> UsageFormatError:
    return UsageFormatError(row["client_id"], _period(row), field, problem)


def _typed(rows: pl.DataFrame, categories: Sequence[str]) -> pl.DataFrame:
    """Validate and cast: counts Int64 >= 0, money MONEY, usage_date from period_date; absent
    required totals are an error, since finance relies on them (optional ones: `_zero_filled`)."""
    wanted = ["period_date", *REQUIRED_TOTALS, *OPTIONAL_TOTALS, *category_columns(categories)]
    rows = rows.with_columns(
        pl.lit(None, pl.String).alias(column) for column in wanted if column not in rows.columns
    )
    rows = _with_usage_date(rows)
    money = [c for c in wanted[1:] if is_money(c)]
    counts = [c for c in wanted[1:] if c not in money]
    rows = cast_exact(rows, counts=counts, money=money, required=REQUIRED_TOTALS, report=_report)
    return rows.with_columns(pl.col(_zero_filled(categories)).fill_null(0))


def _zero_filled(categories: Sequence[str]) -> list[str]:
    """Absent or null optional totals and category figures are 0 (a category absent from a
    row was not reported there)."""
    return [*OPTIONAL_TOTALS, *category_columns(categories)]


def _with_usage_date(rows: pl.DataFrame) -> pl.DataFrame:
    """usage_date = the UTC date of period_date, which must be an ISO timestamp at 00:00 UTC."""
    usage_date = pl.col("period_date").str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
    rows = rows.with_columns(usage_date.alias("usage_date"))
    bad = ~pl.col("period_date").str.contains(_MIDNIGHT_UTC) | pl.col("usage_date").is_null()
    found = first_problem(rows, {"period_date": bad.fill_null(True)})
    if found is not None:
        row, field = found
        problem = f"is not an ISO timestamp at 00:00 UTC: {show_value(row[field])}"
        raise _report(row, field, problem if row[field] is not None else "is missing")
    return rows


def _latest_per_day(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per (client_id, app_id, usage_date): the one from the latest fetch (then the later
    response)."""
    twice = pl.struct(_RESPONSE, "usage_date").is_duplicated()
    found = first_problem(rows, {"period_date": twice})
    if found is not None:
        raise _report(*found, "appears twice in one response")
    return (
        rows.sort("fetched_at", _RESPONSE)
        .unique(["client_id", "app_id", "usage_date"], keep="last", maintain_order=True)
        .sort("client_id", "app_id", "usage_date")
    )


def _daily(rows: pl.DataFrame) -> pl.DataFrame:
    return rows.select(with_app_id(USAGE_DAILY_FRAME).names())


def _by_category(rows: pl.DataFrame, categories: Sequence[str]) -> pl.DataFrame:
    """Wide category triples -> one row per category with any non-zero figure."""
    schema = with_app_id(USAGE_BY_CATEGORY_FRAME)
    if not categories:
        return pl.DataFrame(schema=schema)
    # struct columns carry the three measures through one unpivot; the prefix keeps a category
    # named like a key column (however unlikely) from clashing with it.
    triples = [
        pl.struct(
            [pl.col(f"{category}_{measure}").alias(measure) for measure in CATEGORY_MEASURES]
        ).alias(f"_category_{category}")
        for category in categories
    ]
    # `rows` are in key order already (_latest_per_day): sorting by their position, then by
    # category, puts the long rows in (client_id, app_id, usage_date, category) order cheaply.
    index = ["_row", "client_id", "app_id", "usage_date", "currency", "fetched_at"]
    figures = [pl.col("_figures").struct.field(measure) != 0 for measure in CATEGORY_MEASURES]
    return (
        rows.with_row_index("_row")
        .select(*index, *triples)
        .unpivot(index=index, variable_name="category", value_name="_figures")
        .filter(pl.any_horizontal(figures))
        .sort("_row", "category")
        .unnest("_figures")
        .with_columns(pl.col("category").str.strip_prefix("_category_"))
        .with_columns(category_family(pl.col("category")).alias("category_family"))
        .select(schema.names())
    )
