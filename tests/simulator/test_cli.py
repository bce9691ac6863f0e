from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from pipeline.simulator import Faults
from pipeline.simulator.cli import _faults, _options, _parser

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
    return process.wait(timeout=60)  # a hang guard for a loaded machine; it stops at once


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


@pytest.mark.parametrize(
    ("specs", "expected"),
    [
        (["5xx=20:3"], Faults(error_burst_every=20, error_burst_length=3)),
        (["drop=7", "429=5"], Faults(drop_every=7, rate_limit_every=5)),
        (
            ["slow=4:1.5", "token-expiry=9"],
            Faults(slow_every=4, slow_seconds=1.5, token_expiry_every=9),
        ),
        (
            ["drift", "vanish=aCL,bCL"],
            Faults(schema_drift=True, vanished_clients=frozenset({"aCL", "bCL"})),
        ),
        (["hide_channel=123456,654321"], Faults(hidden_channels=frozenset({"123456", "654321"}))),
    ],
)
def test_fault_options_become_faults(specs, expected):
    assert _faults(specs) == expected


@pytest.mark.parametrize("spec", ["5xx=often", "vanish=", "hide_channel=", "teleport=3", "drop"])
def test_a_bad_fault_option_is_refused(spec):
    with pytest.raises(ValueError, match="bad --fault"):
        _faults([spec])


def test_partner_balance_options_reach_the_simulator_options():
    args = _parser().parse_args(
        ["--partner-currencies", "eur, usd", "--partner-balance-shape", "list"]
    )
    opts = _options(args, {})
    assert opts.partner_currencies == ("EUR", "USD")
    assert opts.partner_balance_shape == "list"


def test_help_documents_the_channel_and_partner_balance_options():
    text = _parser().format_help()
    for option in ("--partner-currencies", "--partner-balance-shape", "hide_channel=APP_ID"):
        assert option in text
