"""environment-ci and environment-cd on a real lock: fresh venvs, pip check, imports, pip-audit, the record."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Project
from trunkml.registry import Registry
from trunkml.registry.environment_builds import find_environment

SIX = "six==1.17.0 \\\n    --hash=sha256:4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274\n"
SPEC = "description: a tiny environment\npython: '3.11'\nrequirements: requirements.lock\nimports: [six]\n"


def environment(project: Project, lock: str = SIX, spec: str = SPEC) -> None:
    folder = project.root / "environments" / "tiny"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "environment.yaml").write_text(spec, encoding="utf-8")
    (folder / "requirements.lock").write_text(lock, encoding="utf-8")


def steps(result: dict[str, Any]) -> dict[str, str]:
    return {step["name"]: step["detail"] for step in result["steps"]}


def test_environment_ci_installs_imports_and_audits(project: Project) -> None:
    environment(project)
    result = project.cli("pipeline", "environment-ci", "--offline", "--json")
    assert result.code == 0, result.stdout
    found = steps(result.json())
    assert found["tiny: pinned and hashed"] == "1 requirements"
    assert found["tiny: install into a fresh venv"] == "pip install --require-hashes --no-deps; pip check"
    assert found["tiny: imports"] == "import six"
    # audited where PyPI's per-version vulnerability data answers; said to be skipped where it does not
    audit = found["tiny: pip-audit"]
    assert audit.endswith("(--strict): no known vulnerabilities") or audit.startswith("SKIPPED (--offline)")


def test_an_unreachable_vulnerability_database_fails_unless_offline(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("trunkml.pipelines.environment_pipelines.AUDIT_PROBE", "http://127.0.0.1:9/unreachable")
    environment(project)
    loud = project.cli("pipeline", "environment-ci")
    assert loud.code == 3
    assert "cannot reach" in loud.stdout
    skipped = project.cli("pipeline", "environment-ci", "--offline", "--json")
    assert skipped.code == 0
    assert steps(skipped.json())["tiny: pip-audit"].startswith("SKIPPED (--offline)")


def test_incomplete_or_unhashed_locks_and_a_wrong_python_are_refused(project: Project) -> None:
    environment(project, lock="six==1.17.0\nrequests>=2\n-e ./local\n")
    refused = project.cli("pipeline", "environment-ci", "--offline")
    assert refused.code == 1
    for problem in ("no --hash: six", "not pinned with ==: requests>=2", "editable install"):
        assert problem in refused.stdout
    missing_dependency = "requests==2.32.3 \\\n    --hash=sha256:" + "0" * 64 + "\n"
    environment(project, lock=missing_dependency)
    assert project.cli("pipeline", "environment-ci", "--offline").code == 1  # the hash cannot match: pip refuses
    environment(project, spec=SPEC.replace("'3.11'", "'3.9'"))
    wrong = project.cli("pipeline", "environment-ci", "--offline")
    assert wrong.code == 2
    assert "locked for Python 3.9" in wrong.stdout


def test_environment_cd_builds_once_and_records_the_lock_hash(project: Project) -> None:
    environment(project)
    first = project.cli("pipeline", "environment-cd", "--json")
    assert first.code == 0, first.stdout
    output = first.json()["outputs"]["tiny"]
    assert output["created"] is True
    assert find_environment(Registry(project.settings()), "tiny", output["lock_sha256"]) == output["run_id"]
    second = project.cli("pipeline", "environment-cd", "--json").json()
    assert second["outputs"]["tiny"]["run_id"] == output["run_id"]
    assert second["outputs"]["tiny"]["created"] is False
    assert any(step["status"] == "skipped" for step in second["steps"])  # already built
