"""GET .../clients/{client_id}/info/balance: usage and balance, rate limited per client."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from .access import Faultable, FaultableCall
from .balance import DEFAULT_END, DEFAULT_START, balance_json, parse_balance_query
from .errors import not_found
from .malformed import spoil

router = APIRouter()


@router.get(
    "/partners/{partner_id}/clients/{client_id}/info/balance",
    tags=["Balance & Usage"],
    summary="Client balance and usage",
    description="At most N requests per window per client (default 5 per 30 s), "
    "then 429, sometimes with Retry-After.",
)
async def client_balance(
    client_id: str,
    call: Faultable,
    start_date: Annotated[int, Query(ge=0, description="UNIX seconds, UTC, inclusive")] = (
        DEFAULT_START
    ),
    end_date: Annotated[int, Query(ge=0, description="UNIX seconds, UTC, inclusive")] = (
        DEFAULT_END
    ),
    granularity: Annotated[str, Query(description="day or month (either case)")] = "month",
    app_id: Annotated[
        list[str] | None, Query(description="app ids: comma-separated and/or repeated")
    ] = None,
) -> Response:
    return await answer_balance(call, client_id, start_date, end_date, granularity, app_id)


async def answer_balance(
    call: FaultableCall,
    client_id: str,
    start_date: int,
    end_date: int,
    granularity: str,
    app_id: list[str] | None,
) -> Response:
    """The route's answer once its parameters are parsed; the fast path calls it too."""
    runtime = call.runtime
    client = runtime.client(client_id)
    if client_id in runtime.faults.faults.vanished_clients:
        raise not_found("Client", client_id)
    if (replacement := await call.apply_fault()) is not None:
        return replacement
    if runtime.balance_limit is not None:
        runtime.balance_limit.admit(client.id)
    world = runtime.world
    query = parse_balance_query(
        start_date,
        end_date,
        granularity,
        app_id,
        (world.history_start, world.today - timedelta(days=1)),
        runtime.options.max_window_days,
    )
    faults = runtime.faults.faults
    body = balance_json(client, runtime.usage, query, faults.schema_drift)
    if (kind := faults.malformed.get(client_id)) is not None:
        body = spoil(body, kind)
        call.request.state.fault = f"malformed:{kind}"
    return Response(body, media_type="application/json")
