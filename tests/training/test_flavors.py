"""scikit-learn, XGBoost and LightGBM models are logged in formats that load no code, and served from those files.

Each test logs a real model into a real MLflow store in ``tmp_path``, then loads the stored
folder the way the gate, the server and batch scoring do (with pickles forbidden), and checks
that what comes back scores like the model that was trained. The data is scikit-learn's
bundled breast-cancer set with a categorical and a boolean column added.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pytest

from trunkml.config import Settings
from trunkml.datasets.schema import DataSchema, Feature, FeatureType
from trunkml.demo.tabular_story import cancer_frame
from trunkml.errors import IntegrityError, RefusedError
from trunkml.registry.explain import explain_record
from trunkml.registry.loading import load_verified
from trunkml.registry.model_inputs import predict_rows
from trunkml.training.contract import ModelPackage, TrainingJob
from trunkml.training.inputs import PreparedData
from trunkml.training.logged_model import evaluate_stored, log_model

NUMERIC = ("mean radius", "mean texture", "worst area", "worst concave points")
SCHEMA = DataSchema(
    target="diagnosis",
    features=(
        *(Feature(name=name, type=FeatureType.NUMERIC) for name in NUMERIC),
        Feature(name="size", type=FeatureType.CATEGORICAL, categories=("large", "small")),
        Feature(name="smooth", type=FeatureType.BOOLEAN),
    ),
)


@pytest.fixture(scope="module")
def data() -> PreparedData:
    frame = cancer_frame()
    frame["smooth"] = frame["smooth"] == "yes"
    frame["label"] = (frame["diagnosis"] == "malignant").astype(int)
    rows = frame[[*SCHEMA.names, "label"]].sample(frac=1.0, random_state=0).reset_index(drop=True)
    return PreparedData(train=rows.iloc[:400], eval=rows.iloc[400:].reset_index(drop=True), uses=[], split=None,
                        class_names=("benign", "malignant"), schema=SCHEMA)  # fmt: skip


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Settings]:
    (tmp_path / "trunkml.yaml").write_text("name: flavors\n", encoding="utf-8")
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    mlflow.set_experiment("flavors")
    with mlflow.start_run():
        yield Settings(project=tmp_path)
    mlflow.set_tracking_uri(None)


def job(data: PreparedData, tmp_path: Path) -> TrainingJob:
    return TrainingJob(train=data.train, params={}, seed=0, workdir=tmp_path, schema=SCHEMA)


def xgboost_package(data: PreparedData, tmp_path: Path) -> tuple[ModelPackage, Any]:
    import xgboost

    training = job(data, tmp_path)
    model = xgboost.XGBClassifier(n_estimators=40, max_depth=3, enable_categorical=True, tree_method="hist")
    model.fit(training.boosting_features, training.target)
    return ModelPackage(xgboost_model=model), model.predict_proba


def lightgbm_package(data: PreparedData, tmp_path: Path) -> tuple[ModelPackage, Any]:
    import lightgbm

    training = job(data, tmp_path)
    model = lightgbm.LGBMClassifier(n_estimators=40, num_leaves=8, min_child_samples=5, verbose=-1)
    model.fit(training.boosting_features, training.target)
    return ModelPackage(lightgbm_model=model), model.predict_proba


def sklearn_package(data: PreparedData, tmp_path: Path) -> tuple[ModelPackage, Any]:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    training = job(data, tmp_path)
    pipeline = Pipeline([
        ("columns", ColumnTransformer([("categories", OneHotEncoder(handle_unknown="ignore"), ["size", "smooth"])],
                                      remainder="passthrough")),
        ("classify", HistGradientBoostingClassifier(max_iter=40)),
    ]).fit(training.features, training.target)  # fmt: skip
    return ModelPackage(sklearn_model=pipeline), lambda frame: pipeline.predict_proba(data.features(data.eval))


@pytest.mark.parametrize(
    ("make", "stored"),
    [(xgboost_package, "model.ubj"), (lightgbm_package, "model.lgb"), (sklearn_package, "model.skops")],
)
def test_a_boosting_model_is_stored_natively_and_served_from_those_files(
    data: PreparedData, store: Settings, tmp_path: Path, make: Any, stored: str
) -> None:
    package, predict_proba = make(data, tmp_path / "work")
    info = log_model(store, package, data)
    digests, metrics, predictions = evaluate_stored(info.model_uri, data, tmp_path / "scratch")

    assert stored in {Path(name).name for name in digests}
    assert not any(name.endswith((".pkl", ".pickle")) for name in digests), sorted(digests)
    assert metrics["recall"] > 0.85, metrics
    # The stored model answers what the trained one did, on the same rows.
    expected = predict_proba(_boosting(data))[:, 1]
    np.testing.assert_allclose(predictions["score"].to_numpy(), expected, rtol=1e-5, atol=1e-6)


def _boosting(data: PreparedData) -> pd.DataFrame:
    from trunkml.registry.model_inputs import MLFLOW_TYPES, boosting_frame

    return boosting_frame(data.features(data.eval), {f.name: MLFLOW_TYPES[f.type.value] for f in SCHEMA.features})


def test_records_with_an_unseen_category_and_explanations_work_on_a_stored_booster(
    data: PreparedData, store: Settings, tmp_path: Path
) -> None:
    package, _ = lightgbm_package(data, tmp_path / "work")
    info = log_model(store, package, data)
    folder = Path(mlflow.artifacts.download_artifacts(artifact_uri=info.model_uri, dst_path=str(tmp_path / "dl")))
    model = load_verified(folder)
    record = {"mean radius": 20.0, "mean texture": 25.0, "worst area": 2000.0, "worst concave points": 0.25,
              "size": "large", "smooth": False}  # fmt: skip
    labels, scores = predict_rows(model, [record, {**record, "size": "enormous"}])
    assert labels.tolist() == [1, 1]
    assert 0.0 <= scores.min() <= scores.max() <= 1.0
    explained = explain_record(model, record, top_k=3)
    assert explained.exact
    total = explained.base + sum(c.weight for c in (*explained.toward, *explained.against)) + (explained.rest or 0.0)
    assert total == pytest.approx(float(scores[0]), abs=1e-6)
    assert explained.toward[0].feature.split("=")[0] in {"worst area", "worst concave points", "mean radius"}


def test_a_lightgbm_model_pickled_by_mlflow_is_refused_before_it_is_loaded(data: PreparedData, tmp_path: Path) -> None:
    import mlflow.lightgbm

    package, _ = lightgbm_package(data, tmp_path / "work")
    folder = tmp_path / "pickled"
    mlflow.lightgbm.save_model(package.lightgbm_model, str(folder), serialization_format="pickle")
    with pytest.raises(IntegrityError, match=r"stored as 'model.pkl', not in lightgbm's own format"):
        load_verified(folder)


def test_a_booster_on_other_columns_and_a_package_of_two_models_are_refused(
    data: PreparedData, store: Settings, tmp_path: Path
) -> None:
    import xgboost

    features = job(data, tmp_path).boosting_features
    model = xgboost.XGBClassifier(n_estimators=2, enable_categorical=True)
    model.fit(features.drop(columns=["smooth"]), data.train["label"])
    with pytest.raises(RefusedError, match=r"missing \['smooth'\], extra none"):
        log_model(store, ModelPackage(xgboost_model=model), data)
    with pytest.raises(ValueError, match=r"set exactly one of"):
        ModelPackage(xgboost_model=model, sklearn_model=model)
    with pytest.raises(ValueError, match=r"set exactly one of .*: \[\]"):
        ModelPackage()
