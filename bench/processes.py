"""Processes measured from outside: one command's peak memory and CPU, the simulator on its own.

Peak memory is the child's own high-water resident size (`ru_maxrss` of RUSAGE_CHILDREN, read in
a small wrapper process: a child forked straight from a large benchmark process would inherit
the parent's high-water mark). The wrapper also samples the child's resident size every 50 ms,
so a benchmark can tell which of the pipeline's progress lines the peak came after.

The simulator runs as `python -m pipeline simulator` in a process of its own, so its memory and
CPU are not counted in the pipeline's; its CPU is read from /proc around each measured run.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from pipeline.preflight import open_instance

PARTNER_ID = "simPA"
API_KEY = "bench-api-key-0123456789"
SEED = 11
PYTHON = sys.executable

_WRAPPER = r"""
import json, os, resource, subprocess, sys, threading, time
out, argv = sys.argv[1], sys.argv[2:]
began = time.time()
child = subprocess.Popen(argv)
samples = []
def sample():
    path = f"/proc/{child.pid}/status"
    while child.poll() is None:
        try:
            with open(path) as status:
                rss = next(int(l.split()[1]) for l in status if l.startswith("VmRSS:"))
            samples.append((time.time(), rss))
        except (OSError, StopIteration):
            pass
        time.sleep(0.05)
threading.Thread(target=sample, daemon=True).start()
code = child.wait()
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(out, "w") as f:
    json.dump({"returncode": code, "seconds": time.time() - began, "began": began,
               "cpu": usage.ru_utime + usage.ru_stime, "maxrss_kb": usage.ru_maxrss,
               "samples": samples}, f)
sys.exit(code)
"""


STAGE_TIMERS = """
import atexit, json, sys, time
STAGES = {}

def _add(label, wall, cpu):
    spent = STAGES.setdefault(label, [0.0, 0.0])
    spent[0] += time.perf_counter() - wall
    spent[1] += time.process_time() - cpu

def timed(owner, name, label):
    inner = getattr(owner, name)
    def wrapper(*args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return inner(*args, **kwargs)
        finally:
            _add(label, wall, cpu)
    setattr(owner, name, wrapper)

def timed_async(owner, name, label):
    inner = getattr(owner, name)
    async def wrapper(*args, **kwargs):
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return await inner(*args, **kwargs)
        finally:
            _add(label, wall, cpu)
    setattr(owner, name, wrapper)

def _print_stages():
    print(json.dumps({"stages": STAGES}), flush=True)
"""
"""Code a measured script starts with: `timed(owner, name, label)` sums the wall and CPU seconds
spent in `owner.name` into STAGES; `_print_stages()` prints them as the last stdout line."""


# `python -m pipeline run`, with the usage step's stages timed around their functions.
_STAGED_RUN = (
    STAGE_TIMERS
    + """
import pipeline.usage_load.batches as batches
from pipeline.partner_api import PartnerApiClient
from pipeline.warehouse import RawLanding, UsageLoad

timed_async(PartnerApiClient, "fetch_planned", "fetch balance windows (HTTP client)")
timed(batches, "raw_answers_frame", "fetch-log rows, body SHA-256")
timed(batches, "_stored", "look up bodies already stored")
timed(RawLanding, "land", "write landing files")
timed(batches, "batch_frames", "transform (batch_frames)")
timed(UsageLoad, "commit_batch", "commit batch into the lake")
atexit.register(_print_stages)

from pipeline.cli import main
sys.exit(main(["run", *sys.argv[1:]]))
"""
)


def staged_run_command(*args: str) -> list[str]:
    """`python -m pipeline run ARGS`, printing its usage step's stages (see `stages_of`)."""
    return [PYTHON, "-c", _STAGED_RUN, *args]


def stages_of(measured: Measured) -> dict[str, tuple[float, float]]:
    """(wall, CPU) seconds per stage, from the last stdout line of a STAGE_TIMERS script."""
    lines = measured.stdout.strip().splitlines()
    facts = json.loads(lines[-1]) if lines else {}
    return {stage: (wall, cpu) for stage, (wall, cpu) in facts.get("stages", {}).items()}


@dataclass
class Measured:
    """One command run to its end: wall and CPU seconds, peak resident size, its output."""

    argv: list[str]
    returncode: int
    seconds: float
    cpu_seconds: float
    peak_mb: float
    lines: list[tuple[float, str]] = field(default_factory=list)
    """(time.time(), line) of everything the command wrote on stderr."""
    samples: list[tuple[float, int]] = field(default_factory=list)
    """(time.time(), resident KiB) every 50 ms."""
    stdout: str = ""
    began: float = 0.0
    """time.time() when the command started."""

    def check(self) -> Measured:
        if self.returncode != 0:
            tail = "\n".join(line for _, line in self.lines[-15:])
            shown = " ".join(arg if len(arg) < 80 else "<code>" for arg in self.argv)
            raise RuntimeError(f"{shown} exited {self.returncode}:\n{tail}")
        return self

    def phase_at_peak(self) -> str:
        """Between which stderr lines the resident size reached its peak."""
        if not self.samples:
            return "?"
        at = max(self.samples, key=lambda sample: sample[1])[0]
        before = [line.strip() for when, line in self.lines if when <= at]
        after = [line.strip() for when, line in self.lines if when > at]
        return (
            f"after `{before[-1] if before else 'start'}`, before `{after[0] if after else 'exit'}`"
        )

    def when(self, *texts: str, last: bool = False) -> float | None:
        """When the first (or last) stderr line containing one of `texts` was written."""
        times = [when for when, line in self.lines if any(text in line for text in texts)]
        return (times[-1] if last else times[0]) if times else None

    def peak_in(self, began: float | None, ended: float | None = None) -> float:
        """Peak resident MB sampled between two times (None: the start, the end)."""
        began = began if began is not None else float("-inf")
        ended = ended if ended is not None else float("inf")
        return max((rss for when, rss in self.samples if began <= when <= ended), default=0) / 1024


def measure(
    argv: Sequence[str],
    env: Mapping[str, str],
    cwd: Path,
    on_line: Callable[[str], None] | None = None,
) -> Measured:
    """Run `argv` to its end through the wrapper; stderr is read line by line as it comes."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        report = Path(handle.name)
    lines: list[tuple[float, str]] = []
    try:
        proc = subprocess.Popen(
            [PYTHON, "-c", _WRAPPER, str(report), *argv],
            env=dict(env),
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        stdout: list[str] = []
        reader = threading.Thread(target=lambda: stdout.append(proc.stdout.read()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        for line in proc.stderr:  # type: ignore[union-attr]
            lines.append((time.time(), line.rstrip("\n")))
            if on_line:
                on_line(line)
        proc.wait()
        reader.join()
        facts = json.loads(report.read_text())
    finally:
        report.unlink(missing_ok=True)
    return Measured(
        argv=list(argv),
        returncode=facts["returncode"],
        seconds=facts["seconds"],
        cpu_seconds=facts["cpu"],
        peak_mb=facts["maxrss_kb"] / 1024,
        lines=lines,
        samples=[tuple(sample) for sample in facts["samples"]],  # type: ignore[misc]
        stdout="".join(stdout),
        began=facts["began"],
    )


def cpu_seconds_of(pid: int) -> float:
    """User + system CPU a running process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class SimulatorProcess:
    base_url: str
    pid: int
    clients: int

    def cpu_seconds(self) -> float:
        return cpu_seconds_of(self.pid)


@contextmanager
def simulator_process(
    clients: int, history_days: int, folder: Path, seed: int = SEED
) -> Iterator[SimulatorProcess]:
    """`python -m pipeline simulator` without its rate limit, on a free port, until the block
    ends."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (folder / f"simulator-{port}.log").open("w")
    env = {**_clean_environment(), "D360_PARTNER_ID": PARTNER_ID, "D360_API_KEY": API_KEY}
    proc = subprocess.Popen(
        [
            *pipeline_command("simulator", "--port", str(port), "--seed", str(seed)),
            *("--clients", str(clients), "--history-days", str(history_days), "--rate", "off"),
        ],
        env=env,
        cwd=folder,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_listening(port, proc)
        yield SimulatorProcess(f"http://127.0.0.1:{port}/api/v2", proc.pid, clients)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _wait_listening(port: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the simulator exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the simulator did not start listening within 300 s")


def _clean_environment() -> dict[str, str]:
    """This process's environment without any pipeline or API setting."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("D360_", "PIPELINE_", "DAGSTER_"))
    }


def pipeline_env(folder: Path, base_url: str | None = None, **settings: object) -> dict[str, str]:
    """The environment of a pipeline process whose files all live in `folder`; `settings` are
    extra variables (PIPELINE_WINDOW_DAYS=366, ...)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dagster_home").mkdir(exist_ok=True)
    env = {
        **_clean_environment(),
        "D360_PARTNER_ID": PARTNER_ID,
        "D360_API_KEY": API_KEY,
        "PIPELINE_WAREHOUSE": str(folder / "warehouse.sqlite"),
        "PIPELINE_EXPORT_DIR": str(folder / "export"),
        "PIPELINE_RAW_DIR": str(folder / "raw"),
        "PIPELINE_REPORT_DIR": str(folder / "reports"),
        "PIPELINE_START_DATE": "2020-01-01",
        "DAGSTER_HOME": str(folder / "dagster_home"),
    }
    if base_url:
        env["D360_BASE_URL"] = base_url
    return env | {name: str(value) for name, value in settings.items()}


def pipeline_command(*args: str) -> list[str]:
    return [PYTHON, "-m", "pipeline", *args]


def copy_folder(source: Path, target: Path) -> None:
    """A pipeline folder (warehouse, raw files) copied, without its Dagster history."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("dagster_home", "*.lock"))
    (target / "dagster_home").mkdir(exist_ok=True)


def asset_metadata(dagster_home: Path, asset: str) -> dict[str, object]:
    """The metadata of an asset's latest materialization in that Dagster instance."""
    with open_instance(dagster_home) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey(asset))
        if event is None or event.asset_materialization is None:
            return {}
        return {key: value.value for key, value in event.asset_materialization.metadata.items()}


@dataclass(frozen=True)
class DagsterRun:
    job: str
    seconds: float
    """From its first event (the planned materializations come first) to its last."""
    work: float | None
    """For the usage run: the usage step's own fetch, transform, journal and publish (its
    `duration_seconds` metadata); the rest of the run is Dagster's bookkeeping and the checks."""
    spans: dict[str, tuple[float, float]]
    """time.time() of each step's start and end."""

    @property
    def steps(self) -> dict[str, float]:
        """Seconds from each step's start to its end."""
        return {step: end - start for step, (start, end) in self.spans.items()}


def dagster_runs(dagster_home: Path) -> list[DagsterRun]:
    """The runs of that Dagster instance, oldest first."""
    runs = []
    with open_instance(dagster_home) as instance:
        for record in reversed(instance.get_runs()):
            logs = instance.all_logs(record.run_id)
            work = None
            if record.job_name == "usage_backfill":
                for log in logs:
                    event = log.dagster_event
                    if event and event.is_step_materialization:
                        metadata = event.event_specific_data.materialization.metadata  # type: ignore[union-attr]
                        if "duration_seconds" in metadata:
                            work = float(metadata["duration_seconds"].value)
                            break
            seconds = logs[-1].timestamp - logs[0].timestamp if logs else 0.0
            runs.append(DagsterRun(record.job_name, seconds, work, _step_spans(logs)))
    return runs


def _step_spans(logs: list) -> dict[str, tuple[float, float]]:
    began: dict[str, float] = {}
    spans: dict[str, tuple[float, float]] = {}
    for log in logs:
        event = log.dagster_event
        if event is None or log.step_key is None:
            continue
        if event.event_type_value == "STEP_START":
            began[log.step_key] = log.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
            spans[log.step_key] = (began.get(log.step_key, log.timestamp), log.timestamp)
    return spans
