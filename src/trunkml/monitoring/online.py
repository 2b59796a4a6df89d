"""Online performance: feedback labels joined to logged predictions, per model version and over time.

Every prediction row that received feedback (``POST /feedback``, joined on request id
and item) counts once for the version and route that produced it: served rows
(champion, canary) and shadow rows are kept apart, because only served answers
reached users. Metrics are the training metrics of the model's task, so online
recall (or accuracy, macro-F1, MAE) on a set of rows equals the offline value on the
same rows. Each comes with a 90% confidence interval: Wilson's for recall and accuracy,
a seeded percentile bootstrap for macro-F1, and a normal interval for MAE.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from trunkml.evaluation.stats import wilson_interval
from trunkml.training.metrics import binary_metrics

CI_LEVEL = 0.90
NICE_BUCKETS_S = (60, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400)


class OnlineMetrics(BaseModel):
    """One version's labelled predictions on one route (over the window, or in one time bucket)."""

    model_config = ConfigDict(frozen=True)

    version: int
    route: str
    start: float
    labelled: int
    positives: int
    predicted_positive: int
    recall: float | None
    recall_low: float | None
    recall_high: float | None
    precision: float | None
    f1: float | None
    task: str = "binary"
    accuracy: float | None = None
    accuracy_low: float | None = None
    accuracy_high: float | None = None
    macro_f1: float | None = None
    macro_f1_low: float | None = None
    macro_f1_high: float | None = None
    mae: float | None = None
    mae_low: float | None = None
    mae_high: float | None = None
    bias: float | None = None


BOOTSTRAP_DRAWS = 200


def _macro_f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    classes = np.union1d(truth, predicted)
    scores = []
    for k in classes:
        tp = np.sum((truth == k) & (predicted == k))
        denominator = np.sum(truth == k) + np.sum(predicted == k)
        scores.append(2 * tp / denominator if denominator else 0.0)
    return float(np.mean(scores))


def _task_metrics(task: str, version: int, route: str, start: float, rows: pd.DataFrame) -> OnlineMetrics:
    """Multi-class (accuracy, macro-F1) or regression (MAE, bias) metrics with their intervals."""
    z = NormalDist().inv_cdf(0.5 + CI_LEVEL / 2)
    n = len(rows)
    if task == "regression":
        errors = rows["label"].to_numpy(np.float64) - rows["truth"].to_numpy(np.float64)
        absolute = np.abs(errors)
        mae = float(absolute.mean())
        half = z * float(absolute.std(ddof=1)) / np.sqrt(n) if n > 1 else float("inf")
        return OnlineMetrics(
            version=version, route=route, start=start, labelled=n, positives=0, predicted_positive=0, recall=None,
            recall_low=None, recall_high=None, precision=None, f1=None, task=task, mae=mae,
            mae_low=max(mae - half, 0.0) if np.isfinite(half) else None,
            mae_high=mae + half if np.isfinite(half) else None,
            bias=float(errors.mean()),
        )  # fmt: skip
    truth, predicted = rows["truth"].to_numpy(np.int64), rows["label"].to_numpy(np.int64)
    hits = int(np.sum(truth == predicted))
    low, high = wilson_interval(hits, n, z)
    macro = _macro_f1(truth, predicted)
    rng = np.random.default_rng(0)
    draws = [_macro_f1(truth[i], predicted[i]) for i in (rng.integers(0, n, n) for _ in range(BOOTSTRAP_DRAWS))]
    tail = (1 - CI_LEVEL) / 2
    return OnlineMetrics(
        version=version, route=route, start=start, labelled=n, positives=0, predicted_positive=0, recall=None,
        recall_low=None, recall_high=None, precision=None, f1=None, task=task, accuracy=hits / n, accuracy_low=low,
        accuracy_high=high, macro_f1=macro, macro_f1_low=float(np.quantile(draws, tail)),
        macro_f1_high=float(np.quantile(draws, 1 - tail)),
    )  # fmt: skip


def _metrics(version: int, route: str, start: float, rows: pd.DataFrame, task: str = "binary") -> OnlineMetrics:
    if task != "binary":
        return _task_metrics(task, version, route, start, rows)
    truth, predicted = rows["truth"].to_numpy(np.int64), rows["label"].to_numpy(np.int64)
    values = binary_metrics(truth, predicted)
    positives, flagged = int(truth.sum()), int(predicted.sum())
    z = NormalDist().inv_cdf(0.5 + CI_LEVEL / 2)
    hits = int(np.sum((truth == 1) & (predicted == 1)))
    low, high = wilson_interval(hits, positives, z) if positives else (None, None)
    return OnlineMetrics(
        version=version, route=route, start=start, labelled=len(rows), positives=positives,
        predicted_positive=flagged, recall=values["recall"] if positives else None, recall_low=low, recall_high=high,
        precision=values["precision"] if flagged else None, f1=values["f1"] if positives or flagged else None,
    )  # fmt: skip


def bucket_seconds(span: float, buckets: int = 12) -> int:
    """A round bucket width that cuts ``span`` seconds into about ``buckets`` pieces."""
    target = max(span / buckets, 1.0)
    return next((width for width in NICE_BUCKETS_S if width >= target), NICE_BUCKETS_S[-1])


def per_version(labelled: pd.DataFrame, task: str = "binary") -> list[OnlineMetrics]:
    """Metrics per (version, route) over all of ``labelled``, newest version first."""
    groups = labelled.groupby(["version", "route"], sort=True)
    totals = [_metrics(int(str(v)), str(r), float(rows["ts"].min()), rows, task) for (v, r), rows in groups]
    return sorted(totals, key=lambda m: (-m.version, m.route))


def over_time(labelled: pd.DataFrame, width: int, task: str = "binary") -> list[OnlineMetrics]:
    """Metrics per (version, route, time bucket of ``width`` seconds), oldest bucket first."""
    if labelled.empty:
        return []
    starts = (labelled["ts"] // width * width).astype(float)
    groups = labelled.assign(bucket=starts).groupby(["bucket", "version", "route"], sort=True)
    return [_metrics(int(str(v)), str(r), float(str(b)), rows, task) for (b, v, r), rows in groups]


def recall_text(metrics: OnlineMetrics) -> str:
    """``0.712 [0.65, 0.77] (n=120 positives)`` or ``no labelled positives`` (accuracy/macro-F1, or MAE, per task)."""
    if metrics.task == "regression" and metrics.mae is not None:
        ci = f" [{metrics.mae_low:.3g}, {metrics.mae_high:.3g}]" if metrics.mae_high is not None else ""
        return f"MAE {metrics.mae:.4g}{ci}, bias {metrics.bias:+.3g} (n={metrics.labelled})"
    if metrics.task == "multiclass" and metrics.accuracy is not None:
        return (
            f"accuracy {metrics.accuracy:.3f} [{metrics.accuracy_low:.2f}, {metrics.accuracy_high:.2f}], macro-F1 "
            f"{metrics.macro_f1:.3f} [{metrics.macro_f1_low:.2f}, {metrics.macro_f1_high:.2f}] (n={metrics.labelled})"
        )
    if metrics.recall is None or metrics.recall_low is None or metrics.recall_high is None:
        return "no labelled positives"
    ci = f"[{metrics.recall_low:.2f}, {metrics.recall_high:.2f}]"
    return f"{metrics.recall:.3f} {ci} (n={metrics.positives} positives)"


def online_text(metrics: OnlineMetrics) -> str:
    """The task's online metrics in a line: ``recall 0.712 [...]``, ``accuracy … macro-F1 …`` or ``MAE …``."""
    return f"recall {recall_text(metrics)}" if metrics.task == "binary" else recall_text(metrics)
