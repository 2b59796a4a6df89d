"""Binary classification metrics for the positive class (label 1), computed the same way everywhere.

Plain numpy (scikit-learn only for average precision), so the gate loads fast.
"""

from __future__ import annotations

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
