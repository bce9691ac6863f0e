"""The storage guarantees, on both kinds of lake (the `lake_env` fixture, conftest.py). The other
process is a real one (lake_process.py), so nothing is shared but the lake itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from warehouse.lake_process import DAY

from pipeline.settings import Settings
from pipeline.warehouse import UsageLoad, Warehouse

PROCESS = Path(__file__).with_name("lake_process.py")


def lake(env: dict[str, str]) -> Warehouse:
    return Settings.from_env(env).lake()


class Process:
    """lake_process.py in a process of its own, one line in, one line out."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        tests = str(Path(__file__).parents[1])
        self.popen = subprocess.Popen(
            [sys.executable, str(PROCESS), *args],
            env={**os.environ, **env, "PYTHONPATH": tests},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def line(self) -> str:
        text = self.popen.stdout.readline().strip()
        assert text, f"the process ended (exit {self.popen.wait(timeout=60)})"
        return text

    def send(self, text: str) -> str:
        self.popen.stdin.write(text + "\n")
        self.popen.stdin.flush()
        return self.line()

    def kill(self) -> None:
        self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=60)

    def close(self) -> None:
        if self.popen.poll() is None:
            self.popen.stdin.close()
            self.popen.wait(timeout=60)


@pytest.fixture
def processes() -> Iterator[list[Process]]:
    started: list[Process] = []
    yield started
    for process in started:
        if process.popen.poll() is None:
            process.kill()


def test_a_killed_load_loses_only_its_batch_in_flight_and_resume_skips_the_rest(
    lake_env, processes
):
    loader = Process(lake_env, "load", "3")
    processes.append(loader)
    assert [loader.line(), loader.line(), loader.line()] == [
        "committed 1",
        "committed 2",
        "in flight",
    ]
    loader.kill()  # batch 3's transaction open: deleted and inserted, not committed

    wh = lake(lake_env)
    with wh.read() as con:
        rows = con.execute("SELECT client_id, total_price FROM usage_daily ORDER BY 1").fetchall()
        covered = con.execute("SELECT client_id FROM usage_coverage ORDER BY 1").fetchall()
    assert [(c, str(p.normalize())) for c, p in rows] == [("c0", "1.5"), ("c1", "2.5")]
    assert covered == [("c0",), ("c1",)]
    resumed = UsageLoad.open(wh, "run", DAY, DAY, resume=True)
    assert resumed.saved_clients(wh) == ({"c0", "c1"}, 2)


def test_a_reader_keeps_its_snapshot_while_batches_commit_and_sees_them_next(lake_env, processes):
    wh = lake(lake_env)
    with wh.write():  # the empty schema, so the reader has tables to read
        pass
    reader = Process(lake_env, "read")
    processes.append(reader)
    assert reader.line() == "0 0"
    loader = Process(lake_env, "load", "4")
    processes.append(loader)
    for batch in (1, 2, 3):
        assert loader.line() == f"committed {batch}"
        assert reader.send("look") == "0 0"  # its transaction: the snapshot it began with
    assert loader.line() == "in flight"
    assert reader.send("next") == "3 7.5"  # a new transaction: every committed batch
    loader.kill()
    assert reader.send("next") == "3 7.5"  # the batch in flight never shows
    reader.close()
