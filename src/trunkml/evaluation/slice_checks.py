"""Per-slice metrics and the slice guard: a challenger may not lose recall on a well-supported slice.

For each slice the eval set declares, both models get recall and precision with 95% Wilson
intervals, and the recall difference gets the paired (Newcombe) interval at the gate's level.

The guard looks at every slice with at least ``min_positives`` positives. On each it asks a
one-sided exact McNemar test whether the challenger's recall is *lower* (champion-only right
``b`` against challenger-only right ``c`` on the slice's positives). With many slices some
test would come out "significant" by chance, so the p-values are Holm-adjusted across the
checked slices, which keeps the chance of any false alarm at or below ``alpha`` for any
slices' overlap. A slice fails only when both hold: the point drop exceeds ``max_recall_drop``
and its Holm-adjusted p-value is below ``alpha``. A small drop that is surely real, or a large
one that could be noise, is reported but does not block.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict

from trunkml.errors import UsageError
from trunkml.evaluation.policy import SliceGuard
from trunkml.evaluation.stats import holm, mcnemar_one_sided, newcombe_paired_interval, wilson_interval

Z95 = 1.959963984540054


class Interval(BaseModel):
    """A proportion and its 95% Wilson interval (None where the denominator is 0)."""

    model_config = ConfigDict(frozen=True)

    value: float | None
    low: float | None
    high: float | None
    n: int


class SliceResult(BaseModel):
    """One slice: its size, both models' recall and precision, the paired drop test and the verdict."""

    model_config = ConfigDict(frozen=True)

    name: str
    rows: int
    positives: int
    challenger_recall: Interval
    challenger_precision: Interval
    champion_recall: Interval | None = None
    champion_precision: Interval | None = None
    recall_difference: float | None = None
    difference_low: float | None = None
    difference_high: float | None = None
    b: int | None = None
    c: int | None = None
    p_drop: float | None = None
    p_holm: float | None = None
    checked: bool = False
    flagged: bool = False


def _interval(successes: int, n: int) -> Interval:
    if n == 0:
        return Interval(value=None, low=None, high=None, n=0)
    low, high = wilson_interval(successes, n, Z95)
    return Interval(value=successes / n, low=low, high=high, n=n)


def _recall(truth: NDArray[np.int64], pred: NDArray[np.int64]) -> Interval:
    positives = truth == 1
    return _interval(int(np.sum(pred[positives] == 1)), int(positives.sum()))


def _precision(truth: NDArray[np.int64], pred: NDArray[np.int64]) -> Interval:
    flagged = pred == 1
    return _interval(int(np.sum(truth[flagged] == 1)), int(flagged.sum()))


def slice_mask(name: str, value: ArrayLike, rows: int) -> NDArray[np.bool_]:
    mask = np.asarray(value)
    if mask.ndim != 1 or len(mask) != rows:
        raise UsageError(f"slice '{name}' has {len(mask) if mask.ndim == 1 else mask.shape} rows; the eval set {rows}")
    return mask.astype(bool)


def slice_results(
    truth: NDArray[np.int64],
    champion: NDArray[np.int64] | None,
    challenger: NDArray[np.int64],
    slices: Mapping[str, ArrayLike],
    guard: SliceGuard,
    level: float,
) -> list[SliceResult]:
    """Per-slice metrics for both models and, with a champion, the Holm-corrected drop test."""
    results: list[SliceResult] = []
    for name, value in slices.items():
        mask = slice_mask(name, value, len(truth))
        t, new = truth[mask], challenger[mask]
        result = SliceResult(
            name=name,
            rows=int(mask.sum()),
            positives=int(t.sum()),
            challenger_recall=_recall(t, new),
            challenger_precision=_precision(t, new),
        )
        if champion is not None:
            old = champion[mask]
            positives = t == 1
            old_right, new_right = old[positives] == 1, new[positives] == 1
            a, b = int(np.sum(old_right & new_right)), int(np.sum(old_right & ~new_right))
            c, d = int(np.sum(~old_right & new_right)), int(np.sum(~old_right & ~new_right))
            low, high = newcombe_paired_interval(a, b, c, d, level) if a + b + c + d else (None, None)
            result = result.model_copy(
                update={
                    "champion_recall": _recall(t, old),
                    "champion_precision": _precision(t, old),
                    "recall_difference": (c - b) / (a + b + c + d) if a + b + c + d else None,
                    "difference_low": low,
                    "difference_high": high,
                    "b": b,
                    "c": c,
                    "p_drop": mcnemar_one_sided(c, b),  # roles swapped: is the challenger worse?
                    "checked": guard.enabled and int(t.sum()) >= guard.min_positives,
                }
            )
        results.append(result)
    checked = [i for i, r in enumerate(results) if r.checked]
    adjusted = holm([results[i].p_drop or 1.0 for i in checked])
    for i, p_holm in zip(checked, adjusted, strict=True):
        drop = -(results[i].recall_difference or 0.0)
        flagged = drop > guard.max_recall_drop and p_holm < guard.alpha
        results[i] = results[i].model_copy(update={"p_holm": p_holm, "flagged": flagged})
    return results


def slice_reasons(results: list[SliceResult], guard: SliceGuard) -> list[str]:
    """The guard's lines for the decision: each failing slice, then a one-line summary."""
    checked = [r for r in results if r.checked]
    if not results or not any(r.champion_recall is not None for r in results):
        return []
    lines = []
    for r in (r for r in checked if r.flagged):
        before = r.champion_recall.value if r.champion_recall else None
        lines.append(
            f"slice guard '{r.name}': recall {before or 0:.3f} → {r.challenger_recall.value or 0:.3f} "
            f"({(r.recall_difference or 0) * 100:+.1f} pts on {r.positives} positives); one-sided drop "
            f"p={r.p_drop or 0:.3g}, Holm-adjusted {r.p_holm or 0:.3g} < {guard.alpha}: FAILS"
        )
    small = len(results) - len(checked)
    verdict = "FAILS" if any(r.flagged for r in checked) else "holds"
    lines.append(
        f"slice guard: {len(checked)} slice(s) with >= {guard.min_positives} positives checked"
        f"{f' ({small} smaller reported only)' if small else ''}; a slice fails when recall drops more than "
        f"{guard.max_recall_drop:.2f} and the Holm-adjusted one-sided p < {guard.alpha}: {verdict}"
    )
    return lines
