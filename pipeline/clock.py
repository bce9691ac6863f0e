"""The pipeline's today: the real UTC clock, unless `PIPELINE_TODAY=YYYY-MM-DD` pins the date.

A pinned date keeps the real time of day, as the simulator's pinned clock does, so a test run (or
an operator reproducing what a past day's run would have done) sees one today in the CLI's range
checks, the usage plan, Dagster's partitions, the checks, the report and every timestamp the
pipeline writes. It is read from the process environment on every call (not from `.env` or a
settings mapping): a pin is a property of the process and of the processes it starts.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta

TODAY_VARIABLE = "PIPELINE_TODAY"


class ClockError(ValueError):
    """`PIPELINE_TODAY` holds something other than a date."""


def pinned_today() -> date | None:
    """The pinned date, or None when the pipeline follows the real clock."""
    text = os.environ.get(TODAY_VARIABLE, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ClockError(
            f"{TODAY_VARIABLE}={text!r} is not a date of the form YYYY-MM-DD; "
            "unset it to follow the real clock"
        ) from None


def now() -> datetime:
    real = datetime.now(UTC)
    pinned = pinned_today()
    return real if pinned is None else datetime.combine(pinned, real.timetz())


def today() -> date:
    return now().date()


def days_ahead() -> int:
    """How many days the pinned date lies after the real one (negative before it; 0 unpinned)."""
    return (today() - datetime.now(UTC).date()).days


def yesterday() -> date:
    """The last complete UTC day: the newest one the API has usage for."""
    return today() - timedelta(days=1)
