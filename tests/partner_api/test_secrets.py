"""No API key, password or token appears in any log record (httpx/httpcore included) or error."""

from __future__ import annotations

import logging
import re
from datetime import date

import pytest
from scripted_api import Asked, api_error, scripted_api

from pipeline.partner_api import (
    ApiConfig,
    AuthenticationError,
    PartnerApiClient,
    PartnerApiError,
    ResponseFormatError,
    RetryPolicy,
    Secret,
)
from pipeline.partner_api.auth import LOGINS_PER_REQUEST
from pipeline.simulator import Faults

from .conftest import FAST_RETRY, config_for, run, simulator

JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+")
LOGGERS = ("httpx", "httpcore", "pipeline.partner_api", "")


@pytest.fixture
def debug_logs(caplog):
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def test_credentials_never_reach_logs_errors_or_reprs(debug_logs):
    faults = Faults(token_expiry_every=3, error_burst_every=4, error_burst_length=1, drop_every=5)
    with simulator(clients=3, faults=faults) as sim:
        texts: list[str] = []

        async def scenario():
            login = config_for(sim, login=True, concurrency=1)
            async with PartnerApiClient(login) as api:
                texts.append(repr(api))
                texts.append(repr(login))
                await api.list_clients()
                fetch = await api.fetch_usage(sim.client_ids(), date(2024, 1, 1), date(2024, 2, 9))
                texts.extend(str(e) for e in fetch.failures.values())
                texts.append(repr(api.stats))
            impatient = RetryPolicy(max_attempts=1, base_delay=0.0, max_delay=0.0)
            for config in (
                config_for(sim, api_key=Secret("bad-key-1234")),
                config_for(sim, login=True, password=Secret("bad-password-1234")),
                config_for(sim, retry=impatient),
            ):
                async with PartnerApiClient(config) as api:
                    try:
                        await api.fetch_usage(sim.client_ids(), date(2024, 1, 1), date(2024, 2, 9))
                        await api.list_channels()
                    except PartnerApiError as error:
                        texts.append(str(error))
                        texts.append(repr(error))

        run(scenario())
        logged = "\n".join(r.getMessage() for r in debug_logs.records)
        everything = logged + "\n" + "\n".join(texts)
        assert "HTTP Request" in logged  # httpx did log every request at INFO
        assert "send_request_headers" in logged  # and httpcore at DEBUG
        assert any("refused" in t for t in texts)
        for secret in (sim.api_key, sim.password, "bad-key-1234", "bad-password-1234"):
            assert secret not in everything
        assert not JWT.search(everything)


def test_a_login_error_does_not_carry_the_password_in_its_cause_chain(sim):
    async def scenario():
        config = config_for(sim, login=True, password=Secret("bad-password-1234"))
        async with PartnerApiClient(config) as api:
            with pytest.raises(AuthenticationError) as caught:
                await api.list_clients()
            return caught.value

    error = run(scenario())
    chain = []
    cause: BaseException | None = error
    while cause is not None:
        chain.append(repr(cause) + str(cause) + repr(vars(cause)))
        cause = cause.__cause__ or cause.__context__
    assert "bad-password-1234" not in "".join(chain)


def quoting_api(token: str):
    """Logs in with `token`, then refuses it on every request, quoting it back twice."""

    def script(asked: Asked):
        if asked.path == "/token":
            return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600}
        presented = asked.headers.get("Authorization", "")
        return api_error(401, f"Invalid token: {presented} ({token} was revoked)")

    return scripted_api(script)


@pytest.mark.parametrize(
    "token",
    [
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwYXJ0bmVyIn0.c2lnbmF0dXJlLXF1b3RlZA",
        "opaque-4711-not-shaped-like-a-jwt",
    ],
)
def test_a_refused_token_quoted_back_by_the_api_is_redacted(debug_logs, token):
    with quoting_api(token) as api:
        config = ApiConfig(
            partner_id="pa",
            username="user",
            password=Secret("pw-1234-secret"),
            base_url=api.base_url,
            retry=FAST_RETRY,
        )

        async def scenario() -> AuthenticationError:
            async with PartnerApiClient(config) as client:
                with pytest.raises(AuthenticationError) as caught:
                    await client.list_clients()
                return caught.value

        error = run(scenario())
        # Each token refused right after a login: after LOGINS_PER_REQUEST logins the 401 is
        # final (another request may have revoked a fresh token, so one refusal is not enough).
        assert [a.path for a in api.asked] == [
            "/token",
            "/partners/pa/clients",
        ] * LOGINS_PER_REQUEST
    texts = [str(error), repr(vars(error))] + [r.getMessage() for r in debug_logs.records]
    assert "API says 'Invalid token: Bearer *** (*** was revoked)'" in str(error)
    assert not [t for t in texts if token in t or "pw-1234-secret" in t]


def test_a_token_no_header_can_carry_is_refused_without_showing_it(debug_logs):
    token = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig\nX-Injected: yes"
    with quoting_api(token) as api:
        config = ApiConfig(
            partner_id="pa",
            username="user",
            password=Secret("pw-1234-secret"),
            base_url=api.base_url,
            retry=FAST_RETRY,
        )

        async def scenario() -> ResponseFormatError:
            async with PartnerApiClient(config) as client:
                with pytest.raises(ResponseFormatError) as caught:
                    await client.list_clients()
                return caught.value

        error = run(scenario())
        assert [a.path for a in api.asked] == ["/token"]  # the token was never sent
    assert str(error).startswith(
        "the login answer's access_token has characters an HTTP header cannot carry"
    )
    logged = [r.getMessage() for r in debug_logs.records]
    assert not [t for t in [str(error), *logged] if "sig" in t or "Injected" in t]
