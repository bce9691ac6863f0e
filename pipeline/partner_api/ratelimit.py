"""Per-key sliding-window limiter: at most `limit` requests per `period` seconds for each key.

Hand-written (about 50 lines) because no well-kept library has the two properties we need:
- a *sliding window* like the server's ("5 in any 30 s"): `aiolimiter` is a leaky bucket, which
  spreads requests evenly and would refuse, e.g., a 6th request 6 s after 5 quick ones even when
  the server would allow it 30 s after the first; `limits` has a moving window but only answers
  "allowed now?", without waiting, and stamps when a request is *sent*;
- stamping each request when its *response* comes back. The server counts requests by when they
  arrive. A request sent at least `period` after response i certainly arrives more than `period`
  after request i arrived, whatever the network jitter; a limiter stamping at send time can be
  beaten by a slow request followed by a fast one. Until its response is back a request holds
  its slot, so the window counts `stamps + in flight`.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress


class _Window:
    def __init__(self) -> None:
        self.done: deque[float] = deque()  # response times within the last period, oldest first
        self.in_flight = 0
        self.changed = asyncio.Condition()


class SlidingWindowLimiter:
    def __init__(
        self, limit: int, period: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.period = period
        self._clock = clock
        self._windows: dict[str, _Window] = {}
        self.waited_seconds = 0.0
        """Total time callers spent waiting for a slot (observability)."""

    @asynccontextmanager
    async def slot(self, key: str) -> AsyncIterator[None]:
        """Hold one of `key`'s slots while the request runs; stamp it when the block ends."""
        window = self._windows.setdefault(key, _Window())
        await self._acquire(window)
        try:
            yield
        finally:
            async with window.changed:
                window.in_flight -= 1
                window.done.append(self._clock())
                window.changed.notify_all()

    async def _acquire(self, window: _Window) -> None:
        started = self._clock()
        waited = False
        async with window.changed:
            while True:
                now = self._clock()
                while window.done and window.done[0] <= now - self.period:
                    window.done.popleft()
                if len(window.done) + window.in_flight < self.limit:
                    window.in_flight += 1
                    if waited:
                        self.waited_seconds += now - started
                    return
                waited = True
                # Full: wake when the oldest stamp leaves the window, or when an in-flight
                # request ends (its stamp may then be the oldest one to wait for).
                timeout = window.done[0] + self.period - now if window.done else None
                with suppress(TimeoutError):
                    await asyncio.wait_for(window.changed.wait(), timeout)
