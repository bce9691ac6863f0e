"""Decides, request by request, which fault (if any) a faultable request gets, and injects it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from .errors import ApiError
from .options import Faults

BURST_STATUSES = (500, 502, 503)


@dataclass(frozen=True)
class Injection:
    kind: str  # "token_expiry", "drop", "error", "rate_limit" or "slow"
    status: int = 0  # for "error"


class FaultSchedule:
    """Counter-based: the n-th faultable request since the faults were set gets a fixed fate."""

    def __init__(self, faults: Faults) -> None:
        self.set(faults)

    def set(self, faults: Faults) -> None:
        self.faults = faults
        self._count = 0

    def decide(self) -> Injection | None:
        self._count += 1
        n, f = self._count, self.faults
        if f.token_expiry_every and n % f.token_expiry_every == 0:
            return Injection("token_expiry")
        if f.drop_every and n % f.drop_every == 0:
            return Injection("drop")
        if f.error_burst_every and (
            (n - 1) % f.error_burst_every >= f.error_burst_every - f.error_burst_length
        ):
            return Injection("error", BURST_STATUSES[n % len(BURST_STATUSES)])
        if f.rate_limit_every and n % f.rate_limit_every == 0:
            return Injection("rate_limit")
        if f.slow_every and n % f.slow_every == 0:
            return Injection("slow")
        return None


class ConnectionDropped(Exception):
    """Raised after a partial body so the server closes the connection mid-response."""


class DroppedResponse(Response):
    """Declares a body it never finishes: the client sees the connection die mid-response."""

    def __init__(self) -> None:
        super().__init__(
            content=b'{"usage":[{"period_date":',
            status_code=200,
            media_type="application/json",
            headers={"Content-Length": "4096"},
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        await send({"type": "http.response.body", "body": self.body, "more_body": True})
        raise ConnectionDropped


async def inject(injection: Injection, slow_seconds: float) -> Response | None:
    """Applies an injection after authentication; returns a response that replaces the answer."""
    if injection.kind == "drop":
        return DroppedResponse()
    if injection.kind == "error":
        raise ApiError(injection.status, "Upstream error", ["injected fault: 5xx burst"])
    if injection.kind == "slow":
        await asyncio.sleep(slow_seconds)
    return None
