"""make dev: one command starts the simulator and the Dagster UI on the demo settings, shows the
daily schedule, and stops both on Ctrl-C."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

SCHEDULES = (
    "{ repositoriesOrError { ... on RepositoryConnection { nodes { schedules { name } } } } }"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_schedules(url: str, deadline: float) -> list[str]:
    while time.monotonic() < deadline:
        try:
            answer = httpx.post(f"{url}/graphql", json={"query": SCHEDULES}, timeout=5).json()
            nodes = answer["data"]["repositoriesOrError"]["nodes"]
            if nodes:
                return [s["name"] for node in nodes for s in node["schedules"]]
        except (httpx.HTTPError, KeyError, TypeError, ValueError):
            pass
        time.sleep(0.1)
    raise AssertionError(f"the UI at {url} did not come up")


def test_make_dev_serves_the_ui_with_the_schedule_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    env = {"DAGSTER_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    dev = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "dev", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        lines = [dev.stdout.readline(), dev.stdout.readline()]
        assert lines[0].startswith("Partner API simulator: http://127.0.0.1:")
        url = f"http://127.0.0.1:{port}"
        assert lines[1].startswith(f"Dagster UI: {url}")
        # generous: dagster dev starts a webserver, a daemon and a code server
        assert "daily_refresh" in wait_for_schedules(url, time.monotonic() + 180)

        dev.send_signal(signal.SIGINT)
        out, _ = dev.communicate(timeout=180)  # a hang guard, as generous as the start's
    finally:
        dev.kill()
    assert dev.returncode == 0  # the way dev is meant to end: make reports no error
    assert out.strip().endswith("stopped")
    assert not (tmp_path / ".telemetry").exists()  # an empty home got telemetry off
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0  # nothing listens any more
