"""The ASGI application: routes under /api/v2, error bodies, latency, the request log."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from . import routes_balance, routes_channels, routes_lists, routes_partner
from .balance_fast_path import BalanceFastPath
from .errors import ApiError, error_response
from .requestlog import RequestLogMiddleware
from .runtime import Runtime

PREFIX = "/api/v2"


def create_app(runtime: Runtime) -> ASGIApp:
    app = FastAPI(
        title="Partners V2 API (360dialog simulator)",
        version="2.0.0",
        description="A local simulator of the 360dialog Partner API v2.",
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=f"{PREFIX}/docs",
        redoc_url=None,
    )
    app.state.runtime = runtime
    for module in (routes_partner, routes_lists, routes_channels, routes_balance):
        app.include_router(module.router, prefix=PREFIX)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    served = BalanceFastPath(app, PREFIX)
    return RequestLogMiddleware(_Latency(served, runtime.options.latency_seconds), runtime.log)


async def _api_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def _validation_error(_request: Request, exc: Exception) -> Response:
    """Bad parameters or bodies are the vendor's 400 "Wrong payload", not FastAPI's 422."""
    assert isinstance(exc, RequestValidationError)
    details = [
        f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
    ]
    return error_response(ApiError(400, "Wrong payload", details))


async def _http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error_response(ApiError(exc.status_code, str(exc.detail)))


class _Latency:
    """Delays every request by a fixed time, like a far-away server."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.seconds > 0 and scope["type"] == "http":
            await asyncio.sleep(self.seconds)
        await self.app(scope, receive, send)
