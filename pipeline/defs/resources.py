"""The one resource the assets share: the settings, and the API configuration and warehouse built
from them.

It is a ConfigurableResource so the UI (Deployment > Resources, and each run's config) shows every
setting the runs used. Credentials are `EnvVar` references, so the UI and the run records show the
variable's name, never its value.
"""

# No `from __future__ import annotations` here: Dagster reads the resource's annotations at class
# creation, and a postponed `ResourceDependency[...]` would not be recognised as one.
import os
from collections.abc import Callable, Iterator, Mapping
from functools import cached_property
from typing import Any, Self

import dagster as dg
from pydantic import Field, PrivateAttr, SecretStr

from pipeline.partner_api import ApiConfig
from pipeline.settings import SECRET_VARIABLES, Settings
from pipeline.warehouse import Warehouse

Progress = Callable[[str], None]


class InProcessInputs:
    """What a caller in this process hands its runs besides configuration: a progress callback,
    and credentials given in a mapping rather than the process environment (tests, the demo, a
    `.env` read by `python -m pipeline run`). Dagster neither shows nor stores it."""

    def __init__(
        self, progress: Progress | None = None, secrets: Mapping[str, SecretStr] | None = None
    ) -> None:
        self.progress = progress
        self.secrets = dict(secrets or {})

    def __repr__(self) -> str:
        return f"InProcessInputs(secrets={sorted(self.secrets)})"


class PipelineRuntime(dg.ConfigurableResource):
    """The settings, one field per environment variable (named after it, in lower case), and
    what the assets build from them: `settings`, `api_config`, `warehouse`, `progress`."""

    d360_base_url: str = Field(description="Partner API root")
    d360_partner_id: str | None = Field(None, description="the partner's id")
    d360_api_key: str | None = Field(None, description="partner API key (X-API-Key)")
    d360_username: str | None = Field(None, description="legacy login: user")
    d360_password: str | None = Field(None, description="legacy login: password")
    d360_balance_rate: str = Field(description="per-client balance request limit, N/SECONDS")
    d360_concurrency: int = Field(description="balance requests in flight at once")
    d360_retry_seconds: float = Field(
        description="longest a request keeps retrying a failing or unreachable API, seconds"
    )
    pipeline_window_days: int = Field(description="widest date window of one balance request")
    pipeline_warehouse: str = Field(
        description="DuckLake catalog: a SQLite file or postgres:<conninfo>"
    )
    pipeline_data_path: str | None = Field(
        None, description="the warehouse's parquet files: a folder or s3:// prefix"
    )
    pgpassword: str | None = Field(None, description="Postgres catalog password")
    aws_access_key_id: str | None = Field(None, description="object storage key id")
    aws_secret_access_key: str | None = Field(None, description="object storage secret key")
    aws_region: str | None = Field(None, description="object storage region")
    pipeline_s3_endpoint: str | None = Field(None, description="S3-compatible endpoint")
    pipeline_snapshot_retention_days: int = Field(
        description="warehouse snapshots the maintenance job keeps, in days"
    )
    pipeline_export_dir: str = Field(description="parquet export root")
    pipeline_start_date: str = Field(description="first day (UTC) of the daily partitions")
    pipeline_refetch_days: int = Field(
        description="trailing days the daily schedule fetches again (estimates get revised)"
    )
    pipeline_markups: str | None = Field(None, description="CSV of per-client markups")
    pipeline_pricing: str | None = Field(
        None, description="CSV of rate cards, number fees and minimum commitments"
    )
    pipeline_default_markup_pct: str = Field(
        description="markup (percent) of clients without a row in the markups file"
    )
    pipeline_low_balance_days: int = Field(
        description="a direct-paid client whose balance lasts fewer days is on the watch list"
    )
    pipeline_report_dir: str = Field(description="where `report` writes its HTML")
    pipeline_run_report: bool = Field(description="a run's publish also writes the report")
    pipeline_channel_usage: bool = Field(description="also fetch each channel's usage")
    pipeline_batch_clients: int = Field(description="clients per committed batch of a run")
    pipeline_raw_dir: str = Field(description="where the raw responses are kept")
    pipeline_listing_shrink_pct: int = Field(
        description="a clients/channels listing shrinking by more than this percent stops a run"
    )
    pipeline_allow_listing_shrink: bool = Field(description="let a shrunken listing through")
    in_process: dg.ResourceDependency[InProcessInputs]
    _run_id: str | None = PrivateAttr(None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # The run's id tags every snapshot the run commits (see `warehouse`).
        self._run_id = context.run_id

    @classmethod
    def from_settings(cls, settings: Settings, progress: Progress | None = None) -> Self:
        """The resource for `settings`. A credential becomes an EnvVar when the process
        environment holds it; otherwise (a mapping, `.env`) it travels in `InProcessInputs`."""
        values = settings.model_dump(
            mode="json", by_alias=True, exclude_none=True, exclude={"dagster_home"}
        )
        config: dict[str, Any] = {
            name.lower(): value for name, value in values.items() if name not in SECRET_VARIABLES
        }
        handed_over: dict[str, SecretStr] = {}
        for variable in SECRET_VARIABLES:
            secret: SecretStr | None = getattr(settings, _field_of(variable))
            if secret is None:
                continue
            if os.environ.get(variable, "").strip() == secret.get_secret_value():
                config[variable.lower()] = dg.EnvVar(variable)
            else:
                handed_over[variable] = secret
        return cls(**config, in_process=InProcessInputs(progress, handed_over))

    @cached_property
    def settings(self) -> Settings:
        env: dict[str, object] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            # Outside a run (the resource used directly), Dagster has not resolved the EnvVars.
            env[name.upper()] = value.get_value() if isinstance(value, dg.EnvVar) else value
        env.update({k: v.get_secret_value() for k, v in self.in_process.secrets.items()})
        return Settings.from_env(env)

    @cached_property
    def api_config(self) -> ApiConfig:
        """Validated when first used, so the definitions load (and the UI opens) before
        credentials are configured."""
        return self.settings.api_config()

    @property
    def warehouse(self) -> Warehouse:
        """The warehouse; inside a run, its commits are tagged with the run's id."""
        return self.settings.lake(run_id=self._run_id)

    @property
    def progress(self) -> Progress | None:
        return self.in_process.progress

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # Once Dagster has resolved the EnvVars the fields hold the credentials themselves.
        for name, value in super().__repr_args__():
            if name is None or name.upper() not in SECRET_VARIABLES:
                yield name, value


def _field_of(variable: str) -> str:
    return next(name for name, f in Settings.model_fields.items() if f.alias == variable)
