"""Clients and channels: the paged lists, a client's shared numbers, and client updates."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from .access import Faultable, PartnerRuntime
from .listing import (
    CHANNEL_FILTERS,
    CHANNEL_SEARCH,
    CHANNEL_SORTS,
    CLIENT_FILTERS,
    CLIENT_SORTS,
    envelope,
    parse_list_query,
    select,
)
from .render import channel_json, client_json, hub_status, shared_number_json
from .wire import ExactJSONResponse

router = APIRouter()

Filters = Annotated[str | None, Query(
    description='JSON object of field -> value, e.g. {"contact_info.country": "DE"}; '
                'for channels "q" searches phone numbers and names')]
Sort = Annotated[str | None, Query(
    description="field, or -field for descending; several separated by commas")]
Limit = Annotated[int | None, Query(ge=0, description="at most the server's page size")]
Offset = Annotated[int | None, Query(ge=0)]


class ClientUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    partner_payload: str | None = None
    max_channels: int = Field(default=None, ge=0)  # type: ignore[assignment]  # null refused


@router.get("/partners/{partner_id}/clients", tags=["Client Management"], summary="List clients")
async def list_clients(
    call: Faultable,
    filters: Filters = None,
    sort: Sort = None,
    limit: Limit = None,
    offset: Offset = None,
) -> Response:
    runtime = call.runtime
    query = parse_list_query(filters, sort, limit, offset, runtime.options.max_page_size,
                             CLIENT_FILTERS, CLIENT_SORTS)
    if (replacement := await call.apply_fault()) is not None:
        return replacement
    items = [client_json(client) for client in runtime.world.clients.values()]
    page, total = select(items, query)
    return ExactJSONResponse(envelope(query, page, total, "clients"))


@router.get("/partners/{partner_id}/channels", tags=["Channel Management"],
            summary="List channels")
async def list_channels(
    call: Faultable,
    filters: Filters = None,
    sort: Sort = None,
    limit: Limit = None,
    offset: Offset = None,
) -> Response:
    runtime = call.runtime
    query = parse_list_query(filters, sort, limit, offset, runtime.options.max_page_size,
                             CHANNEL_FILTERS, CHANNEL_SORTS)
    if (replacement := await call.apply_fault()) is not None:
        return replacement
    world, now = runtime.world, runtime.world.clock()
    items = [channel_json(channel, world.clients[channel.client_id],
                          hub_status(channel, now, runtime.cancellation_delay))
             for channel in world.channels.values()]
    page, total = select(items, query, CHANNEL_SEARCH)
    return ExactJSONResponse(envelope(query, page, total, "partner_channels"))


@router.patch("/partners/{partner_id}/clients/{client_id}", tags=["Client Management"],
              summary="Update a client (max_channels, partner_payload)")
async def update_client(client_id: str, body: ClientUpdate,
                        runtime: PartnerRuntime) -> ExactJSONResponse:
    client = runtime.client(client_id)
    for name, value in body.model_dump(exclude_unset=True).items():
        setattr(client, name, value)
    client.modified_at = runtime.world.clock()
    return ExactJSONResponse(client_json(client))


@router.get("/partners/{partner_id}/clients/{client_id}/shared_client_numbers",
            tags=["Client Management"], summary="Channels of a client the partner may manage")
async def shared_client_numbers(client_id: str,
                                runtime: PartnerRuntime) -> ExactJSONResponse:
    client = runtime.client(client_id)
    now = runtime.world.clock()
    channels = sorted(runtime.world.channels_of(client.id), key=lambda ch: ch.id)
    return ExactJSONResponse([
        shared_number_json(ch, hub_status(ch, now, runtime.cancellation_delay)) for ch in channels
    ])
