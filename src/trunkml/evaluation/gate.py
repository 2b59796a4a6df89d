"""The promotion decision: compare two models' predictions on one frozen evaluation set.

``compare_predictions(y_true, champion_pred, challenger_pred, policy)`` is the public
entry point; pass ``champion_pred=None`` when there is no champion yet (cold start:
absolute floors, never an automatic pass). See ``stats`` for the test itself.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict

from trunkml.errors import UsageError
from trunkml.evaluation.policy import GatePolicy, PrimaryMetric, Test
from trunkml.evaluation.stats import mcnemar_one_sided, newcombe_paired_interval
from trunkml.training.metrics import binary_metrics

CI_METHOD = "Newcombe (1998) method 10, paired, Wilson score"
TOLERANCE = 1e-12


class GuardResult(BaseModel):
    """One guard (or cold-start floor) and whether it held."""

    model_config = ConfigDict(frozen=True)

    metric: str
    challenger: float
    threshold: float
    champion: float | None = None
    max_drop: float | None = None
    ok: bool
    reason: str


class GateDecision(BaseModel):
    """A reproducible promotion decision: the inputs' summary, the test, every check, the verdict."""

    model_config = ConfigDict(frozen=True)

    promote: bool
    mode: Literal["paired", "cold_start"]
    primary_metric: str
    test: str
    alpha: float
    n: int
    positives: int
    b: int | None = None
    c: int | None = None
    p_value: float | None = None
    difference: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    ci_level: float | None = None
    ci_method: str | None = None
    champion_metrics: dict[str, float] | None = None
    challenger_metrics: dict[str, float]
    guards: list[GuardResult]
    reasons: list[str]
    policy: GatePolicy
    policy_digest: str


def as_binary(values: ArrayLike, name: str) -> NDArray[np.int64]:
    """Validate a 1-D array-like of 0/1 (bools allowed) and return it as int64."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise UsageError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.dtype == bool:
        return array.astype(np.int64)
    try:
        numeric = array.astype(float)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{name} must hold 0/1 values: {exc}") from exc
    bad = sorted({str(v) for v in array[(numeric != 0) & (numeric != 1)].tolist()})
    if bad:
        raise UsageError(f"{name} must hold only 0 and 1; found {', '.join(bad[:5])}")
    return numeric.astype(np.int64)


def _inputs(y_true: ArrayLike, champion: ArrayLike | None, challenger: ArrayLike) -> tuple[NDArray[np.int64], ...]:
    truth = as_binary(y_true, "y_true")
    arrays = [truth, as_binary(challenger, "challenger_pred")]
    if champion is not None:
        arrays.append(as_binary(champion, "champion_pred"))
    lengths = {len(array) for array in arrays}
    if len(lengths) > 1:
        raise UsageError(f"arrays differ in length: {', '.join(str(len(a)) for a in arrays)}")
    if len(truth) == 0:
        raise UsageError("the evaluation set is empty")
    if truth.min() == truth.max():
        raise UsageError(f"the evaluation set has only class {int(truth[0])}; recall and precision need both")
    return tuple(arrays)


def _paired_counts(
    truth: NDArray[np.int64], champion: NDArray[np.int64], challenger: NDArray[np.int64], metric: PrimaryMetric
) -> tuple[int, int, int, int]:
    """(a, b, c, d) on the rows the primary metric is about: positives for recall, negatives for specificity."""
    target = 1 if metric is PrimaryMetric.RECALL else 0
    rows = truth == target
    champion_right, challenger_right = champion[rows] == target, challenger[rows] == target
    a = int(np.sum(champion_right & challenger_right))
    b = int(np.sum(champion_right & ~challenger_right))
    c = int(np.sum(~champion_right & challenger_right))
    d = int(np.sum(~champion_right & ~challenger_right))
    return a, b, c, d


def _guard(metric: str, champion: float, challenger: float, max_drop: float) -> GuardResult:
    threshold = champion - max_drop
    ok = challenger >= threshold - TOLERANCE
    verdict = "holds" if ok else "FAILS"
    reason = (
        f"guard {metric}: {champion:.3f} → {challenger:.3f} ({challenger - champion:+.3f}); "
        f"may drop at most {max_drop:.3f}: {verdict}"
    )
    return GuardResult(
        metric=metric,
        champion=champion,
        challenger=challenger,
        threshold=threshold,
        max_drop=max_drop,
        ok=ok,
        reason=reason,
    )


def _floor(metric: str, challenger: float, floor: float) -> GuardResult:
    ok = challenger >= floor - TOLERANCE
    reason = f"cold-start floor {metric}: {challenger:.3f} must be >= {floor:.3f}: {'holds' if ok else 'FAILS'}"
    return GuardResult(metric=metric, challenger=challenger, threshold=floor, ok=ok, reason=reason)


def _cold_start(truth: NDArray[np.int64], challenger: NDArray[np.int64], policy: GatePolicy) -> GateDecision:
    metrics = binary_metrics(truth, challenger)
    floors = [_floor(metric, metrics[metric], floor) for metric, floor in sorted(policy.cold_start_floors.items())]
    promote = all(f.ok for f in floors)
    head = "no champion yet: the cold-start policy applies (absolute floors, never an automatic pass); " + (
        "all floors hold" if promote else "a floor fails"
    )
    return GateDecision(
        promote=promote,
        mode="cold_start",
        primary_metric=policy.primary_metric.value,
        test=policy.test.value,
        alpha=policy.alpha,
        n=len(truth),
        positives=int(truth.sum()),
        challenger_metrics=metrics,
        guards=floors,
        reasons=[head, *(f.reason for f in floors)],
        policy=policy,
        policy_digest=policy.digest,
    )


def compare_predictions(
    y_true: ArrayLike, champion_pred: ArrayLike | None, challenger_pred: ArrayLike, policy: GatePolicy | None = None
) -> GateDecision:
    """Decide whether the challenger replaces the champion (see the module docs for the statistics)."""
    policy = policy or GatePolicy()
    arrays = _inputs(y_true, champion_pred, challenger_pred)
    truth, challenger = arrays[0], arrays[1]
    if champion_pred is None:
        return _cold_start(truth, challenger, policy)
    champion = arrays[2]
    a, b, c, d = _paired_counts(truth, champion, challenger, policy.primary_metric)
    p_value = mcnemar_one_sided(b, c, mid_p=policy.test is Test.MID_P)
    level = 1 - 2 * policy.alpha
    low, high = newcombe_paired_interval(a, b, c, d, level)
    champion_metrics, challenger_metrics = binary_metrics(truth, champion), binary_metrics(truth, challenger)
    guards = [
        _guard(g.metric, champion_metrics[g.metric], challenger_metrics[g.metric], g.max_drop) for g in policy.guards
    ]
    enough = b + c >= policy.min_discordant
    significant = p_value < policy.alpha
    promote = significant and enough and all(g.ok for g in guards)
    metric = policy.primary_metric.value
    before, after = champion_metrics[metric], challenger_metrics[metric]
    reasons = [
        f"{metric} {before:.3f} → {after:.3f} ({(after - before) * 100:+.1f} pts, {level:.0%} CI "
        f"[{low * 100:+.1f}, {high * 100:+.1f}] pts); one-sided {policy.test.value} McNemar on {a + b + c + d} "
        f"{'positives' if metric == 'recall' else 'negatives'}: challenger-only right c={c}, champion-only right "
        f"b={b}, p={p_value:.4g} {'<' if significant else '>='} alpha={policy.alpha}",
    ]
    if not enough:
        reasons.append(f"only {b + c} discordant pairs; the policy needs at least {policy.min_discordant}")
    reasons.extend(g.reason for g in guards)
    reasons.insert(
        0,
        "PROMOTE: the challenger is better and every guard holds"
        if promote
        else "REJECT: "
        + (
            "not significantly better"
            if not significant
            else "too few discordant pairs"
            if not enough
            else "a guard fails"
        ),
    )
    return GateDecision(
        promote=promote,
        mode="paired",
        primary_metric=metric,
        test=policy.test.value,
        alpha=policy.alpha,
        n=len(truth),
        positives=int(truth.sum()),
        b=b,
        c=c,
        p_value=p_value,
        difference=after - before,
        ci_low=low,
        ci_high=high,
        ci_level=level,
        ci_method=CI_METHOD,
        champion_metrics=champion_metrics,
        challenger_metrics=challenger_metrics,
        guards=guards,
        reasons=reasons,
        policy=policy,
        policy_digest=policy.digest,
    )
