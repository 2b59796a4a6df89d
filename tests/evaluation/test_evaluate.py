"""`trunkml evaluate` end to end: registry, verified eval pointer, cache, record, reports."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import Project
from tests.training.conftest import commit_all, ml_project  # noqa: F401 - fixture reuse
from trunkml.errors import IntegrityError, RefusedError
from trunkml.evaluation.decision import require_promotable_decision, summary
from trunkml.evaluation.policy import load_policy
from trunkml.registry import Registry, show

GATE = """
model: demo-model
gate:
  eval: demo-eval
  policy:
    min_discordant: 5
    cold_start_floors: {recall: 0.5, precision: 0.5}
"""


@pytest.fixture
def gate_project(ml_project: Project) -> Project:  # noqa: F811
    """The CT project with a frozen eval pointer (demo-eval) split off its data, and v1 trained on demo-train."""
    assert ml_project.cli("data", "split", "demo", "--seed", "3", "--eval-fraction", "0.25", "--add", "demo").code == 0
    spec = ml_project.root / "jobs/demo-model/train.yaml"
    text = spec.read_text(encoding="utf-8").replace(
        "  train: demo\nsplit:\n  eval_fraction: 0.25\n  seed: 3\n", "  train: demo-train\n  eval: demo-eval\n"
    )
    spec.write_text(text, encoding="utf-8")
    with (ml_project.root / "trunkml.yaml").open("a", encoding="utf-8") as handle:
        handle.write(GATE)
    commit_all(ml_project.root, "frozen eval set")
    assert ml_project.cli("ct", "demo-model").code == 0
    return ml_project


def test_cold_start_then_paired_with_cache_record_and_reports(gate_project: Project) -> None:
    first = gate_project.cli("evaluate", "--json")
    assert first.code == 0, first.stderr
    cold = first.json()
    assert cold["decision"]["mode"] == "cold_start"
    assert cold["champion"] is None
    assert cold["eval_dataset"] == "demo-eval@1"
    html = Path(cold["reports"]["html"]).read_text(encoding="utf-8")
    assert "data:image/png;base64," in html
    assert "no champion (cold start)" in html

    assert gate_project.cli("train", "demo-model", "--param", "C=0.3").code == 0
    paired = gate_project.cli("evaluate", "--champion", "1", "--json").json()
    decision = paired["decision"]
    assert decision["mode"] == "paired"
    assert (paired["challenger"], paired["champion"]) == (2, 1)
    assert paired["predictions"] == {"v2": "local cache", "v1": "local cache"}  # CT cached both
    assert decision["b"] is not None
    assert 0.0 <= decision["p_value"] <= 1.0
    assert decision["ci_level"] == pytest.approx(0.9)
    markdown = Path(paired["reports"]["markdown"]).read_text(encoding="utf-8")
    for expected in ("Discordance on the positives", "champion right", "McNemar", "Examples:", ".png)"):
        assert expected in markdown
    assert {p.name for p in Path(paired["reports"]["markdown"]).parent.glob("*.png")} >= {
        "challenger_confusion_matrix.png",
        "champion_confusion_matrix.png",
        "precision-recall_curves.png",
        "recall_difference.png",
    }

    shown = gate_project.cli("models", "show", "2", "-m", "demo-model", "--json").json()
    assert shown["gate"]["trunkml.gate.decision"] == ("promote" if decision["promote"] else "reject")
    assert shown["gate"]["trunkml.gate.eval_sha256"] == paired["eval_sha256"]
    assert shown["gate"]["trunkml.gate.champion"] == "1"
    assert "gate decision" in gate_project.cli("models", "show", "2", "-m", "demo-model").stdout


def test_the_shared_cache_serves_a_machine_without_a_local_one(gate_project: Project) -> None:
    assert gate_project.cli("evaluate").code == 0
    assert gate_project.cli("train", "demo-model", "--param", "C=0.3").code == 0
    shutil.rmtree(gate_project.root / ".trunkml" / "cache" / "predictions")
    again = gate_project.cli("evaluate", "--champion", "1", "--json").json()
    assert again["predictions"]["v1"] == "shared cache (artifact store)"


def test_refusals_and_errors(gate_project: Project) -> None:
    same = gate_project.cli("evaluate", "--champion", "1", "--challenger", "1")
    assert same.code == 1
    assert "same version" in same.stderr
    missing = gate_project.cli("evaluate", "--challenger", "9")
    assert missing.code == 2
    assert "has no version 9" in missing.stderr
    leaky = gate_project.cli("evaluate", "--eval", "demo")
    assert leaky.code == 1
    assert "occur in the training data of demo-model/1" in leaky.stderr


def test_fail_on_reject(gate_project: Project) -> None:
    assert gate_project.cli("train", "demo-model", "--param", "C=0.001").code == 0
    result = gate_project.cli("evaluate", "--champion", "1", "--fail-on-reject", "--json")
    assert result.json()["decision"]["promote"] is False
    assert result.code == 1
    assert gate_project.cli("evaluate", "--champion", "1").code == 0


def test_only_a_current_intact_promote_decision_counts(gate_project: Project) -> None:
    from trunkml.datasets import DataService

    assert gate_project.cli("evaluate").code == 0
    settings = gate_project.settings()
    registry = Registry(settings)
    service = DataService(settings)
    digest = load_policy(settings.project_root).digest
    record = show(registry, "demo-model", "1")
    assert require_promotable_decision(registry, record, service, "demo-eval", None, digest).decision == "promote"
    with pytest.raises(RefusedError, match="compared with champion none, but the champion is now 7"):
        require_promotable_decision(registry, record, service, "demo-eval", 7, digest)
    with pytest.raises(RefusedError, match="another gate policy"):
        require_promotable_decision(registry, record, service, "demo-eval", None, "0" * 64)
    registry.client.set_model_version_tag(
        "demo-model",
        "1",
        "trunkml.gate.summary",
        summary(record)
        .model_copy(update={"record_sha256": "f" * 64})  # type: ignore[union-attr]
        .model_dump_json(),
    )
    forged = show(registry, "demo-model", "1")
    with pytest.raises(IntegrityError, match="missing or was changed"):
        require_promotable_decision(registry, forged, service, "demo-eval", None, digest)
    assert gate_project.cli("evaluate").code == 0  # a fresh decision replaces the forged summary
    assert gate_project.cli("data", "synth", "--rows", "300", "--seed", "11", "--add", "other").code == 0
    assert gate_project.cli("data", "split", "other", "--add", "demo").code == 0  # demo-eval moves to v2
    with pytest.raises(RefusedError, match="gate decision was made on eval data"):
        require_promotable_decision(registry, show(registry, "demo-model", "1"), service, "demo-eval", None, digest)


def test_a_rejection_is_not_promotable(gate_project: Project) -> None:
    from trunkml.datasets import DataService

    assert gate_project.cli("train", "demo-model", "--param", "C=0.001").code == 0
    assert gate_project.cli("evaluate", "--champion", "1").code == 0
    settings = gate_project.settings()
    registry = Registry(settings)
    with pytest.raises(RefusedError, match="gate decision is 'reject'"):
        require_promotable_decision(
            registry,
            show(registry, "demo-model", "2"),
            DataService(settings),
            "demo-eval",
            1,
            load_policy(settings.project_root).digest,
        )


def test_damaged_or_forged_cache_entries_are_never_used(gate_project: Project, tmp_path: Path) -> None:
    import numpy as np

    cache = gate_project.root / ".trunkml" / "cache" / "predictions"
    [entry] = list(cache.glob("*.npz"))
    entry.write_bytes(b"")  # damaged locally: the verified shared copy is used
    damaged = gate_project.cli("evaluate", "--json")
    assert damaged.code == 0, damaged.stderr
    assert damaged.json()["predictions"] == {"v1": "shared cache (artifact store)"}
    forged = tmp_path / entry.name
    np.savez(forged, labels=np.ones(150, dtype=np.int64), scores=np.ones(150))  # "perfect" predictions
    registry = Registry(gate_project.settings())
    registry.client.log_artifact(show(registry, "demo-model", "1").run_id, str(forged), "trunkml/predictions")
    entry.write_bytes(forged.read_bytes())
    recomputed = gate_project.cli("evaluate", "--json")
    assert recomputed.json()["predictions"] == {"v1": "computed"}
    assert recomputed.json()["decision"]["challenger_metrics"]["precision"] < 1.0


def test_a_model_without_recorded_digests_is_refused(gate_project: Project) -> None:
    registry = Registry(gate_project.settings())
    registry.client.delete_model_version_tag("demo-model", "1", "trunkml.artifact_digests")
    shutil.rmtree(gate_project.root / ".trunkml" / "cache" / "predictions")
    for key in [k for k in registry.client.get_model_version("demo-model", "1").tags if k.startswith("trunkml.pred")]:
        registry.client.delete_model_version_tag("demo-model", "1", key)
    result = gate_project.cli("evaluate")
    assert result.code == 1
    assert "no recorded artifact digests" in result.stderr


def test_bad_policy_in_project_file_names_the_line(gate_project: Project) -> None:
    path = gate_project.root / "trunkml.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("min_discordant: 5", "min_discordant: 0"), encoding="utf-8"
    )
    result = gate_project.cli("evaluate")
    assert result.code == 2
    assert "trunkml.yaml:" in result.stderr
    assert "gate.policy.min_discordant" in result.stderr


def test_predictions_are_computed_once_when_ct_could_not_cache_them(ml_project: Project) -> None:  # noqa: F811
    """A version trained on an inline split has no eval pointer at CT time: the gate computes, then caches."""
    assert ml_project.cli("ct", "demo-model").code == 0
    assert ml_project.cli("data", "split", "demo", "--seed", "3", "--eval-fraction", "0.25", "--add", "demo").code == 0
    first = ml_project.cli("evaluate", "-m", "demo-model", "--eval", "demo-eval", "--json").json()
    assert first["predictions"] == {"v1": "computed"}
    again = ml_project.cli("evaluate", "-m", "demo-model", "--eval", "demo-eval", "--json").json()
    assert again["predictions"] == {"v1": "local cache"}
