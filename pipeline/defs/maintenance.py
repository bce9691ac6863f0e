"""The warehouse's maintenance as a Dagster job of one op (it makes no asset: the tables hold the
same rows before and after), run weekly by its schedule; what it did is the op's metadata."""

from datetime import timedelta

import dagster as dg

from pipeline.defs.pools import WAREHOUSE_POOL
from pipeline.defs.resources import PipelineRuntime
from pipeline.warehouse.maintenance import maintain

MAINTENANCE_JOB = "warehouse_maintenance"


@dg.op(
    pool=WAREHOUSE_POOL,
    required_resource_keys={"runtime"},
    out=dg.Out(dg.Nothing),
    description="DuckLake maintenance: flush inlined rows, rewrite files with many deletes, merge "
    "small files, expire snapshots older than PIPELINE_SNAPSHOT_RETENTION_DAYS (never one a "
    "statement records) and delete the files no snapshot needs.",
)
def maintain_warehouse(context: dg.OpExecutionContext) -> dg.Output[None]:
    runtime: PipelineRuntime = context.resources.runtime
    wh = runtime.warehouse
    if not wh.exists():
        # A schedule turned on before the first load: nothing to maintain is not a failure.
        return dg.Output(None, metadata={"warehouse": f"none yet at {wh.where()}"})
    days = runtime.settings.snapshot_retention_days
    result = maintain(wh, timedelta(days=days))
    return dg.Output(
        None,
        metadata={
            "files_before": result.before.files,
            "files_after": result.after.files,
            "bytes_before": result.before.bytes,
            "bytes_after": result.after.bytes,
            "snapshots_expired": result.snapshots_expired,
            "snapshots_kept": result.snapshots_kept,
            "statement_snapshots_kept": result.statement_snapshots,
            "retention_days": days,
            "readable_from": dg.MetadataValue.timestamp(result.readable_from),
            "rows_flushed": result.rows_flushed,
            "files_rewritten": result.files_rewritten,
            "files_merged": result.files_merged,
            "files_deleted": result.files_deleted,
        },
    )


@dg.job(
    name=MAINTENANCE_JOB,
    description="Compacts the warehouse and expires old snapshots (weekly, by its schedule).",
)
def maintenance_job() -> None:
    maintain_warehouse()
