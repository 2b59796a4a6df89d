"""Training entrypoint for the reference project (``entrypoint: hatedetection.train:train``).

The decision threshold is tuned on out-of-fold scores of the training data
(never on the evaluation set, which this code does not see) toward the
configured objective, e.g. the highest recall with precision at or above a floor.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_recall_curve
from sklearn.model_selection import StratifiedKFold

from hatedetection import features
from hatedetection.model import HateSpeechModel
from trunkml.training import ModelPackage, TrainingJob

HERE = Path(__file__).resolve().parent
SERVING_REQUIREMENTS = ("mlflow", "scikit-learn", "numpy", "scipy", "pandas")


def _classifier(params: dict[str, Any], seed: int) -> LogisticRegression:
    return LogisticRegression(
        C=float(params.get("C", 8.0)),
        class_weight="balanced",
        solver="liblinear",
        max_iter=int(params.get("max_iter", 2000)),
        random_state=seed,
    )


def _fit(texts: list[str], labels: np.ndarray, params: dict[str, Any], seed: int) -> tuple[Any, LogisticRegression]:
    vectorizers = features.make_vectorizers(params)
    matrix = features.fit_transform(vectorizers, texts)
    return vectorizers, _classifier(params, seed).fit(matrix, labels)


def out_of_fold_scores(texts: list[str], labels: np.ndarray, params: dict[str, Any], seed: int) -> np.ndarray:
    """Scores for every training row from a model that did not see it (k-fold)."""
    scores = np.zeros(len(texts))
    folds = StratifiedKFold(n_splits=int(params.get("cv_folds", 3)), shuffle=True, random_state=seed)
    for fit_rows, score_rows in folds.split(texts, labels):
        vectorizers, classifier = _fit([texts[i] for i in fit_rows], labels[fit_rows], params, seed)
        matrix = features.transform(vectorizers, [texts[i] for i in score_rows])
        scores[score_rows] = classifier.predict_proba(matrix)[:, 1]
    return scores


def tune_threshold(
    labels: np.ndarray, scores: np.ndarray, objective: str, precision_floor: float
) -> tuple[float, dict[str, float]]:
    """Pick the threshold that best meets ``objective`` subject to precision ≥ ``precision_floor``.

    ``recall_at_precision``: the highest recall whose precision reaches the floor.
    ``f1``: the highest F1 among thresholds whose precision reaches the floor.
    If no threshold reaches the floor, the one with the highest precision is used.
    """
    precision, recall, thresholds = precision_recall_curve(labels, scores)
    precision, recall = precision[:-1], recall[:-1]
    f1 = 2 * precision * recall / np.maximum(precision + recall, 1e-12)
    feasible = precision >= precision_floor
    if not feasible.any():
        best = int(np.argmax(precision))
    elif objective == "recall_at_precision":
        best = int(np.flatnonzero(feasible)[np.argmax(recall[feasible] + 1e-9 * thresholds[feasible])])
    elif objective == "f1":
        best = int(np.flatnonzero(feasible)[np.argmax(f1[feasible])])
    else:
        raise ValueError(f"unknown threshold objective '{objective}' (use recall_at_precision or f1)")
    chosen = {"oof_precision": float(precision[best]), "oof_recall": float(recall[best]), "oof_f1": float(f1[best])}
    return float(thresholds[best]), chosen


def _requirements() -> list[str]:
    return [f"{name}=={metadata.version(name)}" for name in SERVING_REQUIREMENTS]


def train(job: TrainingJob) -> ModelPackage:
    """Fit features and classifier, tune the threshold out-of-fold, save safely, package for MLflow."""
    params = dict(job.params)
    texts = job.train["text"].astype(str).tolist()
    labels = job.train["label"].to_numpy(dtype=int)
    job.report(f"out-of-fold scores ({params.get('cv_folds', 3)} folds) for threshold tuning")
    oof = out_of_fold_scores(texts, labels, params, job.seed)
    threshold, oof_metrics = tune_threshold(
        labels,
        oof,
        str(params.get("threshold_objective", "recall_at_precision")),
        float(params.get("precision_floor", 0.7)),
    )
    job.report("fitting the final model on all training rows")
    vectorizers, classifier = _fit(texts, labels, params, job.seed)
    model = HateSpeechModel(
        vectorizers=vectorizers,
        coef=classifier.coef_.ravel(),
        intercept=float(classifier.intercept_[0]),
        threshold=threshold,
        window_words=int(params.get("window_words", 64)),
        window_stride=int(params.get("window_stride", 48)),
    )
    model.save(job.workdir / "model")
    return ModelPackage(
        python_model=HERE / "pyfunc_model.py",
        artifacts={"model": job.workdir / "model"},
        code_paths=[HERE],
        pip_requirements=_requirements(),
        params={"threshold": threshold, "features": int(model.coef.shape[0])},
        metrics=oof_metrics,
    )
