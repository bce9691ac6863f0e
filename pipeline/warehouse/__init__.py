"""The warehouse stage: DuckDB schema, range-replace loads, history, views, quality, exports.

Takes polars frames in; knows nothing of HTTP or Dagster. The warehouse is a DuckLake (store.py):
every write is one transaction and one snapshot, and readers never block the pipeline.
"""

from pipeline.warehouse.errors import WarehouseBusyError, WarehouseError
from pipeline.warehouse.exports import ExportResult, export_parquet
from pipeline.warehouse.loads import (
    LoadResult,
    coverage_frame,
    load_channels,
    load_clients,
    load_usage,
)
from pipeline.warehouse.partner import load_partner_balance
from pipeline.warehouse.queries import (
    channel_apps,
    current_client_ids,
    range_summary,
    replay_fetches,
    rows,
    stored_bodies,
)
from pipeline.warehouse.raw_landing import REQUEST_KEY, RawLanding
from pipeline.warehouse.schema import DEFAULT_SQL_DIR, ensure_schema
from pipeline.warehouse.store import ObjectStorage, Snapshot, Warehouse
from pipeline.warehouse.usage_loads import UsageLoad
from pipeline.warehouse.views import create_views

__all__ = [
    "DEFAULT_SQL_DIR",
    "REQUEST_KEY",
    "ExportResult",
    "LoadResult",
    "ObjectStorage",
    "RawLanding",
    "Snapshot",
    "UsageLoad",
    "Warehouse",
    "WarehouseBusyError",
    "WarehouseError",
    "channel_apps",
    "coverage_frame",
    "create_views",
    "current_client_ids",
    "ensure_schema",
    "export_parquet",
    "load_channels",
    "load_clients",
    "load_partner_balance",
    "load_usage",
    "range_summary",
    "replay_fetches",
    "rows",
    "stored_bodies",
]
