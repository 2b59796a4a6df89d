"""What trunkml refuses to register: pickled models (outside a dev project that allows them), and a model
whose inputs are not the dataset's features."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from trunkml.config import Settings
from trunkml.datasets.schema import DataSchema, Feature, FeatureType
from trunkml.errors import RefusedError
from trunkml.training.contract import ModelPackage
from trunkml.training.logged_model import check_serialization, check_signature, signature_of

SCHEMA = DataSchema(
    target="y",
    features=(
        Feature(name="age", type=FeatureType.NUMERIC),
        Feature(name="income", type=FeatureType.NUMERIC),
        Feature(name="plan", type=FeatureType.CATEGORICAL, categories=("a", "b")),
    ),
)


def fitted(columns: list[str]) -> LogisticRegression:
    frame = pd.DataFrame(np.arange(12, dtype=float).reshape(4, 3)[:, : len(columns)], columns=columns)
    return LogisticRegression().fit(frame, [0, 1, 0, 1])


def project(tmp_path: Path, allow: bool, env: str) -> Settings:
    models = "models: {allow_pickle_in_dev: true}\n" if allow else ""
    (tmp_path / "trunkml.yaml").write_text(f"name: p\n{models}", encoding="utf-8")
    return Settings(project=tmp_path, env=env)


@pytest.mark.parametrize(
    ("allow", "env", "refused"), [(False, "dev", True), (True, "prod", True), (True, "dev", False)]
)
def test_pickle_is_refused_unless_a_dev_project_allows_it(tmp_path: Path, allow: bool, env: str, refused: bool) -> None:
    package = ModelPackage(sklearn_model=fitted(["age", "income"]), serialization_format="cloudpickle")
    if refused:
        with pytest.raises(RefusedError, match=r"does not register cloudpickle models"):
            check_serialization(project(tmp_path, allow, env), package)
    else:
        check_serialization(project(tmp_path, allow, env), package)
    check_serialization(project(tmp_path, False, "prod"), ModelPackage(sklearn_model=package.sklearn_model))  # skops


def test_a_model_on_other_columns_is_refused_with_the_difference() -> None:
    package = ModelPackage(sklearn_model=fitted(["age", "salary"]))
    with pytest.raises(RefusedError, match=r"missing \['income', 'plan'\], extra \['salary'\]"):
        check_signature(SCHEMA, package)


def test_the_signature_names_and_types_every_feature() -> None:
    inputs = signature_of(SCHEMA, pyfunc_outputs=False).inputs.to_dict()
    assert inputs == [
        {"type": "double", "name": "age", "required": True},
        {"type": "double", "name": "income", "required": True},
        {"type": "string", "name": "plan", "required": True},
    ]
