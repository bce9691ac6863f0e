"""The warehouse file: copy-on-write writes with an atomic swap, read-only reads.

DuckDB lets one process open a file read-write, and any process holding it open (an analyst's CLI
with -readonly included) stops a writer from opening it. So a write never opens the published
file: it copies it to a staging file beside it, writes there in one transaction, checkpoints, and
swaps the staging file in with os.replace. Readers that had the old file open keep their
snapshot; new connections see the new data; a failed write deletes the staging file and leaves the
published file byte for byte as it was. An inter-process file lock serialises writers so no
update is lost.
"""

import contextlib
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
from filelock import FileLock, Timeout

from pipeline.warehouse.errors import WarehouseBusyError, WarehouseError
from pipeline.warehouse.schema import DEFAULT_SQL_DIR, ensure_schema

# Connections attach the file under this name inside a private in-memory database. Opening it with
# duckdb.connect(path) instead would reuse DuckDB's per-process instance cache keyed by path, and a
# reader still open in this process would make a new reader see the file from before the swap.
CATALOG = "warehouse"
STAGING_INFIX = ".staging-"


class Warehouse:
    """A DuckDB warehouse file; `write()` and `read()` hand out connections to it."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        sql_dir: str | os.PathLike[str] = DEFAULT_SQL_DIR,
        lock_timeout_seconds: float = 900.0,
    ) -> None:
        self.path = Path(path).absolute()
        self.sql_dir = Path(sql_dir)
        self.lock_timeout_seconds = lock_timeout_seconds

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def __repr__(self) -> str:
        return f"Warehouse({str(self.path)!r})"

    def exists(self) -> bool:
        return self.path.is_file()

    @contextlib.contextmanager
    def write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection to a staging copy, in one transaction, schema ensured.

        Leaving the block normally commits and publishes the copy; an exception discards it.
        """
        self.check_writable()
        lock = FileLock(self.lock_path, timeout=self.lock_timeout_seconds)
        try:
            lock.acquire()
        except Timeout:
            raise WarehouseBusyError(
                f"another pipeline run has been writing {self.path} for over "
                f"{self.lock_timeout_seconds:.0f}s; try again when it has finished"
            ) from None
        try:
            self._remove_abandoned_staging_files()
            staging = self.path.with_name(f"{self.path.name}{STAGING_INFIX}{uuid.uuid4().hex}")
            try:
                yield from self._write_staging(staging)
                fsync_path(staging)
                self._refuse_read_write_holder()
                os.replace(staging, self.path)
                fsync_path(self.path.parent)
            finally:
                for leftover in (staging, _wal(staging)):
                    leftover.unlink(missing_ok=True)
        finally:
            lock.release()

    @contextlib.contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection to the published file; never blocks, never blocks a writer."""
        if not self.exists():
            raise WarehouseError(f"no warehouse at {self.path} yet; load some data first")
        con = connect_file(self.path, read_only=True)
        try:
            yield con
        finally:
            con.close()

    def _write_staging(self, staging: Path) -> Iterator[duckdb.DuckDBPyConnection]:
        if self.exists():
            self._refuse_read_write_holder()
            if _wal(self.path).exists():
                # Copying only the main file would silently drop what that WAL holds.
                raise WarehouseError(
                    f"{_wal(self.path)} exists (someone wrote to the warehouse directly); open and "
                    f"close {self.path} once with duckdb to fold it in, then run again"
                )
            shutil.copyfile(self.path, staging)
        con = connect_file(staging, read_only=False)
        try:
            con.execute("BEGIN TRANSACTION")
            ensure_schema(con, self.sql_dir)
            yield con
            con.execute("COMMIT")
            con.execute(f"CHECKPOINT {CATALOG}")
        finally:
            con.close()

    def check_writable(self) -> None:
        """Fail with one line before touching anything when the path cannot hold the warehouse."""
        parent = self.path.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise WarehouseError(
                f"cannot create the warehouse folder {parent} ({error.strerror}); "
                "choose a warehouse path in a writable folder"
            ) from None
        if self.path.is_dir():
            raise WarehouseError(
                f"warehouse path {self.path} is a folder; point it at a file such as "
                "data/warehouse.duckdb"
            )
        if not os.access(parent, os.W_OK | os.X_OK):
            raise WarehouseError(
                f"cannot write in {parent}; choose a warehouse path in a writable folder"
            )
        try:
            # Creating it here, once, keeps a filesystem that refuses files (/proc, say) from
            # looking like a lock held by another run for the whole lock timeout.
            self.lock_path.touch(exist_ok=True)
        except OSError as error:
            raise WarehouseError(
                f"cannot create the lock file {self.lock_path} ({error.strerror}); "
                "choose a warehouse path in a writable folder"
            ) from None

    def _refuse_read_write_holder(self) -> None:
        """Stop when another process holds the published file read-write: swapping a new file
        in under it would silently drop whatever it writes afterwards. DuckDB's own lock tells:
        a read-only open fails only while someone holds the file read-write."""
        if not self.exists():
            return
        try:
            connect_file(self.path, read_only=True).close()
        except WarehouseError as error:
            if "lock" not in str(error).lower():
                raise
            holder = re.search(r"\(PID (\d+)\)", str(error))
            who = f"process {holder[1]}" if holder else "another process"
            raise WarehouseBusyError(
                f"{self.path} is open read-write in {who}; close it there (analysts: open it "
                "read-only) and run again; the published warehouse was left as it was"
            ) from None

    def _remove_abandoned_staging_files(self) -> None:
        # Only a writer holding the lock calls this, so every staging file left is from a dead run.
        for leftover in self.path.parent.glob(f"{self.path.name}{STAGING_INFIX}*"):
            leftover.unlink(missing_ok=True)


def connect_file(path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A connection to the DuckDB file `path`, attached as the default catalog."""
    con = duckdb.connect(":memory:")
    try:
        # Timestamps come back in UTC whatever the machine's zone, so outputs are reproducible.
        con.execute("SET TimeZone = 'UTC'")
        # No progress bar: long loads would draw it into the CLI's output and the Dagster logs.
        con.execute("SET enable_progress_bar = false")
        mode = " (READ_ONLY)" if read_only else ""
        con.execute(f"ATTACH ? AS {CATALOG}{mode}", [str(path)])
        con.execute(f"USE {CATALOG}")
    except duckdb.Error as error:
        con.close()
        first_line = str(error).splitlines()[0]
        raise WarehouseError(f"cannot open the warehouse {path}: {first_line}") from None
    return con


def affected_rows(result: duckdb.DuckDBPyConnection) -> int:
    """The row count a DELETE or INSERT reports."""
    # fetchall, not fetchone: DuckDB refuses more work on a connection with an unfinished result.
    rows = result.fetchall()
    return int(rows[0][0]) if rows else 0


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
