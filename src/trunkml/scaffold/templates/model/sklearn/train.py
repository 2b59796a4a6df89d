"""Training entrypoint for ${model}: ``train(job) -> ModelPackage`` (``entrypoint`` in jobs/${model}/train.yaml).

A small, complete model to start from: TF-IDF word n-grams and class-weighted logistic regression.
Replace it with your own; trunkml needs only this function and a pyfunc file whose ``predict``
returns ``label`` and ``score`` columns. Weights are saved as JSON + npz, never pickled, so loading
the model runs no stored code. The training rows never include the evaluation set.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from trunkml.training import ModelPackage, TrainingJob

PACKAGE = Path(__file__).resolve().parent


def train(job: TrainingJob) -> ModelPackage:
    """Fit on ``job.train`` (columns ``text``, ``label``) and package the model for MLflow."""
    texts = job.train["text"].astype(str).tolist()
    labels = job.train["label"].to_numpy(dtype=int)
    max_ngram = int(job.params.get("max_ngram", 2))
    job.report("fitting TF-IDF features")
    vectorizer = TfidfVectorizer(ngram_range=(1, max_ngram), min_df=int(job.params.get("min_df", 1)), sublinear_tf=True)
    matrix = vectorizer.fit_transform(texts)
    job.report("fitting the classifier")
    classifier = LogisticRegression(
        C=float(job.params.get("C", 4.0)), class_weight="balanced", max_iter=2000, random_state=job.seed
    ).fit(matrix, labels)
    folder = job.workdir / "model"
    folder.mkdir()
    threshold = float(job.params.get("threshold", 0.5))
    vocabulary = {term: int(index) for term, index in vectorizer.vocabulary_.items()}
    config = {"vocabulary": vocabulary, "max_ngram": max_ngram, "threshold": threshold}
    (folder / "config.json").write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    weights = {"idf": vectorizer.idf_, "coef": classifier.coef_.ravel(), "intercept": classifier.intercept_}
    np.savez(folder / "weights.npz", **weights)
    return ModelPackage(
        python_model=PACKAGE / "pyfunc_model.py",
        artifacts={"model": folder},
        code_paths=[PACKAGE],
        pip_requirements=["mlflow", "numpy", "pandas", "scikit-learn"],
        params={"threshold": threshold, "features": len(vocabulary)},
    )
