"""Looking for secrets where the product writes: texts, files (parquet read cell by cell, since
its pages may be compressed), whole folders."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import polars as pl


def string_cells(frame: pl.DataFrame) -> list[str]:
    return [v for c in frame.columns if frame[c].dtype == pl.String for v in frame[c] if v]


def file_texts(name: str, data: bytes) -> list[str]:
    """What a reader of the file `name` holding `data` may find in it: its bytes as text
    (SQLite databases, logs, HTML, JSON), every string cell of a parquet file and every member
    of a zip (a workbook): what is compressed is looked at uncompressed."""
    texts = [data.decode("latin-1")]
    if name.endswith(".parquet"):
        texts += string_cells(pl.read_parquet(io.BytesIO(data)))
    elif name.endswith(".xlsx"):
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            texts += [book.read(member).decode("latin-1") for member in book.namelist()]
    return texts


def folder_texts(folder: Path) -> dict[str, list[str]]:
    """Every file under `folder`, by its path, as `file_texts`."""
    files = (f for f in sorted(folder.rglob("*")) if f.is_file())
    return {str(f): file_texts(f.name, f.read_bytes()) for f in files}


def leaks(places: Mapping[str, Iterable[str]], secrets: Iterable[str]) -> dict[str, list[str]]:
    """The places (name -> texts) where a secret, or a bearer token, shows: none, if all is well.
    Each leak is named by its place and the secret's first characters only."""
    secrets = [s for s in secrets if s]
    found: dict[str, list[str]] = {}
    for where, texts in places.items():
        for text in texts:
            hits = [f"{s[:3]}..." for s in secrets if s in text]
            if "Bearer ey" in text:
                hits.append("Bearer ey...")
            if hits:
                found.setdefault(where, []).extend(hits)
    return found
