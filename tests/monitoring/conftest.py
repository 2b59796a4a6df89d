"""The reference project trained on real Fortuna data, a live server following it, and traffic helpers."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.conftest import FORTUNA_FILE, REPO_ROOT, SHARED_DATA
from tests.serving.conftest import RunningServer, launch_server, serving_project, start_server  # noqa: F401 (fixtures)
from trunkml.config import Settings
from trunkml.datasets import DataService
from trunkml.registry import Registry
from trunkml.registry.aliases import move_alias

MODEL = "hate-pt-speech"


@dataclass
class FortunaProject:
    """The reference project (real pointers, CT-trained v1 as champion) in tmp_path."""

    root: Path
    mirror: Path

    def env(self) -> dict[str, str]:
        return {"TRUNKML_PROJECT": str(self.root), "TRUNKML_DATA_MIRROR": str(self.mirror)}

    def settings(self) -> Settings:
        return Settings(project=self.root, data_mirror=self.mirror)

    def texts(self, ref: str) -> Any:
        return DataService(self.settings()).load(ref).labelled()

    def endpoint(self, name: str, **sections: Any) -> Path:
        spec: dict[str, Any] = {
            "model": MODEL,
            "follow": {"poll_interval_s": 0.2},
            "log": {"path": str(self.root / ".trunkml" / f"predictions-{name}.db"), "flush_interval_ms": 20},
            "limits": {"max_batch_texts": 1000},
        }
        spec.update(sections)
        path = self.root / "endpoints" / name / "endpoint.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(spec), encoding="utf-8")
        return path


def _trunkml(root: Path, env: dict[str, str], *args: str) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TRUNKML_", "MLFLOW_"))}
    done = subprocess.run(
        [sys.executable, "-m", "trunkml", *args], cwd=root, env={**clean, **env}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="session")
def fortuna_project(tmp_path_factory: pytest.TempPathFactory) -> FortunaProject:
    """CT on fortuna-2019-train (about 15 s), then v1 made the champion directly (the gate is not under test)."""
    if not (SHARED_DATA / "fortuna-2019" / FORTUNA_FILE).is_file():
        pytest.skip(f"real datasets not available at {SHARED_DATA} (CI always has them)")
    root = tmp_path_factory.mktemp("monitoring") / "proj"
    root.mkdir()
    shutil.copy(REPO_ROOT / "trunkml.yaml", root / "trunkml.yaml")
    for folder in ("datasets", "jobs", "src/hatedetection"):
        shutil.copytree(REPO_ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (root / ".gitignore").write_text(".trunkml/\n__pycache__/\n", encoding="utf-8")
    git = ["git", "-c", "user.name=Dev", "-c", "user.email=dev@example.org"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "reference project"], cwd=root, check=True)
    project = FortunaProject(root, SHARED_DATA)
    _trunkml(root, project.env(), "ct", MODEL)
    move_alias(Registry(project.settings()), MODEL, "champion", 1)
    return project


@pytest.fixture
def fortuna_server(fortuna_project: FortunaProject, tmp_path: Path) -> Iterator[Callable[..., RunningServer]]:
    """Factory: a live server for one endpoint of the Fortuna project."""
    started: list[RunningServer] = []

    def factory(endpoint: Path) -> RunningServer:
        mirror = {"TRUNKML_DATA_MIRROR": str(fortuna_project.mirror)}
        server = launch_server(fortuna_project.root, endpoint, tmp_path, extra_env=mirror)
        started.append(server)
        server.wait_for(lambda c: c.get("/readyz").status_code == 200)
        return server

    yield factory
    for server in started:
        server.stop()


def send(server: RunningServer, texts: list[str], prefix: str) -> list[dict[str, Any]]:
    """Send each text as its own request (request id ``<prefix>-<i>``) and return the answers."""
    answers = []
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for i, text in enumerate(texts):
            response = client.post("/predict", json={"text": text}, headers={"x-request-id": f"{prefix}-{i}"})
            assert response.status_code == 200, response.text
            answers.append(response.json())
    return answers


def stop_and_flush(server: RunningServer) -> None:
    """SIGTERM: the server writes what its log still holds before it exits."""
    assert server.stop() in (0, -signal.SIGTERM), server.logs()[-2000:]
