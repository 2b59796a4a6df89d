"""The gate for multi-class and regression models: the same rigour as the binary gate.

``compare_predictions`` sends a policy with ``task="multiclass"`` or ``task="regression"``
here. Every decision is a one-sided paired test of the primary metric on one frozen
evaluation set, guards for what the primary metric does not see, and, with no champion, the
same test against the trivial baseline plus the policy's floors (see ``stats`` for the tests).

* **multiclass, accuracy**: exact McNemar on per-row correctness (``b`` rows only the champion
  gets right, ``c`` only the challenger).
* **multiclass, macro_recall**: sign-flip randomisation test, swapping the two models'
  predictions row by row; each row weighs ``1 / (K · n_class)``.
* **regression, mae / rmse**: sign-flip randomisation test on per-row loss differences
  (absolute or squared error).
* Guards. Multi-class: every class with at least ``class_guard.min_rows`` rows must not lose
  recall: it fails on a point drop above ``max_recall_drop``, or on a one-sided McNemar drop
  whose Holm-adjusted p-value (across the checked classes) is below ``class_guard.alpha``;
  plus the policy's point margins (macro-F1 by default). Regression: RMSE may grow by at most
  ``rmse_max_increase`` (relative) when MAE is primary, and |bias| by at most
  ``bias_max_increase`` × the champion's MAE; and once above that margin, the challenger's bias
  may not have moved away from zero significantly (one-sided paired z-test on the residuals).
  A guard fails on either a point change beyond its margin or a significant harm, so a
  challenger that is harmful beyond noise is blocked, at the price of blocking up to the
  guard's alpha of challengers that are exactly as good on that guard.
* Cold start: the trivial baseline is the training majority class or the training mean
  (``baseline=``); without one, the evaluation set's own, a baseline that knows the answers'
  distribution and so is harder to beat.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from statistics import NormalDist
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from trunkml.errors import UsageError
from trunkml.evaluation.policy import GatePolicy, PrimaryMetric
from trunkml.evaluation.results import TOLERANCE, GateDecision, GuardResult, floor_result, guard_result
from trunkml.evaluation.slice_checks import slice_mask
from trunkml.evaluation.stats import holm, mcnemar_one_sided, newcombe_paired_interval, sign_flip_p
from trunkml.training.metrics import multiclass_metrics, regression_metrics


def _vector(values: ArrayLike, name: str, numeric: bool) -> NDArray[Any]:
    array = np.asarray(values)
    if array.ndim != 1:
        raise UsageError(f"{name} must be one-dimensional, got shape {array.shape}")
    if not numeric:
        if array.dtype.kind == "f" and np.isnan(array).any():
            raise UsageError(f"{name} holds NaN; every row needs a class")
        return array
    try:
        floats = array.astype(float)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"{name} must hold numbers: {exc}") from exc
    bad = np.flatnonzero(~np.isfinite(floats))
    if bad.size:
        rows = ", ".join(str(int(i) + 1) for i in bad[:5])
        raise UsageError(f"{name} holds {bad.size} value(s) that are NaN or infinite (rows {rows})")
    return floats


def task_inputs(
    y_true: ArrayLike, champion: ArrayLike | None, challenger: ArrayLike, numeric: bool
) -> tuple[NDArray[Any], NDArray[Any] | None, NDArray[Any]]:
    """Validated 1-D arrays of one length (numbers for regression, any class labels for multi-class)."""
    truth = _vector(y_true, "y_true", numeric)
    new = _vector(challenger, "challenger_pred", numeric)
    old = _vector(champion, "champion_pred", numeric) if champion is not None else None
    sizes = {len(truth), len(new), *([len(old)] if old is not None else [])}
    if len(sizes) > 1:
        raise UsageError(f"arrays differ in length: y_true={len(truth)}, challenger_pred={len(new)}")
    if len(truth) == 0:
        raise UsageError("the evaluation set is empty")
    return truth, old, new


def _trivial(truth: NDArray[Any], baseline: Any, numeric: bool) -> tuple[NDArray[Any], str]:
    if baseline is None:
        if numeric:
            baseline, origin = float(np.mean(truth)), "the evaluation set's mean"
        else:
            values, counts = np.unique(truth, return_counts=True)
            baseline, origin = values[int(np.argmax(counts))], "the evaluation set's majority class"
    else:
        origin = "the training mean" if numeric else "the training majority class"
    shown = f"{float(baseline):.4g}" if numeric else str(baseline)
    return np.full(len(truth), baseline, dtype=float if numeric else truth.dtype), f"{origin} ({shown})"


def _decision(
    policy: GatePolicy,
    mode: str,
    n: int,
    test: tuple[str, float, float],
    metrics: tuple[dict[str, float], dict[str, float]],
    guards: list[GuardResult],
    head: str,
    counts: tuple[int | None, int | None] = (None, None),
    interval: tuple[float, float, float] | None = None,
) -> GateDecision:
    name, p_value, difference = test
    significant = p_value < policy.alpha
    promote = significant and all(g.ok for g in guards)
    verdict = (
        "PROMOTE: the challenger is better and every guard holds"
        if promote
        else "REJECT: " + ("not significantly better" if not significant else "a guard fails")
    )
    return GateDecision(
        promote=promote,
        mode="paired" if mode == "paired" else "cold_start",
        task=policy.task,
        primary_metric=policy.primary_metric.value,
        test=name,
        alpha=policy.alpha,
        n=n,
        positives=0,
        b=counts[0],
        c=counts[1],
        p_value=p_value,
        difference=difference,
        ci_low=interval[0] if interval else None,
        ci_high=interval[1] if interval else None,
        ci_level=interval[2] if interval else None,
        champion_metrics=metrics[0],
        challenger_metrics=metrics[1],
        guards=guards,
        reasons=[verdict, head, *(g.reason for g in guards)],
        policy=policy,
        policy_digest=policy.digest,
    )


# -- multi-class ---------------------------------------------------------------------------------------------------


def _class_guards(
    truth: NDArray[Any], old: NDArray[Any], new: NDArray[Any], classes: Sequence[Any], policy: GatePolicy
) -> list[GuardResult]:
    guard = policy.class_guard
    checked = [k for k in classes if int(np.sum(truth == k)) >= guard.min_rows]
    drops, p_values = [], []
    for k in checked:
        rows = truth == k
        old_right, new_right = old[rows] == k, new[rows] == k
        b, c = int(np.sum(old_right & ~new_right)), int(np.sum(~old_right & new_right))
        drops.append((b - c) / int(rows.sum()))
        p_values.append(mcnemar_one_sided(c, b))  # H1: the challenger's recall on k is lower
    results = []
    for k, drop, p_holm in zip(checked, drops, holm(p_values), strict=True):
        too_far, surely = drop > guard.max_recall_drop + TOLERANCE, p_holm < guard.alpha
        ok = not (too_far or surely)
        why = "drops more than the margin" if too_far else "drops significantly" if surely else "holds"
        results.append(
            GuardResult(
                metric=f"recall.{k}",
                champion=float(np.mean(old[truth == k] == k)),
                challenger=float(np.mean(new[truth == k] == k)),
                threshold=float(np.mean(old[truth == k] == k)) - guard.max_recall_drop,
                max_drop=guard.max_recall_drop,
                ok=ok,
                reason=f"class {k}: recall {-drop * 100:+.1f} pts on {int(np.sum(truth == k))} rows, "
                f"Holm p(drop)={p_holm:.3g}; may drop at most {guard.max_recall_drop:.3f}: "
                + ("holds" if ok else f"FAILS ({why})"),
            )
        )
    return results


def _multiclass_test(
    truth: NDArray[Any], old: NDArray[Any], new: NDArray[Any], policy: GatePolicy
) -> tuple[tuple[str, float, float], tuple[int | None, int | None], tuple[float, float, float] | None, str]:
    old_right, new_right = old == truth, new == truth
    level = 1 - 2 * policy.alpha
    if policy.primary_metric is PrimaryMetric.ACCURACY:
        a, b = int(np.sum(old_right & new_right)), int(np.sum(old_right & ~new_right))
        c, d = int(np.sum(~old_right & new_right)), int(np.sum(~old_right & ~new_right))
        p_value = mcnemar_one_sided(b, c)
        low, high = newcombe_paired_interval(a, b, c, d, level)
        detail = f"one-sided exact McNemar on per-row correctness: c={c}, b={b}, p={p_value:.4g}"
        return ("exact McNemar (correctness)", p_value, (c - b) / len(truth)), (b, c), (low, high, level), detail
    _, inverse, counts = np.unique(truth, return_inverse=True, return_counts=True)
    weights = (new_right.astype(float) - old_right.astype(float)) / (len(counts) * counts[inverse])
    p_value = sign_flip_p(weights, policy.randomisations)
    detail = f"one-sided sign-flip randomisation test, {policy.randomisations} swaps: p={p_value:.4g}"
    return ("sign-flip randomisation (macro recall)", p_value, float(weights.sum())), (None, None), None, detail


def multiclass_guards(
    truth: NDArray[Any], old: NDArray[Any], new: NDArray[Any], policy: GatePolicy
) -> list[GuardResult]:
    """The policy's point guards (macro-F1) and every class's recall guard, on paired answers."""
    classes = sorted(set(truth.tolist()), key=str)
    before, after = multiclass_metrics(truth, old, classes), multiclass_metrics(truth, new, classes)
    guards = [guard_result(g.metric, before[g.metric], after[g.metric], g.max_drop) for g in policy.guards]
    return guards + _class_guards(truth, old, new, classes, policy)


def compare_multiclass(
    y_true: ArrayLike, champion_pred: ArrayLike | None, challenger_pred: ArrayLike, policy: GatePolicy, baseline: Any,
    slices: Mapping[str, ArrayLike] | None = None,
) -> GateDecision:  # fmt: skip
    """The multi-class decision (see the module docstring)."""
    truth, old, new = task_inputs(y_true, champion_pred, challenger_pred, numeric=False)
    classes = sorted(set(truth.tolist()), key=str)
    unseen = sorted({str(k) for k in set(new.tolist()) - set(classes)})
    never = sorted({str(k) for k in set(classes) - set(new.tolist())})
    mode = "paired" if old is not None else "cold_start"
    against = "the champion"
    if old is None:
        old, against = _trivial(truth, baseline, numeric=False)
    before, after = multiclass_metrics(truth, old, classes), multiclass_metrics(truth, new, classes)
    test, counts, interval, detail = _multiclass_test(truth, old, new, policy)
    metric = policy.primary_metric.value
    head = (
        f"{metric} {before[metric]:.3f} → {after[metric]:.3f} against {against}; {detail} "
        f"{'<' if test[1] < policy.alpha else '>='} alpha={policy.alpha}"
        + (f"; the challenger predicts classes the eval set lacks: {', '.join(unseen[:5])}" if unseen else "")
        + (
            f"; the challenger never predicts the eval set's class(es) {', '.join(never[:5])} (recall 0: a class "
            "it did not see in training, or cannot tell apart)"
            if never
            else ""
        )
    )
    if mode == "paired":
        guards = multiclass_guards(truth, old, new, policy)
        guards += slice_guards(truth, old, new, slices or {}, policy)
    else:
        guards = [floor_result(f.metric, after[f.metric], f.minimum) for f in policy.cold_start_floors]
    return _decision(policy, mode, len(truth), test, (before, after), guards, head, counts, interval)


# -- regression ----------------------------------------------------------------------------------------------------


def _regression_guards(
    residuals: tuple[NDArray[Any], NDArray[Any]], before: dict[str, float], after: dict[str, float], policy: GatePolicy
) -> list[GuardResult]:
    rules = policy.regression_guard
    results = []
    if policy.primary_metric is PrimaryMetric.MAE:
        limit = before["rmse"] * (1 + rules.rmse_max_increase)
        ok = after["rmse"] <= limit + TOLERANCE
        results.append(GuardResult(
            metric="rmse", champion=before["rmse"], challenger=after["rmse"], threshold=limit, ok=ok,
            reason=f"guard rmse: {before['rmse']:.4g} → {after['rmse']:.4g}; may grow by at most "
            f"{rules.rmse_max_increase:.0%}: {'holds' if ok else 'FAILS'}",
        ))  # fmt: skip
    old, new = abs(before["bias"]), abs(after["bias"])
    margin = rules.bias_max_increase * before["mae"]
    limit = old + margin
    # The shift of the challenger's bias in its own direction, in standard errors of the paired difference: on
    # one eval set a champion's bias of the other sign can hide a shift that makes the challenger more biased.
    spread = float(np.std(residuals[1] - residuals[0], ddof=1)) / np.sqrt(len(residuals[0]))
    z = float(np.sign(after["bias"]) * (after["bias"] - before["bias"]) / spread) if spread > 0 else 0.0
    too_far, surely = new > limit + TOLERANCE, new > margin and z > NormalDist().inv_cdf(1 - rules.alpha)
    ok = not (too_far or surely)
    why = "more than the margin" if too_far else f"away from zero significantly (z={z:.2f})"
    results.append(GuardResult(
        metric="abs_bias", champion=old, challenger=new, threshold=limit, ok=ok,
        reason=f"guard |bias|: {old:.4g} → {new:.4g}; may grow by at most {rules.bias_max_increase:.0%} of the "
        f"champion's MAE, and may not move away from zero significantly beyond that margin: "
        + ("holds" if ok else f"FAILS (grows {why})"),
    ))  # fmt: skip
    return results


def regression_guards(
    truth: NDArray[Any], old: NDArray[Any], new: NDArray[Any], policy: GatePolicy
) -> list[GuardResult]:
    """The RMSE and bias guards, on paired predictions."""
    before, after = regression_metrics(truth, old), regression_metrics(truth, new)
    return _regression_guards((old - truth, new - truth), before, after, policy)


def compare_regression(
    y_true: ArrayLike, champion_pred: ArrayLike | None, challenger_pred: ArrayLike, policy: GatePolicy, baseline: Any,
    slices: Mapping[str, ArrayLike] | None = None,
) -> GateDecision:  # fmt: skip
    """The regression decision (see the module docstring)."""
    truth, old, new = task_inputs(y_true, champion_pred, challenger_pred, numeric=True)
    mode = "paired" if old is not None else "cold_start"
    against = "the champion"
    if old is None:
        old, against = _trivial(truth, baseline, numeric=True)
    before, after = regression_metrics(truth, old), regression_metrics(truth, new)
    power = 1 if policy.primary_metric is PrimaryMetric.MAE else 2
    differences = np.abs(old - truth) ** power - np.abs(new - truth) ** power  # > 0: the challenger is better
    p_value = sign_flip_p(differences, policy.randomisations)
    mean = float(np.mean(differences))
    metric = policy.primary_metric.value
    loss = "absolute" if power == 1 else "squared"
    head = (
        f"{metric} {before[metric]:.4g} → {after[metric]:.4g} against {against}; one-sided sign-flip randomisation "
        f"test on per-row {loss} error differences (mean {mean:+.4g}, {policy.randomisations} flips): "
        f"p={p_value:.4g} {'<' if p_value < policy.alpha else '>='} alpha={policy.alpha}"
    )
    if mode == "paired":
        guards = regression_guards(truth, old, new, policy)
        guards += slice_guards(truth, old, new, slices or {}, policy)
    else:
        guards = [floor_result(f.metric, after[f.metric], f.minimum) for f in policy.cold_start_floors]
    test = (f"sign-flip randomisation ({loss} error)", p_value, after[metric] - before[metric])
    return _decision(policy, mode, len(truth), test, (before, after), guards, head, interval=_mae_interval(
        differences, policy.alpha) if power == 1 else None)  # fmt: skip


def _mae_interval(differences: NDArray[Any], alpha: float) -> tuple[float, float, float] | None:
    """The normal-approximation interval for the MAE change (challenger minus champion) at level 1 - 2·alpha."""
    if len(differences) < 2:
        return None
    half = NormalDist().inv_cdf(1 - alpha) * float(np.std(differences, ddof=1)) / float(np.sqrt(len(differences)))
    change = -float(np.mean(differences))
    return change - half, change + half, 1 - 2 * alpha


# -- slices --------------------------------------------------------------------------------------------------------


def slice_guards(
    truth: NDArray[Any], old: NDArray[Any], new: NDArray[Any], slices: Mapping[str, ArrayLike], policy: GatePolicy
) -> list[GuardResult]:
    """The slice guard of a multi-class or regression gate, one guard per slice with enough rows.

    Multi-class: each slice's accuracy, with the one-sided exact McNemar test on per-row correctness (is the
    challenger worse?). Regression: each slice's MAE (RMSE when it is primary), with the one-sided sign-flip
    test on per-row loss differences. The p-values are Holm-adjusted across the checked slices, and a slice
    fails only when its drop exceeds the margin and is significant, as for binary slices.
    """
    guard = policy.slice_guard
    if not guard.enabled or not slices:
        return []
    regression = policy.task == "regression"
    power = 2 if policy.primary_metric is PrimaryMetric.RMSE else 1
    found: list[tuple[str, int, float, float, float, float]] = []  # name, rows, before, after, drop, p
    for name, value in slices.items():
        mask = slice_mask(name, value, len(truth))
        rows = int(mask.sum())
        if rows < guard.min_positives:
            continue
        t, o, n = truth[mask], old[mask], new[mask]
        if regression:
            old_loss, new_loss = np.abs(o - t) ** power, np.abs(n - t) ** power
            before, after = float(np.mean(old_loss) ** (1 / power)), float(np.mean(new_loss) ** (1 / power))
            drop = (after - before) / before if before > 0 else float(after > 0)
            p_value = sign_flip_p(new_loss - old_loss, policy.randomisations)  # H1: the challenger's loss is higher
        else:
            old_right, new_right = o == t, n == t
            b, c = int(np.sum(old_right & ~new_right)), int(np.sum(~old_right & new_right))
            before, after = float(old_right.mean()), float(new_right.mean())
            drop, p_value = before - after, mcnemar_one_sided(c, b)
        found.append((name, rows, before, after, drop, p_value))
    metric = ("mae" if power == 1 else "rmse") if regression else "accuracy"
    margin = guard.max_loss_increase if regression else guard.max_recall_drop
    results = []
    for (name, rows, before, after, drop, _), p_holm in zip(found, holm([f[5] for f in found]), strict=True):
        ok = not (drop > margin + TOLERANCE and p_holm < guard.alpha)
        change = f"{drop:+.1%}" if regression else f"{-drop * 100:+.1f} pts"
        results.append(GuardResult(
            metric=f"slice:{name}", champion=before, challenger=after,
            threshold=before * (1 + margin) if regression else before - margin, ok=ok,
            reason=f"slice guard '{name}': {metric} {before:.4g} → {after:.4g} ({change} on {rows} rows), "
            f"Holm p(worse)={p_holm:.3g}; fails when it worsens by more than "
            f"{f'{margin:.0%}' if regression else f'{margin:.2f}'} and p < {guard.alpha}: "
            + ("holds" if ok else "FAILS"),
        ))  # fmt: skip
    return results
