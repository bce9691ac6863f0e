"""`/info/balance` responses -> balance_snapshots rows: one per response, observed when fetched."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC
from typing import Any

import polars as pl

from pipeline.transform.columnar import MONEY_MAX, Answers
from pipeline.transform.errors import UsageFormatError, show_value
from pipeline.transform.parsing import (
    RawBalance,
    cast_exact,
    first_problem,
    parse_balance_body,
    scalar_text,
    utc_timestamp,
)
from pipeline.transform.schemas import BALANCE_SNAPSHOTS, MONEY, schema_of

_REQUIRED = ("balance",)
_MONEY = (
    "balance",
    "last_renewal_amount",
    "estimated_template_cost",
    "bi_price_for_currency_and_client_country",
    "ui_price_for_currency_and_client_country",
)
_WHERE = "balance"  # stands for the period in error messages: these fields are not per period


def balance_snapshots_frame(responses: Sequence[RawBalance]) -> pl.DataFrame:
    """One balance_snapshots row per response (schema BALANCE_SNAPSHOTS), observed_at = fetched_at.

    `balance` and `currency` are required; last_renewal, estimated_template_cost and the
    bi_/ui_ prices are null when absent. Two responses of a client fetched at the same instant
    share a key: the later one in `responses` wins.
    """
    return balance_snapshots_of(Answers.of(responses))


def balance_snapshots_of(answers: Answers) -> pl.DataFrame:
    """`balance_snapshots_frame` of answers whose bodies may have been read with others."""
    typed = _read_snapshots(answers)
    if typed is None:
        typed = _parsed_snapshots(answers.raws)
    return (
        typed.with_columns(utc_timestamp(pl.col("last_renewal_date")).alias("last_renewal_date"))
        .unique(["client_id", "observed_at"], keep="last", maintain_order=True)
        .select(BALANCE_SNAPSHOTS.names())
    )


def _read_snapshots(answers: Answers) -> pl.DataFrame | None:
    """What `_parsed_snapshots` gives, from Arrow's typed read of the bodies; None where a field
    needs the exact parse's judgement (which then refuses it, or accepts it)."""
    if answers.read is None:
        return None
    renewal = pl.col("last_renewal")
    typed = answers.read.select(
        pl.Series("client_id", [r.client_id for r in answers.raws], pl.String),
        pl.Series(
            "observed_at",
            [r.fetched_at.astimezone(UTC) for r in answers.raws],
            BALANCE_SNAPSHOTS["observed_at"],
        ),
        "balance",
        # ASCII only: Python's and polars' case mappings agree there
        pl.when(pl.col("currency").str.contains("^[A-Za-z]+$"))
        .then(pl.col("currency").str.to_uppercase())
        .alias("currency"),
        renewal.struct.field("date").alias("last_renewal_date"),
        renewal.struct.field("amount").alias("last_renewal_amount"),
        *_MONEY[2:],
    )
    renewal_date = pl.col("last_renewal_date")
    problems = [
        pl.col("balance").is_null(),
        pl.col("currency").is_null(),
        renewal_date.is_not_null() & utc_timestamp(renewal_date).is_null(),
        *(pl.col(c).abs() > pl.lit(MONEY_MAX, MONEY) for c in _MONEY),
        *(pl.col(c) < 0 for c in _MONEY if c not in _REQUIRED),
    ]
    if typed.select(pl.any_horizontal(problems).fill_null(False).any()).item():
        return None
    return typed


def _parsed_snapshots(responses: Sequence[RawBalance]) -> pl.DataFrame:
    """The snapshot rows the exact way: every number's text from `json.loads`, checked and cast
    (last_renewal_date still text)."""
    text = pl.DataFrame(
        [_snapshot_fields(response) for response in responses],
        schema=schema_of(
            {
                "client_id": pl.String,
                "observed_at": BALANCE_SNAPSHOTS["observed_at"],
                **{name: pl.String for name in BALANCE_SNAPSHOTS.names()[2:]},
            }
        ),
        orient="row",
    )
    # A balance may run below zero; every other figure of the answer is a non-negative amount.
    typed = cast_exact(
        text, counts=(), money=_MONEY, required=_REQUIRED, report=_report, signed=_REQUIRED
    )
    renewal = utc_timestamp(pl.col("last_renewal_date"))
    found = first_problem(
        typed, {"last_renewal_date": pl.col("last_renewal_date").is_not_null() & renewal.is_null()}
    )
    if found is not None:
        row, field = found
        raise _report(row, field, f"is not an ISO timestamp with offset: {show_value(row[field])}")
    return typed


def _report(row: dict[str, Any], field: str, problem: str) -> UsageFormatError:
    return UsageFormatError(row["client_id"], _WHERE, field, problem)


def _snapshot_fields(response: RawBalance) -> tuple[Any, ...]:
    """The snapshot's fields of one response as text, in BALANCE_SNAPSHOTS order."""
    body = parse_balance_body(response, _WHERE)
    currency = body.get("currency")
    if not (isinstance(currency, str) and currency.strip()):
        raise UsageFormatError(response.client_id, _WHERE, "currency", "is missing")
    renewal = body.get("last_renewal") or {}
    if not isinstance(renewal, Mapping):
        raise UsageFormatError(response.client_id, _WHERE, "last_renewal", "is not an object")
    return (
        response.client_id,
        response.fetched_at.astimezone(UTC),
        scalar_text(body.get("balance")),
        currency.strip().upper(),
        scalar_text(renewal.get("date")),
        scalar_text(renewal.get("amount")),
        scalar_text(body.get("estimated_template_cost")),
        scalar_text(body.get("bi_price_for_currency_and_client_country")),
        scalar_text(body.get("ui_price_for_currency_and_client_country")),
    )
