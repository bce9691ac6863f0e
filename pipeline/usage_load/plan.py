"""Which balance requests a run makes per client: day windows, then the ended months' figures."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from pipeline.partner_api import BalanceRequest, split_windows


def usage_requests(
    start: date, end: date, window_days: int, yesterday: date
) -> list[BalanceRequest]:
    """A client's requests for [start, end]: day windows of at most `window_days`, then the
    MONTH-granularity figures of the calendar months the range touches that have ended.

    A month still running is left out: its figure cannot be reconciled yet (its days are not all
    there), and leaving it out keeps a daily run at one request per client. The first runs of a
    month fetch the month just ended, since their refetched days reach into it.
    """
    days = [BalanceRequest(first, last) for first, last in split_windows(start, end, window_days)]
    return [*days, *month_requests(start, end, window_days, yesterday)]


def month_requests(
    start: date, end: date, window_days: int, yesterday: date
) -> list[BalanceRequest]:
    """Whole ended months touched by [start, end], as few requests as `window_days` allows
    (at least one month each: a month figure needs its whole month)."""
    months = [m for m in months_touched(start, end) if month_end(m) <= yesterday]
    requests: list[BalanceRequest] = []
    group: list[date] = []
    for month in months:
        if group and (month_end(month) - group[0]).days + 1 > window_days:
            requests.append(BalanceRequest(group[0], month_end(group[-1]), "month"))
            group = []
        group.append(month)
    if group:
        requests.append(BalanceRequest(group[0], month_end(group[-1]), "month"))
    return requests


def months_touched(start: date, end: date) -> list[date]:
    """First days of the calendar months overlapping [start, end]."""
    months = []
    month = start.replace(day=1)
    while month <= end:
        months.append(month)
        month = month_end(month) + timedelta(days=1)
    return months


def month_end(month: date) -> date:
    following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def months_of(requests: Sequence[BalanceRequest]) -> list[date]:
    """The months a plan's month requests cover."""
    return [
        month
        for request in requests
        if request.granularity == "month"
        for month in months_touched(request.start, request.end)
    ]
