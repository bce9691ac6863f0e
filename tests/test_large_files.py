"""The large-file guard of `make test` (.ci/large_files.py) fails on a tracked file over 1 MB."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GUARD = ROOT / ".ci" / "large_files.py"


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def test_a_tracked_file_over_1_mb_fails_the_guard_and_is_named(tmp_path):
    repo = tmp_path / "repo"
    (repo / ".ci").mkdir(parents=True)
    (repo / ".ci" / "large_files.py").write_text(GUARD.read_text())
    (repo / "small.txt").write_bytes(b"x" * 1024 * 1024)  # exactly 1 MB is allowed
    (repo / "untracked.bin").write_bytes(b"x" * 2 * 1024 * 1024)  # not in git: not checked
    git(repo, "init", "-q")
    git(repo, "add", ".ci", "small.txt")
    passed = subprocess.run([sys.executable, ".ci/large_files.py"], cwd=repo, capture_output=True)
    assert passed.returncode == 0, passed.stderr

    (repo / "big.whl").write_bytes(b"x" * (1024 * 1024 + 1))
    git(repo, "add", "big.whl")
    failed = subprocess.run(
        [sys.executable, ".ci/large_files.py"], cwd=repo, capture_output=True, text=True
    )
    assert failed.returncode == 1
    assert failed.stderr.startswith("big.whl: 1.0 MB is over the 1 MB limit")
