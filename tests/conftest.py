"""Suite-wide: one "today" for every test.

Today: the pipeline reads its date from `pipeline.clock` (PIPELINE_TODAY pins it). The controller
pins it here, before collection and before xdist starts its workers (which inherit the
environment), so every worker, every subprocess a test starts with `stack_env`, and every
simulator built by the suite's helpers take the same date, even in a run that crosses midnight
UTC. `PIPELINE_TODAY=2028-02-29 make test` runs the whole suite at that date; the `today`
fixture is how a test asks for it. DuckDB runs one thread per connection (PIPELINE_DUCKDB_THREADS),
set the same way.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime

import pytest

from pipeline import clock
from pipeline.warehouse.store import THREADS_VARIABLE


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault(clock.TODAY_VARIABLE, datetime.now(UTC).date().isoformat())
    clock.pinned_today()  # a mistyped PIPELINE_TODAY stops the run here, in one line
    # One DuckDB thread per connection, in the workers and the processes they start: the suite's
    # lakes hold a few thousand rows, where DuckDB's extra threads save no time and cost a quarter
    # of a refresh's CPU, on a machine whose cores the workers already share.
    os.environ.setdefault(THREADS_VARIABLE, "1")


@pytest.fixture(scope="session")
def today() -> date:
    """The suite's today (UTC): usage reaches the day before."""
    return clock.today()


# The real PostgreSQL and S3 servers the storage tests use (tests/lake_servers.py).
from lake_servers import postgres, s3  # noqa: E402, F401
