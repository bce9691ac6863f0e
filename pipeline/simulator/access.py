"""Route dependencies: authenticate the caller, resolve the partner, and schedule faults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.responses import Response

from .errors import not_found
from .faults import Injection, inject
from .runtime import Runtime

api_key_header = APIKeyHeader(
    name="X-API-Key",
    scheme_name="PartnerApiKeyV2",
    auto_error=False,
    description="Partner API key (preferred)",
)
bearer_token = HTTPBearer(
    scheme_name="Bearer",
    bearerFormat="JWT",
    auto_error=False,
    description="access_token from POST /api/v2/token",
)


def runtime_of(request: Request) -> Runtime:
    return request.app.state.runtime


def _authorize(request: Request, partner_id: str, api_key: str | None) -> Runtime:
    runtime = runtime_of(request)
    runtime.credentials.check(api_key, request.headers.get("authorization"))
    if partner_id != runtime.world.partner.id:
        raise not_found("Partner", partner_id)
    return runtime


ApiKey = Annotated[str | None, Security(api_key_header)]
# Read from the raw header by Credentials; declared so OpenAPI lists the Bearer scheme.
BearerToken = Annotated[HTTPAuthorizationCredentials | None, Security(bearer_token)]


async def partner_access(
    request: Request, partner_id: str, api_key: ApiKey, _bearer: BearerToken
) -> Runtime:
    return _authorize(request, partner_id, api_key)


@dataclass
class FaultableCall:
    """An authorized call on an endpoint that faults apply to, with its scheduled fault."""

    runtime: Runtime
    request: Request
    injection: Injection | None

    async def apply_fault(self) -> Response | None:
        """Injects the scheduled fault (raising for error answers); a Response replaces the
        normal answer."""
        injection = self.injection
        if injection is None or injection.kind == "token_expiry":
            return None
        self.request.state.fault = injection.kind
        if injection.kind == "rate_limit":
            raise self.runtime.too_many.error(1.0, "injected fault: forced 429")
        return await inject(injection, self.runtime.faults.faults.slow_seconds)


async def faultable_access(
    request: Request, partner_id: str, api_key: ApiKey, _bearer: BearerToken
) -> FaultableCall:
    runtime = runtime_of(request)
    injection = runtime.faults.decide()
    if injection is not None and injection.kind == "token_expiry":
        # Before authentication, so the bearer token this request carries is already gone.
        runtime.credentials.revoke_all_tokens()
        request.state.fault = injection.kind
    return FaultableCall(_authorize(request, partner_id, api_key), request, injection)


PartnerRuntime = Annotated[Runtime, Depends(partner_access)]
Faultable = Annotated[FaultableCall, Depends(faultable_access)]
