"""Ctrl-C during a command: the Dagster run in flight is marked, never left STARTED.

Dagster turns an interrupt inside a step into a failed run and, with raise_on_error=False,
returns as if the run had just failed; one between its checkpoints (after the last step, say) it
notes and then forgets; one outside its guarded sections (creating the run, writing an event)
escapes as KeyboardInterrupt and leaves the run NOT_STARTED or STARTED. `execute_run` handles
all three: the run ends CANCELED (or as Dagster marked it) and KeyboardInterrupt goes up to the
command line (cli.py), which prints one line and exits 130.
Steps that run an event loop use `run_async`, or an interrupt during a request is taken for a
broken connection and retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import uuid
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import dagster as dg

T = TypeVar("T")


def execute_run(
    job: dg.JobDefinition,
    instance: dg.DagsterInstance,
    *,
    tags: Mapping[str, str],
    run_config: Mapping[str, object],
    asset_selection: Sequence[dg.AssetKey] | None = None,
) -> dg.ExecuteInProcessResult:
    """`job.execute_in_process` (raise_on_error=False); KeyboardInterrupt once the run is marked."""
    run_id = str(uuid.uuid4())  # known before the run exists, so an interrupt can find it
    with _signals_seen() as seen:
        try:
            result = job.execute_in_process(
                instance=instance,
                run_id=run_id,
                tags=dict(tags),
                run_config=dict(run_config),
                asset_selection=asset_selection,
                raise_on_error=False,
            )
        except (KeyboardInterrupt, dg.DagsterExecutionInterruptedError):
            _mark_canceled(instance, run_id)
            raise KeyboardInterrupt from None
        if _was_interrupted(result) or signal.SIGINT in seen():
            raise KeyboardInterrupt
    return result


def _was_interrupted(result: dg.ExecuteInProcessResult) -> bool:
    # The failure's source is an enum Dagster does not export: compared by its name.
    return any(
        event.is_step_failure and event.step_failure_data.error_source.name == "INTERRUPT"
        for event in result.all_events
    )


@contextlib.contextmanager
def _signals_seen() -> Iterator[Callable[[], set[int]]]:
    """The signals that arrive inside the block, whichever Python handler took them: the
    interpreter writes each one's number to the wakeup fd before running its handler."""
    if threading.current_thread() is not threading.main_thread():
        yield set
        return
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    os.set_blocking(write_end, False)
    previous = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)

    def seen() -> set[int]:
        try:
            return set(os.read(read_end, 4096))
        except BlockingIOError:
            return set()

    try:
        yield seen
    finally:
        signal.set_wakeup_fd(previous)
        os.close(read_end)
        os.close(write_end)


def _mark_canceled(instance: dg.DagsterInstance, run_id: str) -> None:
    with _ignoring_interrupts():  # a second Ctrl-C must not leave the run half-marked
        run = instance.get_run_by_id(run_id)
        if run is not None and not run.is_finished:
            instance.report_run_canceled(run, message="Interrupted (Ctrl-C) on the command line.")


@contextlib.contextmanager
def _ignoring_interrupts() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, stopped cleanly by Ctrl-C inside a Dagster step.

    Dagster's step handler raises its interrupt in whatever frame is running; in an event loop
    that is a socket callback, whose transport takes it for a broken connection (and the client
    retries). With Python's own handler in place, asyncio.run installs its handler instead: it
    cancels the main task and then raises KeyboardInterrupt, which Dagster records as an
    interrupted step.
    """
    if threading.current_thread() is not threading.main_thread():
        return asyncio.run(main)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return asyncio.run(main)
    finally:
        signal.signal(signal.SIGINT, previous)
