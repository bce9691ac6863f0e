"""make dev: one command starts the simulator and the Dagster UI on the demo settings, shows the
daily schedule, and stops both on Ctrl-C, typed at a terminal, with exit status 0."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SCHEDULES = (
    "{ repositoriesOrError { ... on RepositoryConnection { nodes { schedules { name } } } } }"
)
CTRL_C = b"\x03"


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


class Terminal:
    """A pseudo-terminal whose output is collected as it comes (a full one would block writers)."""

    def __init__(self) -> None:
        self.controller, self.device = os.openpty()
        self._output = bytearray()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.controller, 65536)
            except OSError:  # EIO: every process holding the terminal has closed it
                return
            if not chunk:
                return
            self._output += chunk

    def text(self) -> str:
        return self._output.decode(errors="replace")

    def wait_for(self, pattern: str, deadline: float) -> re.Match[str]:
        while time.monotonic() < deadline:
            if found := re.search(pattern, self.text()):
                return found
            time.sleep(0.1)
        raise AssertionError(f"no {pattern!r} in:\n{self.text()}")

    def close(self) -> str:
        self._reader.join(timeout=10)
        os.close(self.controller)
        return self.text()


def descendants(pid: int) -> list[int]:
    """pid's processes, children first; read before any is killed, since an orphan's parent
    becomes init (dg dev runs in a session of its own, out of make's process group)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, queue = [], [pid]
    while queue:
        children = parents.get(queue.pop(), [])
        found += children
        queue += children
    return found


def kill_tree(pid: int) -> None:
    for each in [*descendants(pid), pid]:
        with contextlib.suppress(ProcessLookupError):  # ended meanwhile
            os.kill(each, signal.SIGKILL)


def test_make_dev_serves_the_ui_with_the_schedule_and_ctrl_c_exits_0(tmp_path: Path) -> None:
    port = free_port()
    env = {"DAGSTER_HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "TERM": "dumb"}
    terminal = Terminal()
    # `setsid -c`: make in a session of its own with the terminal as its controlling one, as a
    # shell runs it; Ctrl-C written to the terminal then goes to its foreground process group.
    # `-o`: an out-of-date .venv stamp is not re-synced in the middle of a test.
    make = subprocess.Popen(
        ["setsid", "-c", "make", "-o", ".venv/.synced", "dev", f"DEV_PORT={port}"],
        cwd=PROJECT_ROOT,
        env=env,
        stdin=terminal.device,
        stdout=terminal.device,
        stderr=terminal.device,
    )
    os.close(terminal.device)
    url = f"http://127.0.0.1:{port}"
    try:
        # generous: dg dev starts a webserver, a daemon and a code server
        deadline = time.monotonic() + 180
        terminal.wait_for(r"Partner API simulator: http://127\.0\.0\.1:\d+", deadline)
        terminal.wait_for(f"Dagster UI: {re.escape(url)}", deadline)
        assert "daily_refresh" in wait_for_schedules(url, deadline)

        os.write(terminal.controller, CTRL_C)
        make.wait(timeout=180)  # a hang guard, as generous as the start's
    finally:
        if make.poll() is None:  # no orphan UI whatever failed above
            kill_tree(make.pid)
            make.wait()
        out = terminal.close()
    assert make.returncode == 0, out  # make exits 0 itself, not killed by the Ctrl-C
    assert "make: ***" not in out  # neither "Error 130" nor "Interrupt"
    assert "SupersessionWarning" not in out
    assert "stopped" in out.splitlines()[-1]
    assert not (tmp_path / ".telemetry").exists()  # an empty home got telemetry off
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0  # nothing listens any more
