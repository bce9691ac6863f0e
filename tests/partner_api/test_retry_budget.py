"""D360_RETRY_SECONDS: an API that keeps failing is given up on after that time, not after
`max_attempts` timeouts, while 429s (the API is there, only busy) restart the clock."""

from __future__ import annotations

import asyncio

import pytest

from pipeline.partner_api import ApiUnreachableError, RateLimitedError, RetryPolicy
from pipeline.partner_api.retry import retrying


def attempts_until_given_up(policy: RetryPolicy, errors: list[Exception]) -> int:
    """Run one request that raises `errors` in turn (the last one forever); count attempts."""
    attempts = 0

    async def scenario() -> None:
        nonlocal attempts
        async for attempt in retrying(policy, before_sleep=lambda state: None):
            with attempt:
                attempts += 1
                raise errors[min(attempts, len(errors)) - 1]

    with pytest.raises(type(errors[-1])):
        asyncio.run(scenario())
    return attempts


def test_an_unreachable_api_is_given_up_after_the_failing_time_budget():
    policy = RetryPolicy(
        max_attempts=10_000, base_delay=0.02, max_delay=0.02, failing_give_up_after=0.1
    )
    attempts = attempts_until_given_up(policy, [ApiUnreachableError("connection refused")])
    # About 0.1 s of 0.02..0.04 s waits: a handful of attempts, nowhere near max_attempts.
    assert 2 <= attempts <= 6


def test_a_429_restarts_the_failing_clock_but_not_the_attempt_count():
    policy = RetryPolicy(max_attempts=3, base_delay=0.0, max_delay=0.0, failing_give_up_after=60)
    unreachable = ApiUnreachableError("connection refused")
    errors = [unreachable, RateLimitedError("429", retry_after=0.0), unreachable, unreachable]
    # Three failures use up max_attempts; the 429 in between is not one of them.
    assert attempts_until_given_up(policy, errors) == 4


def test_the_failing_budget_must_be_positive():
    with pytest.raises(ValueError, match="failing_give_up_after"):
        RetryPolicy(failing_give_up_after=0)
