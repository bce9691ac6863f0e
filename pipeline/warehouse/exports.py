"""Parquet exports for BI: `<export_dir>/<table>/`, facts hive-partitioned by usage_date.

A run's export switches in whole. `export_dir` is a symlink to one complete version of the export,
a folder under `.<name>.versions/` beside it. An export builds a new version there, hard-linking
the current version's files it keeps and writing only what changed, then replaces the symlink in
one rename: a reader resolving `export_dir/<table>/**/*.parquet` sees one version or the other,
never tables from two runs, and a killed export leaves only an unreferenced folder. The version
before the current one is kept until the next export, for readers still reading it; that export
removes it and any debris of killed exports. Data comes from the published warehouse through a
read-only connection: no warehouse lock, no waiting on a writer.
"""

import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
from filelock import FileLock, Timeout

from pipeline.warehouse.errors import WarehouseBusyError, WarehouseError
from pipeline.warehouse.sql_text import quoted
from pipeline.warehouse.store import Warehouse, affected_rows, fsync_path

# Tables analysts read, exported when the warehouse has them (older files may lack newer tables).
# Not raw_balance_*: the kept API bodies are for replays, not for BI.
_WRAPPED_MESSAGE = re.compile(r'"exception_message":"((?:[^"\\]|\\.)*)"')
PARTITIONED_TABLES = (
    "usage_daily",
    "usage_by_category",
    "usage_coverage",
    "usage_daily_by_channel",
    "usage_by_channel_category",
)
SINGLE_FILE_TABLES = (
    "balance_snapshots",
    "clients",
    "channels",
    "clients_history",
    "channels_history",
    "usage_monthly_api",
    "partner_balance_snapshots",
    "client_markups",
)
PARTITION_PREFIX = "usage_date="
LOCK_NAME = ".lock"  # in the versions folder; serialises exports into the same export_dir
LINK_PREFIX = "link-"  # a new symlink, made in the versions folder, then renamed over export_dir


@dataclass(frozen=True)
class ExportResult:
    export_dir: Path
    version: Path  # the folder export_dir points to now
    rows: dict[str, int]  # rows written per table (for facts: in the exported range)
    files_written: int  # files written by this export (the ones kept are linked, not counted)
    partitions_removed: int


@dataclass(frozen=True)
class ExportLayout:
    """Where an export root keeps its versions: `<parent>/.<name>.versions/`."""

    root: Path  # the symlink readers use

    @property
    def versions(self) -> Path:
        return self.root.parent / f".{self.root.name}.versions"

    def is_ours(self) -> bool:
        """The root is a symlink into the versions folder (whether or not its target exists)."""
        return self.root.is_symlink() and (
            Path(os.readlink(self.root)).parent == Path(self.versions.name)
        )

    def current(self) -> Path | None:
        """The version the root points to, if it is one of ours and still there."""
        if not self.is_ours():
            return None
        version = self.versions / Path(os.readlink(self.root)).name
        return version if version.is_dir() else None


def prepare_export_dir(export_dir: str | os.PathLike[str]) -> ExportLayout:
    """Make sure exports can be written under export_dir, creating its versions folder and lock
    file; one line naming the folder otherwise. Cheap: the CLI calls it before any request."""
    layout = ExportLayout(_export_root(Path(export_dir)))
    if layout.root.exists() and not layout.root.is_dir():
        raise WarehouseError(f"the export folder {layout.root} is a file; choose a folder")
    try:
        layout.versions.mkdir(parents=True, exist_ok=True)
        # Creating the lock file is the write test: os.access says yes to root on a read-only
        # mount, and a lock file that cannot be created would make FileLock spin until timeout.
        (layout.versions / LOCK_NAME).touch()
    except OSError as error:
        raise _cannot_write(layout.root, error) from None
    return layout


def export_parquet(
    wh: Warehouse,
    export_dir: str | os.PathLike[str],
    *,
    start: date | None = None,
    end: date | None = None,
    lock_timeout_seconds: float = 900.0,
) -> ExportResult:
    """Export every table the warehouse has; with start and end, write only the fact partitions
    of [start, end] (dropping those that no longer have data) and keep the others, else write all
    of them. Other tables are written whole. The new version becomes visible at once."""
    if (start is None) != (end is None) or (start and end and start > end):
        raise WarehouseError(f"export range {start}..{end} needs both ends, start <= end")
    layout = prepare_export_dir(export_dir)
    with _export_lock(layout, lock_timeout_seconds):
        version = layout.versions / _version_name(uuid.uuid4().hex[:8])
        try:
            _adopt_real_folder(layout)
            base = layout.current()
            _remove_debris(layout, keep=base)
            with wh.read() as con:
                build = _build(con, version, base, start, end)
            # New files and the switch reach the disk before the switch counts as done; the hard
            # links and folders are metadata, which journaling filesystems commit in order with
            # the rename.
            for file in build.new_files:
                fsync_path(file)
            _switch(layout, version)
        except (OSError, duckdb.IOException) as error:
            raise _cannot_write(layout.root, error) from None
        finally:
            if layout.current() != version:  # failed before the switch: nobody can see it
                shutil.rmtree(version, ignore_errors=True)
    return ExportResult(
        layout.root, version, build.rows, len(build.new_files), build.partitions_removed
    )


@dataclass
class _Build:
    rows: dict[str, int]
    new_files: list[Path]
    partitions_removed: int = 0


def _build(
    con: duckdb.DuckDBPyConnection,
    version: Path,
    base: Path | None,
    start: date | None,
    end: date | None,
) -> _Build:
    """Write the new version's folder: every table the warehouse has, facts partitioned."""
    build = _Build({}, [])
    version.mkdir()
    tables = _tables(con)
    for table in (t for t in PARTITIONED_TABLES if t in tables):
        kept = base / table if base and (base / table).is_dir() else None
        # A table the current version lacks (first export, a new table) is written whole.
        day_range = (start, end) if start and end and kept else None
        target = version / table
        build.rows[table] = _copy_table(con, table, target, day_range)
        written = sorted(target.iterdir()) if target.exists() else []
        target.mkdir(exist_ok=True)  # an empty table still has its folder, so the layout is fixed
        build.new_files += [file for partition in written for file in partition.iterdir()]
        for partition, day in _partitions(kept) if kept else []:
            if day_range and not day_range[0] <= day <= day_range[1]:
                _link_tree(partition, target / partition.name)
            elif not (target / partition.name).exists():
                build.partitions_removed += 1
    for table in (t for t in SINGLE_FILE_TABLES if t in tables):
        target = version / table / f"{table}.parquet"
        target.parent.mkdir()
        build.rows[table] = _copy_table(con, table, target, None, partitioned=False)
        build.new_files.append(target)
    return build


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database()"
        " AND table_schema = current_schema() AND table_type = 'BASE TABLE'"
    ).fetchall()
    return {name for (name,) in rows}


def _copy_table(
    con: duckdb.DuckDBPyConnection,
    table: str,
    target: Path,
    day_range: tuple[date, date] | None,
    *,
    partitioned: bool = True,
) -> int:
    where, params = ("WHERE usage_date BETWEEN ? AND ?", list(day_range)) if day_range else ("", [])
    options = "FORMAT parquet, PARTITION_BY (usage_date)" if partitioned else "FORMAT parquet"
    rows = f"SELECT * FROM {table} {where} ORDER BY ALL"
    return affected_rows(con.execute(f"COPY ({rows}) TO {quoted(str(target))} ({options})", params))


def _partitions(folder: Path) -> Iterator[tuple[Path, date]]:
    """A table folder's `usage_date=YYYY-MM-DD` partitions; anything else in it is not carried."""
    for partition in sorted(folder.glob(f"{PARTITION_PREFIX}*")):
        try:
            yield partition, date.fromisoformat(partition.name.removeprefix(PARTITION_PREFIX))
        except ValueError:
            continue


def _link_tree(partition: Path, target: Path) -> None:
    target.mkdir()
    for file in partition.iterdir():
        _link_file(file, target / file.name)


def _link_file(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        # A filesystem without hard links (some network and FUSE mounts): copy instead.
        shutil.copy2(source, target)


def _switch(layout: ExportLayout, version: Path) -> None:
    """Point the root at version in one rename (a symlink replaces a symlink atomically)."""
    link = layout.versions / f"{LINK_PREFIX}{uuid.uuid4().hex}"
    # Relative, so the data folder can be moved or mounted elsewhere as a whole.
    os.symlink(Path(layout.versions.name) / version.name, link)
    os.replace(link, layout.root)
    fsync_path(layout.root.parent)


def _version_name(suffix: str) -> str:
    # Sortable by creation, for whoever looks into the versions folder.
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{suffix}"


def _adopt_real_folder(layout: ExportLayout) -> None:
    """An export folder from before versioning (a real folder) becomes the current version.

    A folder cannot be swapped for a symlink in one step: for the instant between the rename and
    the switch the root does not exist, which readers report as an error, never as mixed data.
    """
    if layout.root.is_symlink() or not layout.root.is_dir():
        return
    adopted = layout.versions / _version_name("adopted")
    try:
        os.rename(layout.root, adopted)
    except OSError as error:
        raise WarehouseError(
            f"cannot move {layout.root} into {layout.versions} ({error.strerror}); if it is a "
            "mount point, set the export folder to a folder inside it"
        ) from None
    _switch(layout, adopted)


def _remove_debris(layout: ExportLayout, keep: Path | None) -> None:
    """Remove every version but `keep` (the previous one has had a whole run for its readers),
    and anything a killed export left (half-built versions, unswitched links)."""
    for entry in layout.versions.iterdir():
        if entry.name == LOCK_NAME or entry == keep:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


@contextmanager
def _export_lock(layout: ExportLayout, timeout_seconds: float) -> Iterator[None]:
    # Two exports building from the same current version would each drop the other's partitions.
    lock = FileLock(layout.versions / LOCK_NAME, timeout=timeout_seconds)
    try:
        lock.acquire()
    except Timeout:
        raise WarehouseBusyError(
            f"another export into {layout.root} has been running for over "
            f"{timeout_seconds:.0f}s; try again when it has finished"
        ) from None
    try:
        yield
    finally:
        lock.release()


def _export_root(path: Path) -> Path:
    """The path the versions symlink lives at: path itself, or where an operator's own symlink
    (to a shared volume, say) leads, so their link keeps working and ours goes at its end."""
    root = Path(os.path.abspath(path))
    seen: set[Path] = set()
    while root.is_symlink() and not ExportLayout(root).is_ours():
        if root in seen:
            raise WarehouseError(f"the export folder {path} is a symlink loop")
        seen.add(root)
        root = Path(os.path.abspath(root.parent / os.readlink(root)))
    return root


def _cannot_write(root: Path, error: OSError | duckdb.Error) -> WarehouseError:
    # DuckDB 1.5 starts the message with its kind ("IO Error: "), which tells the operator nothing.
    first_line = (str(error) or type(error).__name__).splitlines()[0].removeprefix("IO Error: ")
    # DuckDB wraps a failed file write (a full disk, say) in a JSON object; its message names
    # the file and the reason, which is all the operator needs.
    wrapped = _WRAPPED_MESSAGE.search(first_line)
    if wrapped:
        first_line = json.loads(f'"{wrapped[1]}"')
    return WarehouseError(f"cannot write the export under {root}: {first_line}")
