"""A registered version is servable by `mlflow models serve` (what trunkml's own server is benchmarked against)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import Project


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_mlflow_models_serve_answers_a_prediction(ml_project: Project) -> None:
    assert ml_project.cli("ct", "demo-model").code == 0
    port = free_port()
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",
        "MLFLOW_TRACKING_URI": ml_project.settings().tracking_uri,
    }
    server = subprocess.Popen(
        [
            str(Path(bin_dir) / "mlflow"),
            "models",
            "serve",
            "-m",
            "models:/demo-model@challenger",
            "--env-manager",
            "local",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ping", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        body = {"dataframe_records": [{"text": "odeio os zorbanos, fora daqui"}, {"text": "que dia lindo"}]}
        response = httpx.post(f"http://127.0.0.1:{port}/invocations", json=body, timeout=30)
        assert response.status_code == 200
        predictions = response.json()["predictions"]
        assert [set(p) for p in predictions] == [{"label", "score"}] * 2
        assert predictions[0]["score"] > predictions[1]["score"]
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
