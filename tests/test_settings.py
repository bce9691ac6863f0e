"""The settings model: the contract's defaults, values read, `.env`, and one line naming the
variable for every bad value."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.partner_api import ConfigError
from pipeline.settings import Settings, SettingsError, pipeline_settings, read_environment
from pipeline.simulator.cli import _rate as simulator_rate

GOOD = {"D360_PARTNER_ID": "examplePA", "D360_API_KEY": "key-123456"}


def test_api_defaults_follow_the_design_table():
    cfg = Settings.from_env(GOOD).api_config()
    assert cfg.base_url == "https://hub.360dialog.io/api/v2"
    assert cfg.balance_rate == (5, 30.0)
    assert (cfg.window_days, cfg.concurrency, cfg.retry_seconds) == (31, 8, 120.0)


def test_api_values_are_read_and_the_api_key_wins_over_a_login():
    cfg = Settings.from_env(
        {
            **GOOD,
            "D360_BASE_URL": "http://127.0.0.1:8123/api/v2/",
            "D360_USERNAME": "me@example.com",
            "D360_PASSWORD": "pw",
            "D360_BALANCE_RATE": " 10 / 60.5 ",
            "D360_CONCURRENCY": "3",
            "PIPELINE_WINDOW_DAYS": "366",
            "D360_RETRY_SECONDS": "45.5",
        }
    ).api_config()
    assert cfg.base_url == "http://127.0.0.1:8123/api/v2"
    assert cfg.balance_rate == (10, 60.5)
    assert (cfg.concurrency, cfg.window_days) == (3, 366)
    assert cfg.retry_seconds == cfg.retry.failing_give_up_after == 45.5
    assert cfg.uses_api_key and cfg.password is not None and cfg.password.reveal() == "pw"


def test_defaults_of_the_warehouse_side(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = pipeline_settings({})
    assert settings.warehouse == "data/warehouse.sqlite"
    assert settings.data_path is None  # data/warehouse.files/ beside it, the lake's default
    assert settings.lake().data_path == str(tmp_path / "data" / "warehouse.files") + "/"
    assert settings.snapshot_retention_days == 90
    assert settings.export_dir == "data/export"
    assert str(settings.start_date) == "2023-01-01"
    assert settings.refetch_days == 3


def test_defaults_of_the_finance_and_batch_settings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no markups.csv here
    settings = pipeline_settings({})
    assert settings.markups_path is None
    assert settings.default_markup_pct == Decimal(0)
    assert settings.low_balance_days == 7
    assert settings.report_dir == Path("data/reports")
    assert settings.channel_usage is False
    assert settings.batch_clients == 50
    assert settings.raw_dir == Path("data/raw")
    assert settings.listing_shrink_pct == 20
    assert settings.allow_listing_shrink is False


def test_a_markups_file_in_the_working_directory_is_the_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "markups.csv").write_text("client_id,markup_pct\n")
    assert pipeline_settings({}).markups_path == Path("markups.csv")


def test_the_raw_folder_sits_beside_the_warehouse_unless_set(tmp_path):
    warehouse = tmp_path / "wh" / "warehouse.sqlite"
    env = {"PIPELINE_WAREHOUSE": str(warehouse)}
    assert pipeline_settings(env).raw_dir == tmp_path / "wh" / "raw"
    env["PIPELINE_RAW_DIR"] = str(tmp_path / "elsewhere")
    assert pipeline_settings(env).raw_dir == tmp_path / "elsewhere"


def test_values_are_read(tmp_path):
    markups = tmp_path / "m.csv"
    markups.write_text("client_id,markup_pct\n")
    settings = pipeline_settings(
        {
            "PIPELINE_MARKUPS": str(markups),
            "PIPELINE_DEFAULT_MARKUP_PCT": "12.50",
            "PIPELINE_LOW_BALANCE_DAYS": "365",
            "PIPELINE_REPORT_DIR": str(tmp_path / "reports"),
            "PIPELINE_CHANNEL_USAGE": "ON",
            "PIPELINE_BATCH_CLIENTS": "1",
            "PIPELINE_LISTING_SHRINK_PCT": "0",
            "PIPELINE_ALLOW_LISTING_SHRINK": "yes",
        }
    )
    assert settings.markups_path == markups
    assert settings.default_markup_pct == Decimal("12.50")
    assert settings.low_balance_days == 365
    assert settings.report_dir == tmp_path / "reports"
    assert settings.channel_usage is True
    assert settings.batch_clients == 1
    assert settings.listing_shrink_pct == 0
    assert settings.allow_listing_shrink is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        *[("on", True), ("true", True), ("1", True), ("Yes", True)],
        *[("off", False), ("FALSE", False), ("0", False), ("no", False)],
    ],
)
def test_switches_accept_on_off_and_the_usual_spellings(text, expected):
    assert pipeline_settings({"PIPELINE_CHANNEL_USAGE": text}).channel_usage is expected


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PIPELINE_MARKUPS", "no/such/markups.csv"),
        ("PIPELINE_MARKUPS", "."),
        ("PIPELINE_DEFAULT_MARKUP_PCT", "-100"),
        ("PIPELINE_DEFAULT_MARKUP_PCT", "1000.01"),
        ("PIPELINE_DEFAULT_MARKUP_PCT", "ten"),
        ("PIPELINE_DEFAULT_MARKUP_PCT", "NaN"),
        ("PIPELINE_LOW_BALANCE_DAYS", "0"),
        ("PIPELINE_LOW_BALANCE_DAYS", "366"),
        ("PIPELINE_LOW_BALANCE_DAYS", "7.5"),
        ("PIPELINE_REPORT_DIR", "/etc/hostname"),
        ("PIPELINE_CHANNEL_USAGE", "maybe"),
        ("PIPELINE_BATCH_CLIENTS", "0"),
        ("PIPELINE_BATCH_CLIENTS", "100001"),
        ("PIPELINE_RAW_DIR", "/etc/hostname"),
        ("PIPELINE_LISTING_SHRINK_PCT", "101"),
        ("PIPELINE_LISTING_SHRINK_PCT", "-1"),
        ("PIPELINE_ALLOW_LISTING_SHRINK", "sure"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_variable(variable, value):
    with pytest.raises(SettingsError, match=variable) as raised:
        pipeline_settings({variable: value})
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("D360_BALANCE_RATE", "5 per 30", "like 5/30"),
        ("D360_BALANCE_RATE", "0/30", "at least 1 request"),
        ("D360_CONCURRENCY", "eight", "a whole number from 1 to 1000"),
        ("D360_CONCURRENCY", "0", "a whole number from 1 to 1000"),
        ("D360_RETRY_SECONDS", "0.5", "a number from 1 to 3600"),
        ("D360_RETRY_SECONDS", "nan", "a number from 1 to 3600"),
        ("PIPELINE_WINDOW_DAYS", "31.5", "a whole number from 1 to 366"),
        ("PIPELINE_START_DATE", "2024-1-1", "YYYY-MM-DD"),
        ("PIPELINE_START_DATE", "1700000000", "YYYY-MM-DD"),
        ("PIPELINE_REFETCH_DAYS", "-1", "a whole number from 0 to 366"),
        ("PIPELINE_WAREHOUSE", "/", "is a directory"),
        ("DAGSTER_HOME", "/etc/hostname", "is a file"),
        ("PIPELINE_DEFAULT_MARKUP_PCT", "-100", "above -100 and at most 1000"),
        ("PIPELINE_CHANNEL_USAGE", "maybe", "on or off"),
    ],
)
def test_the_line_says_what_the_value_should_be(variable, value, says):
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({variable: value})
    assert str(raised.value).startswith(f"{variable}={value!r} ")
    assert says in str(raised.value)


@pytest.mark.parametrize(
    "catalog",
    [
        "postgres:host=db dbname=lake user=me password=pw-in-conninfo-1",
        "postgres:host=db PassWord = pw-in-conninfo-1 dbname=lake",
        "postgres:postgresql://me:pw-in-conninfo-1@db/lake",
        "postgres:postgresql://me@db/lake?password=pw-in-conninfo-1",
    ],
)
def test_a_password_in_the_catalog_conninfo_is_refused_without_showing_it(catalog):
    # The conninfo is printed (messages, connect-sql's ATTACH); the password belongs in PGPASSWORD.
    env = {"PIPELINE_WAREHOUSE": catalog, "PIPELINE_DATA_PATH": "s3://lake/data/"}
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(env)
    message = str(raised.value)
    assert message.startswith("PIPELINE_WAREHOUSE holds a password") and "PGPASSWORD" in message
    assert "pw-in-conninfo-1" not in message and "\n" not in message


def test_several_bad_values_are_still_one_line_naming_each():
    env = {"PIPELINE_WINDOW_DAYS": "0", "PIPELINE_WAREHOUSE": "/", "D360_CONCURRENCY": "x"}
    with pytest.raises(SettingsError) as raised:
        Settings.from_env(env)
    message = str(raised.value)
    assert "\n" not in message
    assert all(variable in message for variable in env)
    assert "PIPELINE_RAW_DIR" not in message and "raw_dir" not in message  # derived, not bad


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"D360_API_KEY": "key-123456"}, "D360_PARTNER_ID"),
        ({**GOOD, "D360_PARTNER_ID": "a/b"}, "D360_PARTNER_ID"),
        ({"D360_PARTNER_ID": "examplePA"}, "D360_API_KEY"),
        ({"D360_PARTNER_ID": "examplePA", "D360_API_KEY": "  "}, "D360_API_KEY"),
        ({**GOOD, "D360_USERNAME": "me@example.com"}, "D360_PASSWORD"),
        ({"D360_PARTNER_ID": "examplePA", "D360_PASSWORD": "pw"}, "D360_USERNAME"),
        ({**GOOD, "D360_BASE_URL": "http://hub.360dialog.io/api/v2"}, "D360_BASE_URL"),
    ],
)
def test_missing_credentials_are_reported_when_the_api_is_used(env, variable):
    settings = Settings.from_env(env)  # the definitions load, the UI opens
    with pytest.raises(ConfigError, match=variable) as raised:
        settings.api_config()
    assert "\n" not in str(raised.value)


def test_secrets_never_show_in_the_settings_repr():
    settings = Settings.from_env({**GOOD, "D360_USERNAME": "me", "D360_PASSWORD": "hunter2"})
    for text in (repr(settings), str(settings), str(settings.environment())):
        assert "key-123456" not in text and "hunter2" not in text


def test_the_settings_read_back_from_their_own_environment(tmp_path):
    settings = Settings.from_env({**GOOD, "PIPELINE_WAREHOUSE": str(tmp_path / "w.duckdb")})
    again = Settings.from_env({**settings.environment(), **GOOD})
    assert again == settings


def test_dotenv_in_the_working_directory_is_read_and_the_environment_wins(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("PIPELINE_REFETCH_DAYS=5\nPIPELINE_WINDOW_DAYS=20\n")
    monkeypatch.setenv("PIPELINE_WINDOW_DAYS", "10")
    for name in ("PIPELINE_REFETCH_DAYS", "D360_API_KEY", "D360_PASSWORD", "DAGSTER_HOME"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings.from_env(read_environment())
    assert (settings.refetch_days, settings.window_days) == (5, 10)
    assert Settings() == settings  # pydantic-settings' own sources agree


def test_the_simulator_reads_its_rate_with_the_same_parser():
    assert simulator_rate("10/60.5") == (10, 60.5)
    assert simulator_rate("off") is None
    with pytest.raises(ValueError, match=r"--rate '5 per 30' is not N/SECONDS"):
        simulator_rate("5 per 30")


def test_the_markup_bounds_are_inclusive_only_at_the_top():
    assert pipeline_settings({"PIPELINE_DEFAULT_MARKUP_PCT": "1000"}).default_markup_pct == 1000
    assert pipeline_settings({"PIPELINE_DEFAULT_MARKUP_PCT": "-99.99"}).default_markup_pct < 0


def test_a_mapping_is_read_alone_whatever_the_process_environment_holds(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("D360_CONCURRENCY=5\n")
    monkeypatch.setenv("D360_BALANCE_RATE", "5/2")
    monkeypatch.setenv("D360_API_KEY", "from-the-shell")
    settings = Settings.from_env({})
    assert (settings.concurrency, settings.balance_rate, settings.api_key) == (8, (5, 30.0), None)
