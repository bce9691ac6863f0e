"""What a simulator run looks like: its size, credentials, limits and injected faults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Literal

from .malformed import MALFORMED_KINDS, MalformedKind

RetryAfterPolicy = Literal["always", "never", "sometimes"]
# "auto": one object when the partner tops up in one currency, a list of them with several.
PartnerBalanceShape = Literal["auto", "object", "list"]


@dataclass(frozen=True)
class Faults:
    """Faults injected into the balance and list endpoints, on a request-counter schedule.

    Every ``*_every`` is a period N counted over faultable requests (0 switches the fault off):
    the N-th, 2N-th, ... request gets the fault, so a run is reproducible request by request.
    """

    error_burst_every: int = 0  # every N-th request starts a burst of 5xx answers ...
    error_burst_length: int = 1  # ... this many in a row (cycling 500, 502, 503)
    drop_every: int = 0  # connection closed mid-body (client sees a protocol error)
    slow_every: int = 0  # answer only after slow_seconds
    slow_seconds: float = 5.0
    rate_limit_every: int = 0  # forced 429, whatever the sliding window says
    token_expiry_every: int = 0  # all bearer tokens are revoked just before this request
    schema_drift: bool = False  # unknown usage category on some rows, optional fields missing
    # Balance requests for these clients answer 404, as for a client deleted after the listing.
    vanished_clients: frozenset[str] = frozenset()
    # Channels (by app_id) the channel listings leave out although their usage still counts in
    # their client's totals: what a partner sees for a number it does not manage.
    hidden_channels: frozenset[str] = frozenset()
    # client id -> how every balance answer of that client is malformed (malformed.py lists the
    # kinds: "usage_null", "negative_price", "non_utf8", ...). Applied after the other faults.
    malformed: Mapping[str, MalformedKind] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.malformed.values()) - set(MALFORMED_KINDS))
        if unknown:
            raise ValueError(
                f"unknown malformed kind {unknown[0]!r}: one of {', '.join(MALFORMED_KINDS)}"
            )
        # A read-only copy: the caller's dict cannot change a running simulator's faults.
        object.__setattr__(self, "malformed", MappingProxyType(dict(self.malformed)))
        periods = (
            self.error_burst_every,
            self.drop_every,
            self.slow_every,
            self.rate_limit_every,
            self.token_expiry_every,
        )
        if min(periods) < 0 or self.error_burst_length < 1 or self.slow_seconds < 0:
            raise ValueError("fault periods must be >= 0, burst length >= 1, slow_seconds >= 0")
        if self.error_burst_every and self.error_burst_length >= self.error_burst_every:
            raise ValueError("error_burst_length must be shorter than error_burst_every")


@dataclass(frozen=True)
class SimulatorOptions:
    """Everything that shapes one simulator run; the same options give the same responses."""

    seed: int = 7
    clients: int = 25
    max_channels_per_client: int = 3
    history_days: int = 1200  # usage from today - history_days up to yesterday (UTC)
    today: date | None = None  # None: the real current UTC date; pin it for reproducible tests
    partner_id: str = "simPA"
    # Top-up currencies of the partner's prepaid balance (ISO codes), in top-up order.
    partner_currencies: tuple[str, ...] = ("EUR",)
    partner_balance_shape: PartnerBalanceShape = "auto"
    api_key: str = field(default="sim-api-key", repr=False)
    username: str = "partner@example.com"
    password: str = field(default="sim-password", repr=False)
    balance_rate: tuple[int, float] | None = (5, 30.0)  # per client on /info/balance; None: off
    retry_after: RetryAfterPolicy = "sometimes"
    max_page_size: int = 100
    token_ttl_seconds: float = 3600.0
    max_window_days: int | None = 366  # widest /info/balance window (clipped to history)
    # The last N days before today are estimates, reported short (late messages are counted
    # later); a day's figures are final once it is older. The pipeline's refetch covers them.
    estimate_days: int = 3
    cancellation_delay_seconds: float = 5.0  # cancelled channel turns pending_deletion after this
    latency_seconds: float = 0.0  # added to every request
    host: str = "127.0.0.1"
    port: int = 0  # 0: a free port
    faults: Faults = field(default_factory=Faults)

    def __post_init__(self) -> None:
        if self.clients < 0 or self.max_channels_per_client < 1 or self.history_days < 1:
            raise ValueError("clients >= 0, max_channels_per_client >= 1, history_days >= 1")
        if self.estimate_days < 0:
            raise ValueError("estimate_days must be >= 0")
        if self.max_page_size < 1:
            raise ValueError("max_page_size must be >= 1")
        rate = self.balance_rate
        if rate is not None and (rate[0] < 1 or rate[1] <= 0):
            raise ValueError("balance_rate must be (count >= 1, seconds > 0) or None")
        if self.retry_after not in ("always", "never", "sometimes"):
            raise ValueError("retry_after must be always, never or sometimes")
        self._check_partner_balance()

    def _check_partner_balance(self) -> None:
        currencies = self.partner_currencies
        if not currencies or len(set(currencies)) != len(currencies):
            raise ValueError("partner_currencies must be one or more distinct currencies")
        if not all(len(c) == 3 and c.isalpha() and c.isupper() for c in currencies):
            raise ValueError("partner_currencies must be ISO codes in upper case, e.g. EUR")
        if self.partner_balance_shape not in ("auto", "object", "list"):
            raise ValueError("partner_balance_shape must be auto, object or list")
        if self.partner_balance_shape == "object" and len(currencies) > 1:
            raise ValueError("partner_balance_shape object holds one currency only")
