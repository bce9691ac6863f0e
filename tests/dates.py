"""Date ranges named by what a test means, so a test says the same thing on any day it runs.

The calendar arithmetic is the standard library's, not the pipeline's, so a test checks the
pipeline's month logic against an independent one.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta


def is_month_end(day: date) -> bool:
    return day.day == calendar.monthrange(day.year, day.month)[1]


def month_ends_within(start: date, end: date) -> int:
    """Calendar months that end inside [start, end]: the months whose MONTH figure a run of that
    range fetches, once the range ends by yesterday (their last day has passed)."""
    return sum(is_month_end(start + timedelta(days=i)) for i in range((end - start).days + 1))


def last_ended_month(today: date) -> tuple[date, date]:
    """The first and last day of the latest calendar month that has ended by `today`."""
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last
