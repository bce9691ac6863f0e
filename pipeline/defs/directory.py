"""The directory assets: the clients and channels listings, loaded as current state plus history,
and the partner's own prepaid balance, snapshotted on every run."""

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import dagster as dg
import polars as pl

from pipeline import clock
from pipeline.defs.metadata import api_effort, preview
from pipeline.defs.pools import WAREHOUSE_POOL
from pipeline.defs.resources import PipelineRuntime
from pipeline.interrupts import run_async
from pipeline.partner_api import PartnerApiClient
from pipeline.transform import channels_frame, clients_frame, partner_balance_frame
from pipeline.warehouse import Warehouse, load_channels, load_clients, load_partner_balance
from pipeline.warehouse.history import ENTITY_KEYS, current_ids

T = TypeVar("T")


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
        "Every client of the partner (current state), with a history of changed attributes "
        "and of clients gone from the listing.",
        lambda api: api.list_clients(),
        clients_frame,
        load_clients,
    ),
    Listing(
        "channels",
        "Every channel (phone number) of the partner's clients, with a history of status, "
        "quality rating, messaging limit and cancellation changes, and of channels gone.",
        lambda api: api.list_channels(),
        channels_frame,
        load_channels,
    ),
)


async def _call_api(
    runtime: PipelineRuntime, call: Callable[[PartnerApiClient], Awaitable[T]]
) -> tuple[T, dict[str, int | float]]:
    async with PartnerApiClient(runtime.api_config) as api:
        result = await call(api)
        return result, api.stats.as_dict()


def shrink_problem(name: str, held: int, listed: int, max_pct: int) -> str | None:
    """Why a listing of `listed` entities may not replace the `held` ones without the operator's
    word (one line: the counts, and how to confirm): it is empty, or more than `max_pct` percent
    shorter. None when it may."""
    confirm = "confirm with PIPELINE_ALLOW_LISTING_SHRINK=on and run again"
    if listed == 0 and held == 0:
        return (
            f"the {name} listing is empty: nothing was loaded. If the partner really has no "
            f"{name} yet, {confirm}"
        )
    if listed == 0 or (held - listed) * 100 > max_pct * held:
        fewer = (held - listed) * 100 // held
        return (
            f"the {name} listing has {listed} {name} where the warehouse holds {held} "
            f"({fewer}% fewer; PIPELINE_LISTING_SHRINK_PCT={max_pct}): nothing was loaded. If "
            f"that many {name} were really removed (check the 360dialog Partner Hub), {confirm}"
        )
    return None


def _held_ids(warehouse: Warehouse, table: str) -> list[str]:
    if not warehouse.exists():
        return []
    with warehouse.read() as con:
        return current_ids(con, table)


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
        # A listing whose pages repeat or fall short was refused by the client already; what is
        # left to doubt is a whole listing that is suddenly much shorter than the last one.
        items, stats = run_async(_call_api(runtime, listing.fetch))
        observed_at = clock.now()
        frame = listing.to_frame(items, observed_at)
        held = _held_ids(runtime.warehouse, listing.name)
        settings = runtime.settings
        problem = shrink_problem(listing.name, len(held), frame.height, settings.listing_shrink_pct)
        if problem and not settings.allow_listing_shrink:
            raise dg.Failure(problem)
        loaded = listing.load(runtime.warehouse, frame, observed_at)
        gone = len(set(held) - set(frame[ENTITY_KEYS[listing.name]]))
        if runtime.progress:
            removed = f", {gone} gone (recorded as removed in history)" if gone else ""
            runtime.progress(f"{listing.name}: {frame.height} loaded{removed}")
        return dg.MaterializeResult(
            metadata={
                "rows": frame.height,
                "gone": gone,
                **loaded.as_metadata(),
                **api_effort(stats),
                "duration_seconds": round(time.monotonic() - began, 3),
                "preview": preview(frame),
            }
        )

    return _asset


@dg.asset(
    name="partner_balance",
    description="The partner's prepaid balance per top-up currency (GET /partners/{id}/balance), "
    "a snapshot on every run: at zero, outbound messaging stops for every partner-paid client.",
    group_name="directory",
    pool=WAREHOUSE_POOL,
    required_resource_keys={"runtime"},
    kinds={"duckdb", "python"},
)
def partner_balance(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    runtime: PipelineRuntime = context.resources.runtime
    began = time.monotonic()
    answer, stats = run_async(_call_api(runtime, lambda api: api.fetch_partner_balance()))
    frame = partner_balance_frame(answer.content, answer.fetched_at)
    loaded = load_partner_balance(runtime.warehouse, frame)
    # Exact text, never a float: "EUR 1234.5600000000" -> "EUR 1234.56".
    balances = ", ".join(
        f"{row['currency']} {row['total'].normalize():f}" for row in frame.iter_rows(named=True)
    )
    if runtime.progress:
        runtime.progress(f"partner balance: {balances or 'no balance records'}")
    return dg.MaterializeResult(
        metadata={
            "rows": frame.height,
            "balances": balances,
            **loaded.as_metadata(),
            **api_effort(stats),
            "duration_seconds": round(time.monotonic() - began, 3),
        }
    )


directory_assets = [*(listing_asset(listing) for listing in LISTINGS), partner_balance]
