"""Binary classification metrics for the positive (hate) class, computed the same way everywhere."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from sklearn.metrics import accuracy_score, average_precision_score, f1_score, precision_score, recall_score


def binary_metrics(y_true: ArrayLike, y_pred: ArrayLike, scores: ArrayLike | None = None) -> dict[str, float]:
    """Precision, recall and F1 of class 1, macro-F1, accuracy, supports and (with scores) average precision."""
    truth = np.asarray(y_true, dtype=int)
    predicted = np.asarray(y_pred, dtype=int)
    metrics = {
        "precision": float(precision_score(truth, predicted, pos_label=1, zero_division=0)),
        "recall": float(recall_score(truth, predicted, pos_label=1, zero_division=0)),
        "f1": float(f1_score(truth, predicted, pos_label=1, zero_division=0)),
        "macro_f1": float(f1_score(truth, predicted, average="macro", zero_division=0)),
        "accuracy": float(accuracy_score(truth, predicted)),
        "support_positive": float(truth.sum()),
        "support_negative": float(len(truth) - truth.sum()),
    }
    negatives = truth == 0
    metrics["specificity"] = float((predicted[negatives] == 0).mean()) if negatives.any() else 0.0
    if scores is not None and 0 < int(truth.sum()) < len(truth):
        metrics["average_precision"] = float(average_precision_score(truth, np.asarray(scores, dtype=float)))
    return metrics
