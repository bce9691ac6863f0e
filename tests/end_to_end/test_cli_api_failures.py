"""`python -m pipeline run` against an API that refuses its token or does not answer: one line per
problem, and the token nowhere (outputs, warehouse, exports, every file under DAGSTER_HOME)."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from end_to_end.stack import YESTERDAY, small_options, stack_env
from end_to_end.test_cli import pipeline_cli
from scripted_api import Asked, api_error, scripted_api

from pipeline.simulator import Faults, run_simulator

DAY = (YESTERDAY - timedelta(days=1)).isoformat()
PASSWORD = "pw-for-the-token-test-1234"
JWT = re.compile(rb"eyJ[\w-]+\.[\w-]+\.[\w-]+")
# A token the API refuses and then quotes back: an opaque one, not shaped like a JWT, so only
# knowing its value can redact it.
QUOTED_TOKEN = "opaque-token-7f3a9c2e5b1d"


def closed_port() -> int:
    """A loopback port nothing listens on: connections to it are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_day(tmp: Path, env: dict[str, str]):
    """`run` for one day with DAGSTER_HOME an empty folder of its own under `tmp`."""
    home = tmp / "dagster_home"
    home.mkdir(exist_ok=True)
    return pipeline_cli(
        "run", "--start", DAY, "--end", DAY, env={**env, "DAGSTER_HOME": str(home)}, cwd=tmp
    )


def test_an_unreachable_api_is_one_line_per_step_with_the_endpoint_and_a_hint(tmp_path):
    base_url = f"http://127.0.0.1:{closed_port()}/api/v2"
    env = {
        "D360_BASE_URL": base_url,
        "D360_PARTNER_ID": "pa",
        "D360_API_KEY": "key",
        "D360_RETRY_SECONDS": "1",
        "PIPELINE_WAREHOUSE": str(tmp_path / "warehouse.sqlite"),
        "PIPELINE_EXPORT_DIR": str(tmp_path / "export"),
        "PIPELINE_START_DATE": DAY,
    }
    result = run_day(tmp_path, env)

    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    hint = (
        "is D360_BASE_URL right? is the network up? (each request is retried for up to 1 s, "
        "D360_RETRY_SECONDS)"
    )
    for step, endpoint in (("channels", "channels"), ("clients", "clients")):
        assert (
            f"error: {step}: no answer from the Partner API at {base_url} (ConnectError: All "
            f"connection attempts failed) (GET /partners/{{partner_id}}/{endpoint}); {hint}"
        ) in errors, result.stderr
    assert "Traceback" not in result.stderr


@contextmanager
def token_refusing_api(kind: str) -> Iterator[tuple[object, set[bytes]]]:
    """An API that accepts the login and then refuses its token; yields the API and the token
    values known to the test (the simulator's are found by their JWT shape instead)."""
    if kind == "simulator":
        # Every list and balance request revokes all tokens first: a fresh login, then a 401.
        options = small_options(password=PASSWORD, faults=Faults(token_expiry_every=1))
        with run_simulator(options) as sim:
            yield sim, set()
        return

    def quoting(asked: Asked):
        if asked.path == "/token":
            return 200, {"access_token": QUOTED_TOKEN, "token_type": "Bearer", "expires_in": 3600}
        presented = asked.headers.get("Authorization", "")
        return api_error(401, f"Invalid token: {presented} ({QUOTED_TOKEN} was revoked)")

    with scripted_api(quoting) as api:
        yield api, {QUOTED_TOKEN.encode()}


@pytest.mark.parametrize("kind", ["simulator", "api quoting the token"])
def test_a_refused_token_appears_in_no_output_table_export_or_dagster_file(tmp_path, kind):
    with token_refusing_api(kind) as (api, tokens):
        env = stack_env(
            api,
            tmp_path,
            D360_API_KEY="",
            D360_USERNAME="partner@example.com",
            D360_PASSWORD=PASSWORD,
            PIPELINE_START_DATE=DAY,
        )
        result = run_day(tmp_path, env)
        logins = len([a for a in getattr(api, "asked", []) if a.path == "/token"])

    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert any(
        line.startswith("error: clients: the Partner API refused the credentials")
        for line in errors
    ), result.stderr
    assert kind == "simulator" or logins >= 1
    outputs = {"stdout": result.stdout.encode(), "stderr": result.stderr.encode()}
    files = {str(f): f.read_bytes() for f in tmp_path.rglob("*") if f.is_file()}
    assert any("dagster_home" in name and name.endswith(".db") for name in files)  # run storage
    for where, content in {**outputs, **files}.items():
        leaks = [t for t in tokens | {PASSWORD.encode()} if t in content]
        leaks += JWT.findall(content) + re.findall(rb"(?i)bearer\s+[^\s*'\"]{8,}", content)
        assert leaks == [], f"a secret in {where}"
