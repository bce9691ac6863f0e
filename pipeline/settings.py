"""The pipeline's own settings (PIPELINE_*, DAGSTER_HOME), read from the environment and `.env`.

The D360_* variables belong to the Partner API client (`partner_api.ApiConfig.from_env`); this
module only merges the sources and validates what the warehouse side needs, so that a bad value is
one clear line before any request is sent or any file is touched.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from dotenv import dotenv_values

DEFAULTS = {
    "PIPELINE_WAREHOUSE": "data/warehouse.duckdb",
    "PIPELINE_EXPORT_DIR": "data/export",
    "PIPELINE_START_DATE": "2023-01-01",
    "PIPELINE_REFETCH_DAYS": "3",
}


class SettingsError(ValueError):
    """A setting has a value the pipeline cannot use; the message names the variable."""


@dataclass(frozen=True)
class PipelineSettings:
    warehouse: Path
    export_dir: Path
    start_date: date
    refetch_days: int


def read_environment(environ: Mapping[str, str] | None = None, dotenv: Path | None = None) -> dict:
    """The process environment over the project's `.env` (the environment wins, as usual)."""
    dotenv = dotenv if dotenv is not None else Path.cwd() / ".env"
    merged = {k: v for k, v in dotenv_values(dotenv).items() if v is not None}
    merged.update(os.environ if environ is None else environ)
    return merged


def pipeline_settings(env: Mapping[str, str]) -> PipelineSettings:
    def value(name: str) -> str:
        return env.get(name) or DEFAULTS[name]

    start_date = _parse_date("PIPELINE_START_DATE", value("PIPELINE_START_DATE"))
    refetch_days = _parse_int("PIPELINE_REFETCH_DAYS", value("PIPELINE_REFETCH_DAYS"), 0, 366)
    warehouse = Path(value("PIPELINE_WAREHOUSE"))
    if warehouse.is_dir():
        raise SettingsError(
            f"PIPELINE_WAREHOUSE={warehouse} is a directory; set it to a file such as "
            f"{warehouse / 'warehouse.duckdb'}"
        )
    export_dir = Path(value("PIPELINE_EXPORT_DIR"))
    if export_dir.exists() and not export_dir.is_dir():
        raise SettingsError(f"PIPELINE_EXPORT_DIR={export_dir} is a file; set it to a directory")
    dagster_home = env.get("DAGSTER_HOME")
    if dagster_home and Path(dagster_home).exists() and not Path(dagster_home).is_dir():
        raise SettingsError(f"DAGSTER_HOME={dagster_home} is not a directory; point it at one")
    return PipelineSettings(warehouse, export_dir, start_date, refetch_days)


def parse_iso_date(text: str) -> date:
    """A YYYY-MM-DD date, or ValueError with a message fit for a one-line error."""
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date of the form YYYY-MM-DD") from None


def _parse_date(name: str, text: str) -> date:
    try:
        return parse_iso_date(text)
    except ValueError as exc:
        raise SettingsError(f"{name}: {exc}") from None


def _parse_int(name: str, text: str, low: int, high: int) -> int:
    try:
        number = int(text)
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise SettingsError(f"{name}={text!r} must be a whole number from {low} to {high}")
    return number
