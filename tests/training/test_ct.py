"""`trunkml ct` / `trunkml train` end to end: real git repo, real MLflow (SQLite) in tmp_path."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import Project
from tests.training.conftest import commit_all, git
from trunkml.registry import Registry
from trunkml.registry.aliases import current

TRUNKML = str(Path(sys.executable).with_name("trunkml"))


def use_entrypoint(project: Project, entrypoint: str) -> None:
    """Point the demo job at another training function."""
    spec = project.root / "jobs/demo-model/train.yaml"
    spec.write_text(spec.read_text(encoding="utf-8").replace("hatedetection.train:train", entrypoint), encoding="utf-8")


def test_ct_registers_one_version_with_complete_lineage(ml_project: Project) -> None:
    result = ml_project.cli("ct", "demo-model", "--json")
    assert result.code == 0, result.stderr
    trained = result.json()
    assert trained["version"] == 1
    assert trained["reused"] is False
    assert trained["git_sha"] == git(ml_project.root, "rev-parse", "HEAD")
    assert {"precision", "recall", "f1", "macro_f1", "accuracy", "support_positive", "threshold"} <= set(
        trained["metrics"]
    )

    shown = ml_project.cli("models", "show", "@challenger", "-m", "demo-model", "--json").json()
    assert shown["version"] == 1
    assert shown["aliases"] == ["challenger"]
    assert shown["git_sha"] == trained["git_sha"]
    assert shown["git_dirty"] is False
    assert shown["kind"] == "ct"
    assert shown["run_status"] == "FINISHED"
    assert [d["role"] for d in shown["datasets"]] == ["train", "eval"]
    assert shown["datasets"][0]["sha256"] == ml_project.cli("data", "show", "demo", "--json").json()["sha256"]
    assert shown["split"]["seed"] == 3
    assert shown["params"]["C"] == "8.0"
    assert shown["metrics"]["f1"] == pytest.approx(trained["metrics"]["f1"])
    assert "artifacts/model/linear.npz" in shown["artifact_digests"]
    assert shown["model_digest"] == trained["model_digest"]
    assert shown["env_hash"]
    assert shown["job_hash"]
    assert not any("pycache" in name for name in shown["artifact_digests"])

    human = ml_project.cli("models", "show", "1", "-m", "demo-model")
    for expected in ("commit", "datasets", "metrics", "params", "artifact digests", trained["git_sha"][:12]):
        assert expected in human.stdout
    artifacts = ml_project.root / ".trunkml" / "artifacts"
    assert artifacts.is_dir()
    assert not (ml_project.root / "mlruns").exists()


def test_ct_twice_at_one_commit_yields_one_version(ml_project: Project) -> None:
    first = ml_project.cli("ct", "demo-model", "--json").json()
    second = ml_project.cli("ct", "demo-model", "--json").json()
    assert second["reused"] is True
    assert second["version"] == first["version"]
    registry = Registry(ml_project.settings())
    registry.client.delete_registered_model_alias("demo-model", "challenger")  # a run cut off before aliasing
    assert ml_project.cli("ct", "demo-model", "--json").json()["reused"] is True
    assert current(registry, "demo-model", "challenger") == first["version"]  # the retry sets it
    assert [r["version"] for r in ml_project.cli("models", "list", "-m", "demo-model", "--json").json()] == [1]
    (ml_project.root / "jobs/demo-model/params.yaml").write_text(
        "C: 2.0\ncv_folds: 2\nprecision_floor: 0.6\n", encoding="utf-8"
    )
    commit_all(ml_project.root, "commit B: new params")
    third = ml_project.cli("ct", "demo-model", "--json").json()
    assert (third["version"], third["reused"]) == (2, False)
    assert (
        ml_project.cli("models", "show", "sha:" + third["git_sha"][:7], "-m", "demo-model", "--json").json()["version"]
        == 2
    )


def test_dirty_trees_train_in_dev_and_are_refused_in_test(ml_project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    (ml_project.root / "src/hatedetection/NOTE.md").write_text("uncommitted", encoding="utf-8")
    monkeypatch.setenv("TRUNKML_ENV", "test")
    refused = ml_project.cli("ct", "demo-model")
    assert refused.code == 1
    assert "uncommitted changes" in refused.stderr
    monkeypatch.setenv("TRUNKML_ENV", "dev")
    trained = ml_project.cli("ct", "demo-model", "--json")
    assert trained.code == 0
    shown = ml_project.cli("models", "show", "latest", "-m", "demo-model", "--json").json()
    assert shown["git_dirty"] is True
    assert shown["ct_key"] is None


def test_train_accepts_overrides_and_ct_does_not(ml_project: Project) -> None:
    result = ml_project.cli("train", "demo-model", "--param", "C=2", "--json")
    assert result.code == 0
    shown = ml_project.cli("models", "show", "latest", "-m", "demo-model", "--json").json()
    assert shown["params"]["C"] == "2"
    assert shown["kind"] == "experiment"
    assert ml_project.cli("ct", "demo-model", "--param", "C=2").code == 2


def test_unknown_input_and_bad_entrypoint(ml_project: Project) -> None:
    unknown = ml_project.cli("train", "demo-model", "--input", "holdout=demo")
    assert unknown.code == 2
    assert "unknown input name 'holdout'" in unknown.stderr
    use_entrypoint(ml_project, "nosuch.module:train")
    missing = ml_project.cli("train", "demo-model")
    assert missing.code == 2
    assert "entrypoint module 'nosuch.module' does not import" in missing.stderr


def test_a_failing_training_function_registers_nothing(ml_project: Project) -> None:
    use_entrypoint(ml_project, "testhooks:broken")
    result = ml_project.cli("train", "demo-model")
    assert result.code == 1
    assert "RuntimeError: feature extraction exploded" in result.stderr
    assert "marked FAILED" in result.stderr
    assert ml_project.cli("models", "list", "-m", "demo-model", "--json").json() == []
    import mlflow

    runs = mlflow.search_runs(search_all_experiments=True, output_format="list")
    assert [run.info.status for run in runs] == ["FAILED"]


def test_leaking_eval_input_is_refused_with_the_count(ml_project: Project) -> None:
    result = ml_project.cli("train", "demo-model", "--input", "eval=demo")
    assert result.code == 1
    assert "600 of 600 rows of eval dataset demo@1" in result.stderr


def test_unreachable_tracking_store_is_exit_3_with_the_uri(
    ml_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    result = ml_project.cli("ct", "demo-model")
    assert result.code == 3
    assert "http://127.0.0.1:9" in result.stderr
    listed = ml_project.cli("models", "list", "-m", "demo-model")
    assert listed.code == 3


def test_kill_9_during_training_registers_nothing_and_a_rerun_completes(ml_project: Project, tmp_path: Path) -> None:
    use_entrypoint(ml_project, "testhooks:train")
    commit_all(ml_project.root, "slow hook")
    marker = tmp_path / "training-started"
    env = {**os.environ, "TEST_TRAINING_MARKER": str(marker)}
    proc = subprocess.Popen(
        [TRUNKML, "ct", "demo-model"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert marker.exists(), "training never started"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert ml_project.cli("models", "list", "-m", "demo-model", "--json").json() == []
    rerun = ml_project.cli("ct", "demo-model", "--json")
    assert rerun.code == 0
    assert rerun.json()["version"] == 1


def test_an_uncommitted_spec_counts_as_dirty_and_an_outside_one_is_refused(
    ml_project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    scratch = ml_project.root / "scratch"  # git-ignored, so the tree itself stays clean
    scratch.mkdir()
    (ml_project.root / ".git/info/exclude").write_text("scratch/\n", encoding="utf-8")
    for name in ("train.yaml", "params.yaml"):
        (scratch / name).write_text(
            (ml_project.root / "jobs/demo-model" / name).read_text(encoding="utf-8"), encoding="utf-8"
        )
    monkeypatch.setenv("TRUNKML_ENV", "prod")
    refused = ml_project.cli("ct", "scratch/train.yaml")
    assert refused.code == 1
    assert "uncommitted changes (code, job spec or params)" in refused.stderr
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text((scratch / "train.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    bad = ml_project.cli("ct", str(outside))
    assert bad.code == 2
    assert "absolute path" in bad.stderr
    assert ml_project.cli("ct", "../elsewhere.yaml").code == 2
    monkeypatch.setenv("TRUNKML_ENV", "dev")
    assert ml_project.cli("ct", "scratch/train.yaml").code == 0
    shown = ml_project.cli("models", "show", "latest", "-m", "demo-model", "--json").json()
    assert shown["git_dirty"] is True
    assert shown["ct_key"] is None


def test_experiments_outside_dev_need_a_clean_tree_too(ml_project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    (ml_project.root / "scratch.txt").write_text("untracked", encoding="utf-8")
    monkeypatch.setenv("TRUNKML_ENV", "prod")
    assert ml_project.cli("train", "demo-model", "--param", "C=0.01").code == 1
    assert ml_project.cli("models", "list", "-m", "demo-model", "--json").json() == []


def test_reserved_and_long_params(ml_project: Project) -> None:
    reserved = ml_project.cli("train", "demo-model", "--param", "trunkml.model.threshold=0.5")
    assert reserved.code == 2
    assert "reserved prefix" in reserved.stderr
    long_value = "x" * 7000
    assert ml_project.cli("train", "demo-model", "--param", f"note={long_value}").code == 0
    shown = ml_project.cli("models", "show", "latest", "-m", "demo-model", "--json").json()
    assert shown["params"]["note"].startswith("sha256:")
    assert shown["params"]["trunkml.split.seed"] == "3"
    import mlflow

    assert mlflow.artifacts.load_dict(f"runs:/{shown['run_id']}/job/params.json")["note"] == long_value


def test_entrypoint_that_fails_while_importing(ml_project: Project) -> None:
    (ml_project.root / "src" / "synerr.py").write_text("def train(job:\n", encoding="utf-8")
    use_entrypoint(ml_project, "synerr:train")
    result = ml_project.cli("train", "demo-model")
    assert result.code == 2
    assert "failed while importing: SyntaxError" in result.stderr


def test_recorded_digests_match_the_stored_model(ml_project: Project) -> None:
    import hashlib

    import mlflow

    assert ml_project.cli("ct", "demo-model").code == 0
    shown = ml_project.cli("models", "show", "1", "-m", "demo-model", "--json").json()
    local = Path(mlflow.artifacts.download_artifacts(f"models:/demo-model/{shown['version']}"))
    stored = {
        path.relative_to(local).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in local.rglob("*")
        if path.is_file() and path.name != "registered_model_meta"
    }
    assert stored == shown["artifact_digests"]


def test_bad_model_names_are_usage_errors(ml_project: Project) -> None:
    result = ml_project.cli("models", "list", "-m", "it's")
    assert result.code == 2
    assert "bad model name" in result.stderr
