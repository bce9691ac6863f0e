"""python -m pipeline dev (make dev): the Dagster UI on the demo settings, in one command.

It starts the embedded simulator (the demo's seed and size) and `dagster dev` pointed at it and at
the demo's warehouse, prints the UI's address, and stops both on Ctrl-C. The API key the UI's
runs use is the simulator's made-up one, handed over in the child's environment only.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
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
            str(Path(sys.executable).with_name("dagster")),
            "dev",
            "--module-name",
            "pipeline.definitions",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        # A session of its own, so Ctrl-C reaches dagster dev once, through us.
        ui = subprocess.Popen(command, env=env, cwd=PROJECT_ROOT, start_new_session=True)
        print(
            f"Partner API simulator: {sim.base_url} ({DEMO_CLIENTS} clients)\n"
            f"Dagster UI: http://127.0.0.1:{port}  (warehouse {env['PIPELINE_WAREHOUSE']}, "
            f"DAGSTER_HOME {env['DAGSTER_HOME']}); Ctrl-C stops both",
            flush=True,
        )
        # A SIGTERM (a supervisor, `timeout`) must stop dagster dev too, not orphan it.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            return _wait(ui)
        except KeyboardInterrupt:
            return _stop(ui)


def _wait(ui: subprocess.Popen[bytes]) -> int:
    """Wait in short slices: a signal the kernel hands to another thread (the simulator's) does
    not interrupt a blocking wait, but Python runs its handler as soon as this thread wakes."""
    while True:
        try:
            return ui.wait(timeout=0.5)
        except subprocess.TimeoutExpired:
            continue


def _stop(ui: subprocess.Popen[bytes]) -> int:
    """dagster dev stops its webserver and code server on SIGINT; give it a moment."""
    os.killpg(ui.pid, signal.SIGINT)
    try:
        ui.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(ui.pid, signal.SIGKILL)
        ui.wait()
    print("stopped", flush=True)
    # Ctrl-C is how dev is meant to end: a clean stop exits 0, so `make dev` adds no "Error 130".
    return 0
