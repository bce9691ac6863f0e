"""`PartnerApiClient`: one httpx.AsyncClient (one keep-alive pool) for all calls of a run.

Each call goes: retry loop (tenacity, `retry.py`) -> for balance requests, a slot of the client's
sliding-window limiter and of the global concurrency bound -> httpx with the auth flow
(`auth.py`) -> a non-2xx answer becomes an exception of `errors.py`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import date
from decimal import Decimal
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx
from tenacity import RetryCallState

from pipeline import clock

from .auth import auth_for
from .config import ApiConfig
from .errors import (
    PartnerApiError,
    RateLimitedError,
    ResponseFormatError,
    UntrustedListingError,
    error_from_response,
    error_from_transport,
)
from .pagination import OffsetPaginator
from .partner import PARTNER_BALANCE_ENDPOINT, PartnerBalance
from .ratelimit import SlidingWindowLimiter
from .retry import retrying
from .stats import RequestStats, StatsRecorder
from .usage import BalanceRequest, BalanceWindow, UsageFetch, WindowDone, fetch_windows
from .windows import split_windows, unix_bounds

logger = logging.getLogger(__name__)

BALANCE_ENDPOINT = "GET /partners/{partner_id}/clients/{client_id}/info/balance"


class PartnerApiClient:
    def __init__(self, config: ApiConfig) -> None:
        self._config = config
        self._stats = StatsRecorder()
        self._limiter = SlidingWindowLimiter(*config.balance_rate)
        self._in_flight = asyncio.Semaphore(config.concurrency)
        pool = config.concurrency + 2  # + list calls and a login beside the balance requests
        self._auth = auth_for(config, on_login=lambda: self._stats.add("logins"))
        self._http = httpx.AsyncClient(
            base_url=config.base_url,
            auth=self._auth,
            headers={"Accept": "application/json"},
            timeout=config.timeout_seconds,
            limits=httpx.Limits(max_connections=pool, max_keepalive_connections=pool),
            event_hooks={"request": [self._on_request], "response": [self._on_response]},
        )

    def __repr__(self) -> str:
        return (
            f"PartnerApiClient({self._config.base_url!r}, partner_id={self._config.partner_id!r})"
        )

    async def __aenter__(self) -> PartnerApiClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def stats(self) -> RequestStats:
        return self._stats.snapshot(throttled_seconds=self._limiter.waited_seconds)

    async def list_clients(
        self, filters: Mapping[str, Any] | None = None, sort: str | None = None
    ) -> list[dict[str, Any]]:
        """Every client of the partner, once. `sort` is a field name, `-field` for descending."""
        return await self._list("clients", "clients", filters, sort)

    async def list_channels(
        self, filters: Mapping[str, Any] | None = None, sort: str | None = None
    ) -> list[dict[str, Any]]:
        """Every channel (phone number) of the partner, once."""
        return await self._list("channels", "partner_channels", filters, sort)

    async def fetch_partner_balance(self) -> PartnerBalance:
        """The partner's prepaid balance (one record per top-up currency), as received."""
        path = f"{self._partner_path}/balance"
        response = await self._get_response(PARTNER_BALANCE_ENDPOINT, path, {})
        return PartnerBalance(content=response.content, fetched_at=clock.now())

    async def fetch_balance_window(
        self,
        client_id: str,
        start: date,
        end: date,
        granularity: str = "day",
        app_id: str | None = None,
    ) -> BalanceWindow:
        """Balance and usage of one client (or one of its apps) from `start` 00:00:00Z to `end`
        23:59:59Z, the body kept as bytes: the pipeline parses it once, in the transform."""
        return await self._fetch_request(client_id, BalanceRequest(start, end, granularity, app_id))

    async def fetch_usage(
        self,
        client_ids: Iterable[str],
        start: date,
        end: date,
        granularity: str = "day",
        on_window_done: WindowDone | None = None,
    ) -> UsageFetch:
        """Every client's `start..end` in windows of at most `window_days`, clients concurrently.

        A client's failure stops only that client's remaining windows and is kept in `failures`;
        an `AuthenticationError` concerns every client and is raised at once.
        """
        windows = split_windows(start, end, self._config.window_days)
        requests = [BalanceRequest(first, last, granularity) for first, last in windows]
        return await self.fetch_planned(
            {cid: requests for cid in dict.fromkeys(client_ids)}, on_window_done
        )

    async def fetch_planned(
        self,
        plans: Mapping[str, Sequence[BalanceRequest]],
        on_window_done: WindowDone | None = None,
    ) -> UsageFetch:
        """Each client's planned balance requests in order, clients concurrently; all of them
        share the client's rate limit. Failures as in `fetch_usage`."""
        return await fetch_windows(self._fetch_request, plans, on_window_done)

    async def _fetch_request(self, client_id: str, request: BalanceRequest) -> BalanceWindow:
        start_date, end_date = unix_bounds(request.start, request.end)
        params: dict[str, str | int] = {
            "start_date": start_date,
            "end_date": end_date,
            "granularity": request.granularity,
        }
        if request.app_id is not None:
            params["app_id"] = request.app_id
        path = f"{self._partner_path}/clients/{quote(client_id, safe='')}/info/balance"
        response = await self._get_response(BALANCE_ENDPOINT, path, params, client_id=client_id)
        return BalanceWindow(
            client_id=client_id,
            start=request.start,
            end=request.end,
            granularity=request.granularity,
            content=response.content,
            fetched_at=clock.now(),
            app_id=request.app_id,
        )

    @property
    def _partner_path(self) -> str:
        return f"/partners/{quote(self._config.partner_id, safe='')}"

    async def _list(
        self, resource: str, items_key: str, filters: Mapping[str, Any] | None, sort: str | None
    ) -> list[dict[str, Any]]:
        endpoint = f"GET /partners/{{partner_id}}/{resource}"
        query: dict[str, str | int] = {}
        if filters:
            query["filters"] = json.dumps(filters, separators=(",", ":"))
        if sort:
            query["sort"] = sort
        policy = self._config.retry
        for attempt in range(1, policy.listing_attempts + 1):
            paginator = await self._list_pass(endpoint, resource, items_key, query)
            if paginator.problem is None:
                return paginator.items
            if attempt < policy.listing_attempts:
                # Pages that repeat or fall short usually mean the list changed while it was
                # paged: list again from the start rather than load a partial directory.
                self._stats.add("relistings")
                logger.warning("listing %s again: %s", resource, paginator.problem)
                await asyncio.sleep(policy.relist_delay(attempt))
        self._stats.add("errors")
        raise UntrustedListingError(
            f"the {resource} listing cannot be trusted after {policy.listing_attempts} attempts: "
            f"{paginator.problem}",
            endpoint=endpoint,
            hint="nothing was loaded from it; retry later, and tell 360dialog if it persists",
        )

    async def _list_pass(
        self, endpoint: str, resource: str, items_key: str, query: Mapping[str, str | int]
    ) -> OffsetPaginator:
        """One listing from offset 0 until the paginator says it ended (trusted or not)."""
        paginator = OffsetPaginator(self._config.page_size)
        while paginator.has_more:
            params = dict(query)
            paginator.update_request(params)
            response, body = await self._get(endpoint, f"{self._partner_path}/{resource}", params)
            items = body.get(items_key)
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                raise ResponseFormatError(
                    f"the answer has no list {items_key!r}",
                    endpoint=endpoint,
                    status=response.status_code,
                    hint="check D360_BASE_URL points at the Partner API v2",
                )
            paginator.update_state(items, body)
        return paginator

    async def _get(
        self, endpoint: str, path: str, params: dict[str, str | int], client_id: str | None = None
    ) -> tuple[httpx.Response, dict[str, Any]]:
        """GET with retries, and the body parsed as a JSON object."""
        response = await self._get_response(endpoint, path, params, client_id)
        try:
            return response, _json_object(response, endpoint, client_id)
        except PartnerApiError:
            self._stats.add("errors")
            raise

    async def _get_response(
        self, endpoint: str, path: str, params: dict[str, str | int], client_id: str | None = None
    ) -> httpx.Response:
        """GET with retries.

        Balance requests also pass the client's limiter and the concurrency bound, per attempt:
        every retry is one more request the server counts.
        """
        try:
            async for attempt in retrying(self._config.retry, before_sleep=self._before_retry):
                with attempt:
                    async with self._balance_slot(client_id):
                        response = await self._send(endpoint, path, params, client_id)
            return response
        except PartnerApiError:
            self._stats.add("errors")
            raise

    @asynccontextmanager
    async def _balance_slot(self, client_id: str | None) -> AsyncIterator[None]:
        if client_id is None:  # list calls: no documented limit
            yield
            return
        # The per-client limiter first: waiting for it must not hold one of the global slots.
        async with self._limiter.slot(client_id), self._in_flight:
            yield

    async def _send(
        self, endpoint: str, path: str, params: dict[str, str | int], client_id: str | None
    ) -> httpx.Response:
        try:
            response = await self._http.get(path, params=params)
        except httpx.TransportError as exc:
            # Not chained: the message already names the httpx error, and a chain would put its
            # text, not this line, last in a report (and keep the request, headers and all).
            raise error_from_transport(
                exc,
                endpoint=endpoint,
                client_id=client_id,
                base_url=self._config.base_url,
                retry_seconds=self._config.retry.failing_give_up_after,
            ) from None
        if not response.is_success:
            raise error_from_response(
                response,
                endpoint=endpoint,
                client_id=client_id,
                credentials_hint=self._config.credentials_hint,
                secrets=self._config.secret_values() + self._auth.issued_secrets(),
            )
        return response

    def _before_retry(self, state: RetryCallState) -> None:
        self._stats.add("retries")
        assert state.outcome is not None
        error = state.outcome.exception()  # its message names the endpoint and client
        # 429s are expected now and then in a long run; everything else is worth a warning.
        level = logging.INFO if isinstance(error, RateLimitedError) else logging.WARNING
        logger.log(
            level, "retry %d in %.1f s: %s", state.attempt_number, state.upcoming_sleep, error
        )

    async def _on_request(self, request: httpx.Request) -> None:
        self._stats.add("requests")

    async def _on_response(self, response: httpx.Response) -> None:
        await response.aread()
        self._stats.add("bytes_received", response.num_bytes_downloaded)
        if response.status_code == 429:
            self._stats.add("rate_limited")


def _json_object(response: httpx.Response, endpoint: str, client_id: str | None) -> dict[str, Any]:
    try:
        body = json.loads(response.text, parse_float=Decimal)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise ResponseFormatError(
            "the answer is not a JSON object",
            endpoint=endpoint,
            client_id=client_id,
            status=response.status_code,
            hint="check D360_BASE_URL points at the Partner API v2",
        )
    return body
