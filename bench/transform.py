"""The transform alone: `batch_frames` on a year of answers, before and after its latest change.

The answers are the simulator's own (1,000 clients x 365 days, one day-granularity window a
client, made without HTTP), in batches of 200 clients as a run hands them over. Each code
version runs in a fresh interpreter, twice, alternating, and the lower CPU figure is kept (the
machine is shared). "Before" is the transform at commit BEFORE, read from git into a temporary
folder; both must give the same frames (a digest of every row). The stages are timed around the
transform's own functions.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from bench.common import Options, section, table, yesterday
from bench.history import client_ids, simulator_runtime
from pipeline.simulator.balance import BalanceQuery, balance_json

BEFORE = "f3d1651"
"""The transform before the bodies were read by Arrow: `json.loads` of each body."""
FULL_CLIENTS, QUICK_CLIENTS = 1000, 200
DAYS = 365
BATCH = 200
ROOT = Path(__file__).parent.parent

MEASURE = """
import functools, hashlib, importlib, json, sys, time
import polars as pl
from pipeline.partner_api import BalanceWindow
from pipeline.transform import batch_frames

USAGE, COLUMNAR = "pipeline.transform.usage", "pipeline.transform.columnar"
STAGES = {"read bodies by Arrow (lenient forms scanned first)": (COLUMNAR, "read_bodies"),
          "typed rows from Arrow's read, checked": (USAGE, "_read_rows"),
          "parse JSON, check each body": (USAGE, "_usage_and_currency"),
          "rows to a text frame": (USAGE, "_usage_rows"), "checks and casts": (USAGE, "_typed"),
          "latest answer per day": (USAGE, "_latest_per_day"),
          "categories long": (USAGE, "_by_category")}
spent = {}
for stage, (module, name) in STAGES.items():
    try:
        owner = importlib.import_module(module)
    except ImportError:  # a version without that module
        continue
    if not hasattr(owner, name):
        continue
    spent[stage] = 0.0
    def timed(*args, _inner=getattr(owner, name), _stage=stage, **kwargs):
        began = time.process_time()
        try:
            return _inner(*args, **kwargs)
        finally:
            spent[_stage] += time.process_time() - began
    setattr(owner, name, timed)

def rss_mb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024

answers = pl.read_parquet(sys.argv[1])
batch = int(sys.argv[2])
windows = [BalanceWindow(r["client_id"], r["start"], r["end"], "day", r["body"], r["fetched_at"])
           for r in answers.iter_rows(named=True)]
del answers
with open("/proc/self/clear_refs", "w") as refs:
    refs.write("5")  # resets the peak (VmHWM) to the current resident size
before = rss_mb("VmRSS:")
digest = hashlib.sha256()
daily = categories = 0
wall, cpu = time.perf_counter(), time.process_time()
for first in range(0, len(windows), batch):
    frames = batch_frames(windows[first : first + batch])
    daily += frames.usage.daily.height
    categories += frames.usage.by_category.height
    for frame in (frames.usage.daily, frames.usage.by_category):
        digest.update(frame.hash_rows().to_numpy().tobytes())
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
if "rows to a text frame" in spent:  # it calls the parse
    spent["rows to a text frame"] -= spent["parse JSON, check each body"]
print(json.dumps({"wall": wall, "cpu": cpu, "peak": rss_mb("VmHWM:") - before, "daily": daily,
                  "categories": categories, "digest": digest.hexdigest()[:16],
                  "stages": spent}))
"""


def _answers(clients: int, path: Path) -> int:
    """One window of DAYS days per client, as a parquet file; returns the JSON bytes."""
    runtime = simulator_runtime(clients)
    end = yesterday() - timedelta(days=1)
    start = end - timedelta(days=DAYS - 1)
    query = BalanceQuery(start, end, "day", None)
    ids = client_ids(runtime)
    bodies = [balance_json(runtime.client(cid), runtime.usage, query, False) for cid in ids]
    pl.DataFrame(
        {
            "client_id": ids,
            "start": [start] * len(ids),
            "end": [end] * len(ids),
            "body": bodies,
            "fetched_at": [datetime.now(UTC)] * len(ids),
        }
    ).write_parquet(path)
    return sum(len(body) for body in bodies)


def _before_tree(folder: Path) -> Path | None:
    """The pipeline package at commit BEFORE, or None outside a git checkout."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", BEFORE, "pipeline"],
        capture_output=True,
        check=False,
    )
    if archive.returncode != 0:
        return None
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def _measure(answers: Path, tree: Path | None) -> dict:
    env = {"PYTHONPATH": str(tree)} if tree else {}
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, str(answers), str(BATCH)],
        check=True,
        capture_output=True,
        text=True,
        env={**_environment(), **env},
        cwd=answers.parent,  # not the project root, which would come first on sys.path
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _stage_seconds(stages: dict[str, float], stage: str) -> str:
    """A stage's CPU seconds, or a dash where that version has no such stage."""
    return f"{stages[stage]:.2f}" if stage in stages else "-"


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def run(options: Options | None = None) -> str:
    options = options or Options()
    clients = QUICK_CLIENTS if options.quick else FULL_CLIENTS
    with tempfile.TemporaryDirectory(prefix="bench-transform-") as tmp:
        answers = Path(tmp) / "answers.parquet"
        size = _answers(clients, answers)
        before_tree = _before_tree(Path(tmp) / "before")
        versions = {"before": before_tree, "now": None} if before_tree else {"now": None}
        runs: dict[str, list[dict]] = {name: [] for name in versions}
        for _ in range(2):
            for name, tree in versions.items():
                runs[name].append(_measure(answers, tree))
    best = {name: min(results, key=lambda r: r["cpu"]) for name, results in runs.items()}
    digests = {r["digest"] for results in runs.values() for r in results}
    mb = size / 1e6
    rows = [
        (
            f"{name} ({BEFORE})" if name == "before" else "now",
            f"{r['cpu']:.2f}",
            f"{r['wall']:.2f}",
            f"{mb / r['cpu']:.0f}",
            f"{r['daily'] / r['cpu']:,.0f}",
            f"{r['peak']:.0f} MB",
        )
        for name, r in best.items()
    ]
    # this version's stages first, in the order they run
    stage_names = list(
        dict.fromkeys([*best["now"]["stages"], *best.get("before", best["now"])["stages"]])
    )
    stage_rows = [
        (stage, *(_stage_seconds(best[name]["stages"], stage) for name in best))
        for stage in stage_names
    ]
    now = best["now"]
    notes = [
        f"{now['daily']:,} usage_daily and {now['categories']:,} usage_by_category rows; "
        f"both versions give the same rows: {'yes' if len(digests) == 1 else 'NO'}."
    ]
    if "before" in best:
        saved = 1 - now["cpu"] / best["before"]["cpu"]
        notes.append(
            f"Reading the bodies with Arrow saves {saved:.0%} of the transform's CPU: "
            "`pyarrow.json` reads a batch's bodies in one pass, straight into typed columns "
            "(money as DECIMAL(38, 10) from each number's text, exactly), instead of "
            "`json.loads` making every number a Python string, `pl.from_dicts` a text frame of "
            "them and polars' exact casts. A scan of the raw text first sends the forms Arrow "
            'reads more leniently than the exact parse (-0, "+5", exponents, ...) the old '
            "way, which also decides every answer the checks after the read doubt "
            "(bench/results/parse.md compares the candidates)."
        )
    return section(
        "Transform (batch_frames)",
        f"`pipeline.transform.batch_frames` on {clients:,} clients x {DAYS} days of the "
        f"simulator's answers ({mb:.0f} MB of JSON) in batches of {BATCH} clients. CPU and wall "
        "seconds of the transform alone; peak memory is how far the resident size rose above "
        "where it was with the answers loaded (Linux VmHWM, reset first).",
        table(
            [
                "code",
                "CPU seconds",
                "seconds",
                "JSON MB per CPU second",
                "daily rows per CPU second",
                "peak memory",
            ],
            rows,
        ),
        "CPU seconds per stage of the transform:",
        table(["stage", *best], stage_rows),
        " ".join(notes),
    )
