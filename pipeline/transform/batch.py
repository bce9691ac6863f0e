"""One batch of balance answers -> every frame the warehouse loads from it.

The batch's bodies are read once, by Arrow where it reads them exactly (columnar.py), else each
parsed once by `json.loads` (`RawBalance.body` is cached), and feed the usage, month and snapshot
frames. A malformed answer fails only its own client: that client's answers are set aside with
the error, and the rest of the batch is transformed without them (read by Arrow again).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from pipeline.transform.balance import balance_snapshots_of
from pipeline.transform.columnar import Answers
from pipeline.transform.errors import UsageFormatError
from pipeline.transform.parsing import RawBalance
from pipeline.transform.raw import BalanceResponse
from pipeline.transform.schemas import USAGE_MONTHLY_API
from pipeline.transform.usage import UsageFrames, channel_usage_frames_of, usage_frames_of


@dataclass(frozen=True)
class BatchFrames:
    usage: UsageFrames
    """usage_daily and usage_by_category rows of the clients' own day answers."""
    monthly: pl.DataFrame
    """usage_monthly_api rows (schema USAGE_MONTHLY_API) of the month answers."""
    snapshots: pl.DataFrame
    """One balance_snapshots row per client: its latest answer."""
    channels: UsageFrames
    """The channel answers' usage (frames with app_id), empty without channel answers."""
    failures: dict[str, UsageFormatError]
    """Per client whose answers could not be read: the first problem found."""


def batch_frames(responses: Sequence[BalanceResponse]) -> BatchFrames:
    """The frames of every client whose answers are well formed, and the others' errors."""
    raws = [
        (
            response,
            RawBalance(response.client_id, response.content, response.fetched_at, response.app_id),
        )
        for response in responses
    ]
    failures: dict[str, UsageFormatError] = {}
    while True:
        kept = [(response, raw) for response, raw in raws if response.client_id not in failures]
        try:
            return _frames(kept, failures)
        except UsageFormatError as error:
            if error.client_id in failures:  # cannot happen: its answers were set aside
                raise
            failures[error.client_id] = error


def _frames(
    kept: Sequence[tuple[BalanceResponse, RawBalance]], failures: dict[str, UsageFormatError]
) -> BatchFrames:
    answers = Answers.of([raw for _, raw in kept])
    own = [n for n, (response, _) in enumerate(kept) if response.app_id is None]
    days = [n for n in own if kept[n][0].granularity == "day"]
    months = [n for n in own if kept[n][0].granularity == "month"]
    apps = [n for n, (response, _) in enumerate(kept) if response.app_id is not None]
    return BatchFrames(
        usage=usage_frames_of(answers.subset(days)),
        monthly=_monthly(answers.subset(months)),
        snapshots=balance_snapshots_of(answers.subset(_latest_per_client(kept, own), usage=False)),
        channels=channel_usage_frames_of(answers.subset(apps)),
        failures=dict(failures),
    )


def monthly_api_frame(responses: Sequence[RawBalance]) -> pl.DataFrame:
    """usage_monthly_api rows from MONTH-granularity answers (rows dated the 1st of a month)."""
    return _monthly(Answers.of(responses))


def _monthly(answers: Answers) -> pl.DataFrame:
    daily = usage_frames_of(answers, granularity="month").daily
    not_first = daily.filter(pl.col("usage_date").dt.day() != 1)
    if not_first.height:
        row = not_first.row(0, named=True)
        raise UsageFormatError(
            row["client_id"], str(row["usage_date"]), "period_date", "is not the 1st of a month"
        )
    return daily.rename({"usage_date": "month"}).select(USAGE_MONTHLY_API.names())


def _latest_per_client(
    kept: Sequence[tuple[BalanceResponse, RawBalance]], own: Sequence[int]
) -> list[int]:
    """Balance and renewal are a client's current state: one observation per client and batch
    (the positions in `kept` of each client's latest own answer)."""
    latest: dict[str, int] = {}
    for n in own:
        response = kept[n][0]
        seen = latest.get(response.client_id)
        if seen is None or response.fetched_at > kept[seen][0].fetched_at:
            latest[response.client_id] = n
    return list(latest.values())
