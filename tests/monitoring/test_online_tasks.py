"""Online performance and triggers for multi-class and regression models, from labelled log rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trunkml.config.project import RetrainTriggers
from trunkml.monitoring.online import online_text, per_version
from trunkml.monitoring.retraining import evaluate


def labelled(truth: np.ndarray, predicted: np.ndarray) -> pd.DataFrame:
    n = len(truth)
    return pd.DataFrame({"version": 3, "route": "champion", "ts": np.arange(n, dtype=float), "score": predicted,
                         "label": predicted, "truth": truth})  # fmt: skip


def test_multiclass_online_accuracy_and_macro_f1_come_with_intervals_and_a_floor() -> None:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 4, 400)
    predicted = np.where(rng.random(400) < 0.7, truth, (truth + 1) % 4)
    [metrics] = per_version(labelled(truth, predicted), "multiclass")
    assert metrics.accuracy == pytest.approx(np.mean(truth == predicted))
    assert metrics.accuracy_low is not None
    assert metrics.accuracy_high is not None
    assert metrics.accuracy_low < metrics.accuracy < metrics.accuracy_high
    assert metrics.macro_f1_low is not None
    assert metrics.macro_f1_high is not None
    assert metrics.macro_f1_low < metrics.macro_f1 < metrics.macro_f1_high  # type: ignore[operator]
    assert online_text(metrics).startswith(f"accuracy {metrics.accuracy:.3f} [")
    assert "macro-F1" in online_text(metrics)
    fired = evaluate(RetrainTriggers(min_accuracy=0.8), [], [metrics], 3, None)
    assert [t.name for t in fired if t.fired] == ["accuracy_floor"]
    held = evaluate(RetrainTriggers(min_accuracy=0.6), [], [metrics], 3, None)
    assert not any(t.fired for t in held)


def test_regression_online_mae_has_an_interval_bias_and_a_ceiling_judged_from_enough_rows() -> None:
    rng = np.random.default_rng(1)
    truth = rng.normal(100, 20, 300)
    predicted = truth + rng.normal(2, 10, 300)
    [metrics] = per_version(labelled(truth, predicted), "regression")
    assert metrics.mae == pytest.approx(np.mean(np.abs(predicted - truth)))
    assert metrics.bias == pytest.approx(np.mean(predicted - truth))
    assert metrics.mae_low is not None
    assert metrics.mae_high is not None
    assert metrics.mae_low < metrics.mae < metrics.mae_high
    fired = evaluate(RetrainTriggers(max_mae=5), [], [metrics], 3, None)
    assert [t.name for t in fired if t.fired] == ["mae_ceiling"]
    [few] = per_version(labelled(truth[:10], predicted[:10]), "regression")
    unjudged = evaluate(RetrainTriggers(max_mae=5), [], [few], 3, None)
    assert not any(t.fired for t in unjudged)
    assert "judged from 30 labelled" in unjudged[-1].reason


def test_a_multiclass_shadow_that_gains_accuracy_by_dropping_a_class_is_not_called_better() -> None:
    from trunkml.evaluation.policy import GatePolicy
    from trunkml.monitoring.shadow import _task_report

    rng = np.random.default_rng(3)
    truth = rng.integers(0, 4, 2000)
    champion = np.where(rng.random(2000) < 0.75, truth, (truth + 1) % 4)
    shadow = np.where(rng.random(2000) < 0.92, truth, (truth + 1) % 4)
    shadow = np.where((truth == 3) & (rng.random(2000) < 0.5), 0, shadow)  # class 3 loses half its recall
    pairs = pd.DataFrame({"truth": truth, "champion": champion, "shadow": shadow})
    report = _task_report(pairs, 1, 2, GatePolicy(task="multiclass"), None, None)
    assert report.decision is not None
    assert report.decision.e_max >= report.decision.threshold  # the accuracy evidence alone would promote
    assert not report.decision.would_promote
    assert report.decision.reasons[0] == "NOT YET: a guard fails"
    assert any(g.metric == "recall.3" and not g.ok for g in report.decision.guards)
    assert report.decision.reasons[1].startswith("accuracy ")
