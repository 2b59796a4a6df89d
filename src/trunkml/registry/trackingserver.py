"""The shared registry's MLflow tracking server: started by workspace-cd when it is not already running.

``mlflow server`` runs on this machine with a SQL backend (``TRUNKML_BACKEND_STORE_URI``,
passed through the environment, never on the command line) and proxies artifacts to
object storage (``artifacts_destination``), so clients need neither database nor storage
credentials. It keeps running after workspace-cd returns; its pid and log are under
``$TRUNKML_HOME/servers/``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from filelock import FileLock

from trunkml.config import Settings
from trunkml.config.project import TrackingServerConfig
from trunkml.config.settings import child_environment
from trunkml.errors import ConfigError, UnavailableError
from trunkml.registry.connection import redact

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def healthy(uri: str, timeout_s: float = 2.0) -> bool:
    """True when the tracking server at ``uri`` answers ``/health``."""
    try:
        return httpx.get(f"{uri.rstrip('/')}/health", timeout=timeout_s).status_code == 200
    except httpx.HTTPError:
        return False


def store_answers(uri: str, timeout_s: float = 5.0) -> bool:
    """True when the server at ``uri`` answers a query, which needs its database (``/health`` does not).

    A 401/403 (a server behind MLflow's auth) still proves it answered; only 5xx or no answer mean the
    database is gone.
    """
    try:
        url = f"{uri.rstrip('/')}/api/2.0/mlflow/experiments/search"
        return httpx.post(url, json={"max_results": 1}, timeout=timeout_s).status_code < 500
    except httpx.HTTPError:
        return False


def _running(uri: str) -> str:
    if not store_answers(uri):
        raise UnavailableError(
            f"tracking server {redact(uri)} answers /health but not queries: its database is unreachable",
            hint="check the database behind it (TRUNKML_BACKEND_STORE_URI); a running server is left alone",
        )
    return f"{redact(uri)} is running"


def _files(settings: Settings, env: str) -> tuple[Path, Path]:
    folder = settings.home_dir / "servers"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"mlflow-{env}.pid", folder / f"mlflow-{env}.log"


def ensure_bucket(settings: Settings, destination: str) -> str:
    """Create the S3 bucket of ``destination`` if it does not exist (other schemes: nothing to do)."""
    parts = urlsplit(destination)
    if parts.scheme != "s3":
        return f"{parts.scheme or 'local'} artifacts: nothing to create"
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    client = boto3.client("s3", endpoint_url=settings.s3_endpoint_url)
    try:
        client.head_bucket(Bucket=parts.netloc)
        return f"bucket {parts.netloc} exists"
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in {"404", "NoSuchBucket"}:
            raise UnavailableError(f"bucket {parts.netloc}: {exc}") from exc
    except BotoCoreError as exc:
        raise UnavailableError(f"the object store for {destination} is unreachable: {exc}") from exc
    client.create_bucket(Bucket=parts.netloc)
    return f"bucket {parts.netloc} created"


# `mlflow db upgrade URI`, with the URI read from the environment: on a command line, its password would be
# readable by every local user (`ps`) and would land in timeout messages.
UPGRADE = "import os; from mlflow.db import commands; commands.main(['upgrade', os.environ['TRUNKML_UPGRADE_URI']])"


def migrate(settings: Settings, uri: str, timeout_s: float = 600) -> None:
    """Create or migrate the MLflow schema of the SQL database at ``uri`` (its password never leaves the env)."""
    try:
        done = subprocess.run(  # noqa: S603 - MLflow's own migration command, from this interpreter
            [sys.executable, "-c", UPGRADE], env=child_environment(settings, TRUNKML_UPGRADE_URI=uri),
            capture_output=True, text=True, timeout=timeout_s, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        raise UnavailableError(f"mlflow db upgrade {redact(uri)} did not finish in {timeout_s:.0f} s") from None
    if done.returncode != 0:
        tail = done.stderr.strip().replace(uri, redact(uri))[-1500:]
        raise UnavailableError(f"mlflow db upgrade {redact(uri)} failed:\n{tail}")


def ensure_server(settings: Settings, env: str, config: TrackingServerConfig) -> str:
    """Make the environment's tracking server answer: leave a running one alone, else start it here."""
    uri = settings.tracking_uri
    if healthy(uri):
        return _running(uri)
    parts = urlsplit(uri)
    if parts.scheme != "http" or parts.hostname not in LOOPBACK or parts.port is None:
        raise UnavailableError(
            f"tracking server {redact(uri)} does not answer, and trunkml starts servers only at http://127.0.0.1:PORT",
            hint="start it where it runs, or fix environments.<env>.tracking_uri",
        )
    if settings.backend_store_uri is None:
        raise ConfigError(
            f"environment '{env}' asks for a tracking server, but TRUNKML_BACKEND_STORE_URI is not set",
            hint="export TRUNKML_BACKEND_STORE_URI=postgresql://USER:$PASSWORD@HOST:5432/DB (never in YAML)",
        )
    backend = settings.backend_store_uri.get_secret_value()
    with FileLock(_files(settings, env)[0].with_suffix(".lock"), timeout=config.start_timeout_s + 660):
        if healthy(uri):  # another workspace-cd started it while this one waited
            return _running(uri)
        migrate(settings, backend)
        bucket = ensure_bucket(settings, config.artifacts_destination)
        pid = _start(settings, env, config, backend, (parts.hostname or "127.0.0.1", parts.port))
    return f"started mlflow server (pid {pid}) at {redact(uri)}; {bucket}; artifacts {config.artifacts_destination}"


# The servers this process started, by pid. A server outlives the command that starts it; a process that
# lives on after starting one (a library caller, a test) keeps its handle, so that the handle is not collected
# while the server runs, and `stop_server` can reap it instead of leaving a zombie behind.
_started: dict[int, subprocess.Popen[bytes]] = {}


def _start(settings: Settings, env: str, config: TrackingServerConfig, backend: str, bind: tuple[str, int]) -> int:
    pid_file, log_file = _files(settings, env)
    host, port = bind
    variables = {
        # MLflow's job runner (GenAI scorers, trace rollups) starts about eight consumer processes of
        # 250 MB each; trunkml uses none of it. A user who wants it sets the variable to true.
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
        **child_environment(settings),
        "MLFLOW_BACKEND_STORE_URI": backend,
        "MLFLOW_ARTIFACTS_DESTINATION": config.artifacts_destination,
    }
    variables.pop("MLFLOW_TRACKING_URI", None)
    command = [sys.executable, "-m", "mlflow", "server", "--host", host, "--port", str(port),
               "--workers", str(config.workers), "--serve-artifacts"]  # fmt: skip
    with log_file.open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 - MLflow's own server, fixed arguments
            command, env=variables, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    pid_file.write_text(str(process.pid), encoding="utf-8")
    deadline = time.monotonic() + config.start_timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        if healthy(settings.tracking_uri, timeout_s=1.0) and store_answers(settings.tracking_uri):
            _started[process.pid] = process
            return process.pid
        time.sleep(0.5)
    _kill_group(process.pid, signal.SIGKILL)  # the server's workers too, so none keeps the port
    process.wait(30)
    pid_file.unlink(missing_ok=True)
    tail = log_file.read_text(encoding="utf-8", errors="replace")[-1500:].replace(backend, redact(backend))
    raise UnavailableError(f"mlflow server did not become healthy at {redact(settings.tracking_uri)}:\n{tail}")


def _kill_group(pid: int, sig: int) -> bool:
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return False
    return True


def _is_our_server(pid: int) -> bool:
    """The pid file may be stale and its pid reused: only a process running `mlflow server` counts."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"mlflow" in command and b"server" in command


def stop_server(settings: Settings, env: str, timeout_s: float = 30) -> bool:
    """Stop the server workspace-cd started for ``env`` (SIGTERM, then SIGKILL); False if none was running."""
    pid_file, _ = _files(settings, env)
    try:
        pid = int(pid_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    pid_file.unlink(missing_ok=True)
    child = _started.pop(pid, None)
    if child is not None and child.poll() is not None:  # it died by itself (and is reaped now)
        return False
    if not _is_our_server(pid) or not _kill_group(pid, signal.SIGTERM):
        return False
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if child is not None:
            child.poll()  # a server this process started is its child: reap it, or it lingers as a zombie
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    _kill_group(pid, signal.SIGKILL)
    if child is not None:
        child.wait(30)
    return True
