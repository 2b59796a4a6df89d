"""A trained project shared by the serving tests, cheap extra versions, and real servers on 127.0.0.1.

CT trains one real model once per session. Each test registers its own model name
with versions made from that model's files (same artifacts, same recorded
digests), so tests never share aliases. Servers run as real ``trunkml serve``
processes under uvicorn.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import mlflow
import pytest
import yaml

from tests.conftest import REPO_ROOT
from tests.training.conftest import JOB, PARAMS
from trunkml.config import Settings
from trunkml.registry import Registry, lineage, register
from trunkml.registry.aliases import move_alias
from trunkml.registry.artifacts import file_digests, model_digest

API_KEY = "test-admin-key-0123456789"  # pragma: allowlist secret - a test-only key
WEBHOOK_SECRET = "test-webhook-secret"  # pragma: allowlist secret - a test-only secret
BASE_MODEL = "demo-model"

CLASS_NAMES = ("--class-name", "0=legit", "--class-name", "1=fraud")


def _run(root: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRUNKML_", "MLFLOW_"))}
    done = subprocess.run([sys.executable, "-m", "trunkml", *args], cwd=root, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


@dataclass
class ServingProject:
    """A committed project whose ``demo-model`` v1 was trained by CT; versions of other names copy it."""

    root: Path
    settings: Settings
    registry: Registry
    base_source: str
    base_run: str
    base_tags: dict[str, str]
    names: set[str] = field(default_factory=set)

    def copies(self, name: str, count: int) -> list[int]:
        """Register ``count`` versions of ``name`` that share the trained model's files and digests."""
        self.names.add(name)
        return [
            register(self.registry, name, self.base_source, self.base_run, dict(self.base_tags)) for _ in range(count)
        ]

    def champion_and_challenger(self, prefix: str) -> tuple[str, int, int]:
        """A fresh model name with two copies: v1 as @champion, v2 as @challenger."""
        name = f"{prefix}-{uuid.uuid4().hex[:6]}"
        champion, challenger = self.copies(name, 2)
        self.champion(name, champion)
        self.challenger(name, challenger)
        return name, champion, challenger

    def copies_with_tags(self, name: str, tags: dict[str, str]) -> int:
        """Register one version of ``name`` with the trained model's files but the given tags."""
        self.names.add(name)
        return register(self.registry, name, self.base_source, self.base_run, tags)

    def register_folder(self, name: str, folder: Path, tags: dict[str, str] | None = None) -> int:
        """Register the model files in ``folder`` as a new version (digests recorded unless ``tags`` say else)."""
        experiment = self.registry.experiment_id(name)
        run = self.registry.client.create_run(experiment, run_name=f"{name} files")
        self.registry.client.log_artifacts(run.info.run_id, str(folder), "model")
        self.registry.client.set_terminated(run.info.run_id)
        digests = file_digests(folder)
        recorded = {
            **self.base_tags,
            lineage.ARTIFACT_DIGESTS: json.dumps(digests, sort_keys=True),
            lineage.MODEL_DIGEST: model_digest(digests),
        }
        return register(self.registry, name, f"{run.info.artifact_uri}/model", run.info.run_id, tags or recorded)

    def base_files(self, target: Path) -> Path:
        """A local copy of the trained model's files."""
        self.registry.activate()
        return Path(mlflow.artifacts.download_artifacts(f"models:/{BASE_MODEL}/1", dst_path=str(target)))

    def champion(self, name: str, version: int) -> None:
        move_alias(self.registry, name, "champion", version)

    def challenger(self, name: str, version: int) -> None:
        move_alias(self.registry, name, "challenger", version)

    def endpoint(self, name: str, **sections: Any) -> Path:
        """Write an endpoint spec for ``name`` (fast polling, its own prediction log) and return its path."""
        spec: dict[str, Any] = {
            "model": name,
            "follow": {"poll_interval_s": 0.2},
            "log": {"path": str(self.root / ".trunkml" / f"predictions-{name}.db"), "flush_interval_ms": 20},
        }
        for key, value in sections.items():
            spec[key] = {**spec.get(key, {}), **value}
        path = self.root / "endpoints" / name / "endpoint.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(spec), encoding="utf-8")
        return path


@pytest.fixture(scope="session")
def serving_project(tmp_path_factory: pytest.TempPathFactory) -> ServingProject:
    """One CT-trained model for the whole session (about 10 s), in its own project and registry."""
    root = tmp_path_factory.mktemp("serving") / "proj"
    root.mkdir()
    (root / "trunkml.yaml").write_text("name: serving-tests\nmodel: demo-model\n", encoding="utf-8")
    shutil.copytree(REPO_ROOT / "src" / "hatedetection", root / "src" / "hatedetection",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    (root / "jobs" / BASE_MODEL).mkdir(parents=True)
    (root / "jobs" / BASE_MODEL / "train.yaml").write_text(JOB, encoding="utf-8")
    (root / "jobs" / BASE_MODEL / "params.yaml").write_text(PARAMS, encoding="utf-8")
    (root / ".gitignore").write_text(".trunkml/\n__pycache__/\n", encoding="utf-8")
    # The team names its classes; the server's OpenAPI description, /model and the status page use the names.
    _run(root, "data", "synth", "--rows", "600", "--seed", "5", "--add", "demo", *CLASS_NAMES)
    git = ["git", "-c", "user.name=Dev", "-c", "user.email=dev@example.org"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "A"], cwd=root, check=True)
    _run(root, "ct", BASE_MODEL)
    settings = Settings(project=root)
    registry = Registry(settings)
    base = registry.client.get_model_version(BASE_MODEL, "1")
    return ServingProject(root, settings, registry, str(base.source), str(base.run_id), dict(base.tags or {}))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningServer:
    """A ``trunkml serve`` process on 127.0.0.1."""

    url: str
    process: subprocess.Popen[bytes]
    log_file: Path

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kwargs)

    def admin(self) -> dict[str, str]:
        return {"authorization": f"Bearer {API_KEY}"}

    def reload(self) -> dict[str, Any]:
        with self.client() as client:
            response = client.post("/admin/reload", headers=self.admin())
        assert response.status_code in (200, 503), response.text
        result: dict[str, Any] = response.json()
        return result

    def wait_for(self, check: Callable[[httpx.Client], bool], timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        with self.client() as client:
            while time.monotonic() < deadline:
                try:
                    if check(client):
                        return
                except httpx.TransportError:
                    pass
                if self.process.poll() is not None:
                    raise AssertionError(f"server exited {self.process.returncode}:\n{self.logs()}")
                time.sleep(0.05)
        raise AssertionError(f"server did not get there in {timeout_s} s:\n{self.logs()[-4000:]}")

    def with_challenger(self) -> None:
        """Wait until the challenger (canary/shadow) is loaded."""
        self.wait_for(lambda c: c.get("/model").json()["challenger"] is not None)

    def serving(self, version: int, timeout_s: float = 60) -> None:
        """Wait until the champion is ``version``."""
        self.wait_for(lambda c: c.get("/readyz").json().get("version") == version, timeout_s)

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout_s)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def logs(self) -> str:
        return self.log_file.read_text(encoding="utf-8", errors="replace")


def launch_server(
    project: ServingProject | Path,
    endpoint: Path,
    log_dir: Path,
    *,
    extra_env: dict[str, str] | None = None,
    workers: int = 1,
) -> RunningServer:
    """Start ``trunkml serve --endpoint <spec>`` on a free port and wait until it answers /healthz."""
    root = project if isinstance(project, Path) else project.root
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRUNKML_", "MLFLOW_"))}
    env.update(TRUNKML_PROJECT=str(root), TRUNKML_API_KEY=API_KEY,
               TRUNKML_WEBHOOK_SECRET=WEBHOOK_SECRET, **(extra_env or {}))  # fmt: skip
    log_file = log_dir / f"server-{port}.log"
    with log_file.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "trunkml", "serve", "--endpoint", str(endpoint), "--port", str(port),
             "--workers", str(workers)],
            cwd=root, env=env, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = RunningServer(f"http://127.0.0.1:{port}", process, log_file)
    server.wait_for(lambda c: c.get("/healthz").status_code == 200)
    return server


@pytest.fixture
def start_server(serving_project: ServingProject, tmp_path: Path) -> Iterator[Callable[..., RunningServer]]:
    """Factory: start a server for an endpoint spec (waiting for /readyz unless ``ready=False``)."""
    started: list[RunningServer] = []

    def factory(endpoint: Path, *, extra_env: dict[str, str] | None = None, ready: bool = True) -> RunningServer:
        server = launch_server(serving_project, endpoint, tmp_path, extra_env=extra_env)
        started.append(server)
        if ready:
            server.wait_for(lambda c: c.get("/readyz").status_code == 200)
        return server

    yield factory
    for server in started:
        server.kill()
