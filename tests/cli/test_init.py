"""`trunkml init`: each family writes its files, from the templates shipped with trunkml."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import Project


@pytest.mark.parametrize(
    ("family", "own", "calls"),
    [
        ("tabular", None, "HistGradientBoostingClassifier("),
        ("sklearn", "src/churn_model/pyfunc_model.py", "LogisticRegression("),
        ("tfidf", None, "from trunkml.training.families.tfidf.fit import train_tfidf"),
        ("transformer", None, "from trunkml.training.families.transformer.fit import fine_tune"),
    ],
)
def test_each_family_writes_a_job_and_a_model_package(empty: Project, family: str, own: str | None, calls: str) -> None:
    made = empty.cli("init", "new", "--model", "churn", "--family", family, "--json")
    assert made.code == 0, made.stderr
    files = made.json()["files"]
    assert {"trunkml.yaml", "jobs/churn/train.yaml", "jobs/churn/params.yaml", "src/churn_model/train.py"} <= set(files)
    assert (own in files) if own else not any(path.endswith("pyfunc_model.py") for path in files)
    root = Path(made.json()["root"])
    assert calls in (root / "src/churn_model/train.py").read_text(encoding="utf-8")
    unfilled = [path for path in files if re.search(r"\$\{?[a-z_]+\}?", (root / path).read_text(encoding="utf-8"))]
    assert unfilled == []  # every ${placeholder} is filled; GitHub's own ${{ ... }} expressions stay


def test_an_unknown_family_is_a_usage_error(empty: Project) -> None:
    assert empty.cli("init", "new", "--family", "xgboost").code == 2
    assert not (empty.root / "new").exists()
