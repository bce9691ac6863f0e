"""Client and channel objects from the list endpoints -> the clients and channels frames.

Each output column is a path into the vendor's nested object; polars reads the objects with an
explicit nested schema, so missing objects or fields become null and unknown ones are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import polars as pl

from pipeline.transform.errors import DirectoryFormatError, show_value
from pipeline.transform.parsing import first_problem, utc_timestamp
from pipeline.transform.schemas import CHANNELS, CLIENTS, UTC_TIMESTAMP, schema_of

Path = tuple[str, ...]

CLIENT_PATHS: dict[str, Path] = {
    "client_id": ("id",),
    "name": ("name",),
    "status": ("status",),
    "organisation": ("organisation",),
    "max_channels": ("max_channels",),
    "created_at": ("created_at",),
    "modified_at": ("modified_at",),
    "partner_payload": ("partner_payload",),
    "business_vertical": ("meta_info", "business_vertical"),
    "timezone": ("meta_info", "timezone"),
    "country": ("contact_info", "country"),
    "language": ("contact_info", "language"),
    "email": ("contact_info", "email"),
}

CHANNEL_PATHS: dict[str, Path] = {
    "channel_id": ("id",),
    "client_id": ("client_id",),
    "app_id": ("integration", "app_id"),
    "phone_number": ("setup_info", "phone_number"),
    "phone_name": ("setup_info", "phone_name"),
    "hub_status": ("hub_status",),
    "status": ("status",),
    "account_mode": ("account_mode",),
    "current_quality_rating": ("current_quality_rating",),
    "current_limit": ("current_limit",),
    "hosting_platform_type": ("integration", "hosting_platform_type"),
    "data_localization_region": ("settings", "data_localization_region"),
    "tier": ("settings", "tier"),
    "waba_account_id": ("waba_account", "id"),
    "created_at": ("created_at",),
    "billing_started_at": ("billing_started_at",),
    "cancelled_at": ("cancelled_at",),
    "terminated_at": ("terminated_at",),
}
# a channel's owner is also nested under `client`; used when the top-level client_id is missing
_CHANNEL_CLIENT_FALLBACK: Path = ("client", "id")


def clients_frame(clients: Sequence[Mapping[str, Any]], observed_at: datetime) -> pl.DataFrame:
    """One row per client id (the last occurrence wins), sorted by id; schema CLIENTS."""
    return _directory_frame("client", clients, CLIENT_PATHS, CLIENTS, observed_at)


def channels_frame(channels: Sequence[Mapping[str, Any]], observed_at: datetime) -> pl.DataFrame:
    """One row per channel id (the last occurrence wins), sorted by id; schema CHANNELS."""
    paths = {**CHANNEL_PATHS, "_client_fallback": _CHANNEL_CLIENT_FALLBACK}
    schema = schema_of({**CHANNELS, "_client_fallback": pl.String})
    frame = _directory_frame("channel", channels, paths, schema, observed_at)
    return frame.with_columns(pl.coalesce("client_id", "_client_fallback")).drop("_client_fallback")


def _directory_frame(
    kind: str,
    items: Sequence[Mapping[str, Any]],
    paths: Mapping[str, Path],
    schema: pl.Schema,
    observed_at: datetime,
) -> pl.DataFrame:
    """Read `items` with the nested schema `paths` implies, then pick and type each column."""
    text_types = {name: _text_type(dtype) for name, dtype in schema.items()}
    nested = _nested_schema({paths[name]: text_types[name] for name in paths})
    try:
        raw = pl.from_dicts(items, schema=nested)
    except (TypeError, ValueError, pl.exceptions.PolarsError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DirectoryFormatError(kind, "?", "(object)", f"cannot be read: {message}") from None
    picked = raw.select(_path_expr(path).alias(name) for name, path in paths.items())
    id_column = next(iter(paths))
    timestamps = [
        name for name, dtype in schema.items() if dtype == UTC_TIMESTAMP and name in paths
    ]
    _check(kind, picked, id_column, timestamps)
    return (
        picked.with_columns(utc_timestamp(pl.col(name)) for name in timestamps)
        .with_columns(pl.lit(observed_at.astimezone(UTC), UTC_TIMESTAMP).alias("observed_at"))
        .unique(id_column, keep="last", maintain_order=True)
        .sort(id_column)
        .select(schema.names())
    )


def _text_type(dtype: pl.DataType) -> pl.DataType:
    """Timestamps are read as text and parsed after (polars would not parse the `Z` forms)."""
    return pl.String() if dtype == UTC_TIMESTAMP else dtype


def _nested_schema(leaves: Mapping[Path, pl.DataType]) -> dict[str, pl.DataType]:
    """{("integration", "app_id"): String} -> {"integration": Struct({"app_id": String})}."""
    tree: dict[str, Any] = {}
    for path, dtype in leaves.items():
        node = tree
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = dtype

    def build(node: dict[str, Any]) -> dict[str, pl.DataType]:
        return {
            key: pl.Struct(build(value)) if isinstance(value, dict) else value
            for key, value in node.items()
        }

    return build(tree)


def _path_expr(path: Path) -> pl.Expr:
    expr = pl.col(path[0])
    for key in path[1:]:
        expr = expr.struct.field(key)
    return expr


def _check(kind: str, frame: pl.DataFrame, id_column: str, timestamps: Sequence[str]) -> None:
    """Every item has an id; every timestamp present parses."""
    problems = {id_column: pl.col(id_column).is_null() | (pl.col(id_column) == "")}
    problems |= {
        name: pl.col(name).is_not_null() & utc_timestamp(pl.col(name)).is_null()
        for name in timestamps
    }
    found = first_problem(frame, problems)
    if found is not None:
        row, field = found
        value = row[field]
        problem = (
            "is missing" if field == id_column else f"is not an ISO timestamp: {show_value(value)}"
        )
        raise DirectoryFormatError(kind, str(row[id_column] or "?"), field, problem)
