"""The GitHub Actions workflows: valid against the workflow schema, pinned, least-privilege, and in step with
the trigger rules of trunkml.yaml."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO_ROOT
from trunkml.cli.main import run

WORKFLOWS = REPO_ROOT / ".github" / "workflows"
PIPELINES = ("model-ci", "model-ct", "model-cd", "environment-ci", "environment-cd", "workspace-cd")
WORKFLOW_NAMES = (*PIPELINES, "monitor", "checks")
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def load(name: str) -> dict[Any, Any]:
    document: dict[Any, Any] = yaml.safe_load((WORKFLOWS / f"{name}.yaml").read_text(encoding="utf-8"))
    document["on"] = document.pop(True, document.get("on"))  # YAML 1.1 reads the key `on` as true
    return document


def steps(document: dict[Any, Any]) -> list[dict[str, Any]]:
    return [step for job in document["jobs"].values() for step in job["steps"]]


@pytest.fixture(scope="module")
def rules() -> dict[str, Any]:
    mp = pytest.MonkeyPatch()
    mp.setenv("TRUNKML_PROJECT", str(REPO_ROOT))
    try:
        from io import StringIO

        capture = StringIO()
        mp.setattr(sys, "stdout", capture)
        assert run(["pipeline", "paths", "--json"]) == 0
    finally:
        mp.undo()
    found: dict[str, Any] = json.loads(capture.getvalue())
    return found


def test_there_is_one_workflow_per_pipeline() -> None:
    assert sorted(path.stem for path in WORKFLOWS.glob("*.yaml")) == sorted(WORKFLOW_NAMES)
    for name in WORKFLOW_NAMES:
        assert load(name)["name"] == name


def test_workflows_are_valid_against_the_github_schema() -> None:
    tool = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    assert tool, "check-jsonschema is part of the dev dependencies"
    files = sorted(str(path) for path in WORKFLOWS.glob("*.yaml"))
    done = subprocess.run(
        [tool, "--builtin-schema", "vendor.github-workflows", *files], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_actions_are_pinned_to_full_commit_shas() -> None:
    for name in WORKFLOW_NAMES:
        for step in steps(load(name)):
            if "uses" in step:
                assert PINNED.match(step["uses"]), f"{name}: {step['uses']} is not pinned to a commit SHA"


def test_permissions_are_least_privilege() -> None:
    for name in WORKFLOW_NAMES:
        document = load(name)
        assert document["permissions"] == {"contents": "read"}, name
        for job_name, job in document["jobs"].items():
            granted = job.get("permissions", {})
            if (name, job_name) == ("monitor", "monitor"):  # it starts model-ct: actions, never contents
                assert granted == {"contents": "read", "actions": "write"}
                continue
            if (name, job_name) == ("model-cd", "promote"):  # it reads the run's approval record
                assert granted == {"contents": "read", "actions": "read"}
                continue
            assert "write" not in json.dumps(granted), name


DEPLOYS = {"workspace-cd", "environment-cd", "model-ct", "model-cd", "monitor"}


def test_hardened_checkouts_credentials_and_branches() -> None:
    """Registry credentials only in main-only GitHub Environments; no persisted tokens; deploys only from main."""
    for name in WORKFLOW_NAMES:
        document = load(name)
        for job_name, job in document["jobs"].items():
            for step in job["steps"]:
                if step.get("uses", "").startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False, (name, job_name)
            credentialed = "secrets." in json.dumps(job)
            if credentialed:  # repository secrets would be readable by any branch's workflow
                assert job.get("environment") in {"registry", "prod"}, (name, job_name)
            if name in DEPLOYS:
                condition = " ".join(job.get("if", "").split())
                assert "github.ref == 'refs/heads/main'" in condition or (
                    "github.event.workflow_run.head_branch == 'main'" in condition
                ), (name, job_name, condition)
            else:  # pull-request checks never see the registry
                assert not credentialed, (name, job_name)
    promote = load("model-cd")["jobs"]["promote"]
    assert promote["environment"] == "prod"
    assert promote["concurrency"]["group"] == "model-cd-promote-hate-pt-speech"  # one per model, not per version
    attestor = promote["env"]["TRUNKML_APPROVAL_KEY_DATA"]
    assert attestor == "${{ secrets.TRUNKML_ATTESTOR_KEY }}"  # pragma: allowlist secret


def test_steps_call_only_make_and_trunkml() -> None:
    for name in WORKFLOW_NAMES:
        for step in steps(load(name)):
            if "run" in step:
                command = " ".join(step["run"].split())
                assert command.startswith(("make ", ".venv/bin/trunkml ")), f"{name}: {command}"


def test_the_registry_comes_from_secrets_never_yaml() -> None:
    for name in WORKFLOW_NAMES:
        text = (WORKFLOWS / f"{name}.yaml").read_text(encoding="utf-8")
        for line in text.splitlines():
            if "MLFLOW_TRACKING" in line and ":" in line and not line.strip().startswith("#"):
                assert "${{ secrets.MLFLOW_TRACKING_" in line, f"{name}: {line.strip()}"
        assert not re.search(r"(postgresql|mysql|https?)://\S*@", text), name


def test_path_filters_match_the_trigger_rules(rules: dict[str, Any]) -> None:
    for name, rule in rules.items():
        triggers = load(name)["on"]
        for event in rule["events"]:
            assert sorted(triggers[event]["paths"]) == rule["paths"], f"{name} on {event}"
        assert not set(triggers) & {"push", "pull_request"} - set(rule["events"]), name


def test_model_cd_follows_model_ct_and_needs_a_person_for_promotion() -> None:
    document = load("model-cd")
    assert document["on"]["workflow_run"]["workflows"] == ["model-ct"]
    assert "version" in document["on"]["workflow_dispatch"]["inputs"]
    gate, promote = document["jobs"]["gate"], document["jobs"]["promote"]
    assert "--wait-ok" in gate["steps"][-2]["run"]
    assert gate["steps"][0]["with"]["ref"] == "${{ github.event.workflow_run.head_sha }}"  # the trained commit
    assert gate["concurrency"]["group"] != promote["concurrency"]["group"]  # a gate never cancels a promotion
    assert "github.sha" in load("model-ct")["concurrency"]["group"]  # pending commits are never cancelled
    assert promote["environment"] == "prod"
    commands = [step["run"] for step in promote["steps"] if "run" in step]
    approve = next(c for c in commands if "approve" in c)
    assert "--github-reviewer" in approve  # the environment's reviewer from GitHub's record, not GITHUB_ACTOR
    assert "--by" not in approve
    assert commands.index(approve) < commands.index(next(c for c in commands if "pipeline model-cd" in c))
    assert commands[-1] == '.venv/bin/trunkml models card "$VERSION"'  # into the job summary


def test_the_monitor_asks_model_ct_to_retrain() -> None:
    from trunkml.monitoring.dispatch import WORKFLOW

    monitor = load("monitor")
    assert "schedule" in monitor["on"]
    commands = [step["run"] for step in steps(monitor) if "run" in step]
    assert any(c.startswith(".venv/bin/trunkml monitor ") and "--emit github" in c for c in commands)
    ct = load("model-ct")
    assert WORKFLOW == "model-ct.yaml"
    assert set(ct["on"]["workflow_dispatch"]["inputs"]) == {"model", "champion", "triggers", "reason"}
    assert "repository_dispatch" not in ct["on"]
    retrain = next(s for s in steps(ct) if "workflow_dispatch" in s.get("if", ""))
    assert retrain["run"] == ".venv/bin/trunkml pipeline model-ct"


def lock_files() -> list[Path]:
    return sorted([*(REPO_ROOT / "requirements").glob("*.lock"), *(REPO_ROOT / "environments").glob("*/*.lock")])


def test_every_lock_is_hash_pinned_audited_and_kept_up_to_date() -> None:
    renovate = json.loads((REPO_ROOT / "renovate.json").read_text(encoding="utf-8"))
    patterns = [re.compile(pattern) for pattern in renovate["pip-compile"]["fileMatch"]]
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    audited = " ".join(makefile.split("LOCKS = ", 1)[1].split("\naudit:", 1)[0].replace("\\\n", " ").split())
    assert lock_files()
    for lock in lock_files():
        relative = str(lock.relative_to(REPO_ROOT))
        assert any(pattern.search(relative) for pattern in patterns), f"{relative}: not maintained by Renovate"
        assert relative in audited, f"{relative}: not in `make audit`"
        entries = re.split(r"\n(?=[A-Za-z0-9])", lock.read_text(encoding="utf-8"))
        for entry in entries:
            first = entry.strip().splitlines()[0] if entry.strip() else ""
            if not first or first.startswith("#"):
                continue
            assert re.match(r"^[A-Za-z0-9_.\-\[\]]+==[^ ;]+( ;.*)? \\$", first), f"{relative}: {first} is not pinned"
            assert "--hash=sha256:" in entry, f"{relative}: {first} has no hash"


def test_the_supply_chain_job_audits_strictly_and_scans_for_secrets() -> None:
    commands = [step.get("run", "") for step in load("checks")["jobs"]["supply-chain"]["steps"]]
    assert "make audit" in commands
    assert "make secrets" in commands
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    assert "pip-audit --strict --require-hashes" in makefile
