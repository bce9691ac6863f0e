"""The settings as a Dagster resource: every setting visible, credentials only as EnvVar names."""

from __future__ import annotations

import dagster as dg
import pytest

from pipeline.defs.resources import PipelineRuntime
from pipeline.settings import Settings

KEY, PASSWORD = "key-s3cr3t-123456", "hunter2-s3cr3t"
ENV = {
    "D360_PARTNER_ID": "examplePA",
    "D360_API_KEY": KEY,
    "D360_USERNAME": "me@example.com",
    "D360_PASSWORD": PASSWORD,
    "PIPELINE_WINDOW_DAYS": "10",
}


def run_once(runtime: PipelineRuntime, instance: dg.DagsterInstance) -> dict[str, object]:
    """One in-process run of an asset that reads the resource; returns what it saw."""
    seen: dict[str, object] = {}

    @dg.asset(required_resource_keys={"runtime"})
    def probe(context) -> None:
        runtime = context.resources.runtime
        seen.update(settings=runtime.settings, api=runtime.api_config, repr=repr(runtime))

    defs = dg.Definitions(assets=[probe], resources={"runtime": runtime})
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(instance=instance)
    assert result.success
    snapshot = instance.get_job_snapshot(instance.get_run_by_id(result.run_id).job_snapshot_id)
    seen["snapshot"] = str(snapshot)
    seen["events"] = [str(event) for event in instance.all_logs(result.run_id)]
    return seen


def test_every_variable_but_dagster_home_is_a_resource_field():
    fields = {name.upper() for name in PipelineRuntime.model_fields} - {"IN_PROCESS"}
    variables = {field.alias for field in Settings.model_fields.values()}
    assert fields == variables - {"DAGSTER_HOME"}


@pytest.mark.parametrize("from_process_environment", [True, False])
def test_credentials_reach_the_assets_but_never_dagster_records(
    monkeypatch, from_process_environment
):
    for name, value in ENV.items():
        if from_process_environment:
            monkeypatch.setenv(name, value)
        else:
            monkeypatch.delenv(name, raising=False)
    settings = Settings.from_env(ENV)
    runtime = PipelineRuntime.from_settings(settings)

    with dg.DagsterInstance.ephemeral() as instance:
        seen = run_once(runtime, instance)

    assert seen["settings"] == settings
    api = seen["api"]
    assert api.api_key.reveal() == KEY and api.password.reveal() == PASSWORD
    assert api.window_days == 10
    # What the UI shows: the variable's name when the process environment holds it, else nothing.
    assert ('"env": "D360_API_KEY"' in seen["snapshot"]) == from_process_environment
    for text in [seen["snapshot"], seen["repr"], repr(runtime), *seen["events"]]:
        assert KEY not in text and PASSWORD not in text


def test_used_outside_a_run_the_resource_reads_its_credentials_from_the_environment(monkeypatch):
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    runtime = PipelineRuntime.from_settings(Settings.from_env(ENV))
    assert runtime.api_config.api_key.reveal() == KEY
    assert runtime.settings == Settings.from_env(ENV)
