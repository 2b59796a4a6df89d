"""The promotion decision: compare two models' predictions on one frozen evaluation set.

``compare_predictions(y_true, champion_pred, challenger_pred, policy)`` is the public
entry point; pass ``champion_pred=None`` when there is no champion yet (cold start: the
challenger must significantly beat the trivial model, the training majority class, with the
same paired test, and meet absolute floors; never an automatic pass). See ``stats`` for the test.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trunkml.errors import UsageError
from trunkml.evaluation.policy import GatePolicy, PrimaryMetric, Test
from trunkml.evaluation.results import GateDecision, GuardResult, floor_result, guard_result
from trunkml.evaluation.slice_checks import SliceResult, slice_reasons, slice_results
from trunkml.evaluation.stats import mcnemar_one_sided, newcombe_paired_interval
from trunkml.training.metrics import binary_metrics

CI_METHOD = "Newcombe (1998) method 10, paired, Wilson score"


def as_binary(values: ArrayLike, name: str) -> NDArray[np.int64]:
    """Validate a 1-D array-like of 0/1 (bools allowed) and return it as int64."""
    if isinstance(values, np.ma.MaskedArray):
        raise UsageError(f"{name} is a masked array; fill or drop the masked rows first")
    array = np.asarray(values)
    if np.iscomplexobj(array):
        raise UsageError(f"{name} must hold 0/1 values, not complex numbers")
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


def _same_index(named: dict[str, object]) -> None:
    """Labelled inputs (pandas) are compared by position, so their indexes must agree."""
    indexes = {
        name: value.index for name, value in named.items() if hasattr(value, "index") and not callable(value.index)
    }  # pandas Series/DataFrame, not list.index
    first = next(iter(indexes.values()), None)
    if first is not None and any(not first.equals(other) for other in indexes.values()):
        raise UsageError(f"the indexes of {', '.join(indexes)} differ; align them (or pass plain arrays)")


def _inputs(y_true: ArrayLike, champion: ArrayLike | None, challenger: ArrayLike) -> tuple[NDArray[np.int64], ...]:
    named: dict[str, object] = {"y_true": y_true, "challenger_pred": challenger}
    if champion is not None:
        named["champion_pred"] = champion
    _same_index(named)
    arrays = [as_binary(value, name) for name, value in named.items()]  # type: ignore[arg-type]
    truth = arrays[0]
    if len({len(array) for array in arrays}) > 1:
        sizes = ", ".join(f"{name}={len(array)}" for name, array in zip(named, arrays, strict=True))
        raise UsageError(f"arrays differ in length: {sizes}")
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


def _undefined(metric: str, predictions: NDArray[np.int64]) -> bool:
    """Precision has no value when a model predicts no positives (0/0)."""
    return metric == "precision" and not predictions.any()


def _checked_guard(
    metric: str,
    max_drop: float,
    champion: NDArray[np.int64],
    champion_metrics: dict[str, float],
    challenger_metrics: dict[str, float],
    policy: GatePolicy,
) -> GuardResult:
    """A guard; if the champion's value is undefined, the challenger must meet the cold-start floor instead."""
    if not _undefined(metric, champion):
        return guard_result(metric, champion_metrics[metric], challenger_metrics[metric], max_drop)
    floor = policy.floor(metric)
    if floor is None:
        return GuardResult(
            metric=metric,
            challenger=challenger_metrics[metric],
            threshold=1.0,
            ok=False,
            reason=f"guard {metric}: the champion's {metric} is undefined and the policy has no "
            f"cold-start floor for it: FAILS (closed)",
        )
    result = floor_result(metric, challenger_metrics[metric], floor)
    return result.model_copy(
        update={"reason": f"guard {metric}: the champion's is undefined (no positive predictions); {result.reason}"}
    )


def _trivial_counts(
    truth: NDArray[np.int64], trivial: NDArray[np.int64], challenger: NDArray[np.int64], metric: PrimaryMetric
) -> tuple[int, int, int, str]:
    """(rows, b, c, what was tested) of the challenger against the constant ``trivial`` answer.

    On the primary metric's rows, as the paired gate tests. Where the constant answer is right on every one of
    those rows (the majority class is the metric's own class), no model can beat it there, so the test is on
    per-row correctness over every row instead: the challenger must be right more often than the constant.
    """
    target = 1 if metric is PrimaryMetric.RECALL else 0
    if not (trivial == target).all():
        a, b, c, d = _paired_counts(truth, trivial, challenger, metric)
        return a + b + c + d, b, c, "positives" if metric is PrimaryMetric.RECALL else "negatives"
    trivial_right, challenger_right = trivial == truth, challenger == truth
    b = int(np.sum(trivial_right & ~challenger_right))
    c = int(np.sum(~trivial_right & challenger_right))
    return len(truth), b, c, "rows (per-row correctness: the constant answer is right on every row of the metric)"


def _cold_start(
    truth: NDArray[np.int64], challenger: NDArray[np.int64], policy: GatePolicy, slices: list[SliceResult],
    baseline: Any = None,
) -> GateDecision:  # fmt: skip
    """No champion: the challenger must beat the trivial model (the training majority class) significantly, with
    the paired test of the primary metric, and meet every cold-start floor."""
    metrics = binary_metrics(truth, challenger)
    floors = [
        floor_result(f.metric, metrics[f.metric], f.minimum)
        for f in sorted(policy.cold_start_floors, key=lambda f: f.metric)
    ]
    if baseline in (0, 1):
        majority, origin = int(baseline), "the training majority class"
    else:
        majority, origin = int(truth.mean() > 0.5), "the evaluation set's majority class"
    trivial = np.full(len(truth), majority, dtype=np.int64)
    rows, b, c, tested = _trivial_counts(truth, trivial, challenger, policy.primary_metric)
    p_value = mcnemar_one_sided(b, c, mid_p=policy.test is Test.MID_P)
    significant, enough = p_value < policy.alpha, b + c >= policy.min_discordant
    promote = significant and enough and all(f.ok for f in floors)
    metric = policy.primary_metric.value
    trivial_value = binary_metrics(truth, trivial)[metric]
    head = "no champion yet: the cold-start policy applies (beat the trivial baseline, and absolute floors); " + (
        "it is beaten and all floors hold"
        if promote
        else "not significantly better than the trivial baseline"
        if not significant
        else "too few discordant pairs"
        if not enough
        else "a floor fails"
    )
    test = (
        f"{metric} {trivial_value:.3f} → {metrics[metric]:.3f} against {origin} ({majority}); one-sided "
        f"{policy.test.value} McNemar on {rows} {tested}: challenger-only right c={c}, baseline-only right b={b}, "
        f"p={p_value:.4g} {'<' if significant else '>='} alpha={policy.alpha}"
    )
    reasons = [head, test]
    if not enough:
        reasons.append(f"only {b + c} discordant pairs; the policy needs at least {policy.min_discordant}")
    return GateDecision(
        promote=promote,
        mode="cold_start",
        primary_metric=metric,
        test=policy.test.value,
        alpha=policy.alpha,
        n=len(truth),
        positives=int(truth.sum()),
        b=b,
        c=c,
        p_value=p_value,
        challenger_metrics=metrics,
        guards=floors,
        slices=slices,
        reasons=[*reasons, *(f.reason for f in floors)],
        policy=policy,
        policy_digest=policy.digest,
    )


def compare_predictions(
    y_true: ArrayLike,
    champion_pred: ArrayLike | None,
    challenger_pred: ArrayLike,
    policy: GatePolicy | None = None,
    slices: Mapping[str, ArrayLike] | None = None,
    baseline: Any = None,
) -> GateDecision:
    """Decide whether the challenger replaces the champion (see the module docs for the statistics).

    ``slices`` maps a slice name to a boolean row mask; each gets per-slice metrics, and the
    policy's slice guard applies to them (see ``evaluation.slices``). A multi-class or regression
    policy (``GatePolicy(task=...)``) is decided by ``evaluation.task_gate``; ``baseline`` is then the
    trivial model's answer a first challenger must beat (the training majority class or mean).
    """
    policy = policy or GatePolicy()
    if policy.task != "binary":
        from trunkml.evaluation.task_gate import compare_multiclass, compare_regression

        compare = compare_multiclass if policy.task == "multiclass" else compare_regression
        return compare(y_true, champion_pred, challenger_pred, policy, baseline, slices)
    arrays = _inputs(y_true, champion_pred, challenger_pred)
    truth, challenger = arrays[0], arrays[1]
    level = 1 - 2 * policy.alpha
    champion = arrays[2] if champion_pred is not None else None
    sliced = slice_results(truth, champion, challenger, slices or {}, policy.slice_guard, level)
    if champion is None:
        return _cold_start(truth, challenger, policy, sliced, baseline)
    a, b, c, d = _paired_counts(truth, champion, challenger, policy.primary_metric)
    p_value = mcnemar_one_sided(b, c, mid_p=policy.test is Test.MID_P)
    low, high = newcombe_paired_interval(a, b, c, d, level)
    champion_metrics, challenger_metrics = binary_metrics(truth, champion), binary_metrics(truth, challenger)
    guards = [
        _checked_guard(g.metric, g.max_drop, champion, champion_metrics, challenger_metrics, policy)
        for g in policy.guards
    ]

    enough = b + c >= policy.min_discordant
    significant = p_value < policy.alpha
    slices_hold = not any(s.flagged for s in sliced)
    promote = significant and enough and all(g.ok for g in guards) and slices_hold
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
    reasons.extend(slice_reasons(sliced, policy.slice_guard))
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
            if not all(g.ok for g in guards)
            else "recall drops on a slice"
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
        slices=sliced,
        reasons=reasons,
        policy=policy,
        policy_digest=policy.digest,
    )
