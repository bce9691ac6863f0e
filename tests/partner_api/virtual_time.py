"""An asyncio event loop on virtual time: when nothing is ready it jumps straight to the next
timer instead of sleeping, so code that waits seconds runs at once and every time is exact."""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class _JumpingSelector(selectors.DefaultSelector):
    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0

    def select(self, timeout: float | None = None) -> list[Any]:
        ready = super().select(0)
        if not ready and timeout:
            self.now += timeout  # the loop asked to sleep until its next timer: be there
        elif not ready and timeout is None:
            raise RuntimeError("deadlock: every task waits and no timer is set")
        return ready


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        self._jumping = _JumpingSelector()
        super().__init__(self._jumping)

    def time(self) -> float:
        return self._jumping.now


def run_in_virtual_time(scenario: Callable[[Callable[[], float]], Coroutine[Any, Any, T]]) -> T:
    """Run `scenario(clock)`, where `clock()` is the loop's virtual time, starting at 0."""
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(scenario(loop.time))
    finally:
        loop.close()
