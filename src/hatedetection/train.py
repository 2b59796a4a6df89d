"""Training entrypoint for the reference project (``entrypoint: hatedetection.train:train``).

Two model families, chosen by ``family`` in the job params:

- ``tfidf`` (default): word + character TF-IDF with class-weighted logistic regression.
  Its threshold is tuned on out-of-fold scores of the training data.
- ``transformer``: a fine-tuned BERT-like encoder (``hatedetection.transformer``), which
  needs the ``trunkml[transformers]`` extra.

Neither sees the evaluation set, so neither can tune on it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from hatedetection import features
from hatedetection.model import HateSpeechModel
from hatedetection.packaging import PACKAGE, pinned
from hatedetection.threshold import tune_threshold
from trunkml.errors import ConfigError
from trunkml.training import ModelPackage, TrainingJob, require_extra

SERVING_REQUIREMENTS = ("mlflow", "scikit-learn", "numpy", "scipy", "pandas")
FAMILIES = ("tfidf", "transformer")
TRANSFORMER_MODULES = ("torch", "transformers", "tokenizers", "safetensors")

__all__ = ["FAMILIES", "out_of_fold_scores", "train", "tune_threshold"]


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


def train(job: TrainingJob) -> ModelPackage:
    """Train the family named by ``family`` in the params (``tfidf`` when absent)."""
    family = str(job.params.get("family", "tfidf"))
    if family == "tfidf":
        return train_tfidf(job)
    if family == "transformer":
        require_extra("transformers", TRANSFORMER_MODULES, "the transformer model family")
        from hatedetection.transformer.fit import fine_tune

        return fine_tune(job)
    raise ConfigError(f"unknown model family '{family}' in the job params", hint=f"use one of: {', '.join(FAMILIES)}")


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
        python_model=PACKAGE / "pyfunc_model.py",
        artifacts={"model": job.workdir / "model"},
        code_paths=[PACKAGE],
        pip_requirements=pinned(SERVING_REQUIREMENTS),
        params={"threshold": threshold, "features": int(model.coef.shape[0])},
        metrics=oof_metrics,
    )
