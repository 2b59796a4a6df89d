"""Training entrypoint for ${model}: ``train(job) -> ModelPackage`` (``entrypoint`` in jobs/${model}/train.yaml).

A scikit-learn pipeline built from the dataset's schema: numbers imputed (median) and scaled,
categories and flags one-hot encoded (unseen values ignored), texts as TF-IDF, then gradient
boosting or a linear model (logistic regression for classes, ridge for a regression target).
trunkml logs it with ``mlflow.sklearn`` in the skops format: no pickle, and loading it runs no
stored code. The training rows never include the evaluation set.
"""

from __future__ import annotations

from typing import Any

from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from trunkml.training import ModelPackage, TrainingJob


def columns(job: TrainingJob) -> ColumnTransformer:
    """One transformer per feature type, as the dataset's schema declares them."""
    assert job.schema is not None
    kinds: dict[str, list[str]] = {"numeric": [], "categorical": [], "boolean": [], "text": []}
    for feature in job.schema.features:
        kinds[feature.type.value].append(feature.name)
    parts: list[tuple[str, Any, Any]] = []
    if kinds["numeric"]:
        numbers = Pipeline([("impute", SimpleImputer(strategy="median")), ("scale", StandardScaler())])
        parts.append(("numeric", numbers, kinds["numeric"]))
    if kinds["categorical"] + kinds["boolean"]:
        categories = Pipeline(
            [
                ("impute", SimpleImputer(missing_values=None, strategy="constant", fill_value="(missing)")),
                ("encode", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
            ]
        )
        parts.append(("categorical", categories, kinds["categorical"] + kinds["boolean"]))
    for name in kinds["text"]:
        parts.append((f"text:{name}", TfidfVectorizer(ngram_range=(1, 2), min_df=2, max_features=20000), name))
    return ColumnTransformer(parts, sparse_threshold=0.0)


KINDS = ("hist_gradient_boosting", "logistic_regression", "linear")


def estimator(job: TrainingJob) -> Any:
    """The model for the dataset's task: gradient boosting, or a linear model (``model:`` in params.yaml)."""
    kind = str(job.params.get("model", "hist_gradient_boosting"))
    task = job.schema.task if job.schema is not None else "binary"
    if kind not in KINDS:
        raise ValueError(f"params.yaml: model must be one of {', '.join(KINDS)}, got {kind!r}")
    linear = kind in ("logistic_regression", "linear")
    if task == "regression":
        if linear:
            return Ridge(alpha=1.0 / float(job.params.get("C", 1.0)))
        return HistGradientBoostingRegressor(
            learning_rate=float(job.params.get("learning_rate", 0.1)),
            max_iter=int(job.params.get("max_iter", 200)),
            random_state=job.seed,
        )
    if linear:
        return LogisticRegression(C=float(job.params.get("C", 1.0)), max_iter=5000, random_state=job.seed)
    return HistGradientBoostingClassifier(
        learning_rate=float(job.params.get("learning_rate", 0.1)),
        max_iter=int(job.params.get("max_iter", 200)),
        random_state=job.seed,
    )


def train(job: TrainingJob) -> ModelPackage:
    """Fit on ``job.features`` (exactly the schema's features) and ``job.target`` (classes 0..K-1, or numbers)."""
    kind = str(job.params.get("model", "hist_gradient_boosting"))
    job.report(f"fitting {kind} on {len(job.features)} rows, {len(job.features.columns)} features")
    pipeline = Pipeline([("columns", columns(job)), ("model", estimator(job))]).fit(job.features, job.target)
    binary = job.schema is None or job.schema.task == "binary"
    threshold = {"threshold": float(job.params.get("threshold", 0.5))} if binary else {}  # binary decisions only
    return ModelPackage(
        sklearn_model=pipeline,
        pip_requirements=["mlflow", "numpy", "pandas", "scikit-learn", "skops"],
        params={**threshold, "model": kind},
    )
