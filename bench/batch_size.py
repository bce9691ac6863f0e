"""PIPELINE_BATCH_CLIENTS: what a batch's size costs in memory and time.

`replay_in_batches` of the same 2,000 clients x 365 days of raw answers (bench/history.py) with
several batch sizes, each in a process of its own, into a copy of the same warehouse. A replay's
batches are a run's batches without the fetching: the memory a batch takes (its answers, parsed
bodies and frames) and the fixed cost of each batch commit show the same way.
"""

from __future__ import annotations

import dataclasses
import tempfile
from datetime import timedelta
from pathlib import Path

from bench.common import Options, section, table, yesterday
from bench.history import build_history, days_before, replay, replay_stages
from bench.processes import Measured, copy_folder
from pipeline.settings import Settings

FULL_CLIENTS, QUICK_CLIENTS = 2000, 300
DAYS = 365
SIZES = (50, 200, 1000)


def run(options: Options | None = None) -> str:
    options = options or Options()
    clients = QUICK_CLIENTS if options.quick else FULL_CLIENTS
    default = Settings.model_fields["batch_clients"].default
    end = yesterday() - timedelta(days=1)
    results: dict[int, Measured] = {}
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        history = build_history(Path(tmp) / "history", clients, days_before(end, DAYS), end)
        for size in SIZES:
            copy = Path(tmp) / f"batch-{size}"
            copy_folder(history.folder, copy)
            copied = dataclasses.replace(history, folder=copy)
            results[size] = replay(copied, PIPELINE_BATCH_CLIENTS=size)
    mb = history.json_bytes / 1e6
    rows = []
    for size, m in results.items():
        stages = replay_stages(m)
        last_batch = m.when("replay: batch", last=True)
        saving = stages.get("commit batch into the lake", (0.0, 0.0))
        rows.append(
            (
                f"{size:,}" + (" (default)" if size == default else ""),
                f"{-(-clients // size)}",
                f"{m.peak_in(None, last_batch):,.0f} MB",
                f"{m.peak_in(last_batch):,.0f} MB",
                f"{stages['total'][0]:.1f}",
                f"{stages['total'][1]:.1f}",
                f"{saving[1]:.1f}",
            )
        )
    return section(
        "Batch size (`PIPELINE_BATCH_CLIENTS`)",
        f"`replay_in_batches` of {clients:,} clients x {DAYS} days ({mb:,.0f} MB of JSON) with "
        "each batch size, one run each, in a process of its own. Peak RSS while transforming "
        "and saving batches, then while publishing the journal (which inserts the whole run's "
        "rows in one transaction, so it grows with the run, not the batch).",
        table(
            [
                "clients per batch",
                "batches",
                "peak RSS, batches",
                "peak RSS, publish",
                "replay seconds",
                "replay CPU seconds",
                "of which journal saves (CPU s)",
            ],
            rows,
        ),
        "A killed run loses at most its batch in flight, so a smaller batch also loses less; "
        "but a batch of more clients than the run has is a single batch, and a kill then loses "
        "everything fetched (see Killed and resumed).",
    )
