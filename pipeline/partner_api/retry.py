"""Retry policy as data, and the tenacity loop built from it.

What is retried: HTTP 429 (waiting for `Retry-After` when the server sends it), the statuses in
`retry_statuses` (5xx), and requests that got no answer (timeouts, refused or dropped connections).
Nothing else: other 4xx answers are final, and a 401 is handled once by the auth flow (re-login).

Two budgets, because the two kinds of failure mean different things. A 429 says "slow down", not
"broken": a long backfill must keep going through it, so 429s only count against the total time
`give_up_after`. Server errors and dropped connections say something is wrong, so they also count
against `max_attempts` and against `failing_give_up_after`, the time a request keeps trying an API
that does not answer properly (D360_RETRY_SECONDS): with timeouts of 30 s, ten attempts alone would
take about four minutes to give up on an unreachable API.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_exponential_jitter

from .errors import ApiUnreachableError, RateLimitedError, ServerError


@dataclass(frozen=True)
class RetryPolicy:
    """How one request is retried. Tests pass a fast one; the defaults suit a real backfill."""

    max_attempts: int = 10
    """Failed attempts (5xx or no answer) after which the request gives up; 429s do not count.
    Ten, not the usual five: with the backoff below that rides out about two minutes of a
    degraded API, which a long backfill should survive rather than lose a client's window."""
    base_delay: float = 0.5
    """First backoff wait in seconds; it doubles per retry (plus up to `base_delay` of jitter)."""
    max_delay: float = 30.0
    """Longest single backoff wait. A server's `Retry-After` is honoured even when longer."""
    give_up_after: float = 900.0
    """Total seconds one request may spend retrying, mostly waiting out 429s."""
    failing_give_up_after: float = 120.0
    """Seconds one request keeps retrying 5xx answers and requests without an answer, counted from
    its start or from its last 429 (an answer that proves the API is there)."""
    retry_statuses: frozenset[int] = field(default_factory=lambda: frozenset(range(500, 600)))
    listing_attempts: int = 3
    """Times a whole listing is paged from the start when its pages repeat or end short of its
    own `total` (say the list changed while it was paged) before it is refused."""

    def __post_init__(self) -> None:
        if (
            self.max_attempts < 1
            or self.base_delay < 0
            or self.max_delay < self.base_delay
            or self.failing_give_up_after <= 0
            or self.listing_attempts < 1
        ):
            raise ValueError(f"inconsistent {self!r}")

    def relist_delay(self, attempt: int) -> float:
        """Seconds to wait before listing again after failed listing `attempt` (1, 2, ...)."""
        return min(self.max_delay, self.base_delay * 2 ** (attempt - 1))

    def is_retryable(self, exc: BaseException) -> bool:
        if isinstance(exc, ServerError):
            return exc.status in self.retry_statuses
        return isinstance(exc, RateLimitedError | ApiUnreachableError)


class _GiveUp:
    """tenacity stop condition holding the budgets of one request (one instance per request)."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._policy = policy
        self._failures = 0
        self._failing_since: float | None = None

    def __call__(self, state: RetryCallState) -> bool:
        assert state.outcome is not None and state.outcome_timestamp is not None
        upcoming = state.upcoming_sleep or 0.0
        if self._failing_since is None:
            self._failing_since = state.start_time
        if isinstance(state.outcome.exception(), RateLimitedError):
            # The API answered: whatever failed before is not an outage still going on.
            self._failing_since = state.outcome_timestamp
            failing_too_long = False
        else:
            self._failures += 1
            failing_for = state.outcome_timestamp - self._failing_since + upcoming
            failing_too_long = failing_for > self._policy.failing_give_up_after
        elapsed = state.outcome_timestamp - state.start_time
        out_of_time = elapsed + upcoming > self._policy.give_up_after
        too_many = self._failures >= self._policy.max_attempts
        return too_many or failing_too_long or out_of_time


def _wait(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    backoff = wait_exponential_jitter(
        initial=policy.base_delay, max=policy.max_delay, jitter=policy.base_delay
    )

    def wait(state: RetryCallState) -> float:
        assert state.outcome is not None
        exc = state.outcome.exception()
        if isinstance(exc, RateLimitedError) and exc.retry_after is not None:
            # A little jitter so the clients throttled together do not come back together.
            return exc.retry_after + random.uniform(0, policy.base_delay)
        return backoff(state)

    return wait


def retrying(
    policy: RetryPolicy, *, before_sleep: Callable[[RetryCallState], None]
) -> AsyncRetrying:
    """A fresh tenacity loop for one request; re-raises the last error when it gives up."""
    return AsyncRetrying(
        retry=retry_if_exception(policy.is_retryable),
        stop=_GiveUp(policy),
        wait=_wait(policy),
        before_sleep=before_sleep,
        reraise=True,
    )
