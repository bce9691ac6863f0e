"""Parquet exports for BI: `<export_dir>/<table>/`, facts hive-partitioned by usage_date.

Everything is written first under a staging folder inside export_dir (same filesystem) and then
moved into place file by file with os.replace, so a reader never sees half a file. Data comes from
the published warehouse through a read-only connection: no lock, no waiting on a writer.
"""

import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from pipeline.warehouse.errors import WarehouseError
from pipeline.warehouse.store import Warehouse, affected_rows

PARTITIONED_TABLES = ("usage_daily", "usage_by_category", "usage_coverage")
SINGLE_FILE_TABLES = (
    "balance_snapshots",
    "clients",
    "channels",
    "clients_history",
    "channels_history",
)
PARTITION_PREFIX = "usage_date="


@dataclass(frozen=True)
class ExportResult:
    export_dir: Path
    rows: dict[str, int]  # rows written per table (for facts: in the exported range)
    files_written: int
    partitions_removed: int


def export_parquet(
    wh: Warehouse,
    export_dir: str | os.PathLike[str],
    *,
    start: date | None = None,
    end: date | None = None,
) -> ExportResult:
    """Export every table; with start and end, rewrite only the fact partitions of [start, end]
    (removing those that no longer have data), else all of them. Other tables are rewritten whole.
    """
    if (start is None) != (end is None) or (start and end and start > end):
        raise WarehouseError(f"export range {start}..{end} needs both ends, start <= end")
    root = Path(export_dir)
    staging = root / f".export-{uuid.uuid4().hex}"
    rows: dict[str, int] = {}
    written = removed = 0
    with wh.read() as con:
        try:
            staging.mkdir(parents=True)
            for table in PARTITIONED_TABLES:
                rows[table], files, gone = _export_partitions(con, table, root, staging, start, end)
                written += files
                removed += gone
            for table in SINGLE_FILE_TABLES:
                rows[table] = _export_single_file(con, table, root, staging)
                written += 1
        except (OSError, duckdb.IOException) as error:
            first_line = str(error).splitlines()[0]
            raise WarehouseError(f"cannot write the export under {root}: {first_line}") from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return ExportResult(root, rows, written, removed)


def _export_partitions(
    con: duckdb.DuckDBPyConnection,
    table: str,
    root: Path,
    staging: Path,
    start: date | None,
    end: date | None,
) -> tuple[int, int, int]:
    """Write the table's partitions in range; return (rows, files written, partitions removed)."""
    where, params = ("WHERE usage_date BETWEEN ? AND ?", [start, end]) if start else ("", [])
    staged = staging / table
    rows = affected_rows(
        con.execute(
            f"COPY (SELECT * FROM {table} {where} ORDER BY ALL) TO ? "
            "(FORMAT parquet, PARTITION_BY (usage_date))",
            [*params, str(staged)],
        )
    )
    target = root / table
    target.mkdir(parents=True, exist_ok=True)
    exported = sorted(staged.iterdir()) if staged.exists() else []
    files = sum(_publish_partition(partition, target / partition.name) for partition in exported)
    removed = 0
    for partition in target.glob(f"{PARTITION_PREFIX}*"):
        day = date.fromisoformat(partition.name.removeprefix(PARTITION_PREFIX))
        in_scope = start is None or (end is not None and start <= day <= end)
        if in_scope and not (staged / partition.name).exists():
            shutil.rmtree(partition)
            removed += 1
    return rows, files, removed


def _publish_partition(new: Path, target: Path) -> int:
    """Move a staged partition's files over the published one; drop files it no longer has."""
    target.mkdir(exist_ok=True)
    names = {file.name for file in new.iterdir()}
    for name in names:
        os.replace(new / name, target / name)
    for old in target.iterdir():
        if old.name not in names:
            old.unlink()
    return len(names)


def _export_single_file(
    con: duckdb.DuckDBPyConnection, table: str, root: Path, staging: Path
) -> int:
    staged = staging / f"{table}.parquet"
    rows = affected_rows(
        con.execute(
            f"COPY (SELECT * FROM {table} ORDER BY ALL) TO ? (FORMAT parquet)", [str(staged)]
        )
    )
    target = root / table
    target.mkdir(parents=True, exist_ok=True)
    os.replace(staged, target / f"{table}.parquet")
    return rows
