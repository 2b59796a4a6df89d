"""Logging a trained model as an MLflow model, and evaluating the copy that was stored.

A package is logged as trunkml's pyfunc model-from-code or as a standard flavor:
scikit-learn in the skops format, XGBoost as UBJSON, LightGBM as its text model file
(pickle and cloudpickle only where a dev project allows them). Either way it gets a
signature built from the dataset's schema and ``MLmodel`` metadata every loader reads:
the decision threshold, the schema and the explanation baseline. The stored files are
then downloaded, hashed, loaded without unpickling anything and asked to predict the
evaluation set.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import mlflow
import mlflow.sklearn
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models.signature import ModelSignature
from mlflow.types.schema import ColSpec, Schema

from trunkml.config import Environment, Settings, load_project
from trunkml.datasets.profile import build_profile, build_tabular_profile
from trunkml.datasets.schema import DataSchema
from trunkml.errors import RefusedError, TrainingFailedError, UsageError
from trunkml.registry import lineage as tags
from trunkml.registry.artifacts import file_digests
from trunkml.registry.loading import load_verified, trusted_types
from trunkml.registry.model_inputs import (
    BASELINE_KEY,
    DEFAULT_THRESHOLD,
    MLFLOW_TYPES,
    SCHEMA_KEY,
    THRESHOLD_KEY,
    predict_answers,
)
from trunkml.training.contract import ModelPackage
from trunkml.training.inputs import PreparedData
from trunkml.training.metrics import binary_metrics, multiclass_metrics, regression_metrics

OUTPUTS = Schema([ColSpec("long", "label"), ColSpec("double", "score")])


def signature_of(schema: DataSchema, pyfunc_outputs: bool) -> ModelSignature:
    """The MLflow signature of a model taking ``schema``'s features (and answering label/score, for trunkml pyfuncs)."""
    inputs = Schema([ColSpec(MLFLOW_TYPES[f.type.value], f.name, required=True) for f in schema.features])
    return ModelSignature(inputs=inputs, outputs=OUTPUTS if pyfunc_outputs else None)


def check_serialization(settings: Settings, package: ModelPackage) -> None:
    """Pickle and cloudpickle run code when loaded: refused, unless trunkml.yaml allows them and this is dev."""
    if package.sklearn_model is None or package.serialization_format == "skops":
        return
    if package.serialization_format not in ("pickle", "cloudpickle"):
        raise UsageError(f"unknown serialization format {package.serialization_format!r}", hint="use 'skops'")
    allowed = load_project(settings.project_root).models.allow_pickle_in_dev and settings.env is Environment.DEV
    if not allowed:
        raise RefusedError(
            f"trunkml does not register {package.serialization_format} models: loading one can run any code",
            hint="return serialization_format='skops' (the default); for a dev-only experiment, set "
            "models.allow_pickle_in_dev: true in trunkml.yaml and run with TRUNKML_ENV=dev",
        )


def fitted_names(model: Any) -> list[str] | None:
    """The feature names a fitted estimator or booster recorded (None when it recorded none)."""
    names = getattr(model, "feature_names_in_", None)
    if names is None and callable(getattr(model, "feature_name", None)):
        names = model.feature_name()  # a LightGBM Booster
    if names is None:
        names = getattr(model, "feature_names", None)  # an XGBoost Booster
    return None if names is None else [str(name) for name in names]


def check_signature(schema: DataSchema, package: ModelPackage) -> None:
    """A fitted estimator must take exactly the dataset's features, in order; the difference is shown."""
    model = package.sklearn_model if package.sklearn_model is not None else package.xgboost_model
    fitted = fitted_names(model if model is not None else package.lightgbm_model)
    if fitted is None:
        return
    # LightGBM writes a feature name's spaces as underscores.
    spelled = (lambda name: re.sub(r"\s", "_", name)) if package.lightgbm_model is not None else str
    have, want = fitted, [spelled(name) for name in schema.names]
    if have != want:
        missing, extra = [n for n in want if n not in have], [n for n in have if n not in want]
        order = "" if missing or extra else "; same columns in another order"
        raise RefusedError(
            f"the model's inputs do not match the dataset's features: missing {missing or 'none'}, "
            f"extra {extra or 'none'}{order}",
            hint="fit on job.features (exactly the schema's features, in order)",
        )


def model_metadata(data: PreparedData, package: ModelPackage) -> dict[str, Any]:
    """What every loader reads from the model's own MLmodel: threshold, schema, and explanation baseline."""
    threshold = float(package.params.get("threshold", DEFAULT_THRESHOLD))
    return {THRESHOLD_KEY: threshold, SCHEMA_KEY: data.schema.model_dump(mode="json"), BASELINE_KEY: baseline(data)}


def baseline(data: PreparedData) -> dict[str, Any]:
    """Per non-text feature, a typical training value: the median number, or the most common value."""
    values: dict[str, Any] = {}
    for feature in data.schema.features:
        column = data.train[feature.name]
        if feature.type.value == "numeric":
            values[feature.name] = float(column.median()) if column.notna().any() else 0.0
        elif feature.type.value != "text" and column.notna().any():
            top = column.mode(dropna=True).iloc[0]
            values[feature.name] = bool(top) if feature.type.value == "boolean" else str(top)
    return values


def log_model(settings: Settings, package: ModelPackage, data: PreparedData) -> Any:
    sample = data.features(data.eval).head(2)
    meta = model_metadata(data, package)
    try:
        if package.flavor != "python_model":
            return _log_flavor(settings, package, data.schema, meta)
        return mlflow.pyfunc.log_model(
            name="model",
            python_model=str(package.python_model),
            artifacts={key: str(value) for key, value in package.artifacts.items()},
            code_paths=[str(path) for path in package.code_paths] or None,
            pip_requirements=package.pip_requirements or None,
            signature=signature_of(data.schema, pyfunc_outputs=True),
            input_example=sample,
            metadata=meta,
        )
    except MlflowException as exc:
        raise TrainingFailedError(
            f"the model package could not be logged: {str(exc).splitlines()[0][:400]}",
            hint="the MLflow run is marked FAILED and nothing was registered; check the model file and artifacts",
        ) from exc


def _log_flavor(settings: Settings, package: ModelPackage, schema: DataSchema, meta: dict[str, Any]) -> Any:
    """Log a standard flavor's model with the dataset's signature, never as a pickle unless a dev project allows it."""
    # No input example: MLflow would load the model again to check it, which it may not under
    # MLFLOW_ALLOW_PICKLE_DESERIALIZATION=false. trunkml loads and scores the stored files itself.
    common: dict[str, Any] = {
        "name": "model",
        "pip_requirements": package.pip_requirements or None,
        "signature": signature_of(schema, pyfunc_outputs=False),
        "metadata": meta,
    }
    check_signature(schema, package)
    if package.flavor == "xgboost":
        import mlflow.xgboost as mlflow_xgboost

        return mlflow_xgboost.log_model(package.xgboost_model, model_format="ubj", **common)
    if package.flavor == "lightgbm":
        import mlflow.lightgbm as mlflow_lightgbm

        booster = getattr(package.lightgbm_model, "booster_", package.lightgbm_model)
        return mlflow_lightgbm.log_model(booster, **common)
    check_serialization(settings, package)
    skops = package.serialization_format == "skops"
    return mlflow.sklearn.log_model(
        package.sklearn_model,
        serialization_format=package.serialization_format,
        skops_trusted_types=trusted_types(package.sklearn_model) if skops else None,
        pyfunc_predict_fn="predict" if schema.task == "regression" else "predict_proba",
        **common,
    )


def evaluate_stored(
    model_uri: str, data: PreparedData, scratch: Path
) -> tuple[dict[str, str], dict[str, float], pd.DataFrame]:
    """Download the logged model, hash it, load it from those files, and predict the eval set."""
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=str(scratch)))
    digests = file_digests(local)
    try:
        answers = predict_answers(load_verified(local), data.features(data.eval))
        width = answers.probabilities.shape[1] if answers.probabilities is not None else None
        if data.task == "multiclass" and width is not None and width != len(data.class_list):
            raise ValueError(
                f"it answers {width} class probabilities for the {len(data.class_list)} classes of the data "
                "(was a class missing from its training rows?)"
            )
        labels, scores = answers.labels, answers.scores
    except ValueError as exc:  # a non-finite answer, or one of the wrong shape for the task
        raise RefusedError(
            f"the stored model's answers on the evaluation set are refused: {exc}",
            hint=f"a {data.task} model must answer finite "
            + {"binary": "scores", "multiclass": "class probabilities", "regression": "predictions"}[data.task],
        ) from exc
    predictions = pd.DataFrame({"label": labels, "score": scores})
    return digests, task_metrics(data, predictions), predictions


def task_metrics(data: PreparedData, predictions: pd.DataFrame) -> dict[str, float]:
    """The evaluation metrics of the data's task (metric names MLflow accepts: ``recall.3``, not ``recall[3]``)."""
    if data.task == "regression":
        return regression_metrics(data.eval["label"], predictions["score"])
    if data.task == "multiclass":
        return multiclass_metrics(data.eval["label"], predictions["label"], list(range(len(data.class_list))))
    return binary_metrics(data.eval["label"], predictions["label"], predictions["score"])


def log_profile(data: PreparedData, predictions: pd.DataFrame) -> str:
    """Log the reference profile `trunkml monitor` compares traffic with; return its sha256."""
    text = data.schema.single_text
    if data.task == "binary":
        labels, predicted = data.train["label"], predictions["label"]
    else:  # the class prior and positive rate are binary notions; the scores (or predictions) still drift
        labels, predicted = pd.Series(0, index=data.train.index), pd.Series(0, index=predictions.index)
    if text is not None:
        profile = build_profile(
            data.train[text].tolist(), labels, data.eval[text].tolist(), predicted, predictions["score"]
        )
    else:
        features: dict[str, tuple[str, Sequence[object]]] = {
            f.name: (f.type.value, data.train[f.name].tolist()) for f in data.schema.features
        }
        profile = build_tabular_profile(features, labels, len(data.eval), predicted, predictions["score"])
    classes = predictions["label"].astype(int).value_counts() if data.task == "multiclass" else pd.Series(dtype=int)
    profile = profile.model_copy(
        update={"task": data.task, "eval_classes": {str(k): int(v) for k, v in classes.items()}}
    )
    document = profile.model_dump_json()
    mlflow.log_text(document, tags.PROFILE_ARTIFACT)
    return hashlib.sha256(document.encode()).hexdigest()
