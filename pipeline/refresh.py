"""One refresh of the warehouse for a day range: one run of the job the schedule runs, with a
closing summary.

`python -m pipeline run` and the demo both come through here; tests call `execute_refresh`.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import dagster as dg

from pipeline.definitions import REFRESH_JOB, REPLAY_SELECTION, build_definitions, range_tags
from pipeline.errors import one_line
from pipeline.interrupts import execute_run
from pipeline.preflight import check_run, open_instance
from pipeline.result_table import result_box
from pipeline.usage_load import replay_in_batches
from pipeline.warehouse import Warehouse, range_summary

# The UI and the instance keep every event; the terminal gets progress lines and problems only.
QUIET_CONSOLE = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
ONE_PLANNED_EVENT = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"
"""Dagster's switch for one "planned" event per asset of a ranged run, not one per asset and
day: at 9 ms an event on a SQLite instance, a year's backfill spent 30 s writing them. What it
gives up (partitions marked failed when the run fails) the coverage table and check keep."""


@dataclass
class RefreshOutcome:
    run_ids: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return not self.problems


def execute_refresh(
    defs: dg.Definitions,
    start: date,
    end: date,
    instance: dg.DagsterInstance,
    *,
    resume: bool = False,
) -> RefreshOutcome:
    """One run of the refresh job over the range. Clients that could not be loaded fail the
    coverage check rather than the usage step, so what loaded is still published."""
    os.environ.setdefault(ONE_PLANNED_EVENT, "true")  # read where the run is created: here
    result = execute_run(
        defs.resolve_job_def(REFRESH_JOB),
        instance,
        tags=range_tags(start, end),
        run_config={**QUIET_CONSOLE, "ops": {"usage": {"config": {"resume": resume}}}},
    )
    outcome = RefreshOutcome(run_ids=[result.run_id])
    _collect_problems(result, outcome)
    return outcome


def _collect_problems(result: dg.ExecuteInProcessResult, outcome: RefreshOutcome) -> None:
    # Steps that failed for the same reason (a full disk fails every step that writes) are one
    # line naming them all.
    steps_of: dict[str, list[str]] = {}
    for event in result.all_events:
        if event.is_step_failure and event.step_key:
            for line in _failure_text(event).splitlines():
                if line:
                    steps_of.setdefault(line, []).append(event.step_key)
    outcome.problems.extend(f"{', '.join(steps)}: {line}" for line, steps in steps_of.items())
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed:
            line = (
                f"check {evaluation.check_name} on {evaluation.asset_key.to_user_string()} failed"
            )
            # A check's description says what it found, in lines (the clients that failed).
            lines = [line, *(evaluation.description or "").splitlines()]
            if evaluation.severity == dg.AssetCheckSeverity.WARN:
                outcome.warnings.extend(lines)
            else:
                outcome.problems.extend(lines)


def _failure_text(event: dg.DagsterEvent) -> str:
    """What went wrong in the user's terms: a Failure's description, else the root cause."""
    failure = event.step_failure_data
    if failure.user_failure_data and failure.user_failure_data.description:
        return failure.user_failure_data.description
    error = failure.error
    if error is None:
        return "failed"
    while error.cause is not None:
        error = error.cause
    # The message starts "package.module.ClassName: "; the user needs only what follows.
    prefix, colon, text = error.message.partition(": ")
    return text.strip() if colon and prefix.rpartition(".")[2] == error.cls_name else error.message


def _progress(line: str) -> None:
    print(f"  {line}", file=sys.stderr, flush=True)


def run_refresh(env: Mapping[str, str], start: date, end: date, resume: bool = False) -> int:
    checked = check_run(env, start, end)
    settings, warehouse = checked.settings, checked.warehouse
    api_config = settings.api_config()
    instance = open_instance(settings.dagster_home)
    defs = build_definitions(env, progress=_progress)
    print(
        f"Loading {start} .. {end} from {api_config.base_url} into {warehouse.where()}",
        file=sys.stderr,
    )
    began = time.monotonic()
    with instance:
        outcome = execute_refresh(defs, start, end, instance, resume=resume)
    for warning in outcome.warnings:
        print(f"warning: {one_line(warning)}", file=sys.stderr)
    for problem in outcome.problems:
        print(f"error: {one_line(problem)}", file=sys.stderr)
    print(summary_text(warehouse, start, end, time.monotonic() - began, outcome))
    return 0 if outcome.success else 1


def run_replay(env: Mapping[str, str], start: date, end: date, resume: bool = False) -> int:
    """Rebuild usage of [start, end] from the raw landing files, then the views and exports."""
    checked = check_run(env, start, end, api=False)
    settings, warehouse = checked.settings, checked.warehouse
    instance = open_instance(settings.dagster_home)
    print(
        f"Replaying {start} .. {end} from {settings.raw_dir} into {warehouse.where()}",
        file=sys.stderr,
    )
    began = time.monotonic()
    replayed = replay_in_batches(settings, warehouse, start, end, resume=resume, report=_progress)
    outcome = RefreshOutcome(problems=[f"replay: {line}" for line in replayed.failures.values()])
    defs = build_definitions(env, progress=_progress)
    refresh = defs.resolve_job_def(REFRESH_JOB)
    after_usage = REPLAY_SELECTION.resolve(defs.resolve_asset_graph())
    with instance:
        result = execute_run(
            refresh,
            instance,
            tags=range_tags(start, end),
            run_config=QUIET_CONSOLE,
            asset_selection=sorted(after_usage & set(refresh.asset_layer.executable_asset_keys)),
        )
    outcome.run_ids.append(result.run_id)
    _collect_problems(result, outcome)
    for problem in outcome.problems:
        print(f"error: {one_line(problem)}", file=sys.stderr)
    print(summary_text(warehouse, start, end, time.monotonic() - began, outcome))
    return 0 if outcome.success else 1


def summary_text(
    warehouse: Warehouse, start: date, end: date, seconds: float, outcome: RefreshOutcome
) -> str:
    verdict = "loaded" if outcome.success else "INCOMPLETE"
    runs = ", ".join(run_id[:8] for run_id in outcome.run_ids)
    lines = [f"{verdict}: {start} .. {end} in {seconds:.1f}s (Dagster runs {runs})"]
    if not warehouse.exists():
        return "\n".join([*lines, "  nothing is in the warehouse yet"])
    with warehouse.read() as con:
        summary = range_summary(con, start, end)
    # Amounts read as `query` shows them: separators, decimals aligned, never rounded.
    box = result_box(summary.rename({"quantity": "messages"}))
    return "\n".join([*lines, *(f"  {line}" for line in box.splitlines())])
