"""split_windows and the API's inclusive UNIX bounds."""

from __future__ import annotations

from datetime import date
from itertools import pairwise

import pytest

from pipeline.partner_api import split_windows, unix_bounds


def test_a_range_is_cut_into_consecutive_windows_of_at_most_max_days():
    assert split_windows(date(2024, 1, 1), date(2024, 3, 5), 31) == [
        (date(2024, 1, 1), date(2024, 1, 31)),
        (date(2024, 2, 1), date(2024, 3, 2)),
        (date(2024, 3, 3), date(2024, 3, 5)),
    ]


@pytest.mark.parametrize("max_days", [1, 2, 7, 31, 366])
def test_windows_cover_every_day_exactly_once(max_days):
    start, end = date(2023, 12, 30), date(2024, 3, 2)
    windows = split_windows(start, end, max_days)
    assert windows[0][0] == start and windows[-1][1] == end
    assert all((e - s).days + 1 <= max_days for s, e in windows)
    assert all((nxt[0] - cur[1]).days == 1 for cur, nxt in pairwise(windows))


def test_a_single_day_is_one_window():
    assert split_windows(date(2024, 2, 29), date(2024, 2, 29), 31) == [
        (date(2024, 2, 29), date(2024, 2, 29))
    ]


@pytest.mark.parametrize(
    ("start", "end", "max_days"),
    [
        (date(2024, 1, 2), date(2024, 1, 1), 31),
        (date(2024, 1, 1), date(2024, 1, 2), 0),
    ],
)
def test_an_empty_range_or_zero_width_is_refused(start, end, max_days):
    with pytest.raises(ValueError):
        split_windows(start, end, max_days)


def test_bounds_are_first_second_and_last_second_utc():
    # The vendor's example: 2023-08-10 00:00:00Z .. 2023-08-11 23:59:59Z
    assert unix_bounds(date(2023, 8, 10), date(2023, 8, 11)) == (1691625600, 1691798399)
