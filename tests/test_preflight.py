"""Start-up checks on real folders: a usable DAGSTER_HOME and export folder, or one line."""

from pathlib import Path

import dagster as dg
import pytest

from pipeline.preflight import MINIMAL_CONFIG, check_export_dir, open_instance
from pipeline.settings import SettingsError
from pipeline.warehouse import ObjectStorage


@dg.op
def nothing() -> None:
    pass


@dg.job
def tiny() -> None:
    nothing()


def test_a_fresh_dagster_home_is_created_with_telemetry_and_the_ui_pop_up_off(tmp_path, capsys):
    home = tmp_path / "fresh" / "dagster"
    with open_instance(str(home)) as instance:
        assert not instance.telemetry_enabled
        assert not instance.nux_enabled
        assert tiny.execute_in_process(instance=instance).success

    assert (home / "dagster.yaml").read_text() == MINIMAL_CONFIG
    assert not (home / ".telemetry").exists()  # where Dagster keeps its instance id
    err = capsys.readouterr().err
    assert "Telemetry" not in err and "dagster.yaml" not in err  # no banner, no warning


def test_an_operators_dagster_yaml_is_left_alone_and_its_telemetry_choice_kept(tmp_path):
    silent = tmp_path / "silent"
    silent.mkdir()
    (silent / "dagster.yaml").write_text("run_queue:\n  max_concurrent_runs: 2\n")
    with open_instance(silent) as instance:
        assert not instance.telemetry_enabled  # unset: off
        assert not instance.nux_enabled
    assert (silent / "dagster.yaml").read_text() == "run_queue:\n  max_concurrent_runs: 2\n"

    chosen = tmp_path / "chosen"
    chosen.mkdir()
    (chosen / "dagster.yaml").write_text("telemetry:\n  enabled: true\n")
    with open_instance(chosen) as instance:
        assert instance.telemetry_enabled


@pytest.mark.parametrize(
    ("home", "yaml", "message"),
    [
        ("relative/home", None, "DAGSTER_HOME=relative/home is not an absolute path"),
        ("FILE/home", None, "DAGSTER_HOME=FILE/home cannot be used (Not a directory)"),
        ("HOME", "telemetry: [\n", "dagster.yaml cannot be read as YAML at line 2"),
        ("HOME", "- a list\n", "dagster.yaml is not a YAML mapping"),
        ("HOME", "no_such_setting: 1\n", 'unexpected config entry "no_such_setting" at the root.)'),
        ("HOME", "telemetry:\n  enabled: maybe\n", "not a usable Dagster instance configuration"),
    ],
)
def test_a_broken_dagster_home_is_one_line(tmp_path, home, yaml, message):
    (tmp_path / "file").write_text("not a folder")
    home = home.replace("FILE", str(tmp_path / "file")).replace("HOME", str(tmp_path / "home"))
    message = message.replace("FILE", str(tmp_path / "file"))
    if yaml is not None:
        Path(home).mkdir()
        (Path(home) / "dagster.yaml").write_text(yaml)

    with pytest.raises(SettingsError) as error:
        open_instance(home)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_an_unset_dagster_home_is_one_line():
    with pytest.raises(SettingsError, match="DAGSTER_HOME is not set"):
        open_instance(None)


def test_an_export_dir_that_cannot_be_created_is_one_line_naming_the_variable(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(SettingsError) as error:
        check_export_dir(str(tmp_path / "file" / "export"), ObjectStorage())
    assert str(error.value).startswith(f"PIPELINE_EXPORT_DIR={tmp_path / 'file' / 'export'}: ")
    assert "\n" not in str(error.value)
    with pytest.raises(SettingsError, match="is a file; choose a folder"):
        check_export_dir(str(tmp_path / "file"), ObjectStorage())


def test_a_usable_export_dir_gets_its_versions_folder_and_nothing_else(tmp_path):
    check_export_dir(str(tmp_path / "data" / "export"), ObjectStorage())
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == [".export.versions"]
    assert [p.name for p in (tmp_path / "data" / ".export.versions").iterdir()] == [".lock"]
