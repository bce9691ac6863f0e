from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def start(env: dict[str, str], tmp_path: Path) -> tuple[subprocess.Popen, list[str]]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from pipeline.simulator.cli import serve; sys.exit(serve(sys.argv[1:]))",
            "--port",
            "0",
            "--clients",
            "3",
            "--rate",
            "off",
        ],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    lines = [process.stdout.readline() for _ in range(7)]
    return process, lines


def stop(process: subprocess.Popen) -> int:
    process.send_signal(signal.SIGINT)
    return process.wait(timeout=10)


def test_serves_made_up_credentials_and_stops_on_ctrl_c(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("D360_")}
    process, lines = start(env, tmp_path)
    try:
        exports = dict(
            line.removeprefix("export ").strip().split("=", 1)
            for line in lines
            if line.startswith("export ")
        )
        response = httpx.get(
            f"{exports['D360_BASE_URL']}/partners/{exports['D360_PARTNER_ID']}/clients",
            headers={"X-API-Key": exports["D360_API_KEY"]},
        )
        assert response.json()["total"] == 3
    finally:
        assert stop(process) == 0


def test_credentials_from_a_dotenv_file_are_used_but_never_printed(tmp_path):
    (tmp_path / ".env").write_text("D360_PARTNER_ID=envPA\nD360_API_KEY=key-from-dotenv\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("D360_")}
    process, lines = start(env, tmp_path)
    try:
        text = "".join(lines)
        assert "key-from-dotenv" not in text
        assert "# D360_API_KEY: from your environment" in text
        base = next(line for line in lines if "D360_BASE_URL" in line).strip().split("=", 1)[1]
        response = httpx.get(f"{base}/partners/envPA", headers={"X-API-Key": "key-from-dotenv"})
        assert response.status_code == 200
    finally:
        assert stop(process) == 0
