"""Drift statistics: one window of served traffic against a model version's reference profile.

Each statistic is compared with a threshold from ``trunkml.yaml`` and with its own
noise level: the 99th percentile of the same statistic over windows of the same
size drawn from the reference itself (``NOISE_DRAWS`` draws). A statistic fires only
when it exceeds both, so a small window cannot raise an alarm by sampling noise
alone. Token and n-gram draws are multinomial (tokens drawn independently), which
understates the noise of real texts, whose tokens come in documents: the thresholds,
measured on real held-out data, stay the main line.

* PSI (population stability index) over ten quantile bins of the reference, and the
  two-sample Kolmogorov-Smirnov statistic (``scipy.stats.ks_2samp``), on text length and
  on the score;
* Jensen-Shannon divergence (base 2, in [0, 1]; the square of
  ``scipy.spatial.distance.jensenshannon``) between token distributions over the
  reference vocabulary plus one "other" cell, and between character 3-gram sketches;
* the change in the out-of-vocabulary rate and in the predicted-positive rate.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict
from scipy.spatial.distance import jensenshannon
from scipy.stats import ks_2samp

from trunkml.datasets.profile import CountTable, ReferenceProfile, out_of_vocabulary

NOISE_DRAWS = 200
NOISE_MAX_SIZE = 20_000  # larger windows: noise drawn at this size and scaled (KS ~ 1/sqrt(n), PSI ~ 1/n)
NOISE_QUANTILE = 0.99
PSI_BINS = 10
EPSILON = 1e-4


class DriftStatistic(BaseModel):
    """One statistic of one window: its value, the line it must not cross, and whether it fired."""

    model_config = ConfigDict(frozen=True)

    name: str
    feature: str
    value: float | None
    threshold: float
    noise: float | None = None
    fired: bool = False
    status: str
    detail: str = ""


def psi(reference: ArrayLike, current: ArrayLike, bins: int = PSI_BINS) -> float:
    """Population stability index of ``current`` against ``reference`` over the reference's quantile bins."""
    ref, cur = np.asarray(reference, dtype=np.float64), np.asarray(current, dtype=np.float64)
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
    ref_share = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=edges.size + 1) / ref.size
    cur_share = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=edges.size + 1) / cur.size
    ref_share, cur_share = np.maximum(ref_share, EPSILON), np.maximum(cur_share, EPSILON)
    return float(np.sum((cur_share - ref_share) * np.log(cur_share / ref_share)))


def ks(reference: ArrayLike, current: ArrayLike) -> float:
    """The two-sample Kolmogorov-Smirnov statistic (largest gap between the two CDFs).

    ``method="asymp"``: only the statistic is used, and the exact p-value would cost more than the rest.
    """
    ref, cur = np.asarray(reference, dtype=np.float64), np.asarray(current, dtype=np.float64)
    return float(ks_2samp(ref, cur, method="asymp").statistic)


def js_divergence(p: NDArray[np.float64], q: NDArray[np.float64]) -> float:
    """Jensen-Shannon divergence (base 2) between two count or probability vectors."""
    if p.sum() == 0 or q.sum() == 0:
        return 0.0
    return float(jensenshannon(p, q, base=2) ** 2)


def vocabulary_distribution(table: CountTable) -> NDArray[np.float64]:
    """Reference token probabilities over the vocabulary, plus the 'other' (rare) share as the last cell."""
    counts = table.arrays()[1].astype(np.float64)
    return np.append(counts, table.total - counts.sum()) / max(table.total, 1)


def window_vocabulary_counts(hashes: NDArray[np.uint32], vocabulary: NDArray[np.uint32]) -> NDArray[np.float64]:
    """Counts of the window's tokens per vocabulary entry, plus those outside it as the last cell."""
    position = np.searchsorted(vocabulary, hashes)
    inside = position < vocabulary.size
    inside[inside] = vocabulary[position[inside]] == hashes[inside]
    counts = np.bincount(position[inside], minlength=vocabulary.size).astype(np.float64)
    result: NDArray[np.float64] = np.append(counts, float((~inside).sum()))
    return result


def _noise(draw: Callable[[np.random.Generator], float], seed: int, quantile: float = NOISE_QUANTILE) -> float:
    rng = np.random.default_rng(seed)
    return float(np.quantile([draw(rng) for _ in range(NOISE_DRAWS)], quantile))


def judged(name: str, feature: str, value: float, threshold: float, noise: float, detail: str) -> DriftStatistic:
    """A statistic that fires only above both its threshold and its noise level."""
    fired = value > threshold and value > noise
    if fired:
        status = "DRIFT"
    elif value > threshold:
        status = "within noise"
    else:
        status = "ok"
    return DriftStatistic(
        name=name, feature=feature, value=value, threshold=threshold, noise=noise, fired=fired, status=status,
        detail=detail,
    )  # fmt: skip


def numeric_checks(
    feature: str, reference: ArrayLike, current: ArrayLike, limits: dict[str, float], seed: int
) -> list[DriftStatistic]:
    """PSI and KS (``psi_<feature>``, ``ks_<feature>``, those present in ``limits``) with their noise levels."""
    ref, cur = np.asarray(reference, dtype=np.float64), np.asarray(current, dtype=np.float64)
    detail = f"median {np.median(ref):.3g} → {np.median(cur):.3g}"
    drawn = min(cur.size, NOISE_MAX_SIZE)
    statistics = {"psi": (psi, drawn / cur.size), "ks": (ks, (drawn / cur.size) ** 0.5)}
    checks = []
    for offset, (prefix, (statistic, scale)) in enumerate(statistics.items()):
        name = f"{prefix}_{feature}"
        if name in limits:
            noise = _noise(lambda rng, f=statistic: f(ref, rng.choice(ref, drawn)), seed + offset)  # type: ignore[misc]
            checks.append(judged(name, feature, statistic(ref, cur), limits[name], noise * scale, detail))
    return checks


def distribution_check(
    name: str, feature: str, reference: NDArray[np.float64], window: NDArray[np.float64], threshold: float, seed: int,
    quantile: float = NOISE_QUANTILE,
) -> DriftStatistic:  # fmt: skip
    """Jensen-Shannon divergence of the window's counts from the reference probabilities."""
    total = int(window.sum())
    value = js_divergence(reference, window)
    draw = lambda rng: js_divergence(reference, rng.multinomial(total, reference).astype(float))  # noqa: E731
    noise = _noise(draw, seed, quantile)
    return judged(name, feature, value, threshold, noise, f"{total} {feature} in the window")


def rate_check(
    name: str, feature: str, reference: float, observed: float, trials: int, threshold: float, seed: int
) -> DriftStatistic:
    """The absolute change of a rate (a share of ``trials``) from its reference value."""
    noise = _noise(lambda rng: abs(rng.binomial(trials, reference) / max(trials, 1) - reference), seed)
    detail = f"{reference:.3f} → {observed:.3f} over {trials}"
    return judged(name, feature, abs(observed - reference), threshold, noise, detail)


def oov_rate(profile: ReferenceProfile, hashes: NDArray[np.uint32]) -> float:
    """The window's out-of-vocabulary rate against the profile's vocabulary."""
    return out_of_vocabulary(hashes, profile.vocabulary.arrays()[0])
