"""Pictures of a model's evaluation: confusion matrix and precision-recall curve (PNG)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # headless: CI and servers have no display

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from numpy.typing import ArrayLike
from sklearn.metrics import confusion_matrix, precision_recall_curve

LABELS = ["not hate (0)", "hate (1)"]


def confusion_figure(y_true: ArrayLike, y_pred: ArrayLike, title: str) -> Figure:
    """A 2×2 confusion matrix with counts and row shares."""
    matrix = confusion_matrix(y_true, y_pred, labels=[0, 1])
    figure, axes = plt.subplots(figsize=(4.2, 3.8))
    axes.imshow(matrix, cmap="Blues")
    for (row, col), count in np.ndenumerate(matrix):
        share = count / max(matrix[row].sum(), 1)
        colour = "white" if count > matrix.max() / 2 else "black"
        axes.text(col, row, f"{count}\n{share:.0%}", ha="center", va="center", color=colour)
    axes.set_xticks([0, 1], LABELS)
    axes.set_yticks([0, 1], LABELS)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    figure.tight_layout()
    return figure


def pr_figure(curves: dict[str, tuple[ArrayLike, ArrayLike, float | None]], title: str) -> Figure:
    """Precision-recall curves, one per named model: (labels, scores, operating threshold)."""
    figure, axes = plt.subplots(figsize=(4.8, 4.0))
    for name, (y_true, scores, threshold) in curves.items():
        precision, recall, thresholds = precision_recall_curve(y_true, scores)
        (line,) = axes.plot(recall, precision, label=name)
        if threshold is not None and len(thresholds):
            index = int(np.clip(np.searchsorted(thresholds, threshold), 0, len(thresholds) - 1))
            axes.plot(recall[index], precision[index], "o", color=line.get_color())
    axes.set_xlabel("recall (hate)")
    axes.set_ylabel("precision (hate)")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower left")
    axes.set_title(title)
    figure.tight_layout()
    return figure
