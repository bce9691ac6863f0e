"""What a usage fetch returns, and how many clients' requests are fetched side by side."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from typing import Any

from .errors import AuthenticationError, PartnerApiError

logger = logging.getLogger(__name__)

WindowDone = Callable[[str, date, date], None]


@dataclass(frozen=True)
class BalanceRequest:
    """One `/info/balance` request of a client: a date window at a granularity, maybe one app."""

    start: date
    end: date
    granularity: str = "day"
    app_id: str | None = None


FetchWindow = Callable[[str, BalanceRequest], Awaitable["BalanceWindow"]]


@dataclass(frozen=True)
class BalanceWindow:
    """One `/info/balance` answer for one client and one request, kept exactly as received."""

    client_id: str
    start: date
    end: date
    granularity: str
    content: bytes
    """The response body, byte for byte: the pipeline parses it once, in the transform."""
    fetched_at: datetime
    app_id: str | None = None

    @property
    def raw_text(self) -> str:
        return self.content.decode("utf-8")

    @cached_property
    def body(self) -> dict[str, Any]:
        """The body parsed for callers who want values (money as `decimal.Decimal`)."""
        parsed: dict[str, Any] = json.loads(self.content, parse_float=Decimal)
        return parsed


@dataclass(frozen=True)
class UsageFetch:
    windows: list[BalanceWindow]
    """Every window fetched, failed clients' earlier windows included."""
    failures: dict[str, PartnerApiError] = field(default_factory=dict)
    """Per client id, the error that stopped its remaining requests."""


async def fetch_windows(
    fetch_window: FetchWindow,
    plans: Mapping[str, Sequence[BalanceRequest]],
    on_window_done: WindowDone | None,
) -> UsageFetch:
    """Every client's planned requests, clients concurrently (the caller bounds the concurrency).

    A client's failure stops only that client's remaining requests and is kept in `failures`;
    an `AuthenticationError` concerns every client and is raised at once.
    """
    ids = list(plans)
    tasks = [
        asyncio.create_task(_fetch_client(fetch_window, cid, plans[cid], on_window_done))
        for cid in ids
    ]
    try:
        outcomes = await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    fetched = [window for client_windows, _ in outcomes for window in client_windows]
    failures = {cid: error for cid, (_, error) in zip(ids, outcomes, strict=True) if error}
    return UsageFetch(windows=fetched, failures=failures)


async def _fetch_client(
    fetch_window: FetchWindow,
    client_id: str,
    requests: Sequence[BalanceRequest],
    on_window_done: WindowDone | None,
) -> tuple[list[BalanceWindow], PartnerApiError | None]:
    # One request after the other: the client's rate limit bounds it anyway, and the other
    # clients' requests fill the concurrency meanwhile.
    fetched: list[BalanceWindow] = []
    for request in requests:
        try:
            fetched.append(await fetch_window(client_id, request))
        except AuthenticationError:
            raise
        except PartnerApiError as error:
            logger.warning(
                "usage of client %s stopped at %s..%s: %s",
                client_id,
                request.start,
                request.end,
                error,
            )
            return fetched, error
        if on_window_done is not None:
            on_window_done(client_id, request.start, request.end)
    return fetched, None
