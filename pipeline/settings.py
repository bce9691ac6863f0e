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
from decimal import Decimal, InvalidOperation
from pathlib import Path

from dotenv import dotenv_values

DEFAULTS = {
    "PIPELINE_WAREHOUSE": "data/warehouse.duckdb",
    "PIPELINE_EXPORT_DIR": "data/export",
    "PIPELINE_START_DATE": "2023-01-01",
    "PIPELINE_REFETCH_DAYS": "3",
    "PIPELINE_DEFAULT_MARKUP_PCT": "0",
    "PIPELINE_LOW_BALANCE_DAYS": "7",
    "PIPELINE_REPORT_DIR": "data/reports",
    "PIPELINE_CHANNEL_USAGE": "off",
    "PIPELINE_BATCH_CLIENTS": "200",
    "PIPELINE_LISTING_SHRINK_PCT": "20",
    "PIPELINE_ALLOW_LISTING_SHRINK": "off",
}
# Read when PIPELINE_MARKUPS is not set, if it exists in the working directory.
DEFAULT_MARKUPS = Path("markups.csv")
_SWITCH = {
    "on": True,
    "true": True,
    "1": True,
    "yes": True,
    "off": False,
    "false": False,
    "0": False,
    "no": False,
}


class SettingsError(ValueError):
    """A setting has a value the pipeline cannot use; the message names the variable."""


@dataclass(frozen=True)
class PipelineSettings:
    warehouse: Path
    export_dir: Path
    start_date: date
    refetch_days: int
    markups_path: Path | None = None
    default_markup_pct: Decimal = Decimal(0)
    low_balance_days: int = 7
    report_dir: Path = Path("data/reports")
    channel_usage: bool = False
    batch_clients: int = 200
    """Clients per committed batch of a run: a killed run loses at most this many clients' work."""
    raw_dir: Path = Path("data/raw")
    """Where the raw responses are kept; beside the warehouse file unless set."""
    listing_shrink_pct: int = 20
    """A clients/channels listing that shrinks by more than this percentage stops the run..."""
    allow_listing_shrink: bool = False
    """...unless this is on (the operator confirmed the shrink is real)."""


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
    raw_dir = Path(env.get("PIPELINE_RAW_DIR") or warehouse.parent / "raw")
    if raw_dir.exists() and not raw_dir.is_dir():
        raise SettingsError(f"PIPELINE_RAW_DIR={raw_dir} is a file; set it to a directory")
    report_dir = Path(value("PIPELINE_REPORT_DIR"))
    if report_dir.exists() and not report_dir.is_dir():
        raise SettingsError(f"PIPELINE_REPORT_DIR={report_dir} is a file; set it to a directory")
    return PipelineSettings(
        warehouse=warehouse,
        export_dir=export_dir,
        start_date=start_date,
        refetch_days=refetch_days,
        markups_path=_markups_path(env.get("PIPELINE_MARKUPS")),
        default_markup_pct=_parse_markup_pct(
            "PIPELINE_DEFAULT_MARKUP_PCT", value("PIPELINE_DEFAULT_MARKUP_PCT")
        ),
        low_balance_days=_parse_int(
            "PIPELINE_LOW_BALANCE_DAYS", value("PIPELINE_LOW_BALANCE_DAYS"), 1, 365
        ),
        report_dir=report_dir,
        channel_usage=_parse_switch("PIPELINE_CHANNEL_USAGE", value("PIPELINE_CHANNEL_USAGE")),
        batch_clients=_parse_int(
            "PIPELINE_BATCH_CLIENTS", value("PIPELINE_BATCH_CLIENTS"), 1, 100_000
        ),
        raw_dir=raw_dir,
        listing_shrink_pct=_parse_int(
            "PIPELINE_LISTING_SHRINK_PCT", value("PIPELINE_LISTING_SHRINK_PCT"), 0, 100
        ),
        allow_listing_shrink=_parse_switch(
            "PIPELINE_ALLOW_LISTING_SHRINK", value("PIPELINE_ALLOW_LISTING_SHRINK")
        ),
    )


def _markups_path(text: str | None) -> Path | None:
    """The markups file named by PIPELINE_MARKUPS (it must exist), else ./markups.csv if any."""
    if not text:
        return DEFAULT_MARKUPS if DEFAULT_MARKUPS.is_file() else None
    path = Path(text)
    if not path.is_file():
        raise SettingsError(
            f"PIPELINE_MARKUPS={text} is not a file; point it at a CSV with columns "
            "client_id,markup_pct"
        )
    return path


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


def _parse_markup_pct(name: str, text: str) -> Decimal:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        number = None
    # is_finite: Decimal accepts "NaN" and "Infinity", which no markup can be.
    if number is None or not number.is_finite() or not -100 < number <= 1000:
        raise SettingsError(
            f"{name}={text!r} must be a decimal percentage above -100 and at most 1000, e.g. 12.5"
        )
    return number


def _parse_switch(name: str, text: str) -> bool:
    switch = _SWITCH.get(text.strip().lower())
    if switch is None:
        raise SettingsError(f"{name}={text!r} must be on or off (or true/false, 1/0, yes/no)")
    return switch
