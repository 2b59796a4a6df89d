"""Training the TF-IDF family: fit, tune the threshold on out-of-fold scores, save safely, package for MLflow.

The threshold is tuned on scores of training rows from models that did not see them, so the
evaluation set is never used to tune anything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from trunkml.training.contract import ModelPackage, TrainingJob
from trunkml.training.families.packaging import pinned
from trunkml.training.families.tfidf import features
from trunkml.training.families.tfidf.model import TfidfClassifier
from trunkml.training.families.threshold import tune_threshold

SERVING_REQUIREMENTS = ("mlflow", "scikit-learn", "numpy", "scipy", "pandas", "trunkml")
PYFUNC = Path(__file__).resolve().parent / "pyfunc_model.py"


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


def train_tfidf(job: TrainingJob) -> ModelPackage:
    """Fit features and classifier, tune the threshold out-of-fold, save safely, package for MLflow."""
    params = {key: value for key, value in job.params.items() if key != "family"}
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
    model = TfidfClassifier(
        vectorizers=vectorizers,
        coef=classifier.coef_.ravel(),
        intercept=float(classifier.intercept_[0]),
        threshold=threshold,
        window_words=int(params.get("window_words", 64)),
        window_stride=int(params.get("window_stride", 48)),
    )
    model.save(job.workdir / "model")
    return ModelPackage(
        python_model=PYFUNC,
        artifacts={"model": job.workdir / "model"},
        pip_requirements=pinned(SERVING_REQUIREMENTS),
        params={"threshold": threshold, "features": int(model.coef.shape[0])},
        metrics=oof_metrics,
    )
