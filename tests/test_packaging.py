"""The built wheel works on its own: installed into a fresh venv (the locked dependency versions,
from uv's cache when it has them), it runs the CLI and creates the warehouse schema from a folder
that is not the checkout, with the DDL and views it carries."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UV = ROOT / ".tools" / "bin" / "uv"

SCHEMA_CREATION = """
import pathlib, pipeline
from pipeline.warehouse import Warehouse
warehouse = Warehouse("warehouse.sqlite")
with warehouse.write():
    pass
with warehouse.read() as con:
    rows = con.execute("select table_name from information_schema.tables").fetchall()
    names = {name for (name,) in rows}
print(pathlib.Path(pipeline.__file__).parent)
print(" ".join(sorted(names)))
"""


def uv(*args: str, cwd: Path = ROOT) -> None:
    """uv from its cache alone when it can (fast, works offline), else with the index."""
    for network in (["--offline"], []):
        result = subprocess.run(
            [str(UV), *args, *network], cwd=cwd, capture_output=True, text=True, timeout=300
        )
        if result.returncode == 0:
            return
    raise AssertionError(f"uv {' '.join(args)} failed: {result.stderr[-2000:]}")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a fresh venv holding the wheel and the locked dependencies, nothing else."""
    if not UV.exists():
        pytest.skip("uv is bootstrapped by `make`; run `make test`")
    tmp = tmp_path_factory.mktemp("packaging")
    uv("build", "--wheel", "--out-dir", str(tmp / "dist"), "--quiet")
    [wheel] = (tmp / "dist").glob("*.whl")
    requirements = tmp / "requirements.txt"
    uv(
        "export",
        "--frozen",
        "--no-dev",
        "--no-hashes",
        "--no-emit-project",
        "--quiet",
        "--output-file",
        str(requirements),
    )
    venv = tmp / "venv"
    uv("venv", "--quiet", str(venv))
    python = venv / "bin" / "python"
    uv("pip", "install", "--quiet", "--python", str(python), "-r", str(requirements), str(wheel))
    return python


def run_elsewhere(python: Path, tmp_path: Path, *args: str) -> str:
    # Not the checkout, and nothing pointing into it: only what the venv holds can be imported.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    result = subprocess.run(
        [str(python), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_the_installed_cli_answers_help(installed: Path, tmp_path: Path) -> None:
    out = run_elsewhere(installed, tmp_path, "-m", "pipeline", "--help")
    assert "usage: python -m pipeline" in out


def test_the_installed_package_creates_the_schema_from_its_own_sql(
    installed: Path, tmp_path: Path
) -> None:
    package_dir, tables = run_elsewhere(installed, tmp_path, "-c", SCHEMA_CREATION).splitlines()
    assert Path(package_dir).is_relative_to(installed.parents[1])  # the venv's copy, not ROOT
    assert (Path(package_dir) / "sql" / "tables").is_dir()
    expected = {path.stem for path in (ROOT / "sql" / "tables").glob("*.sql")}
    expected |= {path.stem for path in (ROOT / "sql" / "views").glob("*.sql")}
    assert expected <= set(tables.split())
