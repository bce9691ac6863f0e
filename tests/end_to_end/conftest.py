"""End-to-end fixtures: a real simulator over HTTP, real DuckDB files, real Dagster runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from end_to_end.stack import Stack, small_options, stack_env

from pipeline.simulator import run_simulator


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with run_simulator(small_options()) as sim:
        yield Stack(sim, stack_env(sim, tmp_path), tmp_path)
