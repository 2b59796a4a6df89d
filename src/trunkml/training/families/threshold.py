"""Choosing the decision threshold from scores the model did not train on (shared by both families)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import precision_recall_curve

OBJECTIVES = ("recall_at_precision", "f1")


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
