"""The one resource the assets share: settings, the API configuration and the warehouse.

It is a plain object rather than a ConfigurableResource on purpose: Dagster shows a configurable
resource's fields in the UI, and the API configuration holds secrets.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cached_property

from pipeline.partner_api import ApiConfig
from pipeline.settings import PipelineSettings, pipeline_settings
from pipeline.warehouse import Warehouse

Progress = Callable[[str], None]


class PipelineRuntime:
    """Built from an environment mapping; the API configuration is validated when first used,
    so the definitions load (and the UI opens) even before credentials are configured."""

    def __init__(self, env: Mapping[str, str], progress: Progress | None = None) -> None:
        self._env = dict(env)
        self.settings: PipelineSettings = pipeline_settings(self._env)
        self.progress = progress

    @cached_property
    def api_config(self) -> ApiConfig:
        return ApiConfig.from_env(self._env)

    @cached_property
    def warehouse(self) -> Warehouse:
        return Warehouse(self.settings.warehouse)

    def __repr__(self) -> str:
        return f"PipelineRuntime(warehouse={str(self.settings.warehouse)!r})"
