"""The finance assets in the Dagster definitions: part of the refresh job, after the views."""

from __future__ import annotations

import dagster as dg
from finance.book import query
from finance.conftest import summer_book

from pipeline.definitions import REFRESH_JOB, build_definitions
from pipeline.warehouse import Warehouse

FINANCE = ["client_markups", "finance_settings", "finance_report"]


def environment(tmp_path, **extra: str) -> dict[str, str]:
    return {
        "D360_BASE_URL": "http://127.0.0.1:9/api/v2",  # never called by these assets
        "PIPELINE_WAREHOUSE": str(tmp_path / "warehouse.sqlite"),
        "PIPELINE_EXPORT_DIR": str(tmp_path / "export"),
        "PIPELINE_REPORT_DIR": str(tmp_path / "reports"),
        "PIPELINE_START_DATE": "2024-06-01",
        **extra,
    }


def materialize_finance(defs: dg.Definitions) -> dg.ExecuteInProcessResult:
    job = defs.resolve_implicit_global_asset_job_def()
    return job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        asset_selection=[dg.AssetKey(key) for key in FINANCE],
        raise_on_error=False,
    )


def test_the_refresh_job_builds_the_finance_report_after_the_views(tmp_path):
    defs = build_definitions(environment(tmp_path))
    in_job = defs.resolve_job_def(REFRESH_JOB).asset_layer.executable_asset_keys
    assert {dg.AssetKey(key) for key in FINANCE} <= set(in_job)
    graph = defs.resolve_asset_graph()
    report = graph.get(dg.AssetKey("finance_report"))
    assert {k.to_user_string() for k in report.parent_keys} == {
        "reporting_views",
        "client_markups",
        "finance_settings",
    }
    assert report.group_name == "publish"


def test_finance_assets_load_markups_and_write_the_report(tmp_path):
    book = summer_book()
    book.markups, book.settings = [], None
    wh = book.write(Warehouse(tmp_path / "warehouse.sqlite"))
    markups = tmp_path / "markups.csv"
    markups.write_text("client_id,markup_pct\neu,20\n")
    lines: list[str] = []
    env = environment(tmp_path, PIPELINE_MARKUPS=str(markups), PIPELINE_LOW_BALANCE_DAYS="4")
    result = materialize_finance(build_definitions(env, progress=lines.append))
    assert result.success
    assert query(wh, "SELECT client_id, markup_pct FROM client_markups") == [
        {"client_id": "eu", "markup_pct": 20}
    ]
    assert query(wh, "SELECT low_balance_days FROM finance_settings_in_force") == [
        {"low_balance_days": 4}
    ]
    report = result.asset_materializations_for_node("finance_report")[0].metadata
    assert report["month"].value == "2024-08"  # the latest ended month with a fetched day
    html = tmp_path / "reports" / "usage-report-2024-08.html"
    assert html.is_file() and report["html"].value == str(html.resolve())
    assert lines == [f"report: {html} (statement: statement-2024-08.xlsx)"]


def test_bad_markups_file_fails_the_step_with_one_line(tmp_path):
    summer_book().write(Warehouse(tmp_path / "warehouse.sqlite"))
    markups = tmp_path / "markups.csv"
    markups.write_text("client_id,markup_pct\neu,twenty\n")
    result = materialize_finance(
        build_definitions(environment(tmp_path, PIPELINE_MARKUPS=str(markups)))
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert (
        f"{markups}:2: markup_pct 'twenty' is not a number"
        in failure.step_failure_data.error.cause.message
    )
