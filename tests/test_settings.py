"""pipeline_settings: the PIPELINE_* defaults of the contract, and one line naming the variable
for every bad value."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.settings import SettingsError, pipeline_settings


def test_defaults_of_the_finance_and_batch_settings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no markups.csv here
    settings = pipeline_settings({})
    assert settings.markups_path is None
    assert settings.default_markup_pct == Decimal(0)
    assert settings.low_balance_days == 7
    assert settings.report_dir == Path("data/reports")
    assert settings.channel_usage is False
    assert settings.batch_clients == 200
    assert settings.raw_dir == Path("data/raw")
    assert settings.listing_shrink_pct == 20
    assert settings.allow_listing_shrink is False


def test_a_markups_file_in_the_working_directory_is_the_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "markups.csv").write_text("client_id,markup_pct\n")
    assert pipeline_settings({}).markups_path == Path("markups.csv")


def test_the_raw_folder_sits_beside_the_warehouse_unless_set(tmp_path):
    warehouse = tmp_path / "wh" / "warehouse.duckdb"
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


def test_the_markup_bounds_are_inclusive_only_at_the_top():
    assert pipeline_settings({"PIPELINE_DEFAULT_MARKUP_PCT": "1000"}).default_markup_pct == 1000
    assert pipeline_settings({"PIPELINE_DEFAULT_MARKUP_PCT": "-99.99"}).default_markup_pct < 0
