"""The blocking checks of what DuckLake cannot enforce (unique keys, non-negative amounts), each
driven red by rows written straight into a real lake, as a writer that bypassed the loads would."""

from __future__ import annotations

import dagster as dg
import pytest
from warehouse.wh_frames import T0, day, usage_load

from pipeline.defs.checks import usage_amounts_are_not_negative, usage_keys_are_unique
from pipeline.defs.resources import PipelineRuntime
from pipeline.settings import Settings
from pipeline.warehouse import load_usage

D0 = T0.date()


@pytest.fixture
def runtime(tmp_path) -> PipelineRuntime:
    settings = Settings.from_env({"PIPELINE_WAREHOUSE": str(tmp_path / "warehouse.sqlite")})
    runtime = PipelineRuntime.from_settings(settings)
    load_usage(runtime.warehouse, **usage_load(["a", "b"], D0, D0, [day("a", D0, "1.5")]))
    return runtime


@dg.asset(name="usage_daily")
def loaded() -> None:
    """Stands in for the usage asset: the rows are in the lake already."""


@dg.asset(deps=["usage_daily"])
def downstream() -> None:
    """Stands in for the views and exports, which a failed blocking check keeps from running."""


def evaluate(
    check: dg.AssetChecksDefinition, runtime: PipelineRuntime
) -> tuple[dg.AssetCheckEvaluation, bool]:
    """One real run of usage_daily, the check and what depends on usage_daily: the evaluation,
    and whether the dependent ran."""
    defs = dg.Definitions(
        assets=[loaded, downstream], asset_checks=[check], resources={"runtime": runtime}
    )
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(raise_on_error=False)
    [evaluation] = result.get_asset_check_evaluations()
    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    return evaluation, dg.AssetKey("downstream") in materialized


def test_both_checks_are_blocking_and_pass_on_rows_the_loads_wrote(runtime):
    for check in (usage_keys_are_unique, usage_amounts_are_not_negative):
        evaluation, ran = evaluate(check, runtime)
        assert evaluation.passed and ran


def test_a_duplicated_client_day_fails_the_unique_keys_check(runtime):
    with runtime.warehouse.write() as con:
        con.execute("INSERT INTO usage_coverage SELECT * FROM usage_coverage WHERE client_id = 'b'")
    result, ran = evaluate(usage_keys_are_unique, runtime)
    assert not result.passed and not ran
    assert result.metadata["duplicated_keys"].value == 1
    assert f"b {D0}" in result.metadata["sample"].value


def test_a_negative_price_fails_the_amounts_check(runtime):
    with runtime.warehouse.write() as con:
        con.execute("UPDATE usage_daily SET total_price = -total_price")
    result, ran = evaluate(usage_amounts_are_not_negative, runtime)
    assert not result.passed and not ran
    assert result.metadata["negative_columns"].value == 1
    assert "total_price" in result.metadata["sample"].value
