"""The balance route without FastAPI's per-request machinery, for well-formed requests.

FastAPI's routing, dependency solving and parameter validation cost several times what a
one-day balance answer itself costs, and balance requests are nearly all of a pipeline's
traffic. This ASGI layer answers a plain `GET …/clients/{client_id}/info/balance` whose
parameters are simple (digits for the dates, non-empty text for the rest) with the same
authentication, fault schedule and answer as the route; anything else (a malformed or
repeated parameter, another path or method) goes on to FastAPI unchanged, so every error a
client can provoke is still FastAPI's own.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI
from starlette.requests import Request
from starlette.types import Receive, Scope, Send

from .access import faultable_access
from .balance import DEFAULT_END, DEFAULT_START
from .errors import ApiError, error_response
from .routes_balance import answer_balance

_SCALARS = ("start_date", "end_date", "granularity")


class BalanceFastPath:
    """Wraps the FastAPI app itself (whose state holds the runtime)."""

    def __init__(self, app: FastAPI, prefix: str) -> None:
        self.app = app
        self._path = re.compile(
            rf"{re.escape(prefix)}/partners/([^/]+)/clients/([^/]+)/info/balance"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = None
        if scope["type"] == "http" and scope["method"] == "GET":
            match = self._path.fullmatch(scope["path"])
        params = _simple_params(scope["query_string"]) if match else None
        if match is None or params is None:
            await self.app(scope, receive, send)
            return
        partner_id, client_id = match.groups()
        scope["app"] = self.app  # as Starlette would set it: the access checks read its state
        request = Request(scope)
        try:
            call = await faultable_access(
                request, partner_id, request.headers.get("x-api-key"), None
            )
            response = await answer_balance(call, client_id, **params)
        except ApiError as error:
            response = error_response(error)
        await response(scope, receive, send)


def _simple_params(query_string: bytes) -> dict[str, Any] | None:
    """The route's parameters when each is given in the plain form, else None."""
    start_date, end_date, granularity = DEFAULT_START, DEFAULT_END, "month"
    app_id: list[str] | None = None
    seen: set[str] = set()
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name == "app_id":
            if not value:
                return None
            app_id = [*(app_id or ()), value]
            continue
        if name not in _SCALARS:
            continue  # FastAPI ignores parameters a route does not declare
        if name in seen or not value:
            return None
        seen.add(name)
        if name == "granularity":
            granularity = value
        elif value.isascii() and value.isdigit():
            if name == "start_date":
                start_date = int(value)
            else:
                end_date = int(value)
        else:
            return None
    return {
        "start_date": start_date,
        "end_date": end_date,
        "granularity": granularity,
        "app_id": app_id,
    }
