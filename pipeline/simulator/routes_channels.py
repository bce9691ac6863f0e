"""Channel operations: API keys, local storage, cancellation requests."""

from __future__ import annotations

import secrets

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from .access import PartnerRuntime
from .errors import bad_request
from .render import channel_json, hub_status
from .routes_partner import Region
from .wire import ExactJSONResponse, success_meta

router = APIRouter(tags=["Channel Management"])
CONTROL = "/partners/{partner_id}/clients/{client_id}/channels/{channel_id}/control"


class LocalStorage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    data_localization_region: Region


@router.post(
    "/partners/{partner_id}/channels/{channel_id}/api_keys",
    summary="Generate an API key for a channel",
)
async def create_api_key(channel_id: str, runtime: PartnerRuntime) -> ExactJSONResponse:
    channel = runtime.channel(channel_id)
    return ExactJSONResponse(
        {
            "id": f"{channel.id}-key-{secrets.token_hex(4)}",
            "address": "https://waba-v2.360dialog.io",
            "api_key": secrets.token_urlsafe(24),
            "app_id": channel.app_id,
        }
    )


@router.post(f"{CONTROL}/enable_local_storage", summary="Enable Cloud API local storage")
async def enable_local_storage(
    client_id: str, channel_id: str, body: LocalStorage, runtime: PartnerRuntime
) -> ExactJSONResponse:
    channel = runtime.channel(channel_id, runtime.client(client_id).id)
    channel.data_localization_region = body.data_localization_region
    channel.modified_at = runtime.world.clock()
    return success_meta("Local storage setting successfully adjusted.")


@router.post(f"{CONTROL}/disable_local_storage", summary="Disable Cloud API local storage")
async def disable_local_storage(
    client_id: str, channel_id: str, runtime: PartnerRuntime
) -> ExactJSONResponse:
    channel = runtime.channel(channel_id, runtime.client(client_id).id)
    channel.data_localization_region = None
    channel.modified_at = runtime.world.clock()
    return success_meta("Local storage setting successfully adjusted.")


@router.post(
    f"{CONTROL}/cancellation_request",
    summary="Cancel the subscription of a channel",
    description="Sets cancelled_at now; hub_status turns pending_deletion after the "
    "simulator's cancellation delay.",
)
async def cancellation_request(
    client_id: str, channel_id: str, runtime: PartnerRuntime
) -> ExactJSONResponse:
    client = runtime.client(client_id)
    channel = runtime.channel(channel_id, client.id)
    if channel.cancelled_at is not None:
        raise bad_request("Cancellation already requested", f"channel {channel_id}")
    now = runtime.world.clock()
    channel.cancelled_at = channel.cancellation_requested_at = channel.modified_at = now
    return ExactJSONResponse(
        channel_json(channel, client, hub_status(channel, now, runtime.cancellation_delay))
    )
