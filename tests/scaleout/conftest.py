"""The shared registry for real: PostgreSQL, a local S3-compatible server, and the MLflow server trunkml starts.

* PostgreSQL: the server at 127.0.0.1:5432 (``make services`` installs and starts one from Debian's
  packages where there is none). Each session gets its own database, dropped afterwards.
* S3: ``moto`` in server mode on a free loopback port. It is a local stand-in for S3, not S3.
* MLflow: started by ``trunkml pipeline workspace-cd --env shared`` itself, which is under test.

With ``CI=true`` a missing service fails the tests; elsewhere they skip with the reason.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import httpx
import psycopg
import pytest

from tests.serving.conftest import free_port

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
BUCKET = "trunkml-shared"
S3_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local-stand-in", "AWS_SECRET_ACCESS_KEY": "local-stand-in",
                  "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip


def unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must run the scale-out tests (run `make services`)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this session; yields its SQLAlchemy URI."""
    try:
        admin = psycopg.connect(PG_ADMIN, connect_timeout=3, autocommit=True)
    except psycopg.OperationalError as exc:
        unavailable(f"PostgreSQL is not reachable at 127.0.0.1:5432 ({str(exc).strip()})")
    name = f"trunkml_{uuid.uuid4().hex[:10]}"
    admin.execute(f"CREATE DATABASE {name}")
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.close()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's S3-compatible server (the local stand-in for S3) on a free port; yields its endpoint URL."""
    port = free_port()
    log = tmp_path_factory.mktemp("s3") / "moto.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=sink, stderr=sink
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        process.kill()
        unavailable(f"the local S3 stand-in (moto) did not start: {log.read_text()[-500:]}")
    yield url
    process.terminate()
    process.wait(10)


@dataclass
class SharedEnv:
    """Environment variables that point trunkml (and the server it starts) at the shared stores."""

    tracking_uri: str
    backend: str
    s3: str

    def env(self) -> dict[str, str]:
        return {
            "TRUNKML_BACKEND_STORE_URI": self.backend, "MLFLOW_S3_ENDPOINT_URL": self.s3, **S3_CREDENTIALS,
        }  # fmt: skip

    def objects(self) -> list[str]:
        client = boto3.client("s3", endpoint_url=self.s3, **_boto_credentials())
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]


def _boto_credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": S3_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "region_name": S3_CREDENTIALS["AWS_DEFAULT_REGION"],
    }


@pytest.fixture(scope="session")
def shared_stores(postgres_database: str, s3_server: str) -> SharedEnv:
    """The stores of the shared environment, and the URI its MLflow server will answer on."""
    return SharedEnv(f"http://127.0.0.1:{free_port()}", postgres_database, s3_server)


def shared_yaml(env: SharedEnv, extra: str = "") -> str:
    return (
        f"environments:\n  shared:\n    tracking_uri: {env.tracking_uri}\n"
        f"    server: {{artifacts_destination: 's3://{BUCKET}/mlflow', workers: 2}}\n{extra}"
    )


def run_trunkml(root: Path, env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TRUNKML_", "MLFLOW_", "AWS_"))}
    done = subprocess.run(
        [sys.executable, "-m", "trunkml", *args], cwd=root, env={**clean, **env}, capture_output=True, text=True
    )
    if check:
        assert done.returncode == 0, f"trunkml {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done
