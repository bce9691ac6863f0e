"""What a usage fetch returns, and how many clients' windows are fetched side by side."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from .errors import AuthenticationError, PartnerApiError

logger = logging.getLogger(__name__)

WindowDone = Callable[[str, date, date], None]
FetchWindow = Callable[[str, date, date, str], Awaitable["BalanceWindow"]]


@dataclass(frozen=True)
class BalanceWindow:
    """One `/info/balance` answer for one client and one date window."""

    client_id: str
    start: date
    end: date
    granularity: str
    raw_text: str
    """The response body exactly as received."""
    body: dict[str, Any]
    """`raw_text` parsed; every JSON number with a fraction is a `decimal.Decimal`."""
    fetched_at: datetime


@dataclass(frozen=True)
class UsageFetch:
    windows: list[BalanceWindow]
    """Every window fetched, failed clients' earlier windows included."""
    failures: dict[str, PartnerApiError]
    """Per client id, the error that stopped its remaining windows."""


async def fetch_windows(
    fetch_window: FetchWindow,
    client_ids: Iterable[str],
    windows: list[tuple[date, date]],
    granularity: str,
    on_window_done: WindowDone | None,
) -> UsageFetch:
    """All `windows` of every client, clients concurrently (the caller bounds the concurrency).

    A client's failure stops only that client's remaining windows and is kept in `failures`;
    an `AuthenticationError` concerns every client and is raised at once.
    """
    ids = list(dict.fromkeys(client_ids))
    tasks = [
        asyncio.create_task(_fetch_client(fetch_window, cid, windows, granularity, on_window_done))
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
    windows: list[tuple[date, date]],
    granularity: str,
    on_window_done: WindowDone | None,
) -> tuple[list[BalanceWindow], PartnerApiError | None]:
    # One window after the other: the client's rate limit bounds it anyway, and the other
    # clients' windows fill the concurrency meanwhile.
    fetched: list[BalanceWindow] = []
    for start, end in windows:
        try:
            fetched.append(await fetch_window(client_id, start, end, granularity))
        except AuthenticationError:
            raise
        except PartnerApiError as error:
            logger.warning("usage of client %s stopped at %s..%s: %s", client_id, start, end, error)
            return fetched, error
        if on_window_done is not None:
            on_window_done(client_id, start, end)
    return fetched, None
