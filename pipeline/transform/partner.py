"""`GET /partners/{id}/balance` answers -> partner_balance_snapshots rows, one per top-up currency.

The vendor documents one object (`total`, `currency`) and also says a partner may hold one balance
per top-up currency, so both one object and a list of them are read; anything else is refused.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import polars as pl

from pipeline.transform.errors import PartnerBalanceFormatError
from pipeline.transform.parsing import cast_exact, scalar_text
from pipeline.transform.schemas import PARTNER_BALANCE_SNAPSHOTS


def partner_balance_frame(content: bytes | str, observed_at: datetime) -> pl.DataFrame:
    """Rows of partner_balance_snapshots (schema PARTNER_BALANCE_SNAPSHOTS), observed at
    `observed_at`; `total` an exact decimal, `currency` upper case, each currency once."""
    if observed_at.utcoffset() is None:
        raise ValueError("partner balance observed_at must be timezone-aware")
    text = pl.DataFrame(
        [_record_fields(number, record) for number, record in enumerate(_records(content), 1)],
        schema={"record": pl.Int64, "currency": pl.String, "total": pl.String},
        orient="row",
    )
    # The balance is a state, not a bill: a partner who overdraws may see it below zero.
    typed = cast_exact(
        text, counts=(), money=("total",), required=("total",), report=_report, signed=("total",)
    )
    repeated = typed.filter(pl.col("currency").is_duplicated())
    if repeated.height:
        row = repeated.row(repeated.height - 1, named=True)
        raise _report(row, "currency", f"repeats {row['currency']} (one record per currency)")
    return typed.with_columns(
        pl.lit(observed_at.astimezone(UTC), PARTNER_BALANCE_SNAPSHOTS["observed_at"]).alias(
            "observed_at"
        )
    ).select(PARTNER_BALANCE_SNAPSHOTS.names())


def _records(content: bytes | str) -> list[Any]:
    try:
        body = json.loads(content, parse_float=str, parse_int=str)
    except UnicodeDecodeError:
        raise PartnerBalanceFormatError("is not valid UTF-8") from None
    except json.JSONDecodeError as error:
        raise PartnerBalanceFormatError(f"is not JSON: {error}") from None
    records = [body] if isinstance(body, dict) else body
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise PartnerBalanceFormatError(
            "is neither an object nor a list of objects (one per currency)"
        )
    return records


def _record_fields(number: int, record: dict[str, Any]) -> tuple[int, str, str | None]:
    currency = record.get("currency")
    if not (isinstance(currency, str) and currency.strip()):
        raise PartnerBalanceFormatError("is missing", number, "currency")
    return number, currency.strip().upper(), scalar_text(record.get("total"))


def _report(row: dict[str, Any], field: str, problem: str) -> PartnerBalanceFormatError:
    return PartnerBalanceFormatError(problem, row["record"], field)
