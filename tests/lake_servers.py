"""Real servers for the storage tests, on loopback, started by fixtures and stopped after them:
PostgreSQL from the machine's own PostgreSQL 15 binaries (a catalog for the lake) and moto's S3
server (data files and exports on object storage)."""

from __future__ import annotations

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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Postgres:
    port: int
    folder: Path

    def new_database(self) -> str:
        """A fresh database for one test; its `postgres:` catalog setting."""
        name = f"lake_{uuid.uuid4().hex[:12]}"
        subprocess.run(
            [
                POSTGRES_BIN / "createdb",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                LAKE_ROLE,
                name,
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        return f"postgres:host=127.0.0.1 port={self.port} user={LAKE_ROLE} dbname={name}"


def _as_postgres(*command: str | Path) -> list[str]:
    return ["runuser", "-u", POSTGRES_USER, "--", *map(str, command)]


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    missing = [
        name for name in ("initdb", "pg_ctl", "postgres") if not (POSTGRES_BIN / name).is_file()
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
    subprocess.run(
        _as_postgres(POSTGRES_BIN / "initdb", "-D", data, "-A", "trust", "-U", LAKE_ROLE),
        check=True,
        capture_output=True,
        timeout=120,
    )
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1"
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
            _as_postgres(POSTGRES_BIN / "pg_ctl", "-D", data, "-m", "fast", "stop"),
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
            "AWS_ACCESS_KEY_ID": "test-key-id",
            "AWS_SECRET_ACCESS_KEY": "test-secret-key",
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

    def _client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id="test-key-id",
            aws_secret_access_key="test-secret-key",
            region_name="us-east-1",
        )


@pytest.fixture(scope="session")
def s3() -> Iterator[S3]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    try:
        yield S3(f"http://127.0.0.1:{port}")
    finally:
        server.stop()
