"""Counters of what the client did, read as a frozen snapshot (for logs and Dagster metadata)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class RequestStats:
    requests: int = 0
    """HTTP requests sent, logins and retries included."""
    retries: int = 0
    """Attempts repeated after a 429, a 5xx or a request without answer."""
    rate_limited: int = 0
    """HTTP 429 answers seen."""
    throttled_seconds: float = 0.0
    """Time spent waiting on the client's own balance rate limiter."""
    bytes_received: int = 0
    """Response bytes as received on the wire."""
    logins: int = 0
    """`POST /token` calls (username/password auth only)."""
    errors: int = 0
    """Operations that ended in an error raised to the caller."""
    relistings: int = 0
    """Listings paged again from the start because their pages repeated or fell short."""

    def as_dict(self) -> dict[str, int | float]:
        return asdict(self)


class StatsRecorder:
    """The mutable side: the client adds to it, `snapshot` freezes it."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = dict.fromkeys(
            (
                "requests",
                "retries",
                "rate_limited",
                "bytes_received",
                "logins",
                "errors",
                "relistings",
            ),
            0,
        )

    def add(self, name: str, amount: int = 1) -> None:
        self._counts[name] += amount

    def snapshot(self, *, throttled_seconds: float) -> RequestStats:
        return RequestStats(**self._counts, throttled_seconds=throttled_seconds)
