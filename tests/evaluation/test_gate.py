"""compare_predictions: the public API, its decisions, and clear errors for bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from trunkml.errors import UsageError
from trunkml.evaluation import GatePolicy, Guard, compare_predictions


def paired(
    n_pos: int = 900, n_neg: int = 1100, b: int = 20, c: int = 60, fp_champion: int = 100, fp_challenger: int = 100
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """y_true and two prediction vectors with exact discordance counts on the positives."""
    y = np.r_[np.ones(n_pos, dtype=int), np.zeros(n_neg, dtype=int)]
    champion, challenger = y.copy(), y.copy()
    champion[:c] = 0  # the challenger alone is right on these positives
    challenger[c : c + b] = 0  # the champion alone is right on these
    champion[c + b : c + b + 200] = 0
    challenger[c + b : c + b + 200] = 0  # both wrong on these
    champion[n_pos : n_pos + fp_champion] = 1
    challenger[n_pos : n_pos + fp_challenger] = 1
    return y, champion, challenger


def test_a_better_challenger_is_promoted() -> None:
    y, champion, challenger = paired(b=20, c=60)
    decision = compare_predictions(y, champion, challenger, policy=GatePolicy())
    assert decision.promote
    assert (decision.b, decision.c) == (20, 60)
    assert decision.p_value is not None
    assert decision.p_value < 0.001
    assert decision.ci_low is not None
    assert decision.ci_low > 0
    assert decision.reasons[0].startswith("PROMOTE")
    assert json.loads(decision.model_dump_json())["promote"] is True


def test_more_accurate_but_worse_recall_is_rejected() -> None:
    """The seed's failure: higher accuracy, lower hate recall. Ours rejects it."""
    y, champion, challenger = paired(b=60, c=20, fp_champion=150, fp_challenger=20)
    accuracy = lambda pred: float(np.mean(pred == y))  # noqa: E731
    assert accuracy(challenger) > accuracy(champion)
    decision = compare_predictions(y, champion, challenger)
    assert not decision.promote
    assert decision.p_value is not None
    assert decision.p_value > 0.99


def test_a_guard_can_block_a_recall_gain() -> None:
    y, champion, challenger = paired(b=20, c=60, fp_champion=50, fp_challenger=200)
    decision = compare_predictions(y, champion, challenger)
    assert not decision.promote
    assert "a guard fails" in decision.reasons[0]
    assert [g.metric for g in decision.guards if not g.ok] == ["precision"]
    relaxed = GatePolicy(guards=(Guard(metric="precision", max_drop=0.2),))
    assert compare_predictions(y, champion, challenger, relaxed).promote


def test_too_few_discordant_pairs() -> None:
    y, champion, challenger = paired(b=0, c=6)
    decision = compare_predictions(y, champion, challenger, GatePolicy(min_discordant=10))
    assert decision.p_value is not None
    assert decision.p_value < 0.05
    assert not decision.promote
    assert any("only 6 discordant pairs" in reason for reason in decision.reasons)


def test_mid_p_is_less_conservative() -> None:
    y, champion, challenger = paired(b=10, c=20)
    exact = compare_predictions(y, champion, challenger, GatePolicy(test="exact"))
    mid = compare_predictions(y, champion, challenger, GatePolicy(test="mid-p"))
    assert mid.p_value is not None
    assert exact.p_value is not None
    assert mid.p_value < exact.p_value


def test_cold_start_applies_floors_and_never_auto_passes() -> None:
    y, _, challenger = paired(b=20, c=60)
    decision = compare_predictions(y, None, challenger, baseline=0)
    assert decision.mode == "cold_start"
    assert decision.promote
    assert decision.p_value is not None
    assert decision.p_value < 1e-6  # against the majority class (0), every recalled positive is a win
    assert "against the training majority class (0)" in decision.reasons[1]
    weak = np.zeros_like(y)
    weak[:100] = 1
    rejected = compare_predictions(y, None, weak)
    assert not rejected.promote
    assert any("FAILS" in reason for reason in rejected.reasons)


def test_specificity_as_the_primary_metric() -> None:
    y, champion, challenger = paired(fp_champion=150, fp_challenger=50)
    decision = compare_predictions(y, champion, challenger, GatePolicy(primary_metric="specificity", guards=()))
    assert (decision.b, decision.c) == (0, 100)
    assert decision.promote


@pytest.mark.parametrize(
    ("y", "a", "b", "message"),
    [
        ([0, 1, 1], [0, 1], [0, 1, 1], "differ in length"),
        ([0, 1, 2], [0, 1, 1], [0, 1, 1], "only 0 and 1; found 2"),
        ([0, 1, 1], [0, 1, 1], ["a", "b", "c"], "must hold 0/1"),
        ([], [], [], "is empty"),
        ([1, 1], [1, 0], [1, 1], "has only class 1"),
        ([[0, 1]], [[0, 1]], [[0, 1]], "one-dimensional"),
    ],
)
def test_bad_input_is_a_clear_usage_error(y: list[int], a: list[int], b: list[object], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        compare_predictions(y, a, b)


@pytest.mark.parametrize(
    "fields",
    [
        {"alpha": 0},
        {"alpha": 0.5},
        {"test": "z"},
        {"min_discordant": 0},
        {"cold_start_floors": {}},
        {"cold_start_floors": {"recall": 2}},
        {"guards": [{"metric": "auc", "max_drop": 0.1}]},
        {"colour": "red"},
        {"guards": [{"metric": "precision", "max_drop": 0.1}, {"metric": "precision", "max_drop": 0.2}]},
    ],
)
def test_policies_reject_bad_values_when_made(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        GatePolicy.model_validate(fields)


def test_policy_is_frozen_and_has_a_digest() -> None:
    policy = GatePolicy()
    with pytest.raises(ValueError, match="frozen"):
        policy.alpha = 0.1  # type: ignore[misc]
    assert policy.digest != GatePolicy(alpha=0.01).digest


def test_an_undefined_champion_precision_falls_back_to_the_floor() -> None:
    y = np.r_[np.ones(100, dtype=int), np.zeros(120, dtype=int)]
    everything = np.ones_like(y)  # precision 100/220 = 0.45 < floor 0.6
    decision = compare_predictions(y, np.zeros_like(y), everything)
    assert not decision.promote
    assert "the champion's is undefined" in decision.guards[0].reason


def test_odd_inputs_are_refused_or_aligned() -> None:
    import pandas as pd

    y, champion, challenger = paired()
    with pytest.raises(UsageError, match="masked array"):
        compare_predictions(np.ma.masked_array(y), champion, challenger)
    with pytest.raises(UsageError, match="complex"):
        compare_predictions(y.astype(complex), champion, challenger)
    shuffled = pd.Series(challenger, index=np.arange(len(y))[::-1])
    with pytest.raises(UsageError, match="indexes of y_true, challenger_pred differ"):
        compare_predictions(pd.Series(y), champion, shuffled)
    assert compare_predictions(pd.Series(y), pd.Series(champion), pd.Series(challenger)).promote
    with pytest.raises(UsageError, match="y_true=2000, challenger_pred=1999, champion_pred=2000"):
        compare_predictions(y, champion, challenger[:-1])


def test_floors_cannot_be_zero_mutated_or_duplicated() -> None:
    with pytest.raises(ValueError, match="greater than 0"):
        GatePolicy.model_validate({"cold_start_floors": {"recall": 0}})
    with pytest.raises(ValueError):
        GatePolicy.model_validate({"min_discordant": True})
    policy = GatePolicy.model_validate({"cold_start_floors": {"recall": 0.7}})
    assert policy.floor("recall") == 0.7
    assert policy.floor("precision") is None
    with pytest.raises((TypeError, ValueError)):
        policy.cold_start_floors[0].minimum = 0.0  # type: ignore[misc]


def test_binary_cold_start_must_beat_the_majority_class_with_the_same_test() -> None:
    rng = np.random.default_rng(11)
    y = (rng.random(400) < 0.3).astype(int)
    trivial = compare_predictions(y, None, np.zeros_like(y), GatePolicy(cold_start_floors={"precision": 0.01}))
    assert not trivial.promote  # the majority class never beats itself
    assert "not significantly better than the trivial baseline" in trivial.reasons[0]
    # positives are the majority and recall is primary: "always 1" has recall 1, so correctness is tested instead
    flipped = 1 - y
    noisy = np.where(rng.random(400) < 0.9, flipped, 1 - flipped)
    decision = compare_predictions(flipped, None, noisy, baseline=1)
    assert "per-row correctness" in decision.reasons[1]
    assert decision.promote, decision.reasons
    assert not compare_predictions(flipped, None, np.ones_like(flipped), baseline=1).promote
