"""Every setting of the pipeline (D360_*, PIPELINE_*, DAGSTER_HOME) in one typed model.

Sources: the process environment over a `.env` file in the working directory (the environment
wins). `read_environment()` merges the two and `Settings.from_env(env)` validates the result;
`Settings()` reads the same sources through pydantic-settings. A bad value is one line naming the
variable (`SettingsError`), before any request is sent or any file is touched.

Whether credentials are present is checked only when the API is used (`api_config()`), so the
Dagster definitions load, and the UI opens, before they are configured.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

import annotated_types
from dotenv import dotenv_values
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from pipeline.partner_api import ApiConfig, RetryPolicy, Secret
from pipeline.partner_api.config import (
    DEFAULT_BALANCE_RATE,
    DEFAULT_BASE_URL,
    DEFAULT_CONCURRENCY,
    DEFAULT_RETRY_SECONDS,
    DEFAULT_WINDOW_DAYS,
    MAX_RETRY_SECONDS,
    MAX_WINDOW_DAYS,
    parse_rate,
)

if TYPE_CHECKING:
    from pipeline.warehouse import Warehouse

# The forms of PIPELINE_WAREHOUSE and PIPELINE_DATA_PATH that are not local paths, as
# pipeline.warehouse.store reads them. Not imported from there: the warehouse package loads polars,
# and the simulator, which reads these settings too, must not (polars' threads keep a process
# waiting on an event from seeing Ctrl-C).
POSTGRES_PREFIX = "postgres:"
S3_PREFIX = "s3://"
DOTENV = ".env"
"""The one `.env` read, relative to the working directory."""
DEFAULT_WAREHOUSE = "data/warehouse.sqlite"
DEFAULT_MARKUPS = Path("markups.csv")
"""Read when PIPELINE_MARKUPS is not set, if it exists in the working directory."""
SECRET_VARIABLES = frozenset(
    {"D360_API_KEY", "D360_PASSWORD", "PGPASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}
)
_SWITCH_WORDS = "on or off (or true/false, 1/0, yes/no)"


# Set while `from_env` builds a model: its mapping is then the only source (pydantic-settings
# would otherwise add the process environment and `.env`, even to `model_validate`).
_ONLY_GIVEN: ContextVar[bool] = ContextVar("only_given", default=False)


@contextmanager
def _only_given_values() -> Iterator[None]:
    token = _ONLY_GIVEN.set(True)
    try:
        yield
    finally:
        _ONLY_GIVEN.reset(token)


class SettingsError(ValueError):
    """A setting has a value the pipeline cannot use; the message names the variable."""


def parse_iso_date(text: str) -> date:
    """A YYYY-MM-DD date, or ValueError with a message fit for a one-line error."""
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date of the form YYYY-MM-DD") from None


def _iso_date(value: object) -> object:
    if not isinstance(value, str):
        return value
    try:
        return parse_iso_date(value)
    except ValueError:
        raise ValueError("is not a date of the form YYYY-MM-DD") from None


def _rate(value: object) -> object:
    return parse_rate(value) if isinstance(value, str) else value


def _not_a_file(path: Path) -> Path:
    if path.exists() and not path.is_dir():
        raise ValueError("is a file; set it to a directory")
    return path


# A password in a libpq conninfo: `password=…` (or `?password=…` in a URI), or a URI's
# `user:password@`.
_PASSWORD_IN_CONNINFO = re.compile(r"(?i)\bpassword\s*=|://[^/@\s]*:[^/@\s]*@")


def _catalog(text: str) -> str:
    """A SQLite catalog file (not a folder) or `postgres:<libpq conninfo>` without a password:
    the conninfo is shown in messages and written in `connect-sql`'s SQL, a password never is."""
    if text.startswith(POSTGRES_PREFIX):
        if not text.removeprefix(POSTGRES_PREFIX).strip():
            raise ValueError("needs a conninfo after postgres:, e.g. postgres:host=db dbname=lake")
        if _PASSWORD_IN_CONNINFO.search(text):
            raise ValueError("holds a password: leave it out and set PGPASSWORD instead")
        return text
    if Path(text).is_dir():
        raise ValueError(
            f"is a directory; set it to a file such as {Path(text) / 'warehouse.sqlite'}"
        )
    return text


def _data_path(text: str) -> str:
    if text.startswith(S3_PREFIX):
        if not text.removeprefix(S3_PREFIX).strip("/"):
            raise ValueError("needs a bucket: s3://bucket/prefix/")
        return text
    if Path(text).exists() and not Path(text).is_dir():
        raise ValueError("is a file; set it to a folder or an s3://bucket/prefix/")
    return text


def _s3_endpoint(text: str) -> str:
    """`host:port` (https) or a URL; plain http only to a loopback host (credentials go along)."""
    url = urlsplit(text if "://" in text else f"https://{text}")
    if url.scheme not in ("http", "https") or not url.hostname or url.path not in ("", "/"):
        raise ValueError("must be host:port or an http(s) URL without a path")
    if url.scheme == "http" and not _is_loopback(url.hostname):
        raise ValueError("may use plain http only on loopback (127.0.0.1, localhost); use https")
    return text


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _a_file(path: Path) -> Path:
    if not path.is_file():
        raise ValueError("is not a file; point it at a CSV with columns client_id,markup_pct")
    return path


def _default_markups() -> Path | None:
    return DEFAULT_MARKUPS if DEFAULT_MARKUPS.is_file() else None


def _raw_beside_warehouse(data: dict[str, Any]) -> Path:
    catalog = str(data.get("warehouse", DEFAULT_WAREHOUSE))
    if catalog.startswith(POSTGRES_PREFIX):
        return Path("data/raw")
    return Path(catalog).parent / "raw"


Directory = Annotated[Path, AfterValidator(_not_a_file)]


class Settings(BaseSettings):
    """The settings of one pipeline process. Field names are what the code reads; each field's
    alias is its environment variable."""

    model_config = SettingsConfigDict(
        env_file=DOTENV,
        env_ignore_empty=True,
        extra="ignore",
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
        case_sensitive=True,
    )

    # The Partner API (turned into partner_api's ApiConfig by `api_config()`).
    base_url: str = Field(DEFAULT_BASE_URL, alias="D360_BASE_URL")
    partner_id: str | None = Field(None, alias="D360_PARTNER_ID")
    api_key: SecretStr | None = Field(None, alias="D360_API_KEY")
    username: str | None = Field(None, alias="D360_USERNAME")
    password: SecretStr | None = Field(None, alias="D360_PASSWORD")
    balance_rate: Annotated[tuple[int, float], NoDecode, BeforeValidator(_rate)] = Field(
        DEFAULT_BALANCE_RATE, alias="D360_BALANCE_RATE"
    )
    concurrency: int = Field(DEFAULT_CONCURRENCY, alias="D360_CONCURRENCY", ge=1, le=1000)
    retry_seconds: float = Field(
        DEFAULT_RETRY_SECONDS, alias="D360_RETRY_SECONDS", ge=1, le=MAX_RETRY_SECONDS
    )
    window_days: int = Field(
        DEFAULT_WINDOW_DAYS, alias="PIPELINE_WINDOW_DAYS", ge=1, le=MAX_WINDOW_DAYS
    )

    # The warehouse side.
    warehouse: Annotated[str, AfterValidator(_catalog)] = Field(
        DEFAULT_WAREHOUSE, alias="PIPELINE_WAREHOUSE"
    )
    """The DuckLake catalog: a SQLite file, or `postgres:<libpq conninfo>`."""
    data_path: Annotated[str, AfterValidator(_data_path)] | None = Field(
        None, alias="PIPELINE_DATA_PATH"
    )
    """The lake's parquet files: a folder or s3:// prefix; beside a file catalog unless set."""
    pg_password: SecretStr | None = Field(None, alias="PGPASSWORD")
    aws_access_key_id: SecretStr | None = Field(None, alias="AWS_ACCESS_KEY_ID")
    aws_secret_access_key: SecretStr | None = Field(None, alias="AWS_SECRET_ACCESS_KEY")
    aws_region: str | None = Field(None, alias="AWS_REGION")
    s3_endpoint: Annotated[str, AfterValidator(_s3_endpoint)] | None = Field(
        None, alias="PIPELINE_S3_ENDPOINT"
    )
    snapshot_retention_days: int = Field(
        90, alias="PIPELINE_SNAPSHOT_RETENTION_DAYS", ge=1, le=36500
    )
    export_dir: Annotated[str, AfterValidator(_data_path)] = Field(
        "data/export", alias="PIPELINE_EXPORT_DIR"
    )
    """The parquet exports for BI: a folder or an s3:// prefix."""
    start_date: Annotated[date, BeforeValidator(_iso_date)] = Field(
        date(2023, 1, 1), alias="PIPELINE_START_DATE"
    )
    refetch_days: int = Field(3, alias="PIPELINE_REFETCH_DAYS", ge=0, le=366)
    markups_path: Annotated[Path, AfterValidator(_a_file)] | None = Field(
        default_factory=_default_markups, alias="PIPELINE_MARKUPS"
    )
    pricing_path: Annotated[Path, AfterValidator(_a_file)] | None = Field(
        None, alias="PIPELINE_PRICING"
    )
    default_markup_pct: Decimal = Field(
        Decimal(0), alias="PIPELINE_DEFAULT_MARKUP_PCT", gt=-100, le=1000
    )
    low_balance_days: int = Field(7, alias="PIPELINE_LOW_BALANCE_DAYS", ge=1, le=365)
    report_dir: Directory = Field(Path("data/reports"), alias="PIPELINE_REPORT_DIR")
    run_report: bool = Field(True, alias="PIPELINE_RUN_REPORT")
    """Whether a run's publish also writes the finance report; off leaves it to `report`."""
    channel_usage: bool = Field(False, alias="PIPELINE_CHANNEL_USAGE")
    batch_clients: int = Field(50, alias="PIPELINE_BATCH_CLIENTS", ge=1, le=100_000)
    """Clients per committed batch of a run: a killed run loses at most this many clients' work.
    50 from the batch-size benchmark: a kill loses little even for a partner of 150 clients, at
    ~30% more CPU than 200 per batch in a replay (a run waits on the API far longer than that)."""
    raw_dir: Directory = Field(default_factory=_raw_beside_warehouse, alias="PIPELINE_RAW_DIR")
    """Where the raw responses are kept; beside the warehouse file unless set."""
    listing_shrink_pct: int = Field(20, alias="PIPELINE_LISTING_SHRINK_PCT", ge=0, le=100)
    """A clients/channels listing that shrinks by more than this percentage stops the run..."""
    allow_listing_shrink: bool = Field(False, alias="PIPELINE_ALLOW_LISTING_SHRINK")
    """...unless this is on (the operator confirmed the shrink is real)."""

    dagster_home: Directory | None = Field(None, alias="DAGSTER_HOME")

    @field_validator("base_url")
    @classmethod
    def _without_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @model_validator(mode="after")
    def _postgres_needs_a_data_path(self) -> Settings:
        if self.warehouse.startswith(POSTGRES_PREFIX) and self.data_path is None:
            raise ValueError(
                "PIPELINE_WAREHOUSE is a Postgres catalog: set PIPELINE_DATA_PATH to the folder "
                "or s3://bucket/prefix/ that all its users reach"
            )
        return self

    @field_serializer("balance_rate")
    def _rate_text(self, rate: tuple[int, float]) -> str:
        return f"{rate[0]}/{rate[1]:g}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        if _ONLY_GIVEN.get():
            return (init_settings,)
        return (init_settings, env_settings, dotenv_settings)

    @classmethod
    def from_env(cls, env: Mapping[str, object]) -> Settings:
        """The settings in `env` (variable name -> value), nothing else; blank values are unset."""
        known = {field.alias for field in cls.model_fields.values()}
        values = {
            name: value.strip() if isinstance(value, str) else value
            for name, value in env.items()
            if name in known and value is not None
        }
        try:
            with _only_given_values():
                return cls.model_validate({k: v for k, v in values.items() if v != ""})
        except ValidationError as exc:
            raise SettingsError(one_line(exc)) from None

    def api_config(self) -> ApiConfig:
        """partner_api's configuration; `ConfigError` (one line) when credentials are missing."""

        def reveal(secret: SecretStr | None) -> Secret | None:
            return Secret(secret.get_secret_value()) if secret is not None else None

        return ApiConfig(
            base_url=self.base_url,
            partner_id=self.partner_id or "",
            api_key=reveal(self.api_key),
            username=self.username,
            password=reveal(self.password),
            balance_rate=self.balance_rate,
            window_days=self.window_days,
            concurrency=self.concurrency,
            retry=RetryPolicy(failing_give_up_after=self.retry_seconds),
        )

    def lake(self, run_id: str | None = None) -> Warehouse:
        """The warehouse these settings configure; its commits tagged with `run_id`, if given."""
        from pipeline.warehouse import ObjectStorage, Warehouse

        def reveal(secret: SecretStr | None) -> str | None:
            return secret.get_secret_value() if secret is not None else None

        endpoint = None
        if self.s3_endpoint:
            url = urlsplit(
                self.s3_endpoint if "://" in self.s3_endpoint else f"//{self.s3_endpoint}"
            )
            endpoint = url.netloc
        storage = ObjectStorage(
            region=self.aws_region,
            endpoint=endpoint,
            use_ssl=not (self.s3_endpoint or "").startswith("http://"),
            key_id=reveal(self.aws_access_key_id),
            secret=reveal(self.aws_secret_access_key),
        )
        return Warehouse(
            self.warehouse,
            data_path=self.data_path,
            storage=storage,
            pg_password=reveal(self.pg_password),
            run_id=run_id,
        )

    def environment(self) -> dict[str, str]:
        """The settings as environment variables (secrets left out): `from_env` reads them back."""
        dumped = self.model_dump(mode="json", by_alias=True, exclude_none=True)
        return {k: str(v) for k, v in dumped.items() if k not in SECRET_VARIABLES}


def read_environment(
    environ: Mapping[str, str] | None = None, dotenv: Path | None = None
) -> dict[str, str]:
    """The process environment over `./.env` (the environment wins, as usual)."""
    dotenv = dotenv if dotenv is not None else Path.cwd() / DOTENV
    merged = {k: v for k, v in dotenv_values(dotenv).items() if v is not None}
    merged.update(os.environ if environ is None else environ)
    return merged


def pipeline_settings(env: Mapping[str, str]) -> Settings:
    """`Settings.from_env`, under the name callers have used so far."""
    return Settings.from_env(env)


PipelineSettings = Settings
"""The name callers have used so far."""


def one_line(error: ValidationError) -> str:
    """Each problem as `VARIABLE='value' what is wrong`, joined on one line."""
    # A default computed from other fields is not computed when one of them is bad: the bad one
    # is the problem to report.
    problems = [e for e in error.errors() if e["type"] != "default_factory_not_called"]
    return "; ".join(_problem(item) for item in problems)


def _problem(item: ErrorDetails) -> str:
    if not item["loc"]:  # about the whole model: its input holds the credentials
        return f"settings: {item['msg']}"
    variable = str(item["loc"][0])
    if item["type"] == "value_error":
        what = str(item.get("ctx", {}).get("error", item["msg"]))
    else:
        what = f"must be {_expected(variable)}"
    if variable in SECRET_VARIABLES or _PASSWORD_IN_CONNINFO.search(str(item["input"])):
        return f"{variable} {what}"  # never echo a credential
    return f"{variable}={item['input']!r} {what}"


def _expected(variable: str) -> str:
    field = next((f for f in Settings.model_fields.values() if f.alias == variable), FieldInfo())
    kinds: dict[object, str] = {
        int: "a whole number",
        float: "a number",
        Decimal: "a decimal number",
        bool: _SWITCH_WORDS,
    }
    kind = kinds.get(field.annotation, "valid")
    low = high = ""
    for bound in field.metadata:
        if isinstance(bound, annotated_types.Ge):
            low = f"from {bound.ge:g}"
        elif isinstance(bound, annotated_types.Gt):
            low = f"above {bound.gt:g}"
        elif isinstance(bound, annotated_types.Le):
            high = f"to {bound.le:g}" if low.startswith("from") else f"and at most {bound.le:g}"
    return " ".join(part for part in (kind, low, high) if part)
