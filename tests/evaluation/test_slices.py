"""The slice guard: per-slice recall with CIs; a real drop on a well-supported slice rejects, noise does not."""

from __future__ import annotations

import numpy as np
import pytest
from bench.slices import flag_rate

from trunkml.errors import UsageError
from trunkml.evaluation import GatePolicy, compare_predictions
from trunkml.evaluation.stats import holm


def _models(slice_positives: int = 150, others: int = 600) -> tuple[np.ndarray, ...]:
    """Truth, a champion with recall 0.70 everywhere, and slice masks: 'target' (150 positives) and 'rest'."""
    positives = slice_positives + others
    truth = np.r_[np.ones(positives, dtype=np.int64), np.zeros(400, dtype=np.int64)]
    champion = np.zeros_like(truth)
    champion[: int(0.7 * slice_positives)] = 1
    champion[slice_positives : slice_positives + int(0.7 * others)] = 1
    champion[-40:] = 1  # a few false positives
    target = np.zeros(len(truth), dtype=bool)
    target[:slice_positives] = True
    return truth, champion, target


def test_better_overall_but_ten_points_worse_on_one_slice_is_rejected() -> None:
    truth, champion, target = _models()
    challenger = champion.copy()
    challenger[90:105] = 0  # loses 15 of the slice's 105 hits: 0.70 -> 0.60 on 150 positives
    challenger[150 + 420 : 150 + 520] = 1  # gains 100 hits elsewhere: overall recall up 11 points
    decision = compare_predictions(truth, champion, challenger, GatePolicy(), {"target": target, "rest": ~target})
    assert decision.challenger_metrics["recall"] > decision.champion_metrics["recall"] + 0.1
    assert decision.p_value is not None
    assert decision.p_value < 0.05
    assert not decision.promote
    assert decision.reasons[0] == "REJECT: recall drops on a slice"
    [bad] = [s for s in decision.slices if s.flagged]
    assert bad.name == "target"
    assert bad.positives == 150
    assert bad.b == 15
    assert bad.c == 0
    assert bad.recall_difference == pytest.approx(-0.10)
    assert bad.p_holm is not None
    assert bad.p_holm < 0.05
    assert any("slice guard 'target'" in reason and "FAILS" in reason for reason in decision.reasons)


def test_a_uniformly_better_challenger_passes_the_slice_guard() -> None:
    truth, champion, target = _models()
    challenger = champion.copy()
    challenger[105:120] = 1  # +10 points on the slice
    challenger[150 + 420 : 150 + 480] = 1  # +10 points on the rest
    decision = compare_predictions(truth, champion, challenger, GatePolicy(), {"target": target, "rest": ~target})
    assert decision.promote, decision.reasons
    assert [s.flagged for s in decision.slices] == [False, False]
    assert all(s.checked for s in decision.slices)
    target_row = decision.slices[0]
    assert target_row.challenger_recall.value == pytest.approx(0.8)
    assert target_row.challenger_recall.low is not None
    assert target_row.challenger_recall.low < 0.8
    assert target_row.difference_low is not None
    assert target_row.difference_low > 0


def test_small_slices_are_reported_but_not_guarded() -> None:
    truth, champion, target = _models(slice_positives=20)
    challenger = champion.copy()
    challenger[0:14] = 0  # loses every hit on a 20-positive slice
    challenger[20 + 420 : 20 + 520] = 1
    decision = compare_predictions(truth, champion, challenger, GatePolicy(), {"small": target})
    [small] = decision.slices
    assert not small.checked
    assert not small.flagged
    assert small.challenger_recall.value == 0.0
    assert decision.promote
    assert "1 smaller reported only" in decision.reasons[-1]


def test_equal_models_across_eight_slices_rarely_alarm() -> None:
    rate = flag_rate(trials=300, positives=150, recall=0.7, drop=0.0)
    assert rate <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 300)  # Holm keeps the family-wise rate at or below alpha


def test_holm_adjusts_in_step_down_order() -> None:
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([]) == []


def test_a_slice_mask_of_the_wrong_length_is_a_usage_error() -> None:
    truth, champion, _ = _models()
    with pytest.raises(UsageError, match="slice 'x' has 3 rows"):
        compare_predictions(truth, champion, champion, GatePolicy(), {"x": np.ones(3, dtype=bool)})
