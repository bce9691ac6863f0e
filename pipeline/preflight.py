"""Start-up checks: the settings, the day range and every folder a run writes to are usable
before the first request, or one line.

`check_run` does them all without importing Dagster, so a mistake is reported at once; the
warehouse folder is the warehouse's own check (`Warehouse.check_writable`). `open_instance` opens
the Dagster instance the CLI runs in: with telemetry off unless the operator's dagster.yaml says
otherwise, so a fresh DAGSTER_HOME gets no banner on stderr and no `.telemetry/` folder.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from pipeline import clock
from pipeline.settings import Settings, SettingsError
from pipeline.warehouse import ObjectStorage, Warehouse, WarehouseError
from pipeline.warehouse.exports import prepare_export_dir

if TYPE_CHECKING:
    import dagster as dg

CONFIG_NAMES = ("dagster.yaml", "dagster.yml")  # the names Dagster reads, in its order
MINIMAL_CONFIG = """\
# Written by the pipeline into an empty DAGSTER_HOME: Dagster's defaults (runs and events in
# SQLite files here), without telemetry or the UI's community pop-up. Edit freely; the pipeline
# only writes it when missing.
telemetry:
  enabled: false
nux:
  enabled: false
"""
# Off unless the operator's dagster.yaml says otherwise.
QUIET_BY_DEFAULT = ("telemetry", "nux")


@dataclass(frozen=True)
class CheckedRun:
    """What a run or replay of a day range was checked to have."""

    settings: Settings
    warehouse: Warehouse


def check_run(env: Mapping[str, str], start: date, end: date, *, api: bool = True) -> CheckedRun:
    """Refuse, in one line, a run of [start, end] that could not go through: bad settings, a range
    the partitions cannot hold, an unusable API configuration (unless `api` is False: a replay
    calls no API), an unwritable warehouse, export folder or DAGSTER_HOME."""
    settings = Settings.from_env(env)
    check_range(settings.start_date, start, end)
    if api:
        settings.api_config()
    warehouse = settings.lake()
    warehouse.check_writable()
    check_export_dir(settings.export_dir, warehouse.storage)
    config_file = _config_file(check_dagster_home(settings.dagster_home))
    if config_file is not None:
        _read_config(config_file)
    return CheckedRun(settings, warehouse)


def check_range(first_day: date, start: date, end: date) -> None:
    """Refuse a range the partitions cannot hold, before anything is requested."""
    yesterday = clock.yesterday()
    if end < start:
        raise SettingsError(f"--end {end} is before --start {start}; swap them")
    if start < first_day:
        raise SettingsError(
            f"--start {start} is before PIPELINE_START_DATE={first_day}; "
            "start later or set PIPELINE_START_DATE earlier"
        )
    if end > yesterday:
        raise SettingsError(
            f"--end {end} is after yesterday ({yesterday}, the last complete UTC day); end earlier"
        )


def check_export_dir(export_dir: str, storage: ObjectStorage) -> None:
    try:
        prepare_export_dir(export_dir, storage)
    except WarehouseError as error:
        raise SettingsError(f"PIPELINE_EXPORT_DIR={export_dir}: {error}") from None


def check_dagster_home(home: str | Path | None) -> Path:
    """DAGSTER_HOME as Dagster needs it (absolute, a folder), created if missing, writable."""
    if not home:
        raise SettingsError("DAGSTER_HOME is not set; set it to an absolute folder path")
    path = Path(home).expanduser()
    if not path.is_absolute():
        raise SettingsError(f"DAGSTER_HOME={home} is not an absolute path; Dagster needs one")
    try:
        path.mkdir(parents=True, exist_ok=True)
        # A real write: os.access says yes to root on a read-only mount.
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as error:
        raise SettingsError(
            f"DAGSTER_HOME={home} cannot be used ({error.strerror}); point it at a writable folder"
        ) from None
    return path


def open_instance(home: str | Path | None) -> dg.DagsterInstance:
    """The Dagster instance in DAGSTER_HOME; a broken one is one line, not a traceback."""
    # Imported here: the checks above report a mistake without waiting for Dagster to load.
    import dagster as dg
    from dagster._core.instance.ref import InstanceRef

    path = check_dagster_home(home)
    config_file = _config_file(path)
    if config_file is None:
        # Also spares Dagster's warning that it found no dagster.yaml.
        config_file = path / CONFIG_NAMES[0]
        config_file.write_text(MINIMAL_CONFIG)
    config = _read_config(config_file)
    overrides = {key: {"enabled": False} for key in QUIET_BY_DEFAULT if key not in config}
    try:
        return dg.DagsterInstance.from_ref(InstanceRef.from_dir(str(path), overrides=overrides))
    except Exception as error:  # Dagster's config errors span many lines; any is the file's fault
        raise SettingsError(
            f"DAGSTER_HOME={home}: {config_file.name} is not a usable Dagster instance "
            f"configuration ({_what_is_wrong(error)}); fix or remove it"
        ) from None


def _config_file(home: Path) -> Path | None:
    return next((home / n for n in CONFIG_NAMES if (home / n).exists()), None)


def _what_is_wrong(error: Exception) -> str:
    # A config error's first line only says there are errors; the first of them says which,
    # followed by the whole schema Dagster expected, which is no use on one line.
    details = getattr(error, "errors", None)
    text = details[0].message if details else str(error).strip() or type(error).__name__
    return " ".join(text.partition(" Expected: ")[0].split())


def _read_config(config_file: Path) -> dict:
    try:
        config = yaml.safe_load(config_file.read_text()) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        where = getattr(error, "problem_mark", None)
        at = f" at line {where.line + 1}" if where else ""
        raise SettingsError(
            f"DAGSTER_HOME: {config_file} cannot be read as YAML{at}; fix or remove it"
        ) from None
    if not isinstance(config, dict):
        raise SettingsError(f"DAGSTER_HOME: {config_file} is not a YAML mapping; fix or remove it")
    return config
