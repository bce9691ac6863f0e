"""Raw balance bodies on disk: append-only parquet landing files under PIPELINE_RAW_DIR.

Bodies stay out of the warehouse file on purpose: they are most of the bytes a run receives, and
the published warehouse is copied once per run (store.py), so keeping them there would make every
run's cost grow with the whole history. A landing file is written once, under a temporary name,
fsynced and renamed, and never changed; the fetch log (table raw_balance_fetches) says which file
holds each fetch's body. A body already stored for the same request key is not stored again.
"""

from __future__ import annotations

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

    def bodies(self, fetches: pl.DataFrame) -> pl.DataFrame:
        """(body_sha256, body) of the fetch-log rows `fetches`, read back from their files."""
        files = sorted(set(fetches["body_file"].to_list()))
        missing = [name for name in files if not (self.root / name).is_file()]
        if missing:
            raise WarehouseError(
                f"raw landing file {self.root / missing[0]} is missing ({len(missing)} in all); "
                "restore PIPELINE_RAW_DIR from a backup, or run the range again to re-fetch it"
            )
        wanted = fetches["body_sha256"].unique()
        return (
            pl.scan_parquet([self.root / name for name in files])
            .select("body_sha256", "body")
            .filter(pl.col("body_sha256").is_in(wanted.implode()))
            .unique("body_sha256")
            .collect()
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
