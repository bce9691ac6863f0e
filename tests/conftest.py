"""Suite-wide: one "today" for every test, and the xdist grouping of tests that share a fixture.

Today: the pipeline reads its date from `pipeline.clock` (PIPELINE_TODAY pins it). The controller
pins it here, before collection and before xdist starts its workers (which inherit the
environment), so every worker, every subprocess a test starts with `stack_env`, and every
simulator built by the suite's helpers take the same date, even in a run that crosses midnight
UTC. `PIPELINE_TODAY=2028-02-29 make test` runs the whole suite at that date; the `today`
fixture is how a test asks for it.

Grouping: under pytest-xdist (`-n 4 --dist loadgroup`, set in pyproject.toml), the tests that
share a module-scoped fixture (a loaded stack, a simulator) run on one worker, so the fixture is
built once; every other test goes to whichever worker is free.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime

import pytest
from _pytest.nodeid import NodeId

from pipeline import clock


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault(clock.TODAY_VARIABLE, datetime.now(UTC).date().isoformat())
    clock.pinned_today()  # a mistyped PIPELINE_TODAY stops the run here, in one line


@pytest.fixture(scope="session")
def today() -> date:
    """The suite's today (UTC): usage reaches the day before."""
    return clock.today()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not getattr(config.option, "loadgroup", False):  # on xdist workers, --dist loadgroup
        return
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is not None and any(
            definition.scope == "module"
            for definitions in info.name2fixturedefs.values()
            for definition in definitions
        ):
            # What xdist does for an `xdist_group` mark: the group after an "@" in the node id.
            # xdist 3.8 sets `item._nodeid`, which pytest 9 no longer reads; it reads `_id`.
            item._id = NodeId.parse(f"{item.nodeid}@{item.nodeid.split('::')[0]}")
