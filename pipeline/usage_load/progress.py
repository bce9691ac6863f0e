"""Progress lines for long backfills: how many balance windows are done, at a readable pace."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date


class WindowProgress:
    """Reports every tenth of the work, and at least every `every_seconds` while it moves."""

    def __init__(
        self, total: int, report: Callable[[str], None], every_seconds: float = 5.0
    ) -> None:
        self.total = total
        self.done = 0
        self._report = report
        self._every = every_seconds
        self._last_time = time.monotonic()
        self._last_tenth = 0

    def window_done(self, client_id: str, start: date, end: date) -> None:
        self.done += 1
        tenth = self.done * 10 // max(self.total, 1)
        now = time.monotonic()
        if (
            tenth > self._last_tenth
            or now - self._last_time >= self._every
            or self.done == self.total
        ):
            self._last_tenth, self._last_time = tenth, now
            self._report(
                f"usage: {self.done}/{self.total} balance windows fetched "
                f"({self.done * 100 // max(self.total, 1)}%)"
            )
