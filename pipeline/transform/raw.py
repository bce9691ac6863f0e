"""Balance answers exactly as received -> rows of the raw fetch log, bodies kept as bytes."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Protocol

import polars as pl

from pipeline.transform.schemas import RAW_BALANCE_ANSWERS


class BalanceResponse(Protocol):
    """What the API client hands over for one balance request (its `BalanceWindow` fits)."""

    @property
    def client_id(self) -> str: ...
    @property
    def start(self) -> date: ...
    @property
    def end(self) -> date: ...
    @property
    def granularity(self) -> str: ...
    @property
    def app_id(self) -> str | None: ...
    @property
    def content(self) -> bytes: ...
    @property
    def fetched_at(self) -> datetime: ...


def raw_answers_frame(responses: Sequence[BalanceResponse]) -> pl.DataFrame:
    """One row per answer (schema RAW_BALANCE_ANSWERS): its request, fetch time, the body's
    SHA-256 and the body itself as bytes, never decoded, so the copy is exact."""
    return pl.DataFrame(
        [
            (
                r.client_id,
                r.granularity,
                r.app_id or "",
                r.start,
                r.end,
                r.fetched_at.astimezone(UTC),
                hashlib.sha256(r.content).hexdigest(),
                len(r.content),
                r.content,
            )
            for r in responses
        ],
        schema=RAW_BALANCE_ANSWERS,
        orient="row",
    )
