"""An API that does not answer is given up on after the retry time, in one line that names the
endpoint and what to check, not in the words of the HTTP library."""

from __future__ import annotations

import socket

from pipeline.partner_api import (
    ApiConfig,
    ApiUnreachableError,
    PartnerApiClient,
    RetryPolicy,
    Secret,
)

from .conftest import run


def closed_port() -> int:
    """A loopback port nothing listens on: connections to it are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_api_is_one_line_with_the_endpoint_and_a_hint_after_the_retry_time():
    base_url = f"http://127.0.0.1:{closed_port()}/api/v2"
    policy = RetryPolicy(
        max_attempts=1000, base_delay=0.05, max_delay=0.1, failing_give_up_after=0.5
    )
    config = ApiConfig(partner_id="pa", api_key=Secret("key"), base_url=base_url, retry=policy)

    async def scenario() -> tuple[ApiUnreachableError, int]:
        async with PartnerApiClient(config) as api:
            try:
                await api.list_clients()
            except ApiUnreachableError as error:
                return error, api.stats.requests
        raise AssertionError("the listing did not fail")

    error, requests = run(scenario())

    # Retried, then given up on by the 0.5 s budget, not by the 1000 attempts: each wait is at
    # least 0.05 s, so the budget allows no more than 11 attempts however fast refusals come.
    assert 2 <= requests <= 11
    assert str(error) == (
        f"no answer from the Partner API at {base_url} (ConnectError: All connection attempts "
        "failed) (GET /partners/{partner_id}/clients); is D360_BASE_URL right? is the network "
        "up? (each request is retried for up to 0.5 s, D360_RETRY_SECONDS)"
    )
    # Nothing chained: a report that shows the root cause shows this line, not httpx's.
    assert error.__cause__ is None and error.__suppress_context__
