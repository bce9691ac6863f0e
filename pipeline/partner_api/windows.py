"""Date windows of balance requests: a range cut into windows, a window as the API's UNIX bounds."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta


def split_windows(start: date, end: date, max_days: int) -> list[tuple[date, date]]:
    """Inclusive `start..end` as consecutive inclusive windows of at most `max_days` days each."""
    if max_days < 1:
        raise ValueError(f"max_days must be >= 1, got {max_days}")
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    windows = []
    while start <= end:
        last = min(start + timedelta(days=max_days - 1), end)
        windows.append((start, last))
        start = last + timedelta(days=1)
    return windows


def unix_bounds(start: date, end: date) -> tuple[int, int]:
    """`start` 00:00:00Z and `end` 23:59:59Z in UNIX seconds: the API's inclusive bounds."""
    first = datetime.combine(start, time.min, UTC)
    last = datetime.combine(end, time(23, 59, 59), UTC)
    return int(first.timestamp()), int(last.timestamp())
