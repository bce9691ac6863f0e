"""Balance responses exactly as received -> raw_balance_responses rows (the replayable log)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol

import polars as pl

from pipeline.transform.schemas import RAW_BALANCE_RESPONSES


class BalanceResponse(Protocol):
    """What the API client hands over for one balance window (its `BalanceWindow` fits)."""

    client_id: str
    start: date
    end: date
    granularity: str
    raw_text: str
    fetched_at: datetime


def raw_responses_frame(responses: Sequence[BalanceResponse]) -> pl.DataFrame:
    return pl.DataFrame(
        [(r.client_id, r.start, r.end, r.granularity, r.fetched_at, r.raw_text) for r in responses],
        schema=RAW_BALANCE_RESPONSES,
        orient="row",
    )
