"""`trunkml demo` plays the story through the pipelines and every step behaves as the story says."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REPO_ROOT, Project
from trunkml.demo.demoproject import prepare_workdir


def with_model_code(project: Project, datasets: bool = False) -> Project:
    """The folder the demo is run from. Its model code comes from trunkml's templates, not from here; only
    ``--data fortuna`` reads the reference project's dataset pointers from it."""
    if datasets:
        shutil.copytree(REPO_ROOT / "datasets", project.root / "datasets")
    return project


def runs(report: dict[str, Any]) -> list[dict[str, str]]:
    """Each `pipeline run` of the story: pipeline -> state (as the step detail begins)."""
    found: list[dict[str, str]] = []
    for step in report["steps"]:
        if step["name"].startswith("trunkml pipeline run"):
            found.append({})
        elif step["name"].startswith("  ") and found:
            found[-1][step["name"].strip()] = step["detail"]
    return found


@pytest.mark.timeout(600)  # the whole story, with two infra validations
def test_demo_plays_three_commits_through_the_pipelines_and_guards_other_folders(project: Project) -> None:
    result = with_model_code(project).cli("demo", "--workdir", "ws", "--json")
    assert result.code == 0, result.stderr
    report = result.json()
    assert all(step["ok"] for step in report["steps"]), [s for s in report["steps"] if not s["ok"]]
    steps = {step["name"]: step["detail"] for step in report["steps"]}
    a, b, c = runs(report)
    assert list(a) == ["workspace-cd", "model-ct", "model-cd"]
    assert a["model-cd"].startswith("waiting for approval")  # v1 passed the cold-start floors, a person decides
    assert list(b) == ["workspace-cd", "model-ct", "model-cd"]  # a new pointer version: the store syncs, CT trains
    assert list(c) == ["model-ct", "model-cd"]  # params only
    assert c["model-cd"].startswith("failed")
    report_path = Path(c["model-cd"].split("report: ")[1].rstrip(")"))
    assert report_path.name == "gate.html"
    assert "<h2>Slices</h2>" in report_path.read_text(encoding="utf-8")
    assert "words <11: " in steps["trunkml data slices demo-eval --length-buckets 11,15"]
    approved = steps["trunkml approve 1 && trunkml pipeline model-cd 1"]
    assert "signed an approval with their SSH key" in approved
    assert "infra validation passed (p99 " in approved
    assert "3 slice(s)" in approved
    assert "reused" in steps["trunkml pipeline model-ct (same commit again)"]
    assert ", 0 failed; versions seen in order: [1, 2]" in steps["server hot-swaps to v2"]
    assert "fails closed" in steps["verify demo-eval"]
    assert steps["trunkml rollback"] == "@champion v2 → v1"
    assert "each has exactly one version" in steps["trunkml check-main"]
    assert "promote v2" in steps["trunkml history"]
    # It ends in production: held-out traffic with feedback, read back by `trunkml monitor`.
    assert steps["send demo-eval as traffic + /feedback"] == "1000/1000 texts answered"
    watched = steps["trunkml monitor --window 1000"]
    assert watched.startswith("1000 texts served by v1: no drift in 8 statistics; online recall ")
    assert "(n=328 positives); triggers: none fired" in watched
    assert report["steps"][-2]["name"] == "trunkml monitor --window 1000"
    assert report["steps"][-1]["name"] == "trunkml audit"
    assert "events in the hash chain, intact; @champion v1 agrees with it" in report["steps"][-1]["detail"]
    workspace = Path(report["workdir"])
    assert (workspace / ".trunkml" / "reports" / "monitor.html").is_file()
    assert (workspace / "datasets/demo-tweets/versions/2.yaml").is_file()
    assert report["server_url"] is None

    (project.root / "precious").mkdir()
    refused = project.cli("demo", "--workdir", "precious")
    assert refused.code == 2
    assert "not a trunkml demo workspace" in refused.stderr


@pytest.mark.timeout(900)  # the whole story on 5,670 real tweets, with two infra validations
def test_demo_on_fortuna_through_the_mirror_replaces_its_workspace_and_can_stay_up(
    make_project: Callable[..., Project], shared_data: Path
) -> None:
    project = with_model_code(make_project(mirror=shared_data), datasets=True)
    # As a user runs `make demo` again, in a new process: it replaces its own workspace (only that), and
    # --keep-serving leaves the server up on the champion.
    workspace = project.root / "ws"
    prepare_workdir(workspace, "synthetic", project.root)
    (workspace / "left-over").write_text("from the first run", encoding="utf-8")
    trunkml = str(Path(sys.executable).with_name("trunkml"))
    done = subprocess.run(
        [trunkml, "demo", "--workdir", "ws", "--data", "fortuna", "--keep-serving", "--json"],
        cwd=project.root, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    try:
        assert all(step["ok"] for step in report["steps"]), [s for s in report["steps"] if not s["ok"]]
        assert report["data"] == "fortuna"
        assert [list(run) for run in runs(report)] == [
            ["workspace-cd", "model-ct", "model-cd"],
            ["model-ct", "model-cd"],
            ["model-ct", "model-cd"],
        ]
        assert not (workspace / "left-over").exists()
        champion = int({s["name"]: s["detail"] for s in report["steps"]}["trunkml rollback"].rsplit("v", 1)[1])
        answer = httpx.post(f"{report['server_url']}/predict", json={"text": "bom dia"}, timeout=30)
        assert answer.status_code == 200
        assert answer.json()["version"] == champion  # the champion after the rollback
    finally:
        if report["server_pid"]:
            os.kill(report["server_pid"], signal.SIGTERM)


def test_fortuna_needs_the_mirror(project: Project) -> None:
    refused = with_model_code(project, datasets=True).cli("demo", "--workdir", "ws", "--data", "fortuna")
    assert refused.code == 2
    assert "TRUNKML_DATA_MIRROR" in refused.stderr


def test_fortuna_needs_the_reference_pointers(make_project: Callable[..., Project], tmp_path: Path) -> None:
    # The model code ships with trunkml (tests/demo/test_wheel.py plays the demo from a wheel); the real
    # data's pointers belong to the reference project, so --data fortuna needs its checkout.
    (tmp_path / "mirror").mkdir()
    result = make_project(mirror=tmp_path / "mirror").cli("demo", "--workdir", "ws", "--data", "fortuna")
    assert result.code == 2
    assert "no pointer" in result.stderr
    assert "from a checkout" in result.stderr
