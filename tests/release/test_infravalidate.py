"""`trunkml infra-validate`: the candidate alone in a sandboxed server, queried, compared with offline predictions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.serving.conftest import ServingProject, serving_project  # noqa: F401 - fixture reuse
from tests.serving.models import code_model
from trunkml.cli.main import run
from trunkml.errors import RefusedError
from trunkml.registry import show
from trunkml.registry.blessing import blessing_of
from trunkml.release.infravalidate import infra_validate
from trunkml.release.promotion import promote


def _promotion_problems(project: ServingProject, name: str, version: int) -> str:
    with pytest.raises(RefusedError) as refused:
        promote(project.settings, str(version), "alice", model=name)
    return refused.value.message


def test_a_good_version_passes_and_is_recorded(serving_project: ServingProject) -> None:  # noqa: F811
    [version] = serving_project.copies("infra-good", 1)
    result = infra_validate(serving_project.settings, str(version), "infra-good")
    assert result.passed, result.reasons
    assert set(result.checks) == {"readiness", "responses", "offline agreement", "latency", "memory"}
    assert result.failed_requests == 0
    assert result.compared_texts > 300  # singles, edge cases and a full batch of 256
    assert result.label_mismatches == 0
    assert result.max_score_difference is not None
    assert result.max_score_difference <= 1e-6
    assert result.p99_ms is not None
    assert result.peak_memory_mib is not None
    assert result.peak_memory_mib > 50
    record = show(serving_project.registry, "infra-good", str(version))
    blessing = blessing_of(record)
    assert blessing is not None
    assert blessing.passed
    assert blessing.model_digest == record.model_digest
    assert "infra validation" not in _promotion_problems(serving_project, "infra-good", version)


@pytest.mark.parametrize(
    ("kind", "load", "budget", "expected"),
    [
        ("batch_scaled", "crash", {}, "refused the version (load)"),
        ("batch_scaled", "hang", {"ready_timeout_s": 15}, "not ready within 15 s"),
        ("batch_scaled", "", {}, "offline agreement: FAILS"),
    ],
    ids=["crashes-on-load", "hangs-on-load", "disagrees-with-offline"],
)
def test_a_bad_version_fails_with_the_reason_and_cannot_be_promoted(
    serving_project: ServingProject,  # noqa: F811
    tmp_path: Path,
    kind: str,
    load: str,
    budget: dict[str, float],
    expected: str,
) -> None:
    name = f"infra-{load or 'mismatch'}"
    version = serving_project.register_folder(name, code_model(tmp_path, kind, load=load))
    if budget:
        serving_project.endpoint(name, infra_validation=budget)
    result = infra_validate(serving_project.settings, str(version), name)
    assert not result.passed
    assert any(expected in reason for reason in result.reasons), result.reasons
    if load == "":
        assert result.label_mismatches > 0
    problems = _promotion_problems(serving_project, name, version)
    assert "infra validation FAILED" in problems


def test_the_cli_exits_1_on_failure_and_promotion_names_the_missing_validation(
    serving_project: ServingProject,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(serving_project.root)
    monkeypatch.setenv("TRUNKML_PROJECT", str(serving_project.root))
    [unvalidated] = serving_project.copies("infra-none", 1)
    assert "infra-none/1 has none; run `trunkml infra-validate 1`" in _promotion_problems(
        serving_project, "infra-none", unvalidated
    )
    version = serving_project.register_folder("infra-cli", code_model(tmp_path, "batch_scaled"))
    capsys.readouterr()
    assert run(["infra-validate", str(version), "-m", "infra-cli", "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["passed"] is False
    assert document["checks"]["responses"] is True
    assert document["checks"]["offline agreement"] is False
