"""Finance: the markups and finance settings the views read, and the month's report."""

from collections.abc import Iterator
from datetime import date

import dagster as dg

from pipeline.defs.pools import WAREHOUSE_POOL
from pipeline.defs.resources import PipelineRuntime
from pipeline.finance import refresh_finance_inputs
from pipeline.report import ReportError, build_report
from pipeline.warehouse import export_parquet

# The month close is never part of a run: finance asks for it (`pipeline close`).
MONTH_CLOSE = "month_close"


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            "client_markups",
            group_name="publish",
            kinds={"duckdb", "csv"},
            description="Per-client markups from the PIPELINE_MARKUPS CSV (replaced whole).",
        ),
        dg.AssetSpec(
            "finance_settings",
            group_name="publish",
            kinds={"duckdb"},
            description="PIPELINE_DEFAULT_MARKUP_PCT and PIPELINE_LOW_BALANCE_DAYS, for the views.",
        ),
    ],
    pool=WAREHOUSE_POOL,
    required_resource_keys={"runtime"},
)
def finance_inputs(context: dg.AssetExecutionContext) -> Iterator[dg.MaterializeResult]:
    runtime: PipelineRuntime = context.resources.runtime
    settings = runtime.settings
    result = refresh_finance_inputs(
        runtime.warehouse,
        settings.markups_path,
        default_markup_pct=settings.default_markup_pct,
        low_balance_days=settings.low_balance_days,
        pricing_path=settings.pricing_path,
    )
    source = str(settings.markups_path) if settings.markups_path else "none (default markup only)"
    yield dg.MaterializeResult(
        asset_key="client_markups",
        metadata={
            "markups_file": source,
            "rows": result.markups,
            "clients_with_markup": result.clients_with_markup,
            "written": result.written,
        },
    )
    yield dg.MaterializeResult(
        asset_key="finance_settings",
        metadata={
            "default_markup_pct": float(result.default_markup_pct),
            "low_balance_days": result.low_balance_days,
            "written": result.written,
        },
    )


@dg.asset(
    deps=["reporting_views", "client_markups", "finance_settings"],
    group_name="publish",
    required_resource_keys={"runtime"},
    kinds={"html", "excel"},
    description="The latest ended month's report under PIPELINE_REPORT_DIR: a self-contained HTML "
    "page (charts inline) and the statement workbook, one sheet per currency.",
)
def finance_report(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    runtime: PipelineRuntime = context.resources.runtime
    try:
        files = build_report(runtime.warehouse, runtime.settings.report_dir)
    except ReportError as error:
        # Early on (say the first month of a daily schedule) no month has ended yet: nothing to
        # report is not a failure of the run.
        context.log.warning(f"no report: {error}")
        return dg.MaterializeResult(metadata={"report": f"none: {error}"})
    if runtime.progress:
        runtime.progress(f"report: {files.html} (statement: {files.statement.name})")
    return dg.MaterializeResult(
        metadata={
            "html": dg.MetadataValue.path(str(files.html.resolve())),
            "statement": dg.MetadataValue.path(str(files.statement.resolve())),
            "month": f"{files.month:%Y-%m}",
            "month_complete": files.month_complete,
            "currencies": ", ".join(files.currencies),
        }
    )


class CloseConfig(dg.Config):
    force_reason: str | None = None
    """Close a month that is not complete or does not reconcile, for this recorded reason."""


def month_close_asset(first_month: date) -> dg.AssetsDefinition:
    """Closing a month from Dagster: one partition per calendar month, never scheduled (finance
    decides when a month is invoiced), the same as `python -m pipeline close`."""

    @dg.asset(
        name=MONTH_CLOSE,
        deps=["reporting_views", "client_markups", "finance_settings"],
        partitions_def=dg.MonthlyPartitionsDefinition(
            start_date=first_month.isoformat(), timezone="UTC"
        ),
        group_name="finance",
        pool=WAREHOUSE_POOL,
        required_resource_keys={"runtime"},
        kinds={"duckdb", "pdf"},
        description="The month frozen into numbered statements (statements, statement_lines, "
        "statement_adjustments) and a PDF per statement under PIPELINE_REPORT_DIR/statements/.",
    )
    def month_close(context: dg.AssetExecutionContext, config: CloseConfig) -> dg.MaterializeResult:
        # Imported here: fpdf and its fonts cost a second and a half of every start-up (every
        # process that loads these definitions), and only a month close draws a PDF.
        from pipeline.report.statement_pdf import close_with_statements

        runtime: PipelineRuntime = context.resources.runtime
        month = date.fromisoformat(context.partition_key)
        closed = close_with_statements(
            runtime.warehouse, runtime.settings.report_dir, month, config.force_reason
        )
        # The statements go to BI with the month's facts (a month is one export partition).
        export_parquet(runtime.warehouse, runtime.settings.export_dir, start=month, end=month)
        return dg.MaterializeResult(
            metadata={
                "statements": len(closed.result.statements),
                "already_closed": closed.result.already_closed,
                "first_number": closed.result.statements[0].number,
                "last_number": closed.result.statements[-1].number,
                "folder": dg.MetadataValue.path(str(closed.folder.resolve())),
            }
        )

    return month_close
