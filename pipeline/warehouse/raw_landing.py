"""Raw balance bodies on disk: append-only parquet landing files under PIPELINE_RAW_DIR.

Bodies stay out of the warehouse file on purpose: they are most of the bytes a run receives, and
the published warehouse is copied once per run (store.py), so keeping them there would make every
run's cost grow with the whole history. A landing file is written once, under a temporary name,
fsynced and renamed, and never changed; the fetch log (table raw_balance_fetches) says which file
holds each fetch's body. A body already stored for the same request key is not stored again.
Read back for a replay, every body is checked against the SHA-256 the fetch log recorded: a file
that went missing, was cut short, corrupted or changed fails only the clients it holds.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import polars as pl

from pipeline import clock
from pipeline.warehouse.errors import WarehouseError
from pipeline.warehouse.store import fsync_path

# A request is identified by these; with the body's hash they say "this exact answer again".
REQUEST_KEY = ["client_id", "granularity", "app_id", "window_start", "window_end"]
_BODY_KEY = [*REQUEST_KEY, "body_sha256"]
_FILE_COLUMNS = [*_BODY_KEY, "fetched_at", "body"]
_RESTORE = (
    "restore it from a backup of PIPELINE_RAW_DIR (a run of the range fetches those days anew)"
)
_VERIFIED_SCHEMA = {"body_file": pl.String, "body_sha256": pl.String, "body": pl.Binary}


class LandingFileError(WarehouseError):
    """A landing file cannot be read back as the fetch log says it was written."""


class RawLanding:
    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).absolute()

    def __repr__(self) -> str:
        return f"RawLanding({str(self.root)!r})"

    def land(self, answers: pl.DataFrame, stored: pl.DataFrame) -> pl.DataFrame:
        """Write the bodies of `answers` (schema RAW_BALANCE_ANSWERS) that `stored` (request key,
        body_sha256, body_file of bodies already on disk) lacks into one new landing file; return
        the fetch-log rows of every answer (table raw_balance_fetches), pointing at their file."""
        seen = answers.join(stored.select(*_BODY_KEY, "body_file"), on=_BODY_KEY, how="left")
        new = seen.filter(pl.col("body_file").is_null()).unique(_BODY_KEY, keep="first")
        name = f"{clock.today():%Y-%m-%d}/{uuid.uuid4().hex}.parquet"
        if new.height:
            self._write(name, new.select(_FILE_COLUMNS))
        return seen.with_columns(pl.col("body_file").fill_null(name)).drop("body")

    def read_back(self, fetches: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, str]]:
        """The fetch-log rows `fetches` with their `body`, read back from their landing files
        and verified against the log's SHA-256; and per client whose bodies could not all be,
        one line naming the file (missing, truncated or corrupt, or holding other bytes). Those
        clients' rows are left out: a replay must not load what it cannot trust."""
        broken: dict[str, str] = {}
        verified = [pl.DataFrame(schema=_VERIFIED_SCHEMA)]
        for name, wanted in (
            fetches.group_by("body_file").agg(pl.col("body_sha256").unique()).rows()
        ):
            try:
                verified.append(self._verified(name, set(wanted)))
            except LandingFileError as error:
                broken[name] = str(error)
        failures: dict[str, str] = {}
        for client_id, name in fetches.select("client_id", "body_file").unique().sort("*").rows():
            if name in broken:  # the first of a client's broken files, by name
                failures.setdefault(client_id, f"client {client_id}: {broken[name]}")
        readable = fetches.filter(~pl.col("client_id").is_in(list(failures)))
        bodies = readable.join(pl.concat(verified), on=["body_file", "body_sha256"], how="left")
        return bodies, failures

    def _verified(self, name: str, wanted: set[str]) -> pl.DataFrame:
        """body_file, body_sha256 and body of the bodies `wanted` (by SHA-256) in one file, each
        checked byte for byte against its hash; LandingFileError saying why not."""
        path = self.root / name
        if not path.is_file():
            raise LandingFileError(f"raw landing file {path} is missing; {_RESTORE}")
        try:
            stored = pl.read_parquet(path, columns=["body_sha256", "body"])
        except (pl.exceptions.PolarsError, OSError) as error:
            reason = (str(error) or type(error).__name__).splitlines()[0]
            raise LandingFileError(
                f"raw landing file {path} is truncated or corrupt ({reason}); {_RESTORE}"
            ) from None
        # Every copy is checked (a file may hold one body for two requests), then one kept.
        stored = stored.filter(pl.col("body_sha256").is_in(list(wanted)))
        altered = {
            sha256
            for sha256, body in stored.iter_rows()
            if hashlib.sha256(body).hexdigest() != sha256
        }
        untrusted = altered | (wanted - set(stored["body_sha256"]))
        if untrusted:
            raise LandingFileError(
                f"raw landing file {path} does not hold the bodies the fetch log records "
                f"({len(untrusted)} of {len(wanted)} differ from their SHA-256 or are absent); "
                f"{_RESTORE}"
            )
        return stored.unique("body_sha256").select(
            pl.lit(name).alias("body_file"), "body_sha256", "body"
        )

    def _write(self, name: str, frame: pl.DataFrame) -> None:
        target = self.root / name
        temporary = target.with_name(f".{target.name}.tmp")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            frame.write_parquet(temporary, compression="zstd")
            fsync_path(temporary)
            os.replace(temporary, target)
            fsync_path(target.parent)
        except OSError as error:
            temporary.unlink(missing_ok=True)
            raise WarehouseError(
                f"cannot write raw landing file {target} ({error.strerror}); "
                "make PIPELINE_RAW_DIR a writable folder"
            ) from None
