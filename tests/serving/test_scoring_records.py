"""`trunkml score` on a tabular model: a file of records scores like the dataset it came from, locally and on Spark.

The project is the breast-cancer one `trunkml init` makes (``tests/tabular.py``); its champion is a
scikit-learn pipeline stored with skops, which Spark's executors load with trunkml's own loader.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from tests.tabular import MODEL, TabularProject
from trunkml.demo.tabular_story import cancer_frame

pytestmark = pytest.mark.slow


def scored(project: TabularProject, *args: str, check: bool = True) -> tuple[pd.DataFrame | None, str]:
    done = project.cli("score", "@champion", *args, check=check)
    output = Path(args[args.index("--output") + 1])
    return (pd.read_parquet(output) if done.returncode == 0 else None), done.stderr


def test_a_file_of_records_scores_like_the_pointer_locally_and_on_spark(
    tabular_project: TabularProject, tmp_path: Path
) -> None:
    if shutil.which("java") is None:
        pytest.fail("no Java runtime: the Spark engine needs one (run `make services`)")
    records = cancer_frame().sample(n=200, random_state=3)
    records.to_csv(tmp_path / "new.csv", index=False)  # with the target and the identifier: ignored
    local, _ = scored(tabular_project, "--input", str(tmp_path / "new.csv"), "--output", str(tmp_path / "a.parquet"))
    spark, _ = scored(tabular_project, "--input", str(tmp_path / "new.csv"), "--output", str(tmp_path / "b.parquet"),
                      "--engine", "spark")  # fmt: skip
    assert local is not None
    assert spark is not None
    spark = spark.sort_values("row_id").reset_index(drop=True)
    assert local["row_id"].tolist() == spark["row_id"].tolist() == list(range(200))
    assert (local["label"] == spark["label"]).all()
    assert (local["score"] - spark["score"]).abs().max() <= 1e-12
    assert set(spark["model"]) == {MODEL}
    truth = (records["diagnosis"] == "malignant").astype(int).to_numpy()
    assert (local["label"].to_numpy() == truth).mean() > 0.9  # the champion is a good model on these rows


def test_a_file_missing_features_or_with_bad_values_is_refused_and_nothing_is_written(
    tabular_project: TabularProject, tmp_path: Path
) -> None:
    rows = cancer_frame().head(20)
    rows.drop(columns=["mean radius", "smooth"]).to_csv(tmp_path / "short.csv", index=False)
    out = tmp_path / "out.parquet"
    result, err = scored(tabular_project, "--input", str(tmp_path / "short.csv"), "--output", str(out), check=False)
    assert result is None
    assert "missing column(s): mean radius, smooth" in err
    bad = rows.astype({"mean texture": object})
    bad.loc[bad.index[4], "mean texture"] = "twenty"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    result, err = scored(tabular_project, "--input", str(tmp_path / "bad.csv"), "--output", str(out), check=False)
    assert result is None
    assert "'mean texture' are not numbers (e.g. 'twenty' on row 5)" in err
    assert not out.exists()
