"""The multi-class and regression gates through the public API: tests, guards, cold start and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from trunkml.errors import UsageError
from trunkml.evaluation import GatePolicy, compare_predictions
from trunkml.evaluation.stats import sign_flip_p

CLASSES = np.array(["billing", "fault", "other", "sales"])


def multiclass(rng: np.random.Generator, n: int, old: list[float], new: list[float]) -> tuple[np.ndarray, ...]:
    """Rows of 4 named classes; each model is right on class k with probability old[k] / new[k]."""
    truth = CLASSES[np.arange(n) % 4]
    right_old = rng.random(n) < np.array(old)[np.arange(n) % 4]
    right_new = rng.random(n) < np.array(new)[np.arange(n) % 4]
    wrong = CLASSES[(np.arange(n) % 4 + rng.integers(1, 4, n)) % 4]
    return truth, np.where(right_old, truth, wrong), np.where(right_new, truth, wrong)


def test_a_better_multiclass_model_is_promoted_by_an_exact_mcnemar_on_correctness() -> None:
    truth, old, new = multiclass(np.random.default_rng(1), 2000, [0.7] * 4, [0.8] * 4)
    decision = compare_predictions(truth, old, new, policy=GatePolicy(task="multiclass", primary_metric="accuracy"))
    assert decision.promote, decision.reasons
    assert decision.task == "multiclass"
    assert decision.b is not None
    assert decision.c is not None
    assert decision.c - decision.b == pytest.approx(decision.difference * 2000)
    assert decision.challenger_metrics["recall.fault"] > decision.champion_metrics["recall.fault"]
    assert "exact McNemar" in decision.reasons[1]


def test_a_class_that_loses_recall_blocks_promotion_even_when_accuracy_rises() -> None:
    truth, old, new = multiclass(np.random.default_rng(2), 4000, [0.7] * 4, [0.55, 0.85, 0.85, 0.85])
    decision = compare_predictions(truth, old, new, policy=GatePolicy(task="multiclass"))
    assert decision.challenger_metrics["accuracy"] > decision.champion_metrics["accuracy"]
    assert not decision.promote
    failed = [g for g in decision.guards if not g.ok]
    assert [g.metric for g in failed] == ["recall.billing"]
    assert "FAILS" in failed[0].reason


def test_macro_recall_uses_a_reproducible_randomisation_test() -> None:
    truth, old, new = multiclass(np.random.default_rng(3), 1200, [0.7] * 4, [0.78] * 4)
    policy = GatePolicy(task="multiclass", primary_metric="macro_recall", randomisations=999)
    first, again = (
        compare_predictions(truth, old, new, policy=policy),
        compare_predictions(truth, old, new, policy=policy),
    )
    assert first.p_value == again.p_value
    assert first.p_value is not None
    assert first.p_value < 0.01
    assert "sign-flip" in first.test


def test_an_unknown_class_in_the_predictions_is_reported_not_a_crash() -> None:
    truth, old, new = multiclass(np.random.default_rng(4), 400, [0.8] * 4, [0.8] * 4)
    new = new.astype(object)
    new[:5] = "refund"
    decision = compare_predictions(truth, old, new, policy=GatePolicy(task="multiclass"))
    assert "the challenger predicts classes the eval set lacks: refund" in decision.reasons[1]


def test_multiclass_cold_start_must_beat_the_majority_class() -> None:
    truth, _, new = multiclass(np.random.default_rng(5), 800, [0.8] * 4, [0.8] * 4)
    policy = GatePolicy(task="multiclass")
    decision = compare_predictions(truth, None, new, policy=policy, baseline="billing")
    assert decision.mode == "cold_start"
    assert decision.promote, decision.reasons
    assert "the training majority class (billing)" in decision.reasons[1]
    trivial = compare_predictions(truth, None, np.full(800, "billing"), policy=policy, baseline="billing")
    assert not trivial.promote  # the baseline itself is never better than the baseline


def regression(rng: np.random.Generator, n: int, scale: float, shift: float = 0.0) -> tuple[np.ndarray, ...]:
    truth = rng.normal(50, 10, n)
    shared = rng.standard_t(3, n)
    old = truth + shared + rng.standard_t(3, n)
    new = truth + scale * (shared + rng.standard_t(3, n)) + shift
    return truth, old, new


def test_a_regression_model_with_lower_mae_is_promoted_and_one_with_more_bias_is_not() -> None:
    rng = np.random.default_rng(6)
    truth, old, new = regression(rng, 3000, 0.85)
    decision = compare_predictions(truth, old, new, policy=GatePolicy(task="regression"))
    assert decision.promote, decision.reasons
    assert decision.difference is not None
    assert decision.difference < 0  # MAE went down
    assert decision.ci_high is not None
    assert decision.ci_high < 0
    biased = compare_predictions(*regression(rng, 3000, 0.85, shift=1.0), policy=GatePolicy(task="regression"))
    assert not biased.promote
    assert [g.metric for g in biased.guards if not g.ok] == ["abs_bias"]


def test_regression_cold_start_uses_the_same_test_against_the_training_mean() -> None:
    truth, _, new = regression(np.random.default_rng(7), 500, 0.5)
    policy = GatePolicy(task="regression", primary_metric="rmse")
    decision = compare_predictions(truth, None, new, policy=policy, baseline=50.0)
    assert decision.promote, decision.reasons
    assert "squared error" in decision.reasons[1]
    assert "the training mean (50)" in decision.reasons[1]
    noise = compare_predictions(truth, None, np.full(500, 50.0) + 0.01, policy=policy, baseline=50.0)
    assert not noise.promote


def test_nan_predictions_and_policies_of_the_wrong_task_are_refused() -> None:
    truth, old, new = regression(np.random.default_rng(8), 50, 1.0)
    new[[3, 7]] = np.nan
    with pytest.raises(UsageError, match=r"challenger_pred holds 2 value\(s\) that are NaN or infinite \(rows 4, 8\)"):
        compare_predictions(truth, old, new, policy=GatePolicy(task="regression"))
    with pytest.raises(ValidationError, match=r"a regression gate compares mae, rmse, not 'recall'"):
        GatePolicy(task="regression", primary_metric="recall")
    with pytest.raises(ValidationError, match=r"'precision' is not a multiclass metric"):
        GatePolicy(task="multiclass", guards=[{"metric": "precision", "max_drop": 0.1}])


def test_a_binary_policy_digests_as_before_tasks_existed() -> None:
    # Decisions recorded by earlier versions name this digest; it must not change for binary policies.
    assert GatePolicy().digest == "342edae9f3007cad8efbff4d3ebcb472b07367349a46971b1740b748e37723c2"
    assert GatePolicy(task="multiclass").digest != GatePolicy(task="regression").digest


def test_sign_flips_hold_their_level_on_skewed_differences_with_mean_zero() -> None:
    rng = np.random.default_rng(9)
    rejected = [sign_flip_p(rng.lognormal(0, 1, 500) - np.exp(0.5), 199, seed=i) < 0.05 for i in range(300)]
    assert np.mean(rejected) <= 0.09
    assert sign_flip_p(np.full(500, 0.1) + rng.normal(0, 1, 500), 199) < 0.1
    assert sign_flip_p(np.zeros(10), 99) == 1.0


def test_a_multiclass_challenger_worse_on_one_slice_is_rejected_and_a_noisy_dip_is_not() -> None:
    rng = np.random.default_rng(21)
    truth, old, new = multiclass(rng, 4000, [0.75] * 4, [0.80] * 4)
    region = np.arange(4000) < 600
    new = np.where(region & (rng.random(4000) < 0.3), CLASSES[(np.arange(4000) + 1) % 4], new)  # worse there
    policy = GatePolicy(task="multiclass")
    whole = compare_predictions(truth, old, new, policy=policy)
    assert whole.promote, whole.reasons  # better overall
    sliced = compare_predictions(truth, old, new, policy=policy, slices={"north": region, "rest": ~region})
    assert not sliced.promote
    failing = [g for g in sliced.guards if not g.ok]
    assert [g.metric for g in failing] == ["slice:north"]
    assert "slice guard 'north': accuracy" in failing[0].reason
    tiny = compare_predictions(truth, old, new, policy=policy, slices={"north": region & (np.arange(4000) < 20)})
    assert tiny.promote  # 20 rows: under min_positives, not checked


def test_a_regression_challenger_worse_on_one_slice_is_rejected() -> None:
    rng = np.random.default_rng(22)
    truth, old, new = regression(rng, 3000, 0.85)
    region = np.arange(3000) < 400
    new = np.where(region, truth + 2.0 * (new - truth), new)  # twice the error on the region
    policy = GatePolicy(task="regression")
    sliced = compare_predictions(truth, old, new, policy=policy, slices={"clinic a": region})
    assert not sliced.promote
    [failing] = [g for g in sliced.guards if not g.ok]
    assert failing.metric == "slice:clinic a"
    assert failing.challenger > failing.champion  # MAE grew on the slice


def test_an_eval_class_the_challenger_never_saw_is_reported_not_a_crash() -> None:
    truth, old, new = multiclass(np.random.default_rng(23), 800, [0.8] * 4, [0.8] * 4)
    truth = truth.astype(object)
    truth[:40] = "chargeback"  # a class neither model was trained on
    decision = compare_predictions(truth, old, new, policy=GatePolicy(task="multiclass"))
    assert "never predicts the eval set's class(es) chargeback" in decision.reasons[1]
