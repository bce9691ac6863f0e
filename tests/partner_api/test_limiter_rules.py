"""SlidingWindowLimiter on the real clock with short periods."""

from __future__ import annotations

import asyncio
import time

from pipeline.partner_api.ratelimit import SlidingWindowLimiter


async def hold(limiter, key, seconds, started):
    async with limiter.slot(key):
        started.append(time.monotonic())
        await asyncio.sleep(seconds)


def test_a_full_window_opens_a_period_after_the_oldest_response():
    async def scenario():
        limiter = SlidingWindowLimiter(limit=3, period=0.4)
        started: list[float] = []
        t0 = time.monotonic()
        # The first request is slow (0.3 s): its slot is stamped when it ends, not when it began.
        await asyncio.gather(
            hold(limiter, "c", 0.3, started),
            hold(limiter, "c", 0, started),
            hold(limiter, "c", 0, started),
        )
        await hold(limiter, "c", 0, started)  # waits for the first fast ones to age out
        await hold(limiter, "c", 0, started)
        await hold(limiter, "c", 0, started)  # waits for the slow one: >= 0.3 + 0.4 after t0
        return [s - t0 for s in started], limiter.waited_seconds

    offsets, waited = asyncio.run(scenario())
    assert all(o < 0.1 for o in offsets[:3])
    assert 0.38 <= offsets[3] < 0.6
    assert offsets[5] >= 0.69
    assert 0.35 < waited < 0.5  # 0.1 for the 4th (gather ended at 0.3), 0.3 for the 6th


def test_keys_do_not_share_a_window():
    async def scenario():
        limiter = SlidingWindowLimiter(limit=1, period=5.0)
        started: list[float] = []
        t0 = time.monotonic()
        await asyncio.gather(*(hold(limiter, key, 0, started) for key in "abcdef"))
        return max(started) - t0

    assert asyncio.run(scenario()) < 0.1


def test_in_flight_requests_hold_their_slots():
    async def scenario():
        limiter = SlidingWindowLimiter(limit=2, period=0.1)
        started: list[float] = []
        t0 = time.monotonic()
        await asyncio.gather(*(hold(limiter, "c", 0.3, started) for _ in range(3)))
        return sorted(s - t0 for s in started)

    offsets = asyncio.run(scenario())
    assert offsets[2] >= 0.3 + 0.1 - 0.01  # third starts a period after the first two came back
