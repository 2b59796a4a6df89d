"""Pictures of a model's evaluation: confusion matrix and precision-recall curve (PNG).

Figures are built with matplotlib's object API (no pyplot): headless, thread-safe, and
nothing to close afterwards.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: CI and servers have no display

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from trunkml.config.classes import DEFAULT_CLASS_NAMES


def confusion_figure(
    y_true: ArrayLike, y_pred: ArrayLike, title: str, classes: tuple[str, str] = DEFAULT_CLASS_NAMES
) -> Figure:
    """A 2×2 confusion matrix with counts and row shares, its axes labelled with the classes' names."""
    truth, predicted = np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)
    matrix = np.array([[np.sum((truth == t) & (predicted == p)) for p in (0, 1)] for t in (0, 1)])
    figure = Figure(figsize=(4.2, 3.8))
    axes = figure.subplots()
    axes.imshow(matrix, cmap="Blues")
    for (row, col), count in np.ndenumerate(matrix):
        share = count / max(matrix[row].sum(), 1)
        colour = "white" if count > matrix.max() / 2 else "black"
        axes.text(col, row, f"{count}\n{share:.0%}", ha="center", va="center", color=colour)
    axes.set_xticks([0, 1], list(classes))
    axes.set_yticks([0, 1], list(classes))
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    figure.tight_layout()
    return figure


def precision_recall_points(y_true: ArrayLike, scores: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(precision, recall, thresholds) at every distinct score, thresholds ascending (as scikit-learn orders them)."""
    truth = np.asarray(y_true, dtype=int)
    values = np.asarray(scores, dtype=float)
    order = np.argsort(-values, kind="mergesort")
    truth, values = truth[order], values[order]
    last_of_each = np.r_[np.flatnonzero(np.diff(values)), len(values) - 1]
    tp = np.cumsum(truth)[last_of_each]
    fp = (last_of_each + 1) - tp
    precision = tp / np.maximum(tp + fp, 1)
    recall = tp / max(int(truth.sum()), 1)
    return precision[::-1], recall[::-1], values[last_of_each][::-1]


def pr_figure(
    curves: Mapping[str, tuple[ArrayLike, ArrayLike, float | None]], title: str, positive: str = DEFAULT_CLASS_NAMES[1]
) -> Figure:
    """Precision-recall curves of the ``positive`` class, one per named model: (labels, scores, operating threshold)."""
    figure = Figure(figsize=(4.8, 4.0))
    axes = figure.subplots()
    for name, (y_true, scores, threshold) in curves.items():
        precision, recall, thresholds = precision_recall_points(y_true, scores)
        (line,) = axes.plot(recall, precision, label=name)
        if threshold is not None and len(thresholds):
            index = int(np.clip(np.searchsorted(thresholds, threshold), 0, len(thresholds) - 1))
            axes.plot(recall[index], precision[index], "o", color=line.get_color())
    axes.set_xlabel(f"recall of {positive}")
    axes.set_ylabel(f"precision of {positive}")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower left")
    axes.set_title(title)
    figure.tight_layout()
    return figure
