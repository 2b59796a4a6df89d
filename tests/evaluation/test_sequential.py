"""The always-valid shadow test: exact e-values, and false promotions under repeated looks stay at alpha."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad

from trunkml.evaluation.policy import GatePolicy
from trunkml.evaluation.sequential import evalue_path, log_evalue, log_evalues, sequential_decision

ALPHA = 0.05
RUNS = 200
TEXTS = 1000
LOOK_EVERY = 100
MAX_PAIRS = 240  # discordant pairs the exact computation tracks (far beyond what 1000 texts give)
POSITIVE_SHARE = 0.3


@pytest.mark.parametrize(("b", "c"), [(0, 0), (3, 10), (10, 3), (40, 60), (0, 12)])
def test_evalue_is_the_mixture_likelihood_ratio(b: int, c: int) -> None:
    direct = quad(lambda p: p**c * (1 - p) ** b * 2, 0.5, 1)[0] / 0.5 ** (b + c)
    assert math.exp(log_evalue(b, c)) == pytest.approx(direct, rel=1e-8)


def test_evalue_grows_with_challenger_wins_and_shrinks_with_losses() -> None:
    path = evalue_path([1] * 8 + [0] * 8)
    assert path[7] > path[0] > 1.0
    assert path[-1] < path[7]
    with pytest.raises(ValueError):
        log_evalue(-1, 3)


def simulate_run(rng: np.random.Generator, cells: tuple[float, float, float, float]) -> tuple[np.ndarray, ...]:
    """One stream of labelled texts: positives fall in cells (both right, champion only, shadow only, both wrong);
    negatives get the same prediction from both models (a 5% false-positive rate)."""
    truth = (rng.random(TEXTS) < POSITIVE_SHARE).astype(int)
    cell = rng.choice(4, size=TEXTS, p=cells)
    champion = np.where(truth == 1, np.isin(cell, (0, 1)), rng.random(TEXTS) < 0.05).astype(int)
    shadow = np.where(truth == 1, np.isin(cell, (0, 2)), champion).astype(int)
    return truth, champion, shadow


def promoted_at_some_look(truth: np.ndarray, champion: np.ndarray, shadow: np.ndarray) -> bool:
    policy = GatePolicy(alpha=ALPHA)
    for end in range(LOOK_EVERY, TEXTS + 1, LOOK_EVERY):
        if truth[:end].min() == truth[:end].max():
            continue
        if sequential_decision(truth[:end], champion[:end], shadow[:end], policy).would_promote:
            return True
    return False


def exact_crossing_rate(p_b: float, p_c: float, min_discordant: int = 10) -> float:
    """P(promotion at some look), by dynamic programming over (b, c, crossed yet) after each text.

    A look promotes once E has reached 1/alpha at any pair so far and b + c >= min_discordant.
    Guards are left out: in these scenarios both models share their false positives, so the
    shadow's precision is never lower when its recall is higher.
    """
    size = MAX_PAIRS + 1
    grid = np.arange(size)
    crossing = log_evalues(grid[:, None], grid[None, :]) >= math.log(1 / ALPHA)
    enough = (grid[:, None] + grid[None, :]) >= min_discordant
    waiting, crossed = np.zeros((size, size)), np.zeros((size, size))
    waiting[0, 0] = 1.0
    promoted = 0.0

    def step(state: np.ndarray) -> np.ndarray:
        moved = state * (1 - p_b - p_c)
        moved[1:, :] += state[:-1, :] * p_b
        moved[:, 1:] += state[:, :-1] * p_c
        return moved

    for text in range(1, TEXTS + 1):
        waiting, crossed = step(waiting), step(crossed)
        crossed[crossing] += waiting[crossing]
        waiting[crossing] = 0.0
        if text % LOOK_EVERY == 0:
            promoted += float(crossed[enough].sum())
            crossed[enough] = 0.0
    edge = waiting[-1, :].sum() + waiting[:, -1].sum() + crossed[-1, :].sum() + crossed[:, -1].sum()
    assert edge < 1e-12  # nothing reached the edge of the grid
    return promoted


def observed_rate(cells: tuple[float, float, float, float], seed: int) -> float:
    rng = np.random.default_rng(seed)
    return sum(promoted_at_some_look(*simulate_run(rng, cells)) for _ in range(RUNS)) / RUNS


def test_equal_models_are_falsely_promoted_at_most_alpha_across_repeated_looks() -> None:
    cells = (0.55, 0.10, 0.10, 0.25)  # both recalls 0.65
    exact = exact_crossing_rate(POSITIVE_SHARE * 0.10, POSITIVE_SHARE * 0.10)
    observed = observed_rate(cells, seed=11)
    assert exact <= ALPHA
    assert observed <= ALPHA + 0.01, f"false promotions {observed:.3f} over {RUNS} runs × {TEXTS // LOOK_EVERY} looks"


def test_a_truly_better_shadow_is_promoted_at_the_expected_rate() -> None:
    cells = (0.60, 0.05, 0.15, 0.20)  # champion recall 0.65, shadow 0.75
    expected = exact_crossing_rate(POSITIVE_SHARE * 0.05, POSITIVE_SHARE * 0.15)
    observed = observed_rate(cells, seed=12)
    tolerance = 3 * math.sqrt(expected * (1 - expected) / RUNS) + 0.01
    assert expected > 0.8
    assert abs(observed - expected) <= tolerance, f"promoted {observed:.3f}, expected {expected:.3f}"


def test_the_fixed_sample_test_would_inflate_false_promotions_under_the_same_looks() -> None:
    """Why the sequential test exists: McNemar at alpha, re-run at every look, promotes equal models too often."""
    from trunkml.evaluation.gate import compare_predictions

    rng = np.random.default_rng(13)
    policy = GatePolicy(alpha=ALPHA)
    false = 0
    for _ in range(RUNS):
        truth, champion, shadow = simulate_run(rng, (0.55, 0.10, 0.10, 0.25))
        false += any(
            compare_predictions(truth[:end], champion[:end], shadow[:end], policy).promote
            for end in range(LOOK_EVERY, TEXTS + 1, LOOK_EVERY)
        )
    assert false / RUNS > ALPHA + 0.01


def test_guards_still_apply_online() -> None:
    truth = np.array([1] * 40 + [0] * 60)
    champion = np.array([0] * 40 + [0] * 60)
    shadow = np.array([1] * 40 + [1] * 60)  # finds every positive by flagging everything
    decision = sequential_decision(truth, champion, shadow, GatePolicy(alpha=ALPHA))
    assert decision.e_value >= 1 / ALPHA
    assert not decision.would_promote
    assert decision.reasons[0].startswith("NOT YET: a guard fails")


def test_the_regression_loss_sequence_holds_alpha_under_every_look_for_heavy_tailed_and_skewed_errors() -> None:
    """Equal expected absolute error, errors Student-t(3) or log-normal: the always-valid test, looked at after every
    row, promotes in at most alpha of the runs; a challenger with 20% lower errors is found."""
    from trunkml.evaluation.sequential import loss_sequence

    rng = np.random.default_rng(7)
    draws = {"t3": lambda n: rng.standard_t(3, n) * 10, "lognormal": lambda n: rng.lognormal(2, 1, n)}
    for name, draw in draws.items():
        false = 0
        for _ in range(RUNS):
            truth = rng.normal(100, 20, 400)
            sign = rng.choice([-1, 1], (2, 400))
            champion, challenger = truth + sign[0] * draw(400), truth + sign[1] * draw(400)
            false += loss_sequence(truth, champion, challenger, alpha=ALPHA, bound=40).would_promote
        assert false / RUNS <= ALPHA + 0.02, name  # e_max over every look: the sequence is always valid
    truth = rng.normal(100, 20, 1500)
    better = loss_sequence(truth, truth + rng.normal(0, 10, 1500), truth + rng.normal(0, 8, 1500), alpha=0.05, bound=40)
    assert better.would_promote, better.reasons
    assert better.lower_bound > 0  # the always-valid lower bound on the clipped mean difference excludes zero
    assert better.mean_difference > better.lower_bound


def test_the_loss_lower_bound_never_sits_above_the_mean_and_refuses_what_it_cannot_use() -> None:
    from trunkml.evaluation.sequential import loss_sequence

    rng = np.random.default_rng(8)
    for _ in range(20):  # differences uniform on [0.3, 0.5]: the mean is 0.4, the bound must stay below it
        saved = rng.uniform(0.3, 0.5, 5000)
        found = loss_sequence(np.zeros(5000), saved, np.zeros(5000), alpha=ALPHA, bound=1.0)
        assert found.lower_bound <= 0.4
    truth = np.zeros(100)
    truth[0] = np.nan  # a row whose loss is not a number says nothing: it is left out, not read as a huge saving
    assert loss_sequence(truth, np.ones(100), np.zeros(100), alpha=ALPHA, bound=2).n == 99
    with pytest.raises(ValueError, match="positive number"):
        loss_sequence(np.zeros(3), np.ones(3), np.zeros(3), alpha=ALPHA, bound=0)
