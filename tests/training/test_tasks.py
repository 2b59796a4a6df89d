"""CT for multi-class and regression targets: a project made with `trunkml init` trains, logs the task's
metrics and pictures, and registers the version; a model that answers NaN is refused.

The data are scikit-learn's bundled digits (10 classes) and diabetes (a numeric target), real datasets
inside the scikit-learn wheel.
"""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import pandas as pd
import pytest

from tests.tabular import run_trunkml

pytestmark = pytest.mark.slow


def project(tmp_path: Path, name: str, frame: pd.DataFrame, target: str, task: str) -> Path:
    run_trunkml(tmp_path, "init", name, "--model", name, "--task", task)
    root = tmp_path / name
    (root / "data").mkdir()
    frame.to_csv(root / "data" / f"{name}.csv", index=False)
    run_trunkml(root, "data", "add", name, "--file", f"data/{name}.csv", "--target", target)
    run_trunkml(root, "data", "split", name, "--add", name)
    return root


def artifacts(root: Path, run_id: str) -> set[str]:
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{root / '.trunkml' / 'mlflow.db'}")
    return {item.path for item in client.list_artifacts(run_id, "plots")}


def test_a_multiclass_project_trains_and_logs_per_class_metrics(tmp_path: Path) -> None:
    from sklearn.datasets import load_digits

    frame = load_digits(as_frame=True).frame
    frame["digit"] = frame.pop("target").map(lambda d: f"d{d}")
    root = project(tmp_path, "digits", frame, "digit", "multiclass")
    result = json.loads(run_trunkml(root, "train", "digits", "--json").stdout)
    metrics = result["metrics"]
    assert metrics["accuracy"] > 0.9
    assert {"macro_f1", "macro_recall", "recall.9", "precision.0", "support.3"} <= set(metrics)
    assert "threshold" not in metrics  # a binary notion
    shown = json.loads(run_trunkml(root, "models", "show", "1", "--json").stdout)
    assert json.loads(shown["raw_tags"]["trunkml.classes"]) == [f"d{d}" for d in range(10)]
    assert shown["metrics"]["macro_f1"] == pytest.approx(metrics["macro_f1"])  # `models show` has them
    first = json.loads(run_trunkml(root, "evaluate", "--json").stdout)["decision"]
    assert first["promote"], first["reasons"]
    assert first["mode"] == "cold_start"
    assert "against the training majority class" in first["reasons"][1]
    run_trunkml(root, "train", "digits", "--param", "model=logistic_regression")
    second = json.loads(run_trunkml(root, "evaluate", "--champion", "1", "--json").stdout)
    guards = {g["metric"] for g in second["decision"]["guards"]}
    assert {"macro_f1", *(f"recall.{d}" for d in range(10))} <= guards  # every class is checked
    report = Path(second["reports"]["markdown"]).read_text(encoding="utf-8")
    assert "| recall of d7 |" in report
    assert (Path(second["reports"]["markdown"]).parent / "confusion_champion_v1.png").is_file()


def test_a_regression_project_trains_and_logs_error_metrics_and_plots(tmp_path: Path) -> None:
    from sklearn.datasets import load_diabetes

    root = project(tmp_path, "diabetes", load_diabetes(as_frame=True, scaled=False).frame, "target", "regression")
    result = json.loads(run_trunkml(root, "train", "diabetes", "--json").stdout)
    metrics = result["metrics"]
    assert set(metrics) == {"mae", "rmse", "r2", "bias"}
    assert 0.3 < metrics["r2"] < 0.7
    assert metrics["mae"] < metrics["rmse"]
    assert {"plots/predicted_vs_true.png", "plots/residuals.png"} <= artifacts(root, result["run_id"])
    decision = json.loads(run_trunkml(root, "evaluate", "--json").stdout)["decision"]
    assert decision["promote"], decision["reasons"]
    assert "against the training mean" in decision["reasons"][1]
    assert decision["challenger_metrics"]["mae"] == pytest.approx(metrics["mae"])


def test_a_model_that_answers_nan_is_refused_at_registration(tmp_path: Path) -> None:
    from sklearn.datasets import load_diabetes

    root = project(tmp_path, "diabetes", load_diabetes(as_frame=True, scaled=False).frame, "target", "regression")
    (root / "src" / "diabetes_model" / "train.py").write_text(
        "import numpy as np\n"
        "from sklearn.dummy import DummyRegressor\n"
        "from trunkml.training import ModelPackage\n\n\n"
        "def train(job):\n"
        "    model = DummyRegressor().fit(job.features, job.target)\n"
        "    model.constant_ = np.full((1, 1), np.nan)  # a broken model: every answer is NaN\n"
        "    return ModelPackage(sklearn_model=model)\n",
        encoding="utf-8",
    )
    refused = run_trunkml(root, "train", "diabetes", check=False)
    assert refused.returncode != 0
    assert "the stored model's answers on the evaluation set are refused" in refused.stderr
    assert "89 non-finite value(s)" in refused.stderr
    assert json.loads(run_trunkml(root, "models", "list", "--json").stdout) == []  # nothing was registered


def test_regression_slices_are_declared_by_numeric_buckets_and_guarded_by_the_gate(tmp_path: Path) -> None:
    from sklearn.datasets import load_diabetes

    root = project(tmp_path, "diabetes", load_diabetes(as_frame=True, scaled=False).frame, "target", "regression")
    shown = json.loads(run_trunkml(root, "data", "slices", "diabetes-eval", "--bucket", "sex=1.5", "--json").stdout)
    assert shown["sizes"] == {"sex <1.5": {"rows": shown["sizes"]["sex <1.5"]["rows"]},
                              "sex >=1.5": {"rows": shown["sizes"]["sex >=1.5"]["rows"]}}  # fmt: skip
    assert run_trunkml(root, "data", "slices", "diabetes-eval", "--bucket", "sex", check=False).returncode == 2
    run_trunkml(root, "train", "diabetes", "--param", "max_iter=8")
    run_trunkml(root, "train", "diabetes")
    decision = json.loads(run_trunkml(root, "evaluate", "--champion", "1", "--json").stdout)["decision"]
    sliced = {g["metric"]: g for g in decision["guards"] if g["metric"].startswith("slice:")}
    assert set(sliced) == {"slice:sex <1.5", "slice:sex >=1.5"}
    assert all("mae" in g["reason"] for g in sliced.values())


def test_batch_scoring_writes_the_task_columns_on_both_engines(tmp_path: Path) -> None:
    from sklearn.datasets import load_diabetes, load_digits

    root = project(tmp_path, "diabetes", load_diabetes(as_frame=True, scaled=False).frame, "target", "regression")
    run_trunkml(root, "train", "diabetes")
    run_trunkml(root, "score", "1", "--input", "diabetes-eval", "--output", str(tmp_path / "local.csv"))
    run_trunkml(root, "score", "1", "--input", "diabetes-eval", "--output", str(tmp_path / "spark.parquet"),
                "--engine", "spark")  # fmt: skip
    local = pd.read_csv(tmp_path / "local.csv")
    spark = pd.read_parquet(tmp_path / "spark.parquet").sort_values("row_id").reset_index(drop=True)
    assert list(local.columns) == ["row_id", "prediction", "model", "version", "input_sha256"]
    assert local["prediction"].nunique() > 20  # real values, not class labels
    assert (local["prediction"] - spark["prediction"]).abs().max() < 1e-9  # Spark keeps the fractions too
    frame = load_digits(as_frame=True).frame
    frame["digit"] = frame.pop("target").map(lambda d: f"d{d}")
    digits = project(tmp_path, "digits", frame, "digit", "multiclass")
    run_trunkml(digits, "train", "digits", "--param", "max_iter=20")
    run_trunkml(digits, "score", "1", "--input", "digits-eval", "--output", str(tmp_path / "digits.csv"))
    scored = pd.read_csv(tmp_path / "digits.csv")
    probabilities = scored[[f"p_d{d}" for d in range(10)]]
    assert (probabilities.sum(axis=1) - 1).abs().max() < 1e-6
    assert (scored["class"] == "d" + scored["label"].astype(str)).all()
    assert (probabilities.max(axis=1) == scored["score"]).all()


def test_a_multiclass_model_missing_a_class_is_refused_at_registration(tmp_path: Path) -> None:
    from sklearn.datasets import load_digits

    frame = load_digits(as_frame=True).frame
    frame["digit"] = frame.pop("target").map(lambda d: f"d{d}")
    root = project(tmp_path, "digits", frame, "digit", "multiclass")
    (root / "src" / "digits_model" / "train.py").write_text(
        "from sklearn.linear_model import LogisticRegression\n"
        "from trunkml.training import ModelPackage\n\n\n"
        "def train(job):\n"
        "    seen = job.target != 0  # class d0 never reaches the model: it answers 9 probabilities, not 10\n"
        "    model = LogisticRegression(max_iter=200).fit(job.features[seen], job.target[seen])\n"
        "    return ModelPackage(sklearn_model=model)\n",
        encoding="utf-8",
    )
    refused = run_trunkml(root, "train", "digits", check=False)
    assert refused.returncode != 0
    assert "it answers 9 class probabilities for the 10 classes of the data" in refused.stderr
    assert json.loads(run_trunkml(root, "models", "list", "--json").stdout) == []
