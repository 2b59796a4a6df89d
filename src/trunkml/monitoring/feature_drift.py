"""Drift per feature, for models of several typed features (tabular or mixed inputs).

Each served record's feature values are in the prediction log (as JSON); the version's
reference profile holds each feature's training distribution. Per feature type:

* numeric features, and the length of text features: PSI and the KS statistic;
* categorical and boolean features: the Jensen-Shannon divergence of their values (the
  training values plus one "unseen" cell) and the share of values never seen in training.

Every statistic must cross its threshold (a per-type default, or the feature's own in
``trunkml.yaml``) and its noise level, as the text statistics must (see
:mod:`trunkml.monitoring.drift`). With dozens of features, a 99th-percentile noise level per
statistic would raise a false alarm on most quiet windows, so the noise levels here control the
family: each is the ``1 - 0.01 / m`` quantile under no drift, for ``m`` statistics judged
(Bonferroni). For KS and PSI those quantiles come from their asymptotic laws (Kolmogorov's
distribution; PSI ≈ (1/n + 1/k) χ² with bins - 1 degrees of freedom for samples of n and k); for
categorical JS, the largest of the reference draws. Features come out most drifted first.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import chi2, kstwobign

from trunkml.config.project import DriftThresholds
from trunkml.datasets.profile import CategoricalProfile, NumericProfile, ReferenceProfile, category_key
from trunkml.monitoring import drift as d

UNSEEN = "(unseen)"
SEED = 101
FAMILY_ALPHA = 0.01  # the chance that a window without drift raises any per-feature alarm


def served_features(features: pd.Series) -> pd.DataFrame:
    """The logged records (JSON per row; None for rows logged without them) as one frame."""
    return pd.DataFrame.from_records([json.loads(text) for text in features if isinstance(text, str)])


def window_values(profile: NumericProfile, name: str, window: pd.DataFrame, is_text: bool) -> np.ndarray:
    """The window's non-missing values of a numeric feature (or a text feature's lengths)."""
    column = window[name] if name in window else pd.Series(dtype=object)
    if is_text:
        return np.array([len(str(v)) for v in column if v is not None], dtype=np.float64)
    values: np.ndarray = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
    present: np.ndarray = values[~np.isnan(values)]
    return present


def category_counts(profile: CategoricalProfile, values: Sequence[object]) -> tuple[np.ndarray, np.ndarray, int]:
    """(reference shares, window counts) over the training categories plus an unseen cell, and unseen count."""
    known = sorted(profile.counts)
    index = {key: i for i, key in enumerate(known)}
    counts = np.zeros(len(known) + 1, dtype=np.float64)
    for value in values:
        key = category_key(value)
        if key is not None:
            counts[index.get(key, len(known))] += 1
    reference = np.array([profile.counts[key] for key in known] + [0], dtype=np.float64)
    return reference / max(reference.sum(), 1.0), counts, int(counts[-1])


def numeric_noise(reference: np.ndarray, window: np.ndarray, alpha: float) -> dict[str, float]:
    """The ``1 - alpha`` quantiles of PSI and KS between two samples of one distribution (asymptotic laws)."""
    scale = 1 / reference.size + 1 / window.size
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, d.PSI_BINS + 1)[1:-1]))
    return {"psi": float(chi2.isf(alpha, max(edges.size, 1)) * scale), "ks": float(kstwobign.isf(alpha) * scale**0.5)}


def _numeric(name: str, profile: NumericProfile, values: np.ndarray, limits: dict[str, float], alpha: float
             ) -> list[d.DriftStatistic]:  # fmt: skip
    reference = np.asarray(profile.sample, dtype=np.float64)
    noise = numeric_noise(reference, values, alpha)
    detail = f"median {np.median(reference):.3g} → {np.median(values):.3g}"
    statistics = {"psi": d.psi, "ks": d.ks}
    return [
        d.judged(f"{key}_{name}", name, statistics[key](reference, values), limits[key], noise[key], detail)
        for key in ("psi", "ks")
        if key in limits
    ]


def _one(name: str, profile: NumericProfile | CategoricalProfile, window: pd.DataFrame, limits: dict[str, float],
         is_text: bool, seed: int, alpha: float) -> list[d.DriftStatistic]:  # fmt: skip
    if isinstance(profile, NumericProfile):
        values = window_values(profile, name, window, is_text)
        if values.size == 0 or not profile.sample:
            return []
        return _numeric(name, profile, values, limits, alpha)
    column = window[name].tolist() if name in window else []
    reference, counts, unseen = category_counts(profile, column)
    total = int(counts.sum())
    checks = []
    if total and "js" in limits:
        found = d.distribution_check(f"js_{name}", name, reference, counts, limits["js"], seed, quantile=1.0)
        checks.append(found)
    if total and "unseen" in limits:
        checks.append(d.rate_check(f"unseen_{name}", name, 0.0, unseen / total, total, limits["unseen"], seed + 1))
    return checks


def feature_checks(
    profile: ReferenceProfile, features: pd.Series, thresholds: DriftThresholds, text_features: set[str]
) -> list[d.DriftStatistic]:
    """Every feature's drift statistics, the features that drift most first."""
    window = served_features(features)
    if window.empty:
        return []
    by_feature: list[list[d.DriftStatistic]] = []
    judged = sum(len(thresholds.for_feature(name)) for name in profile.features)
    alpha = FAMILY_ALPHA / max(judged, 1)
    for offset, (name, reference) in enumerate(profile.features.items()):
        limits = thresholds.for_feature(name)
        found = _one(name, reference, window, limits, name in text_features, SEED + 3 * offset, alpha)
        by_feature.append([check.model_copy(update={"feature": name}) for check in found])
    by_feature.sort(key=lambda checks: -max(((c.value or 0.0) / c.threshold for c in checks), default=0.0))
    return [check for checks in by_feature for check in checks]
