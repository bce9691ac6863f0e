"""The warehouse: a DuckLake (a catalog plus parquet data files), written and read through DuckDB.

The catalog is a SQLite file (the default, one machine) or a Postgres database (a team); the data
files live in a folder or under an s3:// prefix. Every connection attaches the lake the same way
(`attach_statements`), whatever the two are. DuckLake gives each write transaction a snapshot: a
write costs what it changes, readers keep the snapshot they started with while writers commit, and
nothing is ever copied whole. So `write()` is one transaction on the lake, and `read()` one
read-only transaction, which sees one snapshot throughout.

Attaching a lake costs four extension loads and a catalog read (0.05 s on a quiet machine, 0.15 s
on a busy one), and a refresh makes dozens of transactions: so a process attaches each lake once
(`_Session`) and runs every transaction on a cursor of that DuckDB instance, which costs about a
tenth as much. A new transaction still starts from the lake's latest snapshot, other processes'
commits included.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from filelock import FileLock, Timeout

from pipeline.warehouse.errors import WarehouseBusyError, WarehouseError
from pipeline.warehouse.extensions import UNVERIFIED_LOAD, load_extensions
from pipeline.warehouse.schema import DEFAULT_SQL_DIR, ensure_schema
from pipeline.warehouse.sql_text import quoted, quoted_name

# Connections attach the lake under this name inside a private in-memory database, and select it.
CATALOG = "warehouse"
POSTGRES_PREFIX = "postgres:"  # the same as pipeline.settings'
THREADS_VARIABLE = "PIPELINE_DUCKDB_THREADS"
"""DuckDB's threads per connection (1-1024; unset: one per core, DuckDB's default). Read from the
process environment on every connection, as PIPELINE_TODAY is: the test suite sets 1, since on its
lakes of a few thousand rows the extra threads only add scheduling (a quarter of a refresh's CPU)
and save no time."""
S3_PREFIX = "s3://"
COMMIT_AUTHOR = "pipeline"
# What SQLite, DuckDB and the OS say when a write finds no space (or a broken disk).
_DISK_FAILURES = ("No space left on device", "database or disk is full", "disk I/O error")
_WRITTEN_FILE = re.compile(r'Could not write file \\?"([^"\\]+)')
# What DuckLake 1.5.5 says when a read-only attach finds a catalog database without a lake.
_NO_LAKE_YET = "creating a new DuckLake is explicitly disabled"


@dataclass(frozen=True)
class ObjectStorage:
    """How to reach s3:// paths: the AWS variables and an S3-compatible endpoint."""

    region: str | None = None
    endpoint: str | None = None
    """`host:port` of an S3-compatible store, or None for AWS itself."""
    use_ssl: bool = True
    key_id: str | None = field(default=None, repr=False)
    secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Snapshot:
    """A past state of the lake to read: a snapshot id, or the state at an instant."""

    version: int | None = None
    timestamp: str | None = None


class Warehouse:
    """A DuckLake warehouse; `write()` and `read()` hand out connections with it selected."""

    def __init__(
        self,
        catalog: str | os.PathLike[str],
        *,
        data_path: str | None = None,
        storage: ObjectStorage | None = None,
        pg_password: str | None = None,
        sql_dir: str | os.PathLike[str] = DEFAULT_SQL_DIR,
        run_id: str | None = None,
    ) -> None:
        text = os.fspath(catalog)
        self.is_postgres = text.startswith(POSTGRES_PREFIX)
        self.catalog = text if self.is_postgres else str(Path(text).absolute())
        if data_path is None:
            if self.is_postgres:
                raise WarehouseError(
                    "a Postgres catalog needs PIPELINE_DATA_PATH (a folder or s3://bucket/prefix/)"
                )
            data_path = str(default_data_path(Path(self.catalog)))
        self.data_path = _with_slash(
            data_path if is_s3(data_path) else str(Path(data_path).absolute())
        )
        self.storage = storage or ObjectStorage()
        self._pg_password = pg_password
        self.sql_dir = Path(sql_dir)
        self.run_id = run_id
        self.writer_timeout_seconds = 900.0

    @property
    def path(self) -> Path:
        """The SQLite catalog file (for messages and checks); a Postgres catalog has none."""
        if self.is_postgres:
            raise WarehouseError("the warehouse catalog is on Postgres: it has no file path")
        return Path(self.catalog)

    def __repr__(self) -> str:
        return f"Warehouse({self.where()!r})"

    def where(self) -> str:
        """The catalog and data path for messages: a conninfo's password left out."""
        catalog = _without_password(self.catalog) if self.is_postgres else self.catalog
        return f"{catalog} (data {self.data_path})"

    def label(self) -> str:
        """A short name for headers: the catalog file's name, or the Postgres conninfo."""
        return _without_password(self.catalog) if self.is_postgres else self.path.name

    def for_run(self, run_id: str) -> Warehouse:
        """The same warehouse, its commits tagged with `run_id` (the Dagster run's id)."""
        tagged = copy.copy(self)
        tagged.run_id = run_id
        return tagged

    def exists(self) -> bool:
        if not self.is_postgres:
            return self.path.is_file()
        try:
            self._session(read_only=True)
        except WarehouseError as error:
            # Only a database with no lake in it yet means "not there": a refused password, a
            # missing database or an unreachable server is the operator's to fix, not a reason
            # to say "load some data first".
            if _NO_LAKE_YET in str(error):
                return False
            raise
        return True

    def latest_snapshot(self) -> int | None:
        """The id of the lake's latest snapshot (every commit makes one); None before any."""
        if not self.exists():
            return None
        with self.read() as con:
            return int(con.execute(f"SELECT id FROM {CATALOG}.current_snapshot()").fetchall()[0][0])

    def run_snapshot(self, run_id: str) -> int | None:
        """The latest snapshot the Dagster run `run_id` committed, if any."""
        with self.read() as con:
            row = con.execute(
                f"SELECT max(snapshot_id) FROM {CATALOG}.snapshots() "
                "WHERE json_extract_string(commit_extra_info, '$.run_id') = ?",
                [run_id],
            ).fetchall()
        return None if row[0][0] is None else int(row[0][0])

    @contextlib.contextmanager
    def write(self, message: str = "write") -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection in one transaction, schema ensured. Leaving the block normally
        commits it as one snapshot (tagged with the run id, if any); an exception rolls it back."""
        with self.writer() as con:
            con.execute("BEGIN TRANSACTION")
            ensure_schema(con, self.sql_dir)
            yield con
            self.commit(con, message)

    @contextlib.contextmanager
    def writer(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection in no transaction, the writer's turn held until the block
        ends: for work of several transactions in a row (DuckLake's maintenance calls need one
        each), every one begun by the caller and ended with `commit`."""
        self.check_writable()
        with self._one_writer(), self._disk_errors():
            con = self._session(read_only=False).cursor()
            databases = _databases(con)
            try:
                yield con
            finally:
                _close_leaving_the_instance_as_found(con, databases)

    def commit(self, con: duckdb.DuckDBPyConnection, message: str) -> None:
        """Commit `con`'s transaction as one snapshot with `message`, tagged with the run id."""
        extra = json.dumps({"run_id": self.run_id}) if self.run_id else None
        con.execute(
            f"CALL {CATALOG}.set_commit_message(?, ?, extra_info => ?)",
            [COMMIT_AUTHOR, message, extra],
        )
        try:
            con.execute("COMMIT")
        except duckdb.Error as error:
            raise WarehouseError(f"cannot commit to the warehouse: {error_text(error)}") from None

    @contextlib.contextmanager
    def _one_writer(self) -> Iterator[None]:
        """One write transaction at a time on a SQLite catalog. SQLite has one writer, and a
        writer whose transaction began before another one committed cannot commit at all
        (`database is locked`, no waiting): so writers take turns, each for one transaction
        (one batch), while readers never wait. A Postgres catalog orders writers itself."""
        if self.is_postgres:
            yield
            return
        lock = FileLock(f"{self.catalog}.writer.lock", timeout=self.writer_timeout_seconds)
        try:
            lock.acquire()
        except Timeout:
            raise WarehouseBusyError(
                f"another process has been writing to {self.catalog} for over "
                f"{self.writer_timeout_seconds:.0f}s; try again when it has finished"
            ) from None
        try:
            yield
        finally:
            lock.release()

    @contextlib.contextmanager
    def read(self, snapshot: Snapshot | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection in one transaction: every query in the block sees the same
        snapshot (the latest, or `snapshot`), whatever writers commit meanwhile."""
        if not self.exists():
            raise WarehouseError(f"no warehouse at {self.where()} yet; load some data first")
        with self._disk_errors():
            # A past snapshot is attached on a connection of its own: rare, and never reused.
            con = (
                self.connect(read_only=True, snapshot=snapshot)
                if snapshot
                else self._session(read_only=True).cursor()
            )
            try:
                con.execute("BEGIN TRANSACTION")
                yield con
            finally:
                con.close()

    @contextlib.contextmanager
    def _disk_errors(self) -> Iterator[None]:
        """A full or failing disk under the catalog or the data files as one line that names
        them and says what to do. DuckDB reports it from deep inside (SQLite's `disk I/O error`
        while it reads the latest snapshot, a parquet write's `No space left on device`)."""
        try:
            yield
        except duckdb.Error as error:
            raise self._disk_failure(error) or error from None

    def _disk_failure(self, error: duckdb.Error) -> WarehouseError | None:
        """The one line for a write the disk under the lake refused; None for any other error
        (and for a file written elsewhere: an export's own, say, which names its folder)."""
        text = error_text(error)
        cause = next((c for c in _DISK_FAILURES if c in text), None)
        written = _WRITTEN_FILE.search(text)
        lake = [self.data_path, *([] if self.is_postgres else [str(self.path)])]  # -wal, -shm too
        if cause is None or (written and not written[1].startswith(tuple(lake))):
            return None
        return WarehouseError(
            f"the disk under the warehouse {self.where()} failed a write ({cause}): free some "
            "space there (or mend the disk) and run again; what was committed before is unchanged"
        )

    def _session(self, *, read_only: bool) -> _Session:
        """This process's attachment of the lake: for a read, the read-write one if this process
        has it (no second attach), else a read-only one."""
        lake = (self.catalog, self.data_path, self.storage, self._pg_password)
        with _SESSIONS_LOCK:
            for mode in (False, True) if read_only else (False,):
                session = _SESSIONS.get((*lake, mode))
                if session is not None and session.still_valid():
                    _SESSIONS.move_to_end((*lake, mode))
                    return session
                _SESSIONS.pop((*lake, mode), None)
            session = _Session(self.connect(read_only=read_only), self._catalog_file())
            _SESSIONS[(*lake, read_only)] = session
            while len(_SESSIONS) > _MAX_SESSIONS:
                # Dropped, not closed: a cursor another thread still uses keeps the instance alive.
                _SESSIONS.popitem(last=False)
            return session

    def _catalog_file(self) -> Path | None:
        return None if self.is_postgres else self.path

    def connect(
        self, *, read_only: bool, snapshot: Snapshot | None = None
    ) -> duckdb.DuckDBPyConnection:
        """A connection with the extensions loaded and the lake attached and selected."""
        if not read_only and not self.is_postgres:
            prepare_sqlite_catalog(self.path)
        config: dict[str, str | bool | int | float | list[str]] = {**UNVERIFIED_LOAD}
        if read_only:
            config["temp_directory"] = ""  # no spill folder, which would be a place to write
        threads = duckdb_threads()
        if threads is not None:
            config["threads"] = threads
        con = duckdb.connect(":memory:", config=config)
        try:
            load_extensions(con, self.extensions())
            # Timestamps come back in UTC whatever the machine's zone, so outputs are reproducible
            # (GLOBAL: the session's cursors have it too).
            con.execute("SET GLOBAL TimeZone = 'UTC'")
            _quiet(con)
            for statement in self.attach_statements(read_only=read_only, snapshot=snapshot):
                con.execute(statement)
        except duckdb.Error as error:
            con.close()
            raise self._disk_failure(error) or WarehouseError(
                f"cannot open the warehouse {self.where()}: {_first_line(error)}"
            ) from None
        return con

    def extensions(self) -> list[str]:
        """The DuckDB extensions this lake needs (each LOAD costs time on every connection)."""
        catalog = "postgres_scanner" if self.is_postgres else "sqlite_scanner"
        return ["ducklake", catalog, *(["httpfs"] if is_s3(self.data_path) else [])]

    def attach_statements(
        self, *, read_only: bool, snapshot: Snapshot | None = None, placeholders: bool = False
    ) -> list[str]:
        """The SQL that attaches this lake as `warehouse` and selects it: secrets first, then the
        ATTACH. With `placeholders` (connect-sql), the S3 keys are written as `${VARIABLE}` and
        the Postgres password is left to PGPASSWORD in the client's environment."""

        def secret(value: str | None, variable: str) -> str | None:
            # A placeholder only where there is a value: an unset credential stays unset.
            return f"${{{variable}}}" if placeholders and value else value

        statements = []
        if is_s3(self.data_path):
            statements.append(s3_secret(self.storage, secret))
        # For another client (placeholders), no Postgres secret: libpq takes PGPASSWORD from that
        # client's environment, and a secret would override it with the placeholder's text.
        if self.is_postgres and self._pg_password and not placeholders:
            statements.append(
                f"CREATE OR REPLACE SECRET (TYPE postgres, PASSWORD {quoted(self._pg_password)})"
            )
        # The catalog records its data path when it is created, and a writer naming another one
        # is refused (a misconfiguration caught before anything is written); readers take the
        # recorded one, so an analyst needs only the catalog.
        options = ["READ_ONLY"] if read_only else [f"DATA_PATH {quoted(self.data_path)}"]
        if snapshot and snapshot.version is not None:
            options.append(f"SNAPSHOT_VERSION {int(snapshot.version)}")
        elif snapshot and snapshot.timestamp is not None:
            options.append(f"SNAPSHOT_TIME {quoted(snapshot.timestamp)}")
        lake = quoted(f"ducklake:{self._catalog_uri()}")
        statements.append(f"ATTACH {lake} AS {CATALOG} ({', '.join(options)})")
        statements.append(f"USE {CATALOG}")
        return statements

    def _catalog_uri(self) -> str:
        return self.catalog if self.is_postgres else f"sqlite:{self.catalog}"

    def check_writable(self) -> None:
        """Fail with one line before touching anything when the lake cannot be written where
        it is configured to be (a file catalog's folder, a local data folder)."""
        if not self.is_postgres:
            if self.path.is_dir():
                raise WarehouseError(
                    f"warehouse path {self.path} is a folder; point it at a file such as "
                    "data/warehouse.sqlite"
                )
            _writable_folder(self.path.parent, "warehouse catalog")
        if not is_s3(self.data_path):
            _writable_folder(Path(self.data_path), "warehouse data")


class _Session:
    """One DuckDB instance with the lake attached, kept for the process's transactions."""

    def __init__(self, con: duckdb.DuckDBPyConnection, catalog_file: Path | None) -> None:
        self._con = con
        self._pid = os.getpid()
        self._catalog_file = catalog_file
        self._catalog_id = _file_id(catalog_file)
        self._lock = threading.Lock()

    def still_valid(self) -> bool:
        """False in a forked child (the instance belongs to the parent) and when the catalog
        file was removed or replaced since the attach (a test's fresh lake at the same path)."""
        return self._pid == os.getpid() and self._catalog_id == _file_id(self._catalog_file)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection of its own on the instance, with the lake selected (USE is per cursor)."""
        with self._lock:  # the parent connection is not thread-safe; its cursors each are
            cursor = self._con.cursor()
        _quiet(cursor)
        cursor.execute(f"USE {CATALOG}")
        return cursor


def _databases(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        name for (name,) in con.execute("SELECT database_name FROM duckdb_databases()").fetchall()
    }


def _close_leaving_the_instance_as_found(
    con: duckdb.DuckDBPyConnection, databases: set[str]
) -> None:
    """Close a session's cursor, detaching what its transaction attached (migrate's old file):
    ATTACH is per instance, and the instance outlives the transaction. DETACH waits for the
    transaction's end, so what an exception left open is rolled back first."""
    if _databases(con) - databases:
        with contextlib.suppress(duckdb.TransactionException):  # committed already
            con.execute("ROLLBACK")
        # A rollback undoes the ATTACH too; a commit keeps it.
        for name in _databases(con) - databases:
            con.execute(f"DETACH {quoted_name(name)}")
    con.close()


def _quiet(con: duckdb.DuckDBPyConnection) -> None:
    """No progress bar, which long loads would draw into the CLI's output and the Dagster logs
    (a setting each connection has of its own: DuckDB refuses it globally)."""
    con.execute("SET enable_progress_bar = false")


def duckdb_threads() -> int | None:
    """The threads PIPELINE_DUCKDB_THREADS asks for; None when it is unset."""
    text = os.environ.get(THREADS_VARIABLE, "").strip()
    if not text:
        return None
    if not (text.isdigit() and 1 <= int(text) <= 1024):
        raise WarehouseError(
            f"{THREADS_VARIABLE}={text!r} is not a number of threads from 1 to 1024; "
            "unset it for one per core"
        )
    return int(text)


def _file_id(path: Path | None) -> tuple[int, int] | None:
    if path is None:
        return None
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_dev, stat.st_ino)


_MAX_SESSIONS = 4  # lakes attached at once in one process; more only in tests
_SESSIONS: OrderedDict[tuple[object, ...], _Session] = OrderedDict()
_SESSIONS_LOCK = threading.Lock()
_FORKED: list[_Session] = []


def _forget_sessions_after_fork() -> None:
    """A forked child (Dagster's forkserver steps) must not use nor free its parent's DuckDB
    instances: their threads did not survive the fork. Kept referenced, never destroyed."""
    _FORKED.extend(_SESSIONS.values())
    _SESSIONS.clear()


os.register_at_fork(after_in_child=_forget_sessions_after_fork)


def default_data_path(catalog: Path) -> Path:
    """Where a file catalog's data files go unless set: `<name>.files/` beside it."""
    return catalog.with_name(f"{catalog.stem}.files")


def is_s3(path: str) -> bool:
    return path.startswith(S3_PREFIX)


Reveal = Callable[[str | None, str], str | None]
"""(a credential, its variable) -> the text to put in the SQL: the value, or a placeholder."""


def s3_secret(storage: ObjectStorage, reveal: Reveal) -> str:
    """CREATE SECRET for the lake's s3:// paths."""
    options = ["TYPE s3"]
    key_id = reveal(storage.key_id, "AWS_ACCESS_KEY_ID")
    key = reveal(storage.secret, "AWS_SECRET_ACCESS_KEY")
    if key_id and key:
        options += [f"KEY_ID {quoted(key_id)}", f"SECRET {quoted(key)}"]
    if storage.region:
        options.append(f"REGION {quoted(storage.region)}")
    if storage.endpoint:
        # S3-compatible stores (MinIO, moto, Ceph) address buckets by path, not by host name.
        options += [f"ENDPOINT {quoted(storage.endpoint)}", "URL_STYLE 'path'"]
    options.append(f"USE_SSL {'true' if storage.use_ssl else 'false'}")
    return f"CREATE OR REPLACE SECRET warehouse_s3 ({', '.join(options)})"


def prepare_sqlite_catalog(path: Path) -> None:
    """Create the SQLite catalog in WAL mode (kept in the file) before DuckLake first uses it: in
    SQLite's default mode a reader holding a transaction makes every writer's commit fail with
    `database is locked`; in WAL mode readers and the writer never block each other.

    Only a catalog not there yet is touched: Python's sqlite3 is another copy of SQLite than
    DuckDB's, and any close of the file in this process, by another copy, drops the POSIX locks
    DuckDB's connections hold on it (SQLite's "multiple copies" trap: disk I/O errors, or worse).
    """
    if path.exists():
        return
    try:
        with contextlib.closing(sqlite3.connect(path)) as catalog:
            catalog.execute("PRAGMA journal_mode=WAL").fetchall()
    except sqlite3.Error as error:
        raise WarehouseError(f"cannot create the warehouse catalog {path}: {error}") from None


def affected_rows(result: duckdb.DuckDBPyConnection) -> int:
    """The row count a DELETE or INSERT reports."""
    # fetchall, not fetchone: DuckDB refuses more work on a connection with an unfinished result.
    rows = result.fetchall()
    return int(rows[0][0]) if rows else 0


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _writable_folder(folder: Path, what: str) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise WarehouseError(
            f"cannot create the {what} folder {folder} ({error.strerror}); "
            "choose a path in a writable folder"
        ) from None
    if not folder.is_dir():
        raise WarehouseError(f"the {what} folder {folder} is a file; choose a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise WarehouseError(f"cannot write in {folder}; choose a path in a writable folder")


def _with_slash(path: str) -> str:
    return path if path.endswith("/") else path + "/"


def _without_password(conninfo: str) -> str:
    words = conninfo.split()
    return " ".join("password=***" if w.lower().startswith("password=") else w for w in words)


def _first_line(error: BaseException) -> str:
    return (str(error) or type(error).__name__).splitlines()[0]


def error_text(error: BaseException) -> str:
    """DuckDB's message on one line (DuckLake puts the cause on the lines after the first)."""
    return " ".join((str(error) or type(error).__name__).split())
