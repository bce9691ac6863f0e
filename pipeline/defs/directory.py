"""The `clients` and `channels` assets: full listings loaded as current state plus history."""

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import polars as pl

from pipeline.defs.metadata import api_effort, preview
from pipeline.defs.resources import PipelineRuntime
from pipeline.partner_api import PartnerApiClient
from pipeline.transform import channels_frame, clients_frame
from pipeline.warehouse import Warehouse, load_channels, load_clients

WAREHOUSE_POOL = "warehouse"


@dataclass(frozen=True)
class Listing:
    name: str
    description: str
    fetch: Callable[[PartnerApiClient], Awaitable[list[dict[str, Any]]]]
    to_frame: Callable[[Sequence[Mapping[str, Any]], datetime], pl.DataFrame]
    load: Callable[[Warehouse, pl.DataFrame, datetime], Any]


LISTINGS = (
    Listing(
        "clients",
        "Every client of the partner (current state), with a history of changed attributes.",
        lambda api: api.list_clients(),
        clients_frame,
        load_clients,
    ),
    Listing(
        "channels",
        "Every channel (phone number) of the partner's clients, with a history of status, "
        "quality rating, messaging limit and cancellation changes.",
        lambda api: api.list_channels(),
        channels_frame,
        load_channels,
    ),
)


async def _fetch_listing(runtime: PipelineRuntime, listing: Listing) -> tuple[list, dict]:
    async with PartnerApiClient(runtime.api_config) as api:
        items = await listing.fetch(api)
        return items, api.stats.as_dict()


def listing_asset(listing: Listing) -> dg.AssetsDefinition:
    @dg.asset(
        name=listing.name,
        description=listing.description,
        group_name="directory",
        pool=WAREHOUSE_POOL,
        required_resource_keys={"runtime"},
        kinds={"duckdb", "python"},
    )
    def _asset(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        runtime: PipelineRuntime = context.resources.runtime
        began = time.monotonic()
        items, stats = asyncio.run(_fetch_listing(runtime, listing))
        observed_at = datetime.now(UTC)
        frame = listing.to_frame(items, observed_at)
        loaded = listing.load(runtime.warehouse, frame, observed_at)
        if runtime.progress:
            runtime.progress(f"{listing.name}: {frame.height} loaded")
        return dg.MaterializeResult(
            metadata={
                "rows": frame.height,
                **loaded.as_metadata(),
                **api_effort(stats),
                "duration_seconds": round(time.monotonic() - began, 3),
                "preview": preview(frame),
            }
        )

    return _asset


directory_assets = [listing_asset(listing) for listing in LISTINGS]
