"""The gate's statistics pinned against scipy and statsmodels reference values."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom, binomtest
from statsmodels.stats.contingency_tables import mcnemar

from trunkml.evaluation.stats import mcnemar_one_sided, newcombe_paired_interval, wilson_interval

COUNTS = [
    (0, 0),
    (0, 1),
    (1, 0),
    (0, 5),
    (3, 3),
    (2, 9),
    (9, 2),
    (10, 25),
    (25, 10),
    (40, 61),
    (300, 350),
    (1000, 1100),
    (4000, 4100),
]


@pytest.mark.parametrize(("b", "c"), COUNTS)
def test_exact_p_matches_scipy_binomtest(b: int, c: int) -> None:
    expected = 1.0 if b + c == 0 else binomtest(c, b + c, 0.5, alternative="greater").pvalue
    assert mcnemar_one_sided(b, c) == pytest.approx(expected, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize(("b", "c"), [bc for bc in COUNTS if bc[1] > bc[0]])
def test_exact_p_is_half_of_statsmodels_two_sided_exact_mcnemar(b: int, c: int) -> None:
    two_sided = mcnemar(np.array([[50, b], [c, 50]]), exact=True).pvalue
    assert mcnemar_one_sided(b, c) == pytest.approx(two_sided / 2, rel=1e-9)


@pytest.mark.parametrize(("b", "c"), COUNTS)
def test_mid_p_subtracts_half_the_point_probability(b: int, c: int) -> None:
    if b + c == 0:
        assert mcnemar_one_sided(0, 0, mid_p=True) == 1.0
        return
    expected = binom.sf(c - 1, b + c, 0.5) - 0.5 * binom.pmf(c, b + c, 0.5)
    assert mcnemar_one_sided(b, c, mid_p=True) == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_the_test_is_one_sided() -> None:
    assert mcnemar_one_sided(30, 10) > 0.99  # a challenger that is worse is never "significant"
    assert mcnemar_one_sided(10, 30) < 0.01
    with pytest.raises(ValueError, match="non-negative"):
        mcnemar_one_sided(-1, 2)


def test_wilson_interval_matches_statsmodels() -> None:
    from statsmodels.stats.proportion import proportion_confint

    for k, n in [(0, 10), (3, 10), (50, 100), (99, 100)]:
        low, high = proportion_confint(k, n, alpha=0.05, method="wilson")
        assert wilson_interval(k, n, 1.959963984540054) == pytest.approx((low, high), abs=1e-12)


def test_newcombe_interval_brackets_the_difference_and_shrinks_with_n() -> None:
    low, high = newcombe_paired_interval(400, 20, 45, 35, level=0.90)
    assert low < (45 - 20) / 500 < high
    big = newcombe_paired_interval(4000, 200, 450, 350, level=0.90)
    assert big[1] - big[0] < high - low
    assert newcombe_paired_interval(50, 0, 0, 50, level=0.9)[0] <= 0 <= newcombe_paired_interval(50, 0, 0, 50, 0.9)[1]


def test_newcombe_interval_covers_at_its_level() -> None:
    """Simulated coverage of the 90% interval for a +3-point paired recall difference."""
    rng = np.random.default_rng(7)
    truth, hits, trials = 0.03, 0, 2000
    probs = [0.62, 0.04, 0.07, 0.27]  # a, b, c, d: p2 - p1 = c - b = 0.03
    for _ in range(trials):
        a, b, c, d = rng.multinomial(900, probs)
        low, high = newcombe_paired_interval(int(a), int(b), int(c), int(d), level=0.90)
        hits += low <= truth <= high
    assert 0.87 <= hits / trials <= 0.93
