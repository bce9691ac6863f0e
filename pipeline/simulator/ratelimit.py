"""Per-client sliding-window limit on /info/balance, answering 429 with or without Retry-After."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from .errors import ApiError
from .options import RetryAfterPolicy


class TooManyRequests:
    """Builds 429 answers; whether one says Retry-After follows the policy
    ("sometimes": every other 429, counted over the whole run)."""

    def __init__(self, policy: RetryAfterPolicy) -> None:
        self.policy = policy
        self._count = 0

    def error(self, wait_seconds: float, detail: str) -> ApiError:
        self._count += 1
        send = self.policy == "always" or (self.policy == "sometimes" and self._count % 2 == 1)
        headers = {"Retry-After": str(max(1, math.ceil(wait_seconds)))} if send else {}
        return ApiError(429, "Too many requests", [detail], headers)


class SlidingWindowLimit:
    def __init__(
        self,
        count: int,
        seconds: float,
        answer: TooManyRequests,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.count = count
        self._clock = clock
        self.seconds = seconds
        self.answer = answer
        self._hits: dict[str, deque[float]] = {}

    def admit(self, key: str) -> None:
        """Records a request for key, or raises a 429 when the window is full."""
        now = self._clock()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.seconds:
            hits.popleft()
        if len(hits) < self.count:
            hits.append(now)
            return
        raise self.answer.error(
            hits[0] + self.seconds - now,
            f"at most {self.count} requests per {self.seconds:g} s per client",
        )
