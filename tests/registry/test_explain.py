"""Records scored by a linear pipeline are explained exactly, in log-odds; interactions fall back to SHAP."""

from __future__ import annotations

import math

import pytest
from mlflow.models import Model
from mlflow.models.signature import ModelSignature
from mlflow.types.schema import ColSpec, Schema
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, PolynomialFeatures, StandardScaler

from trunkml.demo.tabular_story import cancer_frame
from trunkml.registry.explain import LINEAR_METHOD, explain_record, linear_record
from trunkml.registry.loading import EstimatorModel
from trunkml.registry.model_inputs import BASELINE_KEY, predict_rows

NUMBERS = ["mean radius", "worst area", "worst concave points"]


def loaded(numbers: object) -> EstimatorModel:
    """A fitted pipeline as trunkml's loaders hand it over: the estimator, the signature, the baseline."""
    frame = cancer_frame()
    features = frame[[*NUMBERS, "size"]]
    pipeline = Pipeline([
        ("columns", ColumnTransformer([("numbers", numbers, NUMBERS),
                                       ("size", OneHotEncoder(handle_unknown="ignore"), ["size"])])),
        ("classify", LogisticRegression(max_iter=1000)),
    ]).fit(features, frame["diagnosis"] == "malignant")  # fmt: skip
    inputs = Schema([*(ColSpec("double", name) for name in NUMBERS), ColSpec("string", "size")])
    baseline = {**{name: float(features[name].median()) for name in NUMBERS}, "size": "small"}
    return EstimatorModel(pipeline, Model(signature=ModelSignature(inputs=inputs), metadata={BASELINE_KEY: baseline}))


RECORD = {"mean radius": 19.0, "worst area": 1500.0, "worst concave points": 0.2, "size": "large"}


def test_a_linear_pipeline_is_explained_exactly_in_log_odds() -> None:
    model = loaded(StandardScaler())
    explained = explain_record(model, RECORD, top_k=2)
    assert explained.method == LINEAR_METHOD
    assert explained.exact is True
    assert explained.output == "logit"
    score = float(predict_rows(model, [RECORD])[1][0])
    assert explained.value == pytest.approx(math.log(score / (1 - score)), abs=1e-9)
    shown = sum(c.weight for c in (*explained.toward, *explained.against))
    assert explained.base + shown + (explained.rest or 0.0) == pytest.approx(explained.value, abs=1e-9)
    assert len(explained.toward) + len(explained.against) <= 4
    assert explained.toward[0].feature.split("=")[0] in NUMBERS  # a large tumour pushes toward malignant
    # An unseen category encodes as all zeros, still one feature's columns: still exact.
    assert linear_record(model, {**RECORD, "size": "enormous"}, top_k=2) is not None


def test_interaction_columns_are_not_additive_so_shap_explains_them() -> None:
    model = loaded(Pipeline([("scale", StandardScaler()), ("pairs", PolynomialFeatures(2))]))
    assert linear_record(model, RECORD, top_k=2) is None
    explained = explain_record(model, RECORD, top_k=2)
    assert explained.method.startswith("SHAP")
    assert explained.output == "score"
    assert explained.value == pytest.approx(float(predict_rows(model, [RECORD])[1][0]), abs=1e-9)


def test_a_multiclass_record_is_explained_on_the_probability_of_its_predicted_class() -> None:
    from sklearn.datasets import load_digits
    from sklearn.ensemble import HistGradientBoostingClassifier

    from trunkml.registry.model_inputs import SCHEMA_KEY, predict_answers

    frame = load_digits(as_frame=True).frame
    frame = frame[frame["target"] < 3]
    names = [f"pixel_{r}_{c}" for r in (2, 3, 4) for c in (2, 3, 4, 5)]
    estimator = HistGradientBoostingClassifier(max_iter=30, random_state=0).fit(frame[names], frame["target"])
    schema = {"target": "digit", "task": "multiclass", "features": [{"name": n, "type": "numeric"} for n in names]}
    model = EstimatorModel(estimator, Model(
        signature=ModelSignature(inputs=Schema([ColSpec("double", n) for n in names])),
        metadata={BASELINE_KEY: {n: float(frame[n].median()) for n in names}, SCHEMA_KEY: schema},
    ))  # fmt: skip
    record = {n: float(v) for n, v in frame[names].iloc[5].items()}
    answers = predict_answers(model, [record])
    assert answers.probabilities is not None
    explained = explain_record(model, record, top_k=3)
    predicted = int(answers.labels[0])
    assert explained.value == pytest.approx(float(answers.probabilities[0, predicted]), abs=1e-9)
    shown = sum(c.weight for c in (*explained.toward, *explained.against))
    assert explained.base + shown + (explained.rest or 0.0) == pytest.approx(explained.value, abs=1e-9)
