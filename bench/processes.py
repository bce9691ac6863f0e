"""Processes measured from outside: one command's peak memory, CPU and bytes written, the
simulator on its own.

Peak memory is the child's own high-water resident size (`ru_maxrss` of RUSAGE_CHILDREN, read in
a small wrapper process: a child forked straight from a large benchmark process would inherit
the parent's high-water mark). The wrapper also samples the child's resident size and the bytes
it has written so far every 50 ms, so a benchmark can tell which of the pipeline's progress
lines or steps the peak came after and which of them wrote what.

Bytes written are Linux's `write_bytes` of /proc/<pid>/io: what the process sent towards the
disk (pages it dirtied in files on disk, counted when dirtied, whether or not they were still
in the page cache at exit), not what it passed to write() (`wchar`, which counts pipes and
terminals too). The total is read from the wrapper's own /proc/self/io after the child was
reaped: the kernel adds a reaped child's counts (and those of the children it reaped itself) to
its parent's, so nothing the child or its children wrote after the last sample is missed, and
the wrapper itself writes nothing in between.

The simulator runs as `python -m pipeline simulator` in a process of its own, so its memory and
CPU are not counted in the pipeline's; its CPU is read from /proc around each measured run.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import dagster as dg

from pipeline.preflight import open_instance
from pipeline.simulator import Simulator, SimulatorOptions, run_simulator
from pipeline.warehouse.store import default_data_path

PARTNER_ID = "simPA"
API_KEY = "bench-api-key-0123456789"
SEED = 11
PYTHON = sys.executable
UNLIMITED_CLIENT_RATE = "10000/1"
"""A D360_BALANCE_RATE that lifts the client's own limit of 5 requests per 30 s a client: a run
making more than 5 requests a client would otherwise be timed waiting for it."""

_WRAPPER = r"""
import json, os, resource, subprocess, sys, threading, time
out, argv = sys.argv[1], sys.argv[2:]
def written(pid):
    with open(f"/proc/{pid}/io") as io:
        return next(int(l.split()[1]) for l in io if l.startswith("write_bytes:"))
own = written("self")
began = time.time()
child = subprocess.Popen(argv)
samples = []
def sample():
    status = f"/proc/{child.pid}/status"
    while child.poll() is None:
        try:
            with open(status) as lines:
                rss = next(int(l.split()[1]) for l in lines if l.startswith("VmRSS:"))
            samples.append((time.time(), rss, written(child.pid)))
        except (OSError, StopIteration):
            pass
        time.sleep(0.05)
threading.Thread(target=sample, daemon=True).start()
code = child.wait()
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
total = written("self") - own
with open(out, "w") as f:
    json.dump({"returncode": code, "seconds": time.time() - began, "began": began,
               "cpu": usage.ru_utime + usage.ru_stime, "maxrss_kb": usage.ru_maxrss,
               "written": total, "samples": samples}, f)
sys.exit(code)
"""


STAGE_TIMERS = """
import atexit, json, sys, time
STAGES = {}
SPANS = {}

def _add(label, began, wall, cpu):
    spent = STAGES.setdefault(label, [0.0, 0.0])
    spent[0] += time.perf_counter() - wall
    spent[1] += time.process_time() - cpu
    SPANS.setdefault(label, []).append((began, time.time(), cpu, time.process_time()))

def _now():
    return time.time(), time.perf_counter(), time.process_time()

def timed(owner, name, label):
    inner = getattr(owner, name)
    def wrapper(*args, **kwargs):
        began = _now()
        try:
            return inner(*args, **kwargs)
        finally:
            _add(label, *began)
    setattr(owner, name, wrapper)

def timed_async(owner, name, label):
    inner = getattr(owner, name)
    async def wrapper(*args, **kwargs):
        began = _now()
        try:
            return await inner(*args, **kwargs)
        finally:
            _add(label, *began)
    setattr(owner, name, wrapper)

def _print_stages():
    print(json.dumps({"stages": STAGES, "spans": SPANS}), flush=True)
"""
"""Code a measured script starts with: `timed(owner, name, label)` sums the wall and CPU seconds
spent in `owner.name` into STAGES and keeps each call's `Span` in SPANS; `_print_stages()`
prints both as the last stdout line."""


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
    stages = _timer_facts(measured).get("stages", {})
    return {stage: (wall, cpu) for stage, (wall, cpu) in stages.items()}


class Span(NamedTuple):
    """One call of a timed function in a STAGE_TIMERS script."""

    start: float
    end: float
    """time.time() when it was called and when it returned."""
    cpu_start: float
    cpu_end: float
    """The process's CPU seconds then."""


def spans_of(measured: Measured) -> dict[str, list[Span]]:
    """Per stage, each call's span, in the order they ended."""
    spans = _timer_facts(measured).get("spans", {})
    return {stage: [Span(*call) for call in calls] for stage, calls in spans.items()}


def _timer_facts(measured: Measured) -> dict:
    lines = measured.stdout.strip().splitlines()
    return json.loads(lines[-1]) if lines else {}


@dataclass
class Measured:
    """One command run to its end: wall and CPU seconds, peak resident size, bytes written, its
    output."""

    argv: list[str]
    returncode: int
    seconds: float
    cpu_seconds: float
    peak_mb: float
    written_bytes: int = 0
    """`write_bytes` of the command and the children it reaped, start to exit."""
    lines: list[tuple[float, str]] = field(default_factory=list)
    """(time.time(), line) of everything the command wrote on stderr."""
    samples: list[tuple[float, int, int]] = field(default_factory=list)
    """(time.time(), resident KiB, bytes written so far) every 50 ms."""
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
        kib = (rss for when, rss, _ in self.samples if began <= when <= ended)
        return max(kib, default=0) / 1024

    def written_in(self, began: float, ended: float) -> int:
        """Bytes written between two times: the last sample up to `ended` less the last one
        before `began` (0 before the first sample)."""
        before = [done for when, _, done in self.samples if when < began]
        upto = [done for when, _, done in self.samples if when <= ended]
        return max(0, (upto[-1] if upto else 0) - (before[-1] if before else 0))


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
        written_bytes=facts["written"],
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


def logged_simulator(clients: int) -> AbstractContextManager[Simulator]:
    """The simulator in this process, without rate limit, for `pipeline_env`'s credentials: its
    request log (`requests`) says when each request came in."""
    options = SimulatorOptions(
        seed=SEED, clients=clients, balance_rate=None, partner_id=PARTNER_ID, api_key=API_KEY
    )
    return run_simulator(options)


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


LAKE_CATALOG = "warehouse.sqlite"
"""The lake of a pipeline folder: this SQLite catalog, its data files in warehouse.files/."""


def copy_folder(source: Path, target: Path) -> None:
    """A pipeline folder (the lake, raw files) copied, without its Dagster history. The copy's
    catalog is pointed at its own data files: a catalog records the absolute path of its data
    folder, so a plain copy would still read the original's, and refuse to write them."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("dagster_home", "*.lock"))
    (target / "dagster_home").mkdir(exist_ok=True)
    catalog = target / LAKE_CATALOG
    if catalog.is_file():
        with closing(sqlite3.connect(catalog)) as con, con:
            [(old,)] = con.execute("SELECT value FROM ducklake_metadata WHERE key = 'data_path'")
            new = old.replace(str(source.absolute()), str(target.absolute()), 1)
            con.execute("UPDATE ducklake_metadata SET value = ? WHERE key = 'data_path'", [new])


def lake_bytes(folder: Path) -> int:
    """The size on disk of a pipeline folder's lake: the catalog and every data file."""
    catalog = folder / LAKE_CATALOG
    data = default_data_path(catalog)
    files = [catalog, *(data.rglob("*") if data.is_dir() else [])]
    return sum(path.stat().st_size for path in files if path.is_file())


def asset_metadata(dagster_home: Path, asset: str) -> dict[str, object]:
    """The metadata of an asset's latest materialization in that Dagster instance."""
    with open_instance(dagster_home) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey(asset))
        if event is None or event.asset_materialization is None:
            return {}
        return {key: value.value for key, value in event.asset_materialization.metadata.items()}


USAGE_STEP = "usage"
"""The step key of the usage multi-asset (usage_daily, usage_by_category), whichever job runs it."""
USAGE_ASSET = dg.AssetKey("usage_daily")


@dataclass(frozen=True)
class DagsterRun:
    job: str
    seconds: float
    """From its first event (the planned materializations come first) to its last."""
    work: float | None
    """In the run that materialized usage_daily: the usage step's own fetch, transform and batch
    commits (its `duration_seconds` metadata); None in a run without the usage step."""
    spans: dict[str, tuple[float, float]]
    """time.time() of each step's start and end."""
    usage_step: str | None = None
    """The key of the step that materialized usage_daily (`usage`), if this run has it."""

    @property
    def steps(self) -> dict[str, float]:
        """Seconds from each step's start to its end."""
        return {step: end - start for step, (start, end) in self.spans.items()}


def dagster_runs(dagster_home: Path) -> list[DagsterRun]:
    """The runs of that Dagster instance, oldest first: a refresh's one run, or its staged runs."""
    runs = []
    with open_instance(dagster_home) as instance:
        for record in reversed(instance.get_runs()):
            logs = instance.all_logs(record.run_id)
            seconds = logs[-1].timestamp - logs[0].timestamp if logs else 0.0
            work, step = _usage_work(logs)
            runs.append(DagsterRun(record.job_name, seconds, work, _step_spans(logs), step))
    return runs


def usage_run(runs: Sequence[DagsterRun]) -> DagsterRun:
    """The run holding the usage step (step key `usage`, or the usage_daily materialization):
    the whole refresh when it is one run, its usage run when it is staged."""
    found = [run for run in runs if run.usage_step in run.spans]
    if not found:
        jobs = ", ".join(run.job for run in runs) or "none"
        raise RuntimeError(f"no Dagster run ran the usage step (runs: {jobs})")
    return found[-1]


def usage_step(runs: Sequence[DagsterRun]) -> tuple[float, float]:
    """time.time() of the usage step's start and end (in the latest run that ran it)."""
    run = usage_run(runs)
    return run.spans[run.usage_step]  # type: ignore[index]


def all_steps(runs: Sequence[DagsterRun]) -> dict[str, tuple[float, float]]:
    """Every step of the runs, in the order they ran, by step key (`job: step` when two runs
    have a step of the same key): whether a refresh is one run or several."""
    keys = [step for run in runs for step in run.spans]
    return {
        (f"{run.job}: {step}" if keys.count(step) > 1 else step): span
        for run in runs
        for step, span in sorted(run.spans.items(), key=lambda item: item[1])
    }


def step_seconds(runs: Sequence[DagsterRun]) -> dict[str, float]:
    """Seconds from each step's start to its end, by `all_steps`' keys."""
    return {step: end - start for step, (start, end) in all_steps(runs).items()}


def job_names(runs: Sequence[DagsterRun]) -> str:
    """The jobs of the runs, in order, for a sentence: `warehouse_refresh`, or the staged ones."""
    return ", ".join(f"`{run.job}`" for run in runs)


def _usage_work(logs: list) -> tuple[float | None, str | None]:
    """The usage step's own work (seconds) and its step key, from the usage_daily
    materialization; (None, "usage") when there is none, but a step `usage` may have run (and
    failed)."""
    for log in logs:
        event = log.dagster_event
        if event and event.is_step_materialization and event.asset_key == USAGE_ASSET:
            metadata = event.event_specific_data.materialization.metadata  # type: ignore[union-attr]
            if "duration_seconds" in metadata:
                return float(metadata["duration_seconds"].value), log.step_key
    return None, USAGE_STEP


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
