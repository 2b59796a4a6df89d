"""The shared registry for real: PostgreSQL, a local S3-compatible server, and the MLflow server trunkml starts.

* PostgreSQL: the server at 127.0.0.1:5432 (``make services`` installs and starts one from Debian's
  packages where there is none). Each session gets its own database, dropped afterwards.
* S3: ``moto`` in server mode on a free loopback port. It is a local stand-in for S3, not S3.
* MLflow: started by ``trunkml pipeline workspace-cd --env shared`` itself, which is under test.

With ``CI=true`` a missing service fails the tests; elsewhere they skip with the reason.
"""

from __future__ import annotations

import contextlib
import glob
import io
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import httpx
import psycopg
import pytest

from tests.conftest import REPO_ROOT
from tests.serving.conftest import free_port
from tests.training.conftest import commit_all, git
from trunkml.cli.main import run
from trunkml.demo.demoproject import prepare_workdir

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
BUCKET = "trunkml-shared"
S3_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local-stand-in", "AWS_SECRET_ACCESS_KEY": "local-stand-in",
                  "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip


def unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must run the scale-out tests (run `make services`)")
    pytest.skip(reason)


@contextlib.contextmanager
def fresh_database(prefix: str = "trunkml") -> Iterator[str]:
    """A new database on the PostgreSQL server at 127.0.0.1:5432, dropped afterwards; yields its URI."""
    try:
        admin = psycopg.connect(PG_ADMIN, connect_timeout=3, autocommit=True)
    except psycopg.OperationalError as exc:
        unavailable(f"PostgreSQL is not reachable at 127.0.0.1:5432 ({str(exc).strip()})")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin.execute(f"CREATE DATABASE {name}")
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this session; yields its SQLAlchemy URI."""
    with fresh_database() as uri:
        yield uri


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of the test's own, so it can be stopped and restarted without touching the machine's."""

    bin_dir: Path
    base: Path
    port: int
    as_user: list[str]

    @property
    def uri(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def ctl(self, *args: str) -> None:
        command = [*self.as_user, str(self.bin_dir / "pg_ctl"), "-D", str(self.base / "data"), "-w", *args]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.ctl("-l", str(self.base / "server.log"), "-o", options, "start")

    def stop(self) -> None:
        self.ctl("-m", "fast", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PrivatePostgres]:
    """A throw-away PostgreSQL cluster (initdb + pg_ctl from the machine's PostgreSQL install) on a free port."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")) or [shutil.which("pg_ctl") or ""]
    if not found[-1]:
        unavailable("PostgreSQL's server programs (initdb, pg_ctl) are not installed")
    bin_dir = Path(found[-1]).parent
    base = Path(tempfile.mkdtemp(prefix="trunkml-pg-"))  # not under tmp_path: the server's user must reach it
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            unavailable("running as root and there is no 'postgres' user to run a private PostgreSQL as")
        os.chown(base, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    cluster = PrivatePostgres(bin_dir, base, free_port(), as_user)
    subprocess.run([*as_user, str(bin_dir / "initdb"), "-D", str(base / "data"), "-A", "trust", "-U", "postgres",
                    "--no-sync"], check=True, capture_output=True, timeout=120)  # fmt: skip
    cluster.start()
    yield cluster
    subprocess.run([*as_user, str(bin_dir / "pg_ctl"), "-D", str(base / "data"), "-m", "immediate", "stop"],
                   capture_output=True, timeout=60)  # fmt: skip
    shutil.rmtree(base, ignore_errors=True)


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
    bucket: str = BUCKET

    def env(self) -> dict[str, str]:
        return {
            "TRUNKML_BACKEND_STORE_URI": self.backend, "MLFLOW_S3_ENDPOINT_URL": self.s3, **S3_CREDENTIALS,
        }  # fmt: skip

    def objects(self) -> list[str]:
        client = boto3.client("s3", endpoint_url=self.s3, **_boto_credentials())
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket)
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
        f"    server: {{artifacts_destination: 's3://{env.bucket}/mlflow', workers: 2}}\n{extra}"
    )


def run_trunkml(root: Path, env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """`trunkml ARGS` in ``root`` with ``env`` on top of a clean environment, as a developer's shell runs it.

    It runs in this process: the same code as the `trunkml` command, without paying for MLflow's imports on
    every call. Commands that a test holds or kills start as processes of their own.
    """
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TRUNKML_", "MLFLOW_", "AWS_"))}
    saved, cwd = dict(os.environ), os.getcwd()
    out, err = io.StringIO(), io.StringIO()
    os.environ.clear()
    os.environ.update({**clean, **env})
    try:
        os.chdir(root)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = run(list(args))
    finally:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(saved)
    done = subprocess.CompletedProcess(["trunkml", *args], code, out.getvalue(), err.getvalue())
    if check:
        assert done.returncode == 0, f"trunkml {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


def demo_project(root: Path, stores: SharedEnv, infra_validation: bool = True) -> Path:
    """The demo project (synthetic data, committed) at ``root``, whose `shared` environment is ``stores``.

    ``infra_validation=False`` switches the requirement off (outside prod) for tests about something else.
    """
    prepare_workdir(root, "synthetic", REPO_ROOT)  # the job and model package come from trunkml's templates
    project_file = root / "trunkml.yaml"
    if not infra_validation:
        text = project_file.read_text(encoding="utf-8")
        project_file.write_text(text.replace("\ngate:\n", "\ngate:\n  infra_validation: false\n", 1), encoding="utf-8")
    with project_file.open("a", encoding="utf-8") as project:
        project.write(shared_yaml(stores))
    env = {"TRUNKML_PROJECT": str(root), **stores.env()}
    run_trunkml(root, env, "data", "synth", "--rows", "400", "--seed", "7", "--add", "demo-tweets")
    run_trunkml(root, env, "data", "synth", "--rows", "1000", "--seed", "99", "--add", "demo-eval")
    git(root, "config", "user.email", "dev@example.org")
    git(root, "config", "user.name", "Dev")
    commit_all(root, "A")
    return root


def shared(root: Path, stores: SharedEnv) -> dict[str, str]:
    """What a developer's shell (or a CI job) holds to work against the shared environment."""
    return {"TRUNKML_PROJECT": str(root), "TRUNKML_ENV": "shared", "MLFLOW_TRACKING_URI": stores.tracking_uri}


class Outage:
    """A loopback port forwarding to ``target_port``, which can be cut and restored: the service behind it
    becomes unreachable (connections refused, open ones dropped) while it keeps its state."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._open: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self.restore()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def restore(self) -> None:
        if self._listener is not None:
            return
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        for connection in self._open:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()
        self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # cut
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
            source.close()  # each direction closes the socket it reads from: both end up closed
