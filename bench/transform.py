"""How fast polars flattens balance responses into usage frames, and its peak memory.

The responses are the simulator's own, fetched once over HTTP; the transform then runs in a
fresh interpreter, so the rise of its peak resident size is the transform's alone (polars
allocates outside Python's heap, where tracemalloc cannot see).
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from bench.common import api_config, fetch_usage, section, table, yesterday
from pipeline.simulator import SimulatorOptions, run_simulator

SHAPES = ((1000, 31), (100, 366))  # (clients, days): a month's refresh, a year's backfill
REPEAT = 3

MEASURE = """
import pickle, statistics, sys, time
from pipeline.transform import RawBalance, usage_frames

def rss_mb(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024

raws = [RawBalance(*r) for r in pickle.loads(open(sys.argv[1], "rb").read())]
with open("/proc/self/clear_refs", "w") as refs:
    refs.write("5")  # resets the peak (VmHWM) to the current resident size
before = rss_mb("VmRSS:")
times = []
for _ in range(int(sys.argv[2])):
    began = time.perf_counter()
    frames = usage_frames(raws)
    times.append(time.perf_counter() - began)
print(statistics.median(times), rss_mb("VmHWM:") - before, frames.daily.height,
      frames.by_category.height, sum(len(r.raw_text) for r in raws))
"""


def _responses(clients: int, days: int) -> list[tuple]:
    """(client_id, raw_text, fetched_at) of one window per client, as the API client got them."""
    options = SimulatorOptions(seed=5, clients=clients, history_days=days + 1, balance_rate=None)
    end = yesterday()
    with run_simulator(options) as sim:
        config = api_config(sim, concurrency=16, window_days=days)
        _, fetched, _ = fetch_usage(config, sim.client_ids(), end - timedelta(days=days - 1), end)
    return [(w.client_id, w.raw_text, w.fetched_at) for w in fetched.windows]


def _measure(clients: int, days: int) -> tuple:
    with tempfile.TemporaryDirectory() as tmp:
        inputs = Path(tmp) / "responses.pickle"
        inputs.write_bytes(pickle.dumps(_responses(clients, days)))
        out = subprocess.run(
            [sys.executable, "-c", MEASURE, str(inputs), str(REPEAT)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
    seconds, peak_mb = float(out[0]), float(out[1])
    daily, categories, size = (int(x) for x in out[2:])
    return (
        f"{clients:,} clients x {days} days",
        f"{size / 1e6:.0f} MB",
        f"{daily:,}",
        f"{categories:,}",
        f"{seconds:.2f}",
        f"{daily / seconds:,.0f}",
        f"{size / 1e6 / seconds:.0f}",
        f"{peak_mb:.0f} MB",
    )


def run() -> str:
    rows = [_measure(clients, days) for clients, days in SHAPES]
    return section(
        "Transform (polars)",
        f"`pipeline.transform.usage_frames` on the simulator's own `/info/balance` responses "
        f"(one window a client), median of {REPEAT}. Peak memory: how far the resident size "
        "rose above where it was before the transform (Linux VmHWM, reset first), in a fresh "
        "interpreter that already holds the responses.",
        table(
            [
                "responses",
                "JSON",
                "usage_daily rows",
                "usage_by_category rows",
                "seconds",
                "daily rows/s",
                "JSON MB/s",
                "peak memory",
            ],
            rows,
        ),
        "Days without usage are absent from the responses, so rows are fewer than client-days.",
    )
