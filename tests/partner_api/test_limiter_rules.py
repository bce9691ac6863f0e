"""SlidingWindowLimiter's rules, on virtual time: waits are exact and cost no real time.

Durations are binary fractions (0.25, 0.5), so the sums the limiter makes are exact floats.
"""

from __future__ import annotations

import asyncio

from pipeline.partner_api.ratelimit import SlidingWindowLimiter

from .virtual_time import run_in_virtual_time


async def hold(limiter, key, seconds, started, clock):
    async with limiter.slot(key):
        started.append(clock())
        await asyncio.sleep(seconds)


def test_a_full_window_opens_a_period_after_the_oldest_response():
    async def scenario(clock):
        limiter = SlidingWindowLimiter(limit=3, period=0.5, clock=clock)
        started: list[float] = []
        # The first request is slow (0.25 s): its slot is stamped when it ends, not when it began.
        await asyncio.gather(
            hold(limiter, "c", 0.25, started, clock),
            hold(limiter, "c", 0, started, clock),
            hold(limiter, "c", 0, started, clock),
        )
        await hold(limiter, "c", 0, started, clock)  # waits for the first fast ones to age out
        await hold(limiter, "c", 0, started, clock)
        await hold(limiter, "c", 0, started, clock)  # waits for the slow one: 0.25 + 0.5
        return started, limiter.waited_seconds

    started, waited = run_in_virtual_time(scenario)
    assert started == [0, 0, 0, 0.5, 0.5, 0.75]
    assert waited == 0.25 + 0.25  # the 4th from 0.25 (gather ended), the 6th from 0.5


def test_keys_do_not_share_a_window():
    async def scenario(clock):
        limiter = SlidingWindowLimiter(limit=1, period=5.0, clock=clock)
        started: list[float] = []
        await asyncio.gather(*(hold(limiter, key, 0, started, clock) for key in "abcdef"))
        return started, limiter.waited_seconds

    started, waited = run_in_virtual_time(scenario)
    assert started == [0] * 6 and waited == 0


def test_in_flight_requests_hold_their_slots():
    async def scenario(clock):
        limiter = SlidingWindowLimiter(limit=2, period=0.125, clock=clock)
        started: list[float] = []
        await asyncio.gather(*(hold(limiter, "c", 0.25, started, clock) for _ in range(3)))
        return sorted(started)

    # The third starts a period after the first two came back, not a period after they began.
    assert run_in_virtual_time(scenario) == [0, 0, 0.25 + 0.125]


def test_a_slot_frees_as_soon_as_its_stamp_leaves_the_window():
    async def scenario(clock):
        limiter = SlidingWindowLimiter(limit=5, period=30.0, clock=clock)
        started: list[float] = []
        for _ in range(7):
            await hold(limiter, "c", 1.0, started, clock)
        return started

    # Five one-second requests back to back end at 1..5 s; the 6th waits for 1 + 30, the 7th
    # for 2 + 30: a sliding window like the server's, not a bucket refilled at a steady rate.
    assert run_in_virtual_time(scenario) == [0, 1, 2, 3, 4, 31, 32]
