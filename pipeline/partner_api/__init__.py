"""Client of the 360dialog Partner API v2: auth, per-client rate limit, retries, pagination.

Knows nothing of Dagster, DuckDB or the pipeline's settings (the pipeline builds the ApiConfig
from them: `pipeline.settings.Settings.api_config()`). Typical use::

    cfg = ApiConfig(partner_id="...", api_key=Secret("..."))
    async with PartnerApiClient(cfg) as api:
        clients = await api.list_clients()
        fetch = await api.fetch_usage([c["id"] for c in clients], start, end)
"""

from .client import PartnerApiClient
from .config import ApiConfig, Secret
from .errors import (
    ApiUnreachableError,
    AuthenticationError,
    BadRequestError,
    ConfigError,
    NotFoundError,
    PartnerApiError,
    PermissionDeniedError,
    RateLimitedError,
    ResponseFormatError,
    ServerError,
    UntrustedListingError,
)
from .partner import PartnerBalance
from .retry import RetryPolicy
from .stats import RequestStats
from .usage import BalanceRequest, BalanceWindow, UsageFetch
from .windows import split_windows, unix_bounds

__all__ = [
    "ApiConfig",
    "ApiUnreachableError",
    "AuthenticationError",
    "BadRequestError",
    "BalanceRequest",
    "BalanceWindow",
    "ConfigError",
    "NotFoundError",
    "PartnerApiClient",
    "PartnerApiError",
    "PartnerBalance",
    "PermissionDeniedError",
    "RateLimitedError",
    "RequestStats",
    "ResponseFormatError",
    "RetryPolicy",
    "Secret",
    "ServerError",
    "UntrustedListingError",
    "UsageFetch",
    "split_windows",
    "unix_bounds",
]
