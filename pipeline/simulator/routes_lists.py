"""Clients and channels: the paged lists, a client's shared numbers, and client updates."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from .access import Faultable, FaultableCall, PartnerRuntime
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

Filters = Annotated[
    str | None,
    Query(
        description='JSON object of field -> value, e.g. {"contact_info.country": "DE"}; '
        'for channels "q" searches phone numbers and names'
    ),
]
Sort = Annotated[
    str | None, Query(description="field, or -field for descending; several separated by commas")
]
Limit = Annotated[int | None, Query(ge=0, description="at most the server's page size")]
Offset = Annotated[int | None, Query(ge=0)]


class ClientUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    partner_payload: str | None = None
    max_channels: int = Field(default=None, ge=0)  # type: ignore[assignment]  # null refused


@dataclass(frozen=True)
class ListKind:
    """What differs between the two paged lists: the allowed fields, the search and the key."""

    filters: Collection[str]
    sorts: Collection[str]
    items_key: str
    search: Sequence[str] = ()


CLIENTS = ListKind(CLIENT_FILTERS, CLIENT_SORTS, "clients")
CHANNELS = ListKind(CHANNEL_FILTERS, CHANNEL_SORTS, "partner_channels", CHANNEL_SEARCH)


@dataclass(frozen=True)
class ListSource:
    """A list's items as of one request: their ids in ascending order, and how one looks."""

    ids: list[str]
    render: Callable[[str], dict[str, Any]]


async def _page(
    call: FaultableCall,
    kind: ListKind,
    source: Callable[[], ListSource],
    filters: str | None,
    sort: str | None,
    limit: int | None,
    offset: int | None,
) -> Response:
    # Bad input is refused before any fault, as a validating gateway would.
    query = parse_list_query(
        filters, sort, limit, offset, call.runtime.options.max_page_size, kind.filters, kind.sorts
    )
    if (replacement := await call.apply_fault()) is not None:
        return replacement
    items = source()  # after any slow fault, like the answer it goes into
    if not query.filters and query.sort == ["id"]:
        # How the pipeline lists: in id order, so only the page needs rendering. Rendering
        # every item for every page cost 0.2-0.7 s per page at 10,000 clients.
        ids = items.ids[query.offset : query.offset + query.limit]
        page, total = [items.render(ident) for ident in ids], len(items.ids)
    else:
        page, total = select([items.render(ident) for ident in items.ids], query, kind.search)
    return ExactJSONResponse(envelope(query, page, total, kind.items_key))


@router.get("/partners/{partner_id}/clients", tags=["Client Management"], summary="List clients")
async def list_clients(
    call: Faultable,
    filters: Filters = None,
    sort: Sort = None,
    limit: Limit = None,
    offset: Offset = None,
) -> Response:
    world = call.runtime.world

    def source() -> ListSource:
        return ListSource(world.client_ids, lambda ident: client_json(world.clients[ident]))

    return await _page(call, CLIENTS, source, filters, sort, limit, offset)


@router.get("/partners/{partner_id}/channels", tags=["Channel Management"], summary="List channels")
async def list_channels(
    call: Faultable,
    filters: Filters = None,
    sort: Sort = None,
    limit: Limit = None,
    offset: Offset = None,
) -> Response:
    runtime = call.runtime
    world = runtime.world

    def source() -> ListSource:
        now = world.clock()
        hidden = runtime.faults.faults.hidden_channels
        ids = world.channel_ids
        if hidden:
            ids = [ident for ident in ids if world.channels[ident].app_id not in hidden]

        def render(ident: str) -> dict[str, Any]:
            channel = world.channels[ident]
            status = hub_status(channel, now, runtime.cancellation_delay)
            return channel_json(channel, world.clients[channel.client_id], status)

        return ListSource(ids, render)

    return await _page(call, CHANNELS, source, filters, sort, limit, offset)


@router.patch(
    "/partners/{partner_id}/clients/{client_id}",
    tags=["Client Management"],
    summary="Update a client (max_channels, partner_payload)",
)
async def update_client(
    client_id: str, body: ClientUpdate, runtime: PartnerRuntime
) -> ExactJSONResponse:
    client = runtime.client(client_id)
    for name, value in body.model_dump(exclude_unset=True).items():
        setattr(client, name, value)
    client.modified_at = runtime.world.clock()
    return ExactJSONResponse(client_json(client))


@router.get(
    "/partners/{partner_id}/clients/{client_id}/shared_client_numbers",
    tags=["Client Management"],
    summary="Channels of a client the partner may manage",
)
async def shared_client_numbers(client_id: str, runtime: PartnerRuntime) -> ExactJSONResponse:
    client = runtime.client(client_id)
    now = runtime.world.clock()
    hidden = runtime.faults.faults.hidden_channels
    channels = sorted(
        (ch for ch in runtime.world.channels_of(client.id) if ch.app_id not in hidden),
        key=lambda ch: ch.id,
    )
    return ExactJSONResponse(
        [shared_number_json(ch, hub_status(ch, now, runtime.cancellation_delay)) for ch in channels]
    )
