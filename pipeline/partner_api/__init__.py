"""Client of the 360dialog Partner API v2: auth, per-client rate limit, retries, pagination.

Knows nothing of Dagster or DuckDB. Typical use::

    cfg = ApiConfig.from_env(os.environ)
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
