"""Metrics per task, computed the same way everywhere: binary (for the positive class, label 1),
multi-class and regression.

Plain numpy (scikit-learn only for average precision), so the gate loads fast.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike


def _ratio(numerator: float, denominator: float) -> float:
    return float(numerator / denominator) if denominator else 0.0


def binary_metrics(y_true: ArrayLike, y_pred: ArrayLike, scores: ArrayLike | None = None) -> dict[str, float]:
    """Precision, recall, F1 (class 1), macro-F1, accuracy, specificity, supports; with scores, average precision."""
    truth = np.asarray(y_true, dtype=int)
    predicted = np.asarray(y_pred, dtype=int)
    tp = float(np.sum((truth == 1) & (predicted == 1)))
    fp = float(np.sum((truth == 0) & (predicted == 1)))
    fn = float(np.sum((truth == 1) & (predicted == 0)))
    tn = float(np.sum((truth == 0) & (predicted == 0)))
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)
    f1_negative = _ratio(2 * tn, 2 * tn + fn + fp)
    metrics = {
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "macro_f1": (f1 + f1_negative) / 2,
        "accuracy": _ratio(tp + tn, len(truth)),
        "specificity": _ratio(tn, tn + fp),
        "support_positive": tp + fn,
        "support_negative": tn + fp,
    }
    if scores is not None and 0 < tp + fn < len(truth):
        from sklearn.metrics import average_precision_score

        metrics["average_precision"] = float(average_precision_score(truth, np.asarray(scores, dtype=float)))
    return metrics


def multiclass_metrics(y_true: ArrayLike, y_pred: ArrayLike, classes: list[Any] | None = None) -> dict[str, float]:
    """Accuracy, macro recall/precision/F1, and per class ``recall.k``, ``precision.k``, ``support.k``.

    ``classes`` defaults to every value in ``y_true``; a class a model never predicts has precision 0 (its
    0/0 is counted as 0, as scikit-learn's ``zero_division=0``), and a class absent from ``y_true`` is not
    averaged in macro recall.
    """
    truth, predicted = np.asarray(y_true), np.asarray(y_pred)
    names = list(classes) if classes is not None else sorted(set(truth.tolist()), key=str)
    metrics: dict[str, float] = {"accuracy": float(np.mean(truth == predicted)) if len(truth) else 0.0}
    recalls, precisions, f1s = [], [], []
    for name in names:
        actual, flagged = truth == name, predicted == name
        hits = float(np.sum(actual & flagged))
        recall = hits / float(actual.sum()) if actual.any() else 0.0
        precision = hits / float(flagged.sum()) if flagged.any() else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
        metrics.update(
            {f"recall.{name}": recall, f"precision.{name}": precision, f"support.{name}": float(actual.sum())}
        )
        if actual.any():
            recalls.append(recall)
            precisions.append(precision)
            f1s.append(f1)
    metrics["macro_recall"] = float(np.mean(recalls)) if recalls else 0.0
    metrics["macro_precision"] = float(np.mean(precisions)) if precisions else 0.0
    metrics["macro_f1"] = float(np.mean(f1s)) if f1s else 0.0
    return metrics


def regression_metrics(y_true: ArrayLike, y_pred: ArrayLike) -> dict[str, float]:
    """MAE, RMSE, R² and bias (mean residual, prediction minus truth)."""
    truth, predicted = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    residual = predicted - truth
    spread = float(np.sum((truth - truth.mean()) ** 2))
    return {
        "mae": float(np.mean(np.abs(residual))),
        "rmse": float(np.sqrt(np.mean(residual**2))),
        "r2": 1.0 - float(np.sum(residual**2)) / spread if spread > 0 else 0.0,
        "bias": float(np.mean(residual)),
    }
