"""`trunkml demo` plays the data story offline and every step behaves as the story says."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Project


def test_demo_runs_offline_and_every_step_is_as_expected(project: Project) -> None:
    result = project.cli("demo", "--workdir", "ws", "--json")
    assert result.code == 0, result.stderr
    report = result.json()
    names = [step["name"] for step in report["steps"]]
    assert "verify demo-eval" in names
    assert all(step["ok"] for step in report["steps"])
    tamper_check = next(step for step in report["steps"] if step["name"] == "verify demo-eval")
    assert "fails closed" in tamper_check["detail"]
    assert (Path(report["workdir"]) / "datasets/demo-tweets/versions/2.yaml").is_file()


def test_demo_rerun_replaces_only_its_own_workspace(project: Project) -> None:
    assert project.cli("demo", "--workdir", "ws").code == 0
    assert project.cli("demo", "--workdir", "ws").code == 0
    (project.root / "precious").mkdir()
    refused = project.cli("demo", "--workdir", "precious")
    assert refused.code == 2
    assert "not a trunkml demo workspace" in refused.stderr
