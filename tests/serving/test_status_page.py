"""The status page, rendered by headless Chromium as a person would see it."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.serving.conftest import RunningServer, ServingProject

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def _chromium(profile: Path, *args: str) -> str:
    assert CHROMIUM is not None
    done = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (Debian package 'chromium')")
def test_status_page_shows_champion_challenger_and_recent_traffic(
    serving_project: ServingProject, start_server: Callable[..., RunningServer], tmp_path: Path
) -> None:
    name, champion, challenger = serving_project.champion_and_challenger("page")
    server = start_server(serving_project.endpoint(name, traffic={"canary": {"percent": 25}}))
    server.with_challenger()
    with server.client() as client:
        for i in range(40):
            assert client.post("/predict", json={"text": f"olá {i}"}, headers={"x-routing-key": f"u{i}"}).is_success
    dom = _chromium(tmp_path / "profile", "--dump-dom", f"{server.url}/")
    assert f'<td id="champion-version">v{champion}</td>' in dom
    assert f'<td id="challenger-version">v{challenger}</td>' in dom
    assert "canary 25% to @challenger" in dom
    assert "label 0: legit; label 1: fraud" in dom  # the training pointer's class names
    assert "<svg" in dom
    assert "requests per 10 seconds" in dom
    traffic = dom[dom.index('<table id="traffic">') :]
    assert f"<td>champion</td><td>v{champion}</td>" in traffic
    assert f"<td>canary</td><td>v{challenger}</td>" in traffic
    shot = tmp_path / "status.png"
    _chromium(tmp_path / "profile", f"--screenshot={shot}", "--window-size=1000,800", f"{server.url}/")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert shot.stat().st_size > 10_000  # a rendered page, not a blank canvas
