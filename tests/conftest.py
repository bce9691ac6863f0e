"""Suite-wide: one "today" for every test.

Today: the pipeline reads its date from `pipeline.clock` (PIPELINE_TODAY pins it). The controller
pins it here, before collection and before xdist starts its workers (which inherit the
environment), so every worker, every subprocess a test starts with `stack_env`, and every
simulator built by the suite's helpers take the same date, even in a run that crosses midnight
UTC. `PIPELINE_TODAY=2028-02-29 make test` runs the whole suite at that date; the `today`
fixture is how a test asks for it.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime

import pytest

from pipeline import clock


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault(clock.TODAY_VARIABLE, datetime.now(UTC).date().isoformat())
    clock.pinned_today()  # a mistyped PIPELINE_TODAY stops the run here, in one line


@pytest.fixture(scope="session")
def today() -> date:
    """The suite's today (UTC): usage reaches the day before."""
    return clock.today()


# The real PostgreSQL and S3 servers the storage tests use (tests/lake_servers.py).
from lake_servers import postgres, s3  # noqa: E402, F401
