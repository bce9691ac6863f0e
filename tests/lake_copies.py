"""A copy of a lake in another folder, for tests that start many cases from one loaded lake."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from pathlib import Path


def copy_lake(source: Path, target: Path, catalog: str = "warehouse.sqlite") -> None:
    """Copy the folder `source` (a SQLite catalog, its data files and whatever else is there)
    to `target`, and point the copy's catalog at its own data files: a catalog records the
    absolute path of its data folder (the files' paths are relative to it), so a plain copy
    would still read, and refuse to write, the original's. Nothing may have the copy open yet
    (Python's sqlite3 is another copy of SQLite than DuckDB's)."""
    shutil.copytree(source, target, symlinks=True, dirs_exist_ok=True)
    with contextlib.closing(sqlite3.connect(target / catalog)) as con, con:
        [(old,)] = con.execute("SELECT value FROM ducklake_metadata WHERE key = 'data_path'")
        new = old.replace(str(source), str(target), 1)
        con.execute("UPDATE ducklake_metadata SET value = ? WHERE key = 'data_path'", [new])
