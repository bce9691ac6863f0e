"""The simulator's time: the real clock, which a test may move forward instead of sleeping
(token lifetimes, rate-limit windows and cancellation delays then pass at once)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta


class SimulatorClock:
    """Real time plus what `advance` added; with a pinned `today`, that day at the current time
    of day."""

    def __init__(self, today: date | None = None) -> None:
        self._today = today
        self._ahead = 0.0
        self._lock = threading.Lock()

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._ahead += seconds

    def monotonic(self) -> float:
        return time.monotonic() + self._ahead

    def wall(self) -> float:
        """Seconds since the epoch, as `time.time()`."""
        return time.time() + self._ahead

    def now(self) -> datetime:
        real = datetime.now(UTC) + timedelta(seconds=self._ahead)
        if self._today is None:
            return real
        return datetime.combine(self._today, real.timetz())
