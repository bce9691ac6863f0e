"""What analysts read: the SQL reporting views and the parquet exports for BI tools."""

import dagster as dg

from pipeline.defs.partitions import run_day_range
from pipeline.defs.pools import WAREHOUSE_POOL
from pipeline.defs.resources import PipelineRuntime
from pipeline.warehouse import create_views, export_parquet

FACTS = ["usage_daily", "usage_by_category", "clients", "channels"]


@dg.asset(
    deps=FACTS,
    group_name="publish",
    pool=WAREHOUSE_POOL,
    required_resource_keys={"runtime"},
    kinds={"duckdb", "sql"},
    description="The reporting views in sql/views, created or replaced after the tables load.",
)
def reporting_views(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    runtime: PipelineRuntime = context.resources.runtime
    views = create_views(runtime.warehouse)
    return dg.MaterializeResult(metadata={"views": len(views), "names": ", ".join(views)})


@dg.asset(
    deps=[*FACTS, reporting_views],
    group_name="publish",
    required_resource_keys={"runtime"},
    kinds={"parquet"},
    description="Parquet files for BI tools under PIPELINE_EXPORT_DIR/<name>/ (a folder or an "
    "s3:// prefix): the tables and the finance views, the facts hive-partitioned by usage_month. "
    "A run over a day range rewrites only the months it reaches; in a folder the new export "
    "replaces the old one at once (a symlink switch), on S3 object by object.",
)
def parquet_exports(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    runtime: PipelineRuntime = context.resources.runtime
    day_range = run_day_range(dict(context.run.tags))
    start, end = day_range if day_range else (None, None)
    result = export_parquet(runtime.warehouse, runtime.settings.export_dir, start=start, end=end)
    if runtime.progress:
        runtime.progress(f"exports: {result.files_written} parquet files written")
    return dg.MaterializeResult(
        metadata={
            # Not resolved: the export dir is a symlink, and the version it points to goes later.
            "export_dir": dg.MetadataValue.path(result.export_dir),
            "version": result.version or "(s3: no versions)",
            "files_written": result.files_written,
            "files_removed": result.files_removed,
            "first_day": start.isoformat() if start else "all",
            "last_day": end.isoformat() if end else "all",
        }
    )
