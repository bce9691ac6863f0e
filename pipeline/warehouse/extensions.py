"""The DuckDB extensions the warehouse needs, loaded from the PyPI wheels the project pins.

DuckDB would download an extension on first use, and nothing may be downloaded here (nor in a
locked-down deployment): each extension comes as a wheel `duckdb-extension-<name>` of the same
version as duckdb, holding `duckdb_extension_<name>/extensions/v<version>/<name>.duckdb_extension`,
and `LOAD '<that file>'` loads it without INSTALL and without writing to ~/.duckdb.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from pathlib import Path

import duckdb

from pipeline.warehouse.errors import WarehouseError
from pipeline.warehouse.sql_text import quoted

# ducklake for the warehouse itself, sqlite_scanner and postgres_scanner for its two kinds of
# catalog, httpfs for data files and exports on S3.
WAREHOUSE_EXTENSIONS = ("ducklake", "sqlite_scanner", "postgres_scanner", "httpfs")
UNVERIFIED_LOAD: dict[str, str | bool] = {"allow_unsigned_extensions": True}
"""Connection config that skips DuckDB's signature check of each LOAD, which hashes the whole
binary (30-40 MB, 0.2 s each) on every connection: the wheels' hashes are pinned in uv.lock and
checked when they are installed, and only files found inside them are loaded."""


def extension_file(name: str) -> Path:
    """The extension binary inside its installed wheel; one line saying what to install if not."""
    wheel = f"duckdb-extension-{name.replace('_', '-')}"
    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    version = duckdb.__version__
    if spec is None or not spec.submodule_search_locations:
        raise WarehouseError(
            f"the DuckDB extension {name} is not installed: install the wheel {wheel}=={version} "
            "(`make setup` does)"
        )
    package = Path(next(iter(spec.submodule_search_locations)))
    binary = package / "extensions" / f"v{version}" / f"{name}.duckdb_extension"
    if not binary.is_file():
        raise WarehouseError(
            f"the wheel {wheel} installed is not for DuckDB {version} ({binary} is missing): "
            f"install {wheel}=={version} (`make setup` does)"
        )
    return binary


def load_extensions(con: duckdb.DuckDBPyConnection, names: Iterable[str]) -> None:
    """LOAD the extensions `names` (of WAREHOUSE_EXTENSIONS) into `con`, each from its wheel."""
    for name in names:
        con.execute(f"LOAD {quoted(str(extension_file(name)))}")
