"""The task in a dataset's schema: binary, multi-class or regression, inferred from the target or given.

The data are scikit-learn's bundled digits (10 classes) and diabetes (a numeric target): real
datasets inside the scikit-learn wheel, so nothing is downloaded.
"""

from __future__ import annotations

import pandas as pd
import yaml

from tests.conftest import Project


def digits_csv(project: Project) -> None:
    from sklearn.datasets import load_digits

    frame: pd.DataFrame = load_digits(as_frame=True).frame.iloc[:600]
    frame["digit"] = frame.pop("target").map(lambda d: f"d{d}")
    frame.to_csv(project.root / "data" / "digits.csv", index=False)


def diabetes_csv(project: Project) -> pd.DataFrame:
    from sklearn.datasets import load_diabetes

    frame: pd.DataFrame = load_diabetes(as_frame=True, scaled=False).frame
    frame.to_csv(project.root / "data" / "diabetes.csv", index=False)
    return frame


def pointer_of(project: Project, name: str) -> dict[str, object]:
    loaded = yaml.safe_load((project.root / f"datasets/{name}/dataset.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_ten_named_classes_are_a_multiclass_target_with_every_class_listed(project: Project) -> None:
    (project.root / "data").mkdir(exist_ok=True)
    digits_csv(project)
    done = project.cli("data", "add", "digits", "--file", "data/digits.csv", "--target", "digit")
    assert done.code == 0, done.stderr
    written = pointer_of(project, "digits")
    assert written["schema"]["task"] == "multiclass"  # type: ignore[index]
    assert written["labels"] == {f"d{d}": d for d in range(10)}
    assert written["classes"] == {str(d): f"d{d}" for d in range(10)}
    loaded = project.service().load("digits")
    assert loaded.pointer.class_list == [f"d{d}" for d in range(10)]
    assert sorted(loaded.labelled()["label"].unique().tolist()) == list(range(10))
    validated = project.cli("data", "validate", "digits")
    assert validated.code == 0, validated.stderr
    assert "by class 0:" in validated.stdout
    split = project.cli("data", "split", "digits", "--add", "digits", "--eval-fraction", "0.25")
    assert split.code == 0, split.stderr
    held_out = project.service().load("digits-eval").labelled()["label"].value_counts()
    assert len(held_out) == 10  # stratified: every class in the eval part
    assert held_out.min() >= 10


def test_a_numeric_target_with_many_values_is_regression_and_stays_a_number(project: Project) -> None:
    (project.root / "data").mkdir(exist_ok=True)
    frame = diabetes_csv(project)
    done = project.cli("data", "add", "diabetes", "--file", "data/diabetes.csv", "--target", "target")
    assert done.code == 0, done.stderr
    written = pointer_of(project, "diabetes")
    assert written["schema"]["task"] == "regression"  # type: ignore[index]
    assert written["labels"] == {}
    assert "classes" not in written
    labelled = project.service().load("diabetes").labelled()
    assert labelled["label"].dtype == float
    assert labelled["label"].tolist() == frame["target"].astype(float).tolist()
    assert project.cli("data", "split", "diabetes", "--add", "diabetes").code == 0
    train = project.service().load("diabetes-train").labelled()["label"]
    held_out = project.service().load("diabetes-eval").labelled()["label"]
    assert len(train) + len(held_out) == len(frame)
    assert abs(train.mean() - held_out.mean()) < 10  # stratified by quintile of the target


def test_a_regression_target_that_is_not_a_number_lists_the_rows(project: Project) -> None:
    (project.root / "data").mkdir(exist_ok=True)
    frame = diabetes_csv(project).astype({"target": object})
    for row in (2, 5, 9, 11, 20, 30):
        frame.loc[row, "target"] = "n/a"
    frame.to_csv(project.root / "data" / "diabetes.csv", index=False)
    done = project.cli("data", "add", "diabetes", "--file", "data/diabetes.csv", "--target", "target",
                       "--task", "regression")  # fmt: skip
    assert done.code == 2
    assert "6 value(s) are not numbers: row 3 'n/a', row 6 'n/a', row 10 'n/a', row 12 'n/a', row 21 'n/a'" in (
        done.stderr.replace("\n", " ")
    )
    assert not (project.root / "datasets/diabetes/dataset.yaml").exists()


def test_the_task_can_be_given_and_a_text_only_form_stays_binary(project: Project) -> None:
    (project.root / "data").mkdir(exist_ok=True)
    pd.DataFrame({"x": range(40), "grade": [1, 2, 3, 4] * 10}).to_csv(project.root / "data/g.csv", index=False)
    assert project.cli("data", "add", "g", "--file", "data/g.csv", "--target", "grade").code == 0
    assert pointer_of(project, "g")["schema"]["task"] == "multiclass"  # type: ignore[index]
    given = project.cli("data", "add", "g", "--file", "data/g.csv", "--target", "grade", "--task", "regression")
    assert given.code == 0, given.stderr
    assert pointer_of(project, "g")["schema"]["task"] == "regression"  # type: ignore[index]
    refused = project.cli("data", "add", "t", "--file", "data/g.csv", "-t", "x", "-l", "grade", "--task", "multiclass")
    assert refused.code == 2
    assert "the text-only form (--text-column/--label-column) is binary" in refused.stderr
