"""Pictures of a model's evaluation: confusion matrix, precision-recall curve, regression plots (PNG).

Figures are built with matplotlib's object API (no pyplot): headless, thread-safe, and
nothing to close afterwards.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: CI and servers have no display

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from numpy.typing import ArrayLike

from trunkml.config.classes import DEFAULT_CLASS_NAMES


def confusion_figure(
    y_true: ArrayLike, y_pred: ArrayLike, title: str, classes: Sequence[str] = DEFAULT_CLASS_NAMES
) -> Figure:
    """A K×K confusion matrix (classes 0..K-1) with counts and row shares, its axes labelled with the classes' names."""
    truth, predicted = np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)
    indices = range(len(classes))
    matrix = np.array([[np.sum((truth == t) & (predicted == p)) for p in indices] for t in indices])
    side = max(4.2, 0.75 * len(classes) + 1.5)
    figure = Figure(figsize=(side, side * 0.9))
    axes = figure.subplots()
    axes.imshow(matrix, cmap="Blues")
    for (row, col), count in np.ndenumerate(matrix):
        share = count / max(matrix[row].sum(), 1)
        colour = "white" if count > matrix.max() / 2 else "black"
        text = f"{count}\n{share:.0%}" if len(classes) <= 6 else str(count)
        axes.text(col, row, text, ha="center", va="center", color=colour, fontsize=10 if len(classes) <= 6 else 8)
    axes.set_xticks(list(indices), list(classes), rotation=45 if len(classes) > 4 else 0)
    axes.set_yticks(list(indices), list(classes))
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    figure.tight_layout()
    return figure


def regression_figures(y_true: ArrayLike, y_pred: ArrayLike, title: str) -> dict[str, Figure]:
    """Predicted against true values (with the diagonal), and residuals against predictions (with zero)."""
    truth, predicted = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    scatter = Figure(figsize=(4.6, 4.2))
    axes = scatter.subplots()
    axes.scatter(truth, predicted, s=8, alpha=0.6)
    low, high = float(min(truth.min(), predicted.min())), float(max(truth.max(), predicted.max()))
    axes.plot([low, high], [low, high], color="grey", linewidth=1)
    axes.set_xlabel("true")
    axes.set_ylabel("predicted")
    axes.set_title(f"{title}: predicted vs true")
    scatter.tight_layout()
    residual = Figure(figsize=(4.6, 4.2))
    axes = residual.subplots()
    axes.scatter(predicted, predicted - truth, s=8, alpha=0.6)
    axes.axhline(0.0, color="grey", linewidth=1)
    axes.set_xlabel("predicted")
    axes.set_ylabel("residual (predicted - true)")
    axes.set_title(f"{title}: residuals")
    residual.tight_layout()
    return {"predicted_vs_true": scatter, "residuals": residual}


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
