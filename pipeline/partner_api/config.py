"""The Partner API client's configuration: plain values, checked when built, before any request."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

import httpx

from .errors import ConfigError
from .retry import RetryPolicy

DEFAULT_BASE_URL = "https://hub.360dialog.io/api/v2"
# The documented limit of /info/balance: 5 requests per 30 s per client.
DEFAULT_BALANCE_RATE = (5, 30.0)
# Balance requests in flight at once (different clients). Each client is held to 5 requests per
# 30 s, so in a backfill the client count bounds the rate, and concurrency C at latency L keeps
# up with C / L * 6 clients: 8 at 0.5 s serves ~96 clients (8 / 0.5 s = 16 req/s = 96 x 5 / 30 s),
# while staying a polite load on an API whose other limits are undocumented. Raise it for
# partners with hundreds of clients.
DEFAULT_CONCURRENCY = 8
DEFAULT_WINDOW_DAYS = 31
MAX_WINDOW_DAYS = 366
# How long one request keeps retrying an API that fails or does not answer (D360_RETRY_SECONDS).
DEFAULT_RETRY_SECONDS = 120.0
MAX_RETRY_SECONDS = 3600.0
_LOOPBACK_NAMES = {"localhost"}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*$")
_PARTNER_ID = re.compile(r"^[A-Za-z0-9_-]+$")


class Secret:
    """A credential that never shows itself in a repr, a str, a log line or a traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class ApiConfig:
    """Everything the client needs, as plain values: the pipeline builds it from its settings
    (`pipeline.settings.Settings.api_config`), tests and tools build it directly."""

    partner_id: str
    api_key: Secret | None = None
    username: str | None = None
    password: Secret | None = None
    base_url: str = DEFAULT_BASE_URL
    balance_rate: tuple[int, float] = DEFAULT_BALANCE_RATE
    window_days: int = DEFAULT_WINDOW_DAYS
    concurrency: int = DEFAULT_CONCURRENCY
    page_size: int = 100
    timeout_seconds: float = 30.0
    token_renew_margin_seconds: float = 60.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def __post_init__(self) -> None:
        _check_base_url(self.base_url)
        if not self.partner_id or not _PARTNER_ID.match(self.partner_id):
            raise ConfigError(
                "D360_PARTNER_ID is missing or malformed: set it to your partner id from the "
                "360dialog Partner Hub (letters, digits, '_' and '-')"
            )
        _check_credentials(self)
        count, seconds = self.balance_rate
        if count < 1 or seconds <= 0:
            raise ConfigError(
                "D360_BALANCE_RATE must allow at least 1 request per positive period, e.g. 5/30"
            )
        if not 1 <= self.window_days <= MAX_WINDOW_DAYS:
            raise ConfigError(
                f"PIPELINE_WINDOW_DAYS must be a whole number of days from 1 to {MAX_WINDOW_DAYS}"
                f", e.g. {DEFAULT_WINDOW_DAYS}"
            )
        if self.concurrency < 1:
            raise ConfigError(
                f"D360_CONCURRENCY must be a whole number >= 1, e.g. {DEFAULT_CONCURRENCY}"
            )

    @property
    def retry_seconds(self) -> float:
        """D360_RETRY_SECONDS: the longest a request keeps retrying 5xx answers or no answer."""
        return self.retry.failing_give_up_after

    @property
    def uses_api_key(self) -> bool:
        return self.api_key is not None

    @property
    def credentials_hint(self) -> str:
        """What to check when the API refuses the credentials."""
        if self.uses_api_key:
            return "check D360_API_KEY (a partner API key from the Partner Hub 'API Keys' tab)"
        return "check D360_USERNAME and D360_PASSWORD (the partner user's login)"

    def secret_values(self) -> tuple[str, ...]:
        """The raw credential strings, for redaction only."""
        return tuple(s.reveal() for s in (self.api_key, self.password) if s is not None)


def is_loopback_host(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_base_url(base_url: str) -> None:
    try:
        url = httpx.URL(base_url)
    except httpx.InvalidURL:
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise ConfigError(
            "D360_BASE_URL is not an http(s) URL: set it like https://hub.360dialog.io/api/v2"
        )
    if url.userinfo:
        raise ConfigError(
            "D360_BASE_URL must not contain a user or password: use D360_API_KEY or "
            "D360_USERNAME/D360_PASSWORD instead"
        )
    if url.scheme != "https" and not is_loopback_host(url.host):
        raise ConfigError(
            f"D360_BASE_URL must use https:// for host {url.host} (credentials never go out in "
            "clear text; plain http is allowed only for 127.0.0.1, localhost and ::1)"
        )


def _check_credentials(cfg: ApiConfig) -> None:
    if cfg.username and cfg.password is None:
        raise ConfigError("D360_PASSWORD is not set but D360_USERNAME is: set both, or neither")
    if cfg.password is not None and not cfg.username:
        raise ConfigError("D360_USERNAME is not set but D360_PASSWORD is: set both, or neither")
    if cfg.api_key is None and cfg.username is None:
        raise ConfigError(
            "D360_API_KEY is not set (nor D360_USERNAME/D360_PASSWORD): set D360_API_KEY to a "
            "partner API key from the Partner Hub"
        )


def parse_rate(text: str) -> tuple[int, float]:
    """`N/SECONDS` (say `5/30`: 5 requests per 30 s) as (N, SECONDS); ValueError when malformed.

    The one parser of this format: D360_BALANCE_RATE and the simulator's --rate both use it.
    """
    match = _RATE.match(text)
    if match is None:
        raise ValueError("is not N/SECONDS: write it like 5/30 (5 requests per 30 seconds)")
    count, seconds = int(match.group(1)), float(match.group(2))
    if count < 1 or seconds <= 0:
        raise ValueError("must allow at least 1 request per positive period, e.g. 5/30")
    return count, seconds
