"""python -m pipeline dev (make dev): the Dagster UI on the demo settings, in one command.

It starts the embedded simulator (the demo's seed and size) and `dg dev` pointed at it and at
the demo's warehouse, prints the UI's address, and stops both on Ctrl-C. The API key the UI's
runs use is the simulator's made-up one, handed over in the child's environment only.

`dg dev` (dagster-dg-cli), not `dagster dev`: Dagster 1.13 marks `dagster dev` superseded and
warns at every start; given a module, `dg dev` runs the same services without that warning.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from pipeline import clock
from pipeline.demo import DEMO_CLIENTS, demo_environment, demo_first_day, demo_simulator_options
from pipeline.preflight import open_instance
from pipeline.refresh import ONE_PLANNED_EVENT
from pipeline.simulator import run_simulator

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def run_dev(port: int = 3000) -> int:
    yesterday = clock.yesterday()
    with run_simulator(demo_simulator_options()) as sim:
        env = demo_environment(sim, demo_first_day(yesterday))
        env.setdefault("DAGSTER_HOME", str(PROJECT_ROOT))
        env.setdefault(ONE_PLANNED_EVENT, "true")  # for the runs the UI and the schedule create
        # A broken home is one line here, and an empty one gets telemetry off, as for `run`.
        open_instance(env["DAGSTER_HOME"]).dispose()
        command = [
            str(Path(sys.executable).with_name("dg")),
            "dev",
            "--module-name",
            "pipeline.definitions",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        # A session of its own, so Ctrl-C reaches dg dev once, through us.
        ui = subprocess.Popen(command, env=env, cwd=PROJECT_ROOT, start_new_session=True)
        print(
            f"Partner API simulator: {sim.base_url} ({DEMO_CLIENTS} clients)\n"
            f"Dagster UI: http://127.0.0.1:{port}  (warehouse {env['PIPELINE_WAREHOUSE']}, "
            f"DAGSTER_HOME {env['DAGSTER_HOME']}); Ctrl-C stops both",
            flush=True,
        )
        # A SIGTERM (a supervisor, `timeout`) must stop dagster dev too, not orphan it.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        with _terminal_to_ourselves():
            try:
                return _wait(ui)
            except KeyboardInterrupt:
                return _stop(ui)


@contextlib.contextmanager
def _terminal_to_ourselves() -> Iterator[None]:
    """Under `make dev`, take the terminal's Ctrl-C for this process alone, as a shell's job does.

    A terminal sends SIGINT to its whole foreground process group, make included, and GNU make
    always ends itself by that signal once its children are done (its shell then reports 130),
    however cleanly they stop. In a process group of our own that is the terminal's foreground
    group, Ctrl-C reaches only us; we stop the UI, hand the terminal back, and make exits with
    our 0. Without a terminal, or already leading our group (started by a shell), nothing to do.
    """
    try:
        parent_group = os.tcgetpgrp(sys.stdin.fileno())
    except (OSError, ValueError):  # no terminal (a pipe, /dev/null, a closed stdin)
        parent_group = -1
    if parent_group != os.getpgrp() or os.getpgrp() == os.getpid():
        yield
        return
    os.setpgid(0, 0)
    _set_foreground(os.getpgrp())
    # Ctrl-Z would stop this group alone, with make waiting in the shell's foreground job: the
    # terminal would hang. Ctrl-C is the way out.
    previous_tstp = signal.signal(signal.SIGTSTP, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGTSTP, previous_tstp)
        with contextlib.suppress(OSError):  # make's group gone (killed): the shell takes over
            _set_foreground(parent_group)


def _set_foreground(group: int) -> None:
    # Changing the foreground group from outside it raises SIGTTOU, which would stop us.
    previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    try:
        os.tcsetpgrp(sys.stdin.fileno(), group)
    finally:
        signal.signal(signal.SIGTTOU, previous)


def _wait(ui: subprocess.Popen[bytes]) -> int:
    """Wait in short slices: a signal the kernel hands to another thread (the simulator's) does
    not interrupt a blocking wait, but Python runs its handler as soon as this thread wakes."""
    while True:
        try:
            return ui.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            continue


def _stop(ui: subprocess.Popen[bytes]) -> int:
    """dg dev stops its webserver, daemon and code server on SIGINT; give it a moment."""
    os.killpg(ui.pid, signal.SIGINT)
    try:
        ui.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(ui.pid, signal.SIGKILL)
        ui.wait()
    print("stopped", flush=True)
    # Ctrl-C is how dev is meant to end: a clean stop exits 0, so `make dev` adds no "Error 130"
    # (and, with the terminal ours, make itself exits 0).
    return 0
