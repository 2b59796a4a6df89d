"""`trunkml init`: a team's own project goes from nothing to a promoted champion offline, through CT and CD."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from tests.training.conftest import commit_all, git

pytestmark = pytest.mark.slow
MODEL = "toxic-comments"


def trunkml(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRUNKML_", "MLFLOW_"))}
    done = subprocess.run([sys.executable, "-m", "trunkml", *args], cwd=root, env={**env, "TRUNKML_PROJECT": str(root)},
                          capture_output=True, text=True, timeout=600)  # fmt: skip
    if check:
        assert done.returncode == 0, f"trunkml {' '.join(args)}: {done.stdout}\n{done.stderr}"
    return done


def test_init_then_data_add_then_the_pipelines_promote_a_champion(tmp_path: Path) -> None:
    root = tmp_path / "acme-moderation"
    made = json.loads(trunkml(tmp_path, "init", str(root), "--model", MODEL, "--inputs", "text", "--json").stdout)
    assert made["package"] == "toxic_comments_model"
    for path in ("trunkml.yaml", f"jobs/{MODEL}/train.yaml", f"jobs/{MODEL}/params.yaml", "datasets/README.md",
                 "environments/train/requirements.in", f"endpoints/{MODEL}/endpoint.yaml", "README.md",
                 "src/toxic_comments_model/train.py", "src/toxic_comments_model/pyfunc_model.py",
                 ".github/workflows/model-ct.yaml", ".github/workflows/model-cd.yaml"):  # fmt: skip
        assert (root / path).is_file(), path
    for workflow in (root / ".github" / "workflows").glob("*.yaml"):
        spec = yaml.safe_load(workflow.read_text(encoding="utf-8"))
        uses = [step["uses"] for job in spec["jobs"].values() for step in job["steps"] if "uses" in step]
        assert all(len(ref.split("@")[1]) == 40 for ref in uses), workflow  # every action pinned to a full SHA
    ct = yaml.safe_load((root / ".github" / "workflows" / "model-ct.yaml").read_text(encoding="utf-8"))
    assert "src/toxic_comments_model/**" in ct[True]["push"]["paths"]  # `on:` parses as True in YAML 1.1

    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.org")
    git(root, "config", "user.name", "Dev")
    commit_all(root, "A: trunkml init")
    base = git(root, "rev-parse", "HEAD")
    (root / "data").mkdir()
    trunkml(root, "data", "synth", "--rows", "600", "--seed", "3", "--out", str(root / "data" / "comments.csv"))
    trunkml(root, "data", "add", MODEL, "--file", "data/comments.csv", "--text-column", "text", "--label-column",
            "label")  # fmt: skip
    trunkml(root, "data", "split", MODEL, "--add", MODEL)
    commit_all(root, "B: labelled comments")

    run = trunkml(root, "pipeline", "run", "--base", base, "--by", "ci-bot", "--json")
    results = json.loads(run.stdout)["results"]
    assert [(r["pipeline"], r["state"]) for r in results] == [
        ("workspace-cd", "succeeded"), ("model-ct", "succeeded"), ("model-cd", "succeeded"),
    ]  # fmt: skip
    status = json.loads(trunkml(root, "status", "--json").stdout)
    assert status["champion"]["version"] == 1
    assert status["champion"]["git_sha"] == git(root, "rev-parse", "HEAD")
    scored = json.loads(trunkml(root, "score", "@champion", "--input", f"{MODEL}-eval", "--output",
                                str(tmp_path / "eval.csv"), "--json").stdout)  # fmt: skip
    assert scored["rows"] > 50


def test_the_scaffolded_model_scores_exactly_like_scikit_learn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "p"
    trunkml(tmp_path, "init", str(root), "--model", MODEL, "--inputs", "text")
    spec = importlib.util.spec_from_file_location("scaffold_pyfunc", root / "src/toxic_comments_model/pyfunc_model.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # as an import would: MLflow resolves the hints through it
    with warnings.catch_warnings():  # MLflow's own first import of mlflow.pyfunc warns about its response types
        warnings.simplefilter("ignore", UserWarning)
        spec.loader.exec_module(module)
    texts = ["que vergonha esses idiotas", "bom dia a todos", "idiotas sempre", "nada a ver", "vergonha total", "ola"]
    labels = np.array([1, 0, 1, 0, 1, 0])
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=1, sublinear_tf=True)
    classifier = LogisticRegression(C=4.0, class_weight="balanced", max_iter=2000).fit(
        vectorizer.fit_transform(texts), labels
    )
    folder = tmp_path / "model"
    folder.mkdir()
    vocabulary = {term: int(index) for term, index in vectorizer.vocabulary_.items()}
    (folder / "config.json").write_text(json.dumps({"vocabulary": vocabulary, "max_ngram": 2, "threshold": 0.5}))
    np.savez(folder / "weights.npz", idf=vectorizer.idf_, coef=classifier.coef_.ravel(),
             intercept=classifier.intercept_)  # fmt: skip

    class Context:
        artifacts: ClassVar[dict[str, Any]] = {"model": str(folder)}

    model = module.Model()
    model.load_context(Context())
    probe = ["idiotas que vergonha", "bom dia", "palavras desconhecidas", ""]
    import pandas as pd

    got = model.predict(None, pd.DataFrame({"text": probe}))
    expected = classifier.predict_proba(vectorizer.transform(probe))[:, 1]
    assert np.abs(got["score"].to_numpy() - expected).max() < 1e-12
    assert got["label"].tolist() == (expected >= 0.5).astype(int).tolist()


def test_init_never_overwrites_and_refuses_bad_names(tmp_path: Path) -> None:
    root = tmp_path / "p"
    trunkml(tmp_path, "init", str(root), "--model", MODEL)
    again = trunkml(tmp_path, "init", str(root), "--model", MODEL, check=False)
    assert again.returncode == 2
    assert "already a trunkml project" in again.stderr
    for bad in ("../evil", "Evil", "a/b", "x;rm", "", "yes", "null", "abc-", "a" * 59):
        refused = trunkml(tmp_path, "init", str(tmp_path / "q"), "--model", bad, check=False)
        assert refused.returncode == 2, bad
        assert "is not usable" in refused.stderr
    assert not (tmp_path / "q").exists()  # nothing written
    (tmp_path / "r" / "src" / "r_model").mkdir(parents=True)
    (tmp_path / "r" / "src" / "r_model" / "train.py").write_text("# mine\n", encoding="utf-8")
    clash = trunkml(tmp_path, "init", str(tmp_path / "r"), check=False)
    assert clash.returncode == 2
    assert "src/r_model/train.py" in clash.stderr
    assert (tmp_path / "r" / "src" / "r_model" / "train.py").read_text(encoding="utf-8") == "# mine\n"
    assert not (tmp_path / "r" / "trunkml.yaml").exists()


def test_the_transformer_family_and_odd_folder_names_give_working_files(tmp_path: Path) -> None:
    root = tmp_path / "2024"  # a folder name YAML would read as a number
    trunkml(tmp_path, "init", str(root), "--model", MODEL, "--family", "transformer")
    from trunkml.config import load_project

    assert load_project(root).name == "2024"
    assert (
        yaml.safe_load((root / "jobs" / MODEL / "params.yaml").read_text(encoding="utf-8"))["family"] == "transformer"
    )
    env = {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, "PYTHONPATH": str(root / "src")}
    imported = subprocess.run([sys.executable, "-c", "import toxic_comments_model.train as t; print(t.train.__name__)"],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert imported.returncode == 0, imported.stderr  # its fine-tuning code comes from the installed package
    tool = Path(sys.executable).parent / "check-jsonschema"
    workflows = sorted(str(path) for path in (root / ".github" / "workflows").glob("*.yaml"))
    valid = subprocess.run([str(tool), "--builtin-schema", "vendor.github-workflows", *workflows],
                           capture_output=True, text=True, timeout=120)  # fmt: skip
    assert valid.returncode == 0, valid.stdout + valid.stderr


def test_a_tabular_project_goes_through_ct_the_gate_and_cd(tabular_project: Any) -> None:
    root = tabular_project.root
    assert [(r["pipeline"], r["state"]) for r in tabular_project.pipeline_results] == [
        ("workspace-cd", "succeeded"), ("model-ct", "succeeded"), ("model-cd", "succeeded"),
    ]  # fmt: skip
    pointer = yaml.safe_load((root / "datasets/tumours/dataset.yaml").read_text(encoding="utf-8"))
    types = {feature["name"]: feature["type"] for feature in pointer["schema"]["features"]}
    assert len(types) == 32  # 30 measurements, size, smooth; the target and the excluded id are not features
    assert types["mean radius"] == "numeric"
    assert types["size"] == "categorical"
    assert types["smooth"] == "boolean"
    assert "patient" not in types
    assert pointer["labels"] == {"benign": 0, "malignant": 1}
    assert pointer["classes"] == {"0": "benign", "1": "malignant"}
    job = yaml.safe_load((root / "jobs/tumours/params.yaml").read_text(encoding="utf-8"))
    assert job["model"] == "hist_gradient_boosting"
    status = json.loads(tabular_project.cli("status", "--json").stdout)
    assert status["champion"]["version"] == 1
    assert status["champion"]["git_sha"] == git(root, "rev-parse", "HEAD")
    scored = json.loads(tabular_project.cli("score", "@champion", "--input", "tumours-eval", "--output",
                                            str(root.parent / "eval.csv"), "--json").stdout)  # fmt: skip
    assert scored["rows"] == len(tabular_project.eval_records())
