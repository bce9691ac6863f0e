"""Real servers for the storage tests, on loopback, started by fixtures and stopped after them:
PostgreSQL from the machine's own PostgreSQL 15 binaries (a catalog for the lake) and moto's S3
server (data files and exports on object storage).

The Postgres server asks every connection for the role's password (scram-sha-256, as a team's
server would), so the pipeline's way of handing PGPASSWORD over is exercised by every test that
uses it. The password and the S3 keys are recognisable values, for the secrets tests to look for.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")
POSTGRES_USER = "postgres"  # Postgres refuses to run as root
LAKE_ROLE = "lake"
# Recognisable, and unlike anything else the suite writes, for the tests that look for leaks.
LAKE_PASSWORD = "pg-lake-pw-7Hq2Xv9K"
S3_KEY_ID = "AKIALAKETESTKEY7Q2X"
S3_SECRET = "s3-lake-secret-Wm4pR8tZ"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Postgres:
    port: int
    folder: Path
    password: str = LAKE_PASSWORD
    """The lake role's password: PGPASSWORD for the pipeline and the server's own tools."""

    def new_database(self) -> str:
        """A fresh database for one test; its `postgres:` catalog setting (no password in it:
        the pipeline takes that from PGPASSWORD)."""
        name = f"lake_{uuid.uuid4().hex[:12]}"
        self.tool("createdb", name)
        return f"postgres:host=127.0.0.1 port={self.port} user={LAKE_ROLE} dbname={name}"

    def tool(self, name: str, *args: str) -> str:
        """Run one of the server's client programs (createdb, pg_dump, ...) as the lake role over
        TCP, the password from PGPASSWORD; its stdout."""
        done = subprocess.run(
            [POSTGRES_BIN / name, "-h", "127.0.0.1", "-p", str(self.port), "-U", LAKE_ROLE, *args],
            env={**os.environ, "PGPASSWORD": self.password},
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        )
        return done.stdout


def _as_postgres(*command: str | Path) -> list[str]:
    return ["runuser", "-u", POSTGRES_USER, "--", *map(str, command)]


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    missing = [
        name
        for name in ("initdb", "pg_ctl", "postgres", "createdb", "pg_dump")
        if not (POSTGRES_BIN / name).is_file()
    ]
    if missing or shutil.which("runuser") is None:
        pytest.fail(
            f"PostgreSQL 15 server binaries are missing from {POSTGRES_BIN}: install the Debian "
            "package postgresql (apt-get install postgresql)",
            pytrace=False,
        )
    folder = Path(tempfile.mkdtemp(prefix="lake-postgres-"))
    shutil.chown(folder, POSTGRES_USER)
    data, port = folder / "data", free_port()
    password_file = folder / "password"
    password_file.write_text(LAKE_PASSWORD)
    shutil.chown(password_file, POSTGRES_USER)
    # Password (scram-sha-256) for every connection, socket or TCP: nothing is trusted. No fsync
    # in initdb nor in the server: a throw-away cluster, and the cheapest start.
    initdb = [POSTGRES_BIN / "initdb", "-D", data, "-U", LAKE_ROLE, "--no-sync"]
    initdb += ["-A", "scram-sha-256", f"--pwfile={password_file}"]
    subprocess.run(_as_postgres(*initdb), check=True, capture_output=True, timeout=120)
    password_file.unlink()
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(
        _as_postgres(
            POSTGRES_BIN / "pg_ctl", "-D", data, "-w", "-l", folder / "log", "-o", options, "start"
        ),
        check=True,
        capture_output=True,
        timeout=120,
    )
    try:
        yield Postgres(port, folder)
    finally:
        subprocess.run(
            # Immediate: nothing of the cluster is kept, so no shutdown checkpoint to wait for.
            _as_postgres(POSTGRES_BIN / "pg_ctl", "-D", data, "-m", "immediate", "stop"),
            capture_output=True,
            timeout=120,
        )
        shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class S3:
    endpoint: str
    """`http://127.0.0.1:PORT`, as PIPELINE_S3_ENDPOINT takes it."""

    def env(self, bucket: str) -> dict[str, str]:
        return {
            "AWS_ACCESS_KEY_ID": S3_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": S3_SECRET,
            "AWS_REGION": "us-east-1",
            "PIPELINE_S3_ENDPOINT": self.endpoint,
        }

    def new_bucket(self) -> str:
        name = f"lake-{uuid.uuid4().hex[:12]}"
        self._client().create_bucket(Bucket=name)
        return name

    def objects(self, bucket: str) -> dict[str, int]:
        """Every object of `bucket` as `s3://bucket/key` -> its size in bytes."""
        pages = self._client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return {
            f"s3://{bucket}/{item['Key']}": item["Size"]
            for page in pages
            for item in page.get("Contents", [])
        }

    def read(self, url: str) -> bytes:
        """The object at `s3://bucket/key`."""
        bucket, key = url.removeprefix("s3://").split("/", 1)
        return self._client().get_object(Bucket=bucket, Key=key)["Body"].read()

    def _client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=S3_KEY_ID,
            aws_secret_access_key=S3_SECRET,
            region_name="us-east-1",
        )


@pytest.fixture(scope="session")
def s3() -> Iterator[S3]:
    from moto.server import ThreadedMotoServer

    # Its HTTP server logs every request: thousands of lines in a failing test's report.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        yield S3(f"http://127.0.0.1:{port}")
    finally:
        server.stop()
