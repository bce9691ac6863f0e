"""One exception tree for everything the Partner API client can report.

Every message is one line: what went wrong, the endpoint (path template, never the full URL with its
query), the client id when there is one, the HTTP status, the API's own `developer_message`, and
what the user can do about it. Credentials never appear: callers pass the secrets to redact.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypedDict

import httpx

_MAX_DEVELOPER_MESSAGE = 300
# Bearer tokens are not configured secrets: every login brings a new one, and an API (or an HTTP
# library complaining about a header) may quote the token it refused. Whatever has their shape
# goes, so no message can carry one even when its value is not known here.
# (At least 8 characters after "bearer", so that prose such as "a bearer token" stays readable.)
_BEARER = re.compile(r"(?i)(bearer\s+)[^\s'\",;)\]}]{8,}")
_JWT = re.compile(r"eyJ[\w-]*\.[\w-]+\.[\w-]*")


class PartnerApiError(Exception):
    """Base of every error raised by `pipeline.partner_api`."""

    def __init__(
        self,
        summary: str,
        *,
        endpoint: str | None = None,
        client_id: str | None = None,
        status: int | None = None,
        developer_message: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.summary = summary
        self.endpoint = endpoint
        self.client_id = client_id
        self.status = status
        self.developer_message = developer_message
        self.hint = hint
        # Scrubbed here too, not only by the callers: a summary may quote an httpx error, which
        # may quote a header.
        super().__init__(redact(self._one_line(), ()))

    def _one_line(self) -> str:
        where = [
            self.endpoint,
            f"client {self.client_id}" if self.client_id else None,
            f"HTTP {self.status}" if self.status is not None else None,
        ]
        located = ", ".join(w for w in where if w)
        text = f"{self.summary} ({located})" if located else self.summary
        if self.developer_message:
            text += f": API says {self.developer_message!r}"
        if self.hint:
            text += f"; {self.hint}"
        return text


class ConfigError(PartnerApiError):
    """A missing or invalid setting, found before any request is sent."""


class AuthenticationError(PartnerApiError):
    """The API refused the API key or the username/password (HTTP 401, or a failed login)."""


class PermissionDeniedError(PartnerApiError):
    """The credentials are valid but may not read this resource (HTTP 403)."""


class NotFoundError(PartnerApiError):
    """The partner, client or endpoint does not exist (HTTP 404)."""


class BadRequestError(PartnerApiError):
    """The API rejected the request itself (HTTP 400 or another 4xx without a retry)."""


class RateLimitedError(PartnerApiError):
    """HTTP 429. Retried; raised to the caller only once the retry budget is spent."""

    def __init__(self, summary: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        self.retry_after = retry_after
        super().__init__(summary, **kwargs)  # type: ignore[arg-type]


class ServerError(PartnerApiError):
    """HTTP 5xx. Retried; raised once the retry budget is spent."""


class ApiUnreachableError(PartnerApiError):
    """No HTTP answer: connection refused or dropped, timeout, protocol error. Retried."""


class ResponseFormatError(PartnerApiError):
    """A 2xx answer whose body is not what the API documents (not JSON, wrong shape)."""


class UntrustedListingError(PartnerApiError):
    """A listing whose pages repeat or end short of its own `total`, even when listed again."""


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret value, and whatever looks like a bearer token, made `***`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return _JWT.sub("***", _BEARER.sub(r"\1***", text))


def developer_message(response: httpx.Response, secrets: Iterable[str]) -> str | None:
    """The API's `meta.developer_message`, on one line, shortened, redacted; None if absent."""
    try:
        body = json.loads(response.text)
        message = body["meta"]["developer_message"]
    except (ValueError, TypeError, KeyError):
        return None
    if not isinstance(message, str) or not message.strip():
        return None
    one_line = " ".join(message.split())
    if len(one_line) > _MAX_DEVELOPER_MESSAGE:
        one_line = one_line[: _MAX_DEVELOPER_MESSAGE - 1] + "…"
    return redact(one_line, secrets)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from `Retry-After` (delta-seconds or HTTP date); None if absent/unusable."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class _ResponseContext(TypedDict):
    """What every error made from a response says about where it happened."""

    endpoint: str
    client_id: str | None
    status: int
    developer_message: str | None


def error_from_response(
    response: httpx.Response,
    *,
    endpoint: str,
    client_id: str | None,
    credentials_hint: str,
    secrets: Iterable[str],
) -> PartnerApiError:
    """The exception that describes a non-2xx `response`."""
    status = response.status_code
    context: _ResponseContext = {
        "endpoint": endpoint,
        "client_id": client_id,
        "status": status,
        "developer_message": developer_message(response, secrets),
    }
    if status == 401:
        return AuthenticationError(
            "the Partner API refused the credentials", hint=credentials_hint, **context
        )
    if status == 403:
        return PermissionDeniedError(
            "the credentials may not read this resource",
            hint="check that D360_PARTNER_ID is the partner the credentials belong to",
            **context,
        )
    if status == 404:
        return NotFoundError(
            "not found",
            hint="check D360_PARTNER_ID and that the client id exists for this partner",
            **context,
        )
    if status == 429:
        return RateLimitedError(
            "rate limited by the Partner API",
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
            hint="lower D360_BALANCE_RATE or D360_CONCURRENCY, or retry later",
            **context,
        )
    if status >= 500:
        return ServerError(
            "the Partner API failed", hint="retry later; the API may be degraded", **context
        )
    return BadRequestError(
        "the Partner API rejected the request",
        hint="check the date range, PIPELINE_WINDOW_DAYS and any filters/sort given",
        **context,
    )


def error_from_transport(
    exc: httpx.TransportError,
    *,
    endpoint: str,
    client_id: str | None,
    base_url: str,
    retry_seconds: float,
) -> ApiUnreachableError:
    """The exception that describes a request that got no HTTP answer (the base URL holds no
    credentials: the configuration refuses a user or password in it)."""
    kind = type(exc).__name__
    detail = " ".join(str(exc).split()) or kind
    return ApiUnreachableError(
        f"no answer from the Partner API at {base_url} ({kind}: {detail})",
        endpoint=endpoint,
        client_id=client_id,
        hint=f"is D360_BASE_URL right? is the network up? (each request is retried for up to "
        f"{retry_seconds:g} s, D360_RETRY_SECONDS)",
    )
