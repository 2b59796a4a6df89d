"""`trunkml demo` plays the story offline and every step behaves as the story says."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT, Project


def with_model_code(project: Project) -> Project:
    shutil.copytree(
        REPO_ROOT / "src" / "hatedetection",
        project.root / "src" / "hatedetection",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return project


def test_demo_runs_offline_and_every_step_is_as_expected(project: Project) -> None:
    result = with_model_code(project).cli("demo", "--workdir", "ws", "--json")
    assert result.code == 0, result.stderr
    report = result.json()
    steps = {step["name"]: step for step in report["steps"]}
    assert all(step["ok"] for step in report["steps"])
    assert "fails closed" in steps["verify demo-eval"]["detail"]
    ct_steps = [step["detail"] for step in report["steps"] if step["name"].startswith("trunkml ct")]
    assert [detail.split()[0] for detail in ct_steps] == ["v1", "v1", "v2", "v3"]
    assert "reused" in ct_steps[1]
    gates = [step["detail"].split(":")[0] for step in report["steps"] if step["name"].startswith("trunkml evaluate")]
    assert gates == ["PROMOTE", "PROMOTE", "REJECT"]
    assert steps["trunkml promote 3"]["detail"].startswith("refused, @champion unchanged")
    assert steps["trunkml rollback"]["detail"] == "@champion v2 → v1"
    assert "champion v1" in steps["trunkml status"]["detail"]
    workspace = Path(report["workdir"])
    assert (workspace / "datasets/demo-tweets/versions/2.yaml").is_file()
    assert (workspace / ".git").is_dir()


def test_demo_rerun_replaces_only_its_own_workspace(project: Project) -> None:
    with_model_code(project)
    trunkml = str(Path(sys.executable).with_name("trunkml"))
    for _ in range(2):  # as a user runs `make demo` twice: two processes
        done = subprocess.run(
            [trunkml, "demo", "--workdir", "ws"], cwd=project.root, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stderr
    assert (project.root / "ws" / "datasets").is_dir()
    (project.root / "precious").mkdir()
    refused = project.cli("demo", "--workdir", "precious")
    assert refused.code == 2
    assert "not a trunkml demo workspace" in refused.stderr


def test_demo_needs_the_reference_model(project: Project) -> None:
    result = project.cli("demo", "--workdir", "ws")
    assert result.code == 2
    assert "no reference model" in result.stderr
