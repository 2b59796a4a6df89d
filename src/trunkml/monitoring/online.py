"""Online performance: feedback labels joined to logged predictions, per model version and over time.

Every prediction row that received feedback (``POST /feedback``, joined on request id
and item) counts once for the version and route that produced it: served rows
(champion, canary) and shadow rows are kept apart, because only served answers
reached users. Metrics are the training metrics (:func:`binary_metrics`), so online
recall on a set of rows equals offline recall on the same rows.
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


def _metrics(version: int, route: str, start: float, rows: pd.DataFrame) -> OnlineMetrics:
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


def per_version(labelled: pd.DataFrame) -> list[OnlineMetrics]:
    """Metrics per (version, route) over all of ``labelled``, newest version first."""
    groups = labelled.groupby(["version", "route"], sort=True)
    totals = [_metrics(int(str(v)), str(r), float(rows["ts"].min()), rows) for (v, r), rows in groups]
    return sorted(totals, key=lambda m: (-m.version, m.route))


def over_time(labelled: pd.DataFrame, width: int) -> list[OnlineMetrics]:
    """Metrics per (version, route, time bucket of ``width`` seconds), oldest bucket first."""
    if labelled.empty:
        return []
    starts = (labelled["ts"] // width * width).astype(float)
    groups = labelled.assign(bucket=starts).groupby(["bucket", "version", "route"], sort=True)
    return [_metrics(int(str(v)), str(r), float(str(b)), rows) for (b, v, r), rows in groups]


def recall_text(metrics: OnlineMetrics) -> str:
    """``0.712 [0.65, 0.77] (n=120 positives)`` or ``no labelled positives``."""
    if metrics.recall is None or metrics.recall_low is None or metrics.recall_high is None:
        return "no labelled positives"
    ci = f"[{metrics.recall_low:.2f}, {metrics.recall_high:.2f}]"
    return f"{metrics.recall:.3f} {ci} (n={metrics.positives} positives)"
