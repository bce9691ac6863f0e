"""Authentication as httpx auth flows (the shape of httpx's own `_auth.py`).

`ApiKeyAuth` adds the `X-API-Key` header. `LoginAuth` logs in with `POST {base}/token`, caches the
bearer token, renews it shortly before it expires and once on a 401, and lets only one login be
in flight: concurrent requests wait on a lock for that login instead of starting their own.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import dataclass

import httpx

from .config import ApiConfig
from .errors import (
    AuthenticationError,
    ResponseFormatError,
    developer_message,
    error_from_response,
)

TOKEN_ENDPOINT = "/token"
# Printable ASCII without spaces: what a bearer token can be in an Authorization header.
_HEADER_SAFE = re.compile(r"[!-~]+")


class PartnerAuth(httpx.Auth):
    """An httpx auth flow for httpx.AsyncClient that can say which secrets it obtained."""

    def issued_secrets(self) -> tuple[str, ...]:
        """Secrets obtained at run time (bearer tokens), to redact beside the configured ones."""
        return ()

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        raise TypeError(f"{type(self).__name__} works only with httpx.AsyncClient")


class ApiKeyAuth(PartnerAuth):
    def __init__(self, api_key: str) -> None:
        self._api_key = api_key

    def __repr__(self) -> str:
        return "ApiKeyAuth(api_key='***')"

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        request.headers["X-API-Key"] = self._api_key
        yield request


@dataclass(frozen=True)
class _Token:
    value: str
    renew_at: float | None  # monotonic time; None when the server did not say (renew on 401 only)

    def __repr__(self) -> str:
        return "_Token('***')"


# Logins one request may make on 401s before its 401 is final (see async_auth_flow).
LOGINS_PER_REQUEST = 3


class LoginAuth(PartnerAuth):
    requires_response_body = True  # the flow reads the login response

    def __init__(
        self,
        config: ApiConfig,
        *,
        on_login: Callable[[], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        assert config.username is not None and config.password is not None
        self._config = config
        self._token_url = f"{config.base_url}{TOKEN_ENDPOINT}"
        self._on_login = on_login
        self._clock = clock
        self._token: _Token | None = None
        self._issued: list[str] = []  # every token of this session: an old one may be quoted too
        self._login_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"LoginAuth(username={self._config.username!r}, password='***')"

    def issued_secrets(self) -> tuple[str, ...]:
        return tuple(self._issued)

    def _secrets(self) -> tuple[str, ...]:
        return self._config.secret_values() + self.issued_secrets()

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = self._token
        fresh = False
        if token is None or (token.renew_at is not None and self._clock() >= token.renew_at):
            async with self._login_lock:
                if self._token is token:  # nobody renewed it while we waited for the lock
                    self._token = self._parse_login((yield self._login_request()))
                    fresh = True
                token = self._token
        response = yield self._authorised(request, token)
        # On a 401, log in again, unless another request already did while this one was out:
        # then try its token first. Other requests may revoke a fresh token before this one uses
        # it (a server that revokes on every login, say), so a 401 right after this request's own
        # login is final only after LOGINS_PER_REQUEST of them; a refused login is always final.
        logins = int(fresh)
        while response.status_code == 401 and logins < LOGINS_PER_REQUEST:
            async with self._login_lock:
                if self._token is token:  # the token we used is still current: it expired early
                    self._token = self._parse_login((yield self._login_request()))
                    logins += 1
                token = self._token
            response = yield self._authorised(request, token)

    @staticmethod
    def _authorised(request: httpx.Request, token: _Token | None) -> httpx.Request:
        assert token is not None
        request.headers["Authorization"] = f"Bearer {token.value}"
        return request

    def _login_request(self) -> httpx.Request:
        assert self._config.password is not None
        credentials = {
            "username": self._config.username,
            "password": self._config.password.reveal(),
        }
        return httpx.Request("POST", self._token_url, json=credentials)

    def _parse_login(self, response: httpx.Response) -> _Token:
        self._on_login()
        if response.status_code in (400, 401, 403):
            raise AuthenticationError(
                "the Partner API refused the login",
                endpoint=f"POST {TOKEN_ENDPOINT}",
                status=response.status_code,
                developer_message=developer_message(response, self._secrets()),
                hint=self._config.credentials_hint,
            )
        if not response.is_success:
            raise error_from_response(
                response,
                endpoint=f"POST {TOKEN_ENDPOINT}",
                client_id=None,
                credentials_hint=self._config.credentials_hint,
                secrets=self._secrets(),
            )
        try:
            body = json.loads(response.text)
            value = body["access_token"]
            expires_in = body.get("expires_in")
        except (ValueError, TypeError, KeyError, AttributeError):
            value = None
        if not isinstance(value, str) or not value:
            raise ResponseFormatError(
                "the login answer has no access_token",
                endpoint=f"POST {TOKEN_ENDPOINT}",
                status=response.status_code,
                hint="check D360_BASE_URL points at the Partner API",
            )
        self._issued.append(value)
        if not _HEADER_SAFE.fullmatch(value):
            # httpx would refuse the header quoting it whole in its error; say so without it.
            raise ResponseFormatError(
                "the login answer's access_token has characters an HTTP header cannot carry",
                endpoint=f"POST {TOKEN_ENDPOINT}",
                status=response.status_code,
                hint="check D360_BASE_URL points at the Partner API",
            )
        return _Token(value, self._renew_at(expires_in))

    def _renew_at(self, expires_in: object) -> float | None:
        if not isinstance(expires_in, int | float) or isinstance(expires_in, bool):
            return None
        # Renew a little early so a request never leaves with a token that expires in transit;
        # a quarter of the lifetime at most, so short-lived tokens are still used.
        margin = min(self._config.token_renew_margin_seconds, expires_in / 4)
        return self._clock() + expires_in - margin


def auth_for(config: ApiConfig, *, on_login: Callable[[], None]) -> PartnerAuth:
    """The API key wins when both an API key and a username/password are configured."""
    if config.api_key is not None:
        return ApiKeyAuth(config.api_key.reveal())
    return LoginAuth(config, on_login=on_login)
