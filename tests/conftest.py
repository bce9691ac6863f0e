"""Suite-wide: under pytest-xdist (`-n 4 --dist loadgroup`, set in pyproject.toml), the tests that
share a module-scoped fixture (a loaded stack, a simulator) run on one worker, so the fixture is
built once; every other test goes to whichever worker is free."""

from __future__ import annotations

import pytest
from _pytest.nodeid import NodeId


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


# The real PostgreSQL and S3 servers the storage tests use (tests/lake_servers.py).
from lake_servers import postgres, s3  # noqa: E402, F401
