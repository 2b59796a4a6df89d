"""The pipelines and the local runner on a real git repo, a real MLflow store and real training."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Project
from tests.pipelines.conftest import git
from trunkml.registry import Registry


def steps(result: dict[str, Any]) -> dict[str, str]:
    return {step["name"]: step["status"] for step in result["steps"]}


def test_pointer_only_change_runs_model_ct_then_model_cd(
    pipes: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    summary = tmp_path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))  # as GitHub Actions sets it
    a = git(pipes, "rev-parse", "HEAD")
    reviewer = str(pipes.signer("reviewer"))  # the allowed-signers file is committed with B, as in a real repo
    assert pipes.cli("data", "synth", "--rows", "500", "--seed", "10", "--add", "tiny").code == 0
    git(pipes, "add", "-A")
    git(pipes, "commit", "-qm", "B: tiny v2 (a pointer-only change)")
    b = git(pipes, "rev-parse", "HEAD")

    first = pipes.cli("pipeline", "run", "--base", a, "--head", b, "--by", "ci-bot", "--json")
    assert first.code == 1, first.stdout  # a domain state: the version waits for a person
    run = first.json()
    assert [r["pipeline"] for r in run["results"]] == ["workspace-cd", "model-ct", "model-cd"]
    workspace, ct, cd = run["results"]
    assert workspace["state"] == "succeeded"
    assert ct["outputs"]["pipes-model"] == {"model": "pipes-model", "version": 1, "reused": False}
    assert cd["state"] == "waiting for approval"
    assert steps(cd) == {
        "resolve 1": "ok", "dev: gate": "ok", "dev: infra validation": "skipped", "dev: approvals": "waiting"
    }  # fmt: skip
    assert "trunkml approve 1 --env dev" in cd["hint"]
    assert run["state"] == "model-cd: waiting for approval"
    assert "PROMOTE" in summary.read_text(encoding="utf-8")  # the gate's Markdown report, for the job summary

    waiting = pipes.cli("pipeline", "model-cd", "1", "--by", "ci-bot", "--wait-ok")
    assert waiting.code == 0
    assert "waiting for approval" in waiting.stdout

    assert pipes.cli("approve", "1", "--key", reviewer).code == 0
    promoted = pipes.cli("pipeline", "model-cd", "1", "--by", "ci-bot", "--json")
    assert promoted.code == 0, promoted.stdout
    assert steps(promoted.json())["dev: promote v1"] == "ok"
    assert pipes.cli("status", "--json").json()["champion"]["version"] == 1

    again = pipes.cli("pipeline", "run", "--base", a, "--head", b, "--by", "ci-bot", "--json")
    assert again.code == 0, again.stdout
    ct_again, cd_again = again.json()["results"][1:]
    assert ct_again["outputs"]["pipes-model"]["reused"] is True  # one version per commit, job and data
    assert steps(cd_again) == {
        "resolve 1": "ok",
        "dev: gate, infra validation, approvals, promote": "skipped",
    }  # already champion
    unknown = pipes.cli("pipeline", "run", "--base", a, "--only", "model-xx")
    assert unknown.code == 2
    assert "unknown pipeline(s) model-xx" in unknown.stderr
    assert pipes.cli("check-main", "--since", a).code == 0  # commit A itself was never trained: not in this range


def test_model_ci_smoke_trains_without_touching_the_registry(pipes: Project) -> None:
    result = pipes.cli("pipeline", "model-ci", "--json")
    assert result.code == 0, result.stdout
    found = result.json()
    assert found["state"] == "succeeded"
    assert set(steps(found).values()) == {"ok"}
    assert "smoke train pipes-model (120 rows)" in steps(found)
    assert Registry(pipes.settings()).client.search_registered_models() == []

    text = (pipes.root / "trunkml.yaml").read_text(encoding="utf-8")
    (pipes.root / "trunkml.yaml").write_text(text.replace("print('project checks passed')", "exit(3)"), "utf-8")
    failed = pipes.cli("pipeline", "model-ci")
    assert failed.code == 1
    assert "failed with exit 3" in failed.stdout


def test_model_ci_fails_closed_when_data_does_not_match_its_pointer(pipes: Project) -> None:
    wrong = "f" * 64
    for pointer in (pipes.root / "datasets" / "tiny").rglob("*.yaml"):
        text = pointer.read_text(encoding="utf-8")
        pointer.write_text(
            "\n".join(f"sha256: {wrong}" if line.startswith("sha256:") else line for line in text.splitlines()) + "\n",
            encoding="utf-8",
        )
    result = pipes.cli("pipeline", "model-ci", "--json")
    assert result.code == 1, result.stdout
    found = result.json()
    assert steps(found)["verify data of pipes-model"] == "failed"
    assert "smoke train pipes-model (120 rows)" not in steps(found)  # nothing trains on unverified data
    assert "fails closed" in found["error"]


def test_workspace_cd_provisions_and_is_idempotent(pipes: Project) -> None:
    first = pipes.cli("pipeline", "workspace-cd", "--json")
    assert first.code == 0, first.stdout
    done = first.json()
    assert done["steps"][0]["detail"].startswith("mlflow db upgrade")
    assert next(s for s in done["steps"] if s["name"] == "registered model pipes-model")["detail"] == "created"
    assert "dataset version(s) in the store" in done["steps"][-1]["detail"]
    second = pipes.cli("pipeline", "workspace-cd", "--json").json()
    assert next(s for s in second["steps"] if s["name"] == "registered model pipes-model")["detail"] == "exists"


def test_model_cd_walks_dev_then_prod_and_waits_for_prods_approval(pipes: Project) -> None:
    text = (pipes.root / "trunkml.yaml").read_text(encoding="utf-8")
    text = text.replace("pipelines:\n", "pipelines:\n  model_cd: {environments: [dev, prod]}\n")
    text += "environments:\n  dev: {tracking_uri: 'sqlite:///dev.db'}\n  prod: {tracking_uri: 'sqlite:///prod.db'}\n"
    (pipes.root / "trunkml.yaml").write_text(text, encoding="utf-8")
    git(pipes, "commit", "-qam", "two registries")
    assert pipes.cli("pipeline", "model-ct", "--json").code == 0
    # model-ct wrote to the current environment's registry, dev.db, where model-cd and approve look too
    assert (pipes.root / ".trunkml" / "dev.db").is_file()
    reviewer = str(pipes.signer("reviewer"))
    assert pipes.cli("approve", "1", "--key", reviewer, "--env", "dev").code == 1  # no gate decision yet

    first = pipes.cli("pipeline", "model-cd", "1", "--by", "ci-bot", "--json")
    assert first.code == 1
    assert steps(first.json()) == {  # prod comes next, so infra validation runs although dev does not need it
        "resolve 1": "ok", "dev: gate": "ok", "dev: infra validation": "ok", "dev: approvals": "waiting"
    }  # fmt: skip
    assert pipes.cli("approve", "1", "--key", reviewer, "--env", "dev").code == 0

    second = pipes.cli("pipeline", "model-cd", "1", "--by", "ci-bot", "--json")
    assert second.code == 1, second.stdout
    found = second.json()
    assert found["state"] == "waiting for approval", found["error"]
    assert steps(found)["dev: promote v1"] == "ok"
    assert steps(found)["prod: copy from dev, check approvals, promote"] == "waiting"
    assert "--env prod" in found["hint"]

    assert pipes.cli("approve", "1", "--key", reviewer, "--env", "prod").code == 0  # the copy is v1 in prod
    third = pipes.cli("pipeline", "model-cd", "1", "--by", "ci-bot", "--json")
    assert third.code == 0, third.stdout
    done = third.json()
    assert steps(done)["dev: gate, infra validation, approvals, promote"] == "skipped"  # already the champion in dev
    assert steps(done)["prod: copy from dev, check approvals, promote"] == "ok"
    assert done["outputs"]["environments"] == {"dev": "champion", "prod": "champion"}
    assert pipes.cli("status", "--env", "prod", "--json").json()["champion"]["version"] == 1
