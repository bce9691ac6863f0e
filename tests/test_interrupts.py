"""Ctrl-C inside a Dagster run and outside Dagster's guarded sections: the run never stays open."""

import os
import signal

import dagster as dg
import pytest

from pipeline.interrupts import execute_run


@dg.op
def pressed_ctrl_c() -> None:
    os.kill(os.getpid(), signal.SIGINT)


@dg.op
def quick() -> int:
    return 1


@dg.job
def interrupted_in_a_step() -> None:
    pressed_ctrl_c()


@dg.job
def plain() -> None:
    quick()


def statuses(instance: dg.DagsterInstance) -> dict[str, dg.DagsterRunStatus]:
    return {run.job_name: run.status for run in instance.get_runs()}


def test_ctrl_c_in_a_step_fails_the_run_and_is_raised():
    with dg.DagsterInstance.ephemeral() as instance:
        with pytest.raises(KeyboardInterrupt):
            execute_run(interrupted_in_a_step, instance, tags={}, run_config={})
        # Dagster marks it failed itself, and would have returned as if a step had failed.
        assert statuses(instance) == {"interrupted_in_a_step": dg.DagsterRunStatus.FAILURE}


def interrupt_on_run_start(instance: dg.DagsterInstance) -> None:
    """Ctrl-C while the run-start event is written: outside any section Dagster guards."""
    real = instance.handle_new_event

    def handle(event, **kwargs):
        if event.dagster_event and event.dagster_event.event_type == dg.DagsterEventType.RUN_START:
            instance.handle_new_event = real
            raise KeyboardInterrupt
        return real(event, **kwargs)

    instance.handle_new_event = handle


def test_ctrl_c_outside_dagsters_guard_leaves_the_run_canceled_not_open():
    with dg.DagsterInstance.ephemeral() as instance:
        interrupt_on_run_start(instance)
        with pytest.raises(KeyboardInterrupt):
            plain.execute_in_process(instance=instance, raise_on_error=False)
        [left_open] = instance.get_runs()
        assert not left_open.is_finished  # what execute_in_process alone leaves behind

        interrupt_on_run_start(instance)
        with pytest.raises(KeyboardInterrupt):
            execute_run(plain, instance, tags={}, run_config={})
        marked = next(r for r in instance.get_runs() if r.run_id != left_open.run_id)
        assert marked.status == dg.DagsterRunStatus.CANCELED


def test_ctrl_c_between_dagsters_checkpoints_is_not_forgotten():
    """Ctrl-C after the last step: Dagster notes it, then drops it when the run ends."""
    with dg.DagsterInstance.ephemeral() as instance:
        real = instance.handle_new_event

        def handle(event, **kwargs):
            if (
                event.dagster_event
                and event.dagster_event.event_type == dg.DagsterEventType.RUN_SUCCESS
            ):
                os.kill(os.getpid(), signal.SIGINT)
            return real(event, **kwargs)

        instance.handle_new_event = handle
        assert plain.execute_in_process(instance=instance).success  # forgotten

        with pytest.raises(KeyboardInterrupt):
            execute_run(plain, instance, tags={}, run_config={})
        assert {run.status for run in instance.get_runs()} == {dg.DagsterRunStatus.SUCCESS}


def test_a_run_without_interrupt_returns_its_result():
    with dg.DagsterInstance.ephemeral() as instance:
        result = execute_run(plain, instance, tags={"k": "v"}, run_config={})
        assert result.success and result.output_for_node("quick") == 1
        assert instance.get_run_by_id(result.run_id).tags["k"] == "v"
