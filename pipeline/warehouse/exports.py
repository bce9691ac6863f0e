"""Parquet exports for BI: `<export root>/<name>/`, a folder or an s3:// prefix.

Layout, the same in both places:
- the facts hive-partitioned by month, `<table>/usage_month=YYYY-MM/data_0.parquet`, with
  `usage_date` a date column inside each file. The key is the month, not the day, because a
  partition key that is also a file column makes pyarrow (and so pandas) refuse the dataset
  (`Unable to merge: Field usage_date has incompatible types`): this way DuckDB, polars,
  pyarrow and pandas all read `usage_date` as a date with no options, and a month is one file;
- the other tables and the finance views, `<name>/<name>.parquet`;
- a table without rows, one schema-only `<name>/<name>.parquet` (with `usage_month`), so a
  reader gets the columns and no rows rather than "no files found".

In a folder, a run's export switches in whole. The root is a symlink to one complete version,
a folder under `.<name>.versions/` beside it. An export builds a new version there, hard-linking
the current version's files it keeps and writing only what changed, then replaces the symlink in
one rename: a reader resolving `root/<table>/**/*.parquet` sees one version or the other, never
tables from two runs, and a killed export leaves only an unreferenced folder. The version before
the current one is kept until the next export, for readers still reading it; that export
removes it and any debris of killed exports.

On S3 there is no rename. Each file is one object written by one upload, which S3 makes visible
whole when it completes: a reader gets an object's old content or its new one, never a part.
Objects the export no longer has (an emptied month, a schema-only file once the table has rows)
are deleted after every new object is written. So while an export runs, a reader listing the
prefix may see some months or tables new and others old, and until the end a month about to be
deleted; a reader who needs one consistent state reads the warehouse itself. Exports into one
prefix must not overlap: the pipeline's runs do one export at a time (a lock file cannot serve
machines that share only the bucket).

Data comes from the warehouse through a read-only connection: no lock, no waiting on a writer.
That connection's memory is capped (EXPORT_MEMORY_LIMIT); what a big view needs beyond it spills
to a temporary folder.
"""

import json
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
from filelock import FileLock, Timeout

from pipeline.warehouse.errors import WarehouseBusyError, WarehouseError
from pipeline.warehouse.extensions import load_extensions
from pipeline.warehouse.sql_text import quoted
from pipeline.warehouse.store import (
    S3_PREFIX,
    ObjectStorage,
    Warehouse,
    error_text,
    fsync_path,
    is_s3,
    s3_secret,
)

_WRAPPED_MESSAGE = re.compile(r'"exception_message":"((?:[^"\\]|\\.)*)"')
# Tables analysts read, exported when the warehouse has them (older files may lack newer tables).
# Not raw_balance_* nor usage_load*: the kept API bodies and the load log are for the pipeline.
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
    "rate_cards",
    "statements",
    "statement_lines",
    "statement_adjustments",
)
# The finance views, so a BI tool does not rebuild markups, pricing and reconciliation; all of
# monthly grain (or one row per client), so writing them whole on every export stays cheap. The
# daily views are left to the BI tool over usage_daily.
EXPORTED_VIEWS = (
    "client_monthly_statement",
    "statement_draft_lines",
    "statement_lines_by_month",
    "open_adjustments",
    "usage_reconciliation_monthly",
    "usage_monthly_by_client",
    "billable_usage_monthly",
    "usage_by_category_monthly",
    "category_mix_monthly",
    "free_vs_paid_monthly",
    "client_cost_change_monthly",
    "channel_monthly_cost",
    "client_month_coverage",
    "month_coverage",
    "low_balance_watch",
    "partner_balance_watch",
)
EXPORT_MEMORY_LIMIT = "1GB"
"""DuckDB's memory for an export; beyond it, it spills (measured in bench/daily.py)."""
PARTITION_KEY = "usage_month"
PARTITION_PREFIX = f"{PARTITION_KEY}="
LOCK_NAME = ".lock"  # in the versions folder; serialises exports into the same export_dir
LINK_PREFIX = "link-"  # a new symlink, made in the versions folder, then renamed over export_dir


@dataclass(frozen=True)
class ExportResult:
    export_dir: str  # the root readers use: a folder or an s3:// prefix
    version: str | None  # in a folder, the version folder the root points to now
    rows: dict[str, int]  # rows written per table or view (for facts: in the exported months)
    files_written: int  # files written by this export (the ones kept are not counted)
    files_removed: int  # files of the previous export that this one no longer has


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


def prepare_export_dir(export_dir: str | os.PathLike[str], storage: ObjectStorage) -> None:
    """Make sure exports can be written under export_dir; one line naming it otherwise. Cheap:
    the CLI calls it before any request. In a folder: its versions folder and lock file are
    created; on S3: the prefix is listed, which proves the bucket and the credentials."""
    if is_s3(os.fspath(export_dir)):
        _S3Objects(os.fspath(export_dir), storage).check()
    else:
        _prepare_folder(Path(export_dir))


def _prepare_folder(export_dir: Path) -> ExportLayout:
    layout = ExportLayout(_export_root(export_dir))
    if layout.root.exists() and not layout.root.is_dir():
        raise WarehouseError(f"the export folder {layout.root} is a file; choose a folder")
    try:
        layout.versions.mkdir(parents=True, exist_ok=True)
        # Creating the lock file is the write test: os.access says yes to root on a read-only
        # mount, and a lock file that cannot be created would make FileLock spin until timeout.
        (layout.versions / LOCK_NAME).touch()
    except OSError as error:
        raise _cannot_write(str(layout.root), error) from None
    return layout


def export_parquet(
    wh: Warehouse,
    export_dir: str | os.PathLike[str],
    *,
    start: date | None = None,
    end: date | None = None,
    lock_timeout_seconds: float = 900.0,
) -> ExportResult:
    """Export every table and finance view the warehouse has; with start and end, write only
    the fact months [start, end] reaches (dropping those that no longer have data) and keep the
    others, else write all of them. Other tables and the views are written whole."""
    if (start is None) != (end is None) or (start and end and start > end):
        raise WarehouseError(f"export range {start}..{end} needs both ends, start <= end")
    months = _Months.spanning(start, end) if start and end else None
    if is_s3(os.fspath(export_dir)):
        return _export_to_s3(wh, os.fspath(export_dir), months)
    return _export_to_folder(wh, Path(export_dir), months, lock_timeout_seconds)


def _export_to_folder(
    wh: Warehouse, export_dir: Path, months: "_Months | None", lock_timeout_seconds: float
) -> ExportResult:
    layout = _prepare_folder(export_dir)
    with _export_lock(layout, lock_timeout_seconds):
        version = layout.versions / _version_name(uuid.uuid4().hex[:8])
        try:
            _adopt_real_folder(layout)
            base = layout.current()
            _remove_debris(layout, keep=base)
            version.mkdir()
            with _export_connection(wh) as con:
                build = _build(con, str(version), _folder_files(base), months)
            if base is not None:  # files are kept only from a current version
                for name, files in build.kept.items():
                    for relative in files:
                        _link_file(base / name / relative, version / name / relative)
            # New files and the switch reach the disk before the switch counts as done; the hard
            # links and folders are metadata, which journaling filesystems commit in order with
            # the rename.
            for file in build.written:
                fsync_path(Path(file))
            _switch(layout, version)
        except (OSError, duckdb.IOException) as error:
            raise _cannot_write(str(layout.root), error) from None
        finally:
            if layout.current() != version:  # failed before the switch: nobody can see it
                shutil.rmtree(version, ignore_errors=True)
    return build.result(str(layout.root), version.name)


def _export_to_s3(wh: Warehouse, root: str, months: "_Months | None") -> ExportResult:
    objects = _S3Objects(root, wh.storage)
    try:
        with _export_connection(wh) as con:
            if not is_s3(wh.data_path):  # a local lake's connections have no S3 access yet
                load_extensions(con, ["httpfs"])
                con.execute(s3_secret(wh.storage, lambda value, _: value))
            build = _build(con, objects.root, objects.files(), months)
        # Last, so that no reader finds a month or table missing before its new file is there.
        objects.delete(build.obsolete)
    except (OSError, duckdb.Error) as error:
        raise _cannot_write(objects.root, error) from None
    return build.result(objects.root, None)


@contextmanager
def _export_connection(wh: Warehouse) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection of the export's own, in one transaction (one snapshot for every
    file), whose memory is capped and which may spill to a temporary folder: a finance view over
    a long history hash-joins and aggregates all of usage_by_category, and a reader's connection
    may not spill (it writes nothing), so it would hold all of it in memory."""
    with tempfile.TemporaryDirectory(prefix="export-spill-") as spill:
        con = wh.connect(read_only=True)
        try:
            con.execute(f"SET memory_limit = {quoted(EXPORT_MEMORY_LIMIT)}")
            con.execute(f"SET temp_directory = {quoted(spill)}")
            con.execute("BEGIN TRANSACTION")
            yield con
        finally:
            con.close()


Files = dict[str, set[str]]
"""name -> the export's files of that table or view, relative to `<root>/<name>/`."""


@dataclass
class _Build:
    rows: dict[str, int] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)  # full paths of the files written
    kept: Files = field(default_factory=dict)  # the current export's files still valid
    obsolete: list[str] = field(default_factory=list)  # `<name>/<file>` the new export lacks

    def result(self, root: str, version: str | None) -> ExportResult:
        return ExportResult(root, version, self.rows, len(self.written), len(self.obsolete))


def _build(
    con: duckdb.DuckDBPyConnection, root: str, current: Files, months: "_Months | None"
) -> _Build:
    """Write under root every table and view the warehouse has (the facts of `months` only, when
    given and the current export has the table's months) and say which current files stay or go."""
    build = _Build()
    names = _relations(con)

    def write(
        name: str, select: str, params: Sequence[object], target: str, options: str = ""
    ) -> None:
        if not is_s3(root):  # DuckDB makes the folders of a partitioned write, not of one file
            Path(target).parent.mkdir(parents=True, exist_ok=True)
        copy = f"COPY ({select}) TO {quoted(target)} (FORMAT parquet, RETURN_FILES true{options})"
        rows, files = con.execute(copy, params).fetchone() or (0, [])
        build.rows[name] = rows
        build.written += files
        new = {file.removeprefix(f"{root}/{name}/") for file in files}
        gone = current.get(name, set()) - new - build.kept.get(name, set())
        build.obsolete += [f"{name}/{file}" for file in sorted(gone)]

    for table in (t for t in PARTITIONED_TABLES if t in names):
        keyed = f"SELECT *, strftime(usage_date, '%Y-%m') AS {PARTITION_KEY} FROM {table}"
        if con.execute(f"SELECT EXISTS (FROM {table})").fetchone() != (True,):
            write(table, f"{keyed} LIMIT 0", [], f"{root}/{table}/{table}.parquet")
            continue
        month_files = {f for f in current.get(table, set()) if _month_of(f)}
        if months is not None and month_files:
            build.kept[table] = {f for f in month_files if _month_of(f) not in months.names}
            where, params = "WHERE usage_date BETWEEN ? AND ?", [months.first_day, months.last_day]
        else:  # a whole export, or a table the current export has no months of yet
            where, params = "", []
        options = f", PARTITION_BY ({PARTITION_KEY}), OVERWRITE_OR_IGNORE true"
        write(table, f"{keyed} {where} ORDER BY ALL", params, f"{root}/{table}", options)
    for name in (n for n in (*SINGLE_FILE_TABLES, *EXPORTED_VIEWS) if n in names):
        write(name, f"SELECT * FROM {name} ORDER BY ALL", [], f"{root}/{name}/{name}.parquet")
    return build


def _relations(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database()"
        " AND table_schema = current_schema()"
    ).fetchall()
    return {name for (name,) in rows}


@dataclass(frozen=True)
class _Months:
    """The calendar months a day range reaches: their names and their first and last day."""

    names: frozenset[str]
    first_day: date
    last_day: date

    @classmethod
    def spanning(cls, start: date, end: date) -> "_Months":
        names, year, month = set(), start.year, start.month
        while (year, month) <= (end.year, end.month):
            names.add(f"{year:04d}-{month:02d}")
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return cls(frozenset(names), start.replace(day=1), date(year, month, 1) - timedelta(days=1))


def _month_of(relative: str) -> str | None:
    """The month of a `usage_month=YYYY-MM/<file>` path; None for anything else."""
    folder = relative.partition("/")[0]
    return folder.removeprefix(PARTITION_PREFIX) if folder.startswith(PARTITION_PREFIX) else None


def _folder_files(version: Path | None) -> Files:
    """A version's parquet files per table; only the layout's own (other files are not carried)."""
    if version is None:
        return {}
    files: Files = {}
    for table in (t for t in version.iterdir() if t.is_dir()):
        files[table.name] = {
            str(f.relative_to(table))
            for f in table.glob("**/*.parquet")
            if f.parent == table or _month_of(str(f.relative_to(table))) is not None
        }
    return files


class _S3Objects:
    """The export's objects under an s3:// prefix, listed and deleted with pyarrow's S3 client:
    DuckDB writes objects but deletes none, and pyarrow is a dependency already (boto3 is not)."""

    def __init__(self, root: str, storage: ObjectStorage) -> None:
        from pyarrow import fs  # here: its S3 client takes a while to import, and few need it

        self.root = root.rstrip("/")
        self._path = self.root.removeprefix(S3_PREFIX)
        self._fs = fs.S3FileSystem(
            access_key=storage.key_id,
            secret_key=storage.secret,
            region=storage.region,
            endpoint_override=storage.endpoint,
            scheme="https" if storage.use_ssl else "http",
        )
        self._everything = fs.FileSelector(self._path, recursive=True, allow_not_found=True)
        self._file = fs.FileType.File

    def check(self) -> None:
        from pyarrow import fs

        bucket = self._path.partition("/")[0]
        try:
            missing = self._fs.get_file_info(bucket).type == fs.FileType.NotFound
            if not missing:  # a listing proves the credentials (the bucket's own check may not)
                self._fs.get_file_info(fs.FileSelector(self._path, allow_not_found=True))
        except OSError as error:
            raise WarehouseError(
                f"cannot list the export prefix {self.root}: {error_text(error)}; check "
                "AWS_REGION, PIPELINE_S3_ENDPOINT and the AWS credentials"
            ) from None
        if missing:
            raise WarehouseError(
                f"cannot list the export prefix {self.root}: the bucket {bucket} does not "
                "exist; create it or correct PIPELINE_EXPORT_DIR"
            )

    def files(self) -> Files:
        files: Files = {}
        for info in self._fs.get_file_info(self._everything):
            if info.type == self._file and info.path.endswith(".parquet"):
                name, _, relative = info.path.removeprefix(f"{self._path}/").partition("/")
                if relative:
                    files.setdefault(name, set()).add(relative)
        return files

    def delete(self, relatives: list[str]) -> None:
        for relative in relatives:
            self._fs.delete_file(f"{self._path}/{relative}")


def _link_file(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
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


def _cannot_write(root: str, error: OSError | duckdb.Error) -> WarehouseError:
    # DuckDB 1.5 starts the message with its kind ("IO Error: "), which tells the operator nothing.
    first_line = (str(error) or type(error).__name__).splitlines()[0].removeprefix("IO Error: ")
    # DuckDB wraps a failed file write (a full disk, say) in a JSON object; its message names
    # the file and the reason, which is all the operator needs.
    wrapped = _WRAPPED_MESSAGE.search(first_line)
    if wrapped:
        first_line = json.loads(f'"{wrapped[1]}"')
    return WarehouseError(f"cannot write the export under {root}: {first_line}")
