"""The statistics of the gate, stated precisely.

Paired comparison on the positives (y = 1) of one frozen evaluation set:

* b = positives the champion gets right and the challenger gets wrong,
* c = positives the challenger gets right and the champion gets wrong.

Challenger recall minus champion recall is (c - b) / n_pos. Under H0 (the challenger's
recall is at most the champion's) each discordant pair is at least as likely to be a
``b`` as a ``c``; at the boundary X = c ~ Binomial(b + c, 1/2).

* exact one-sided McNemar: p = P(X >= c)
* mid-p variant:           p = P(X >= c) - P(X = c) / 2

H1 is one-sided (the challenger is better), because the gate only ever asks "is it
better?" — a two-sided test would spend half its alpha on "is it worse?".

The confidence interval for the recall difference is Newcombe's (1998) method 10 for
paired proportions: Wilson score limits for each recall, combined with the phi
correlation of the paired outcomes. It is reported two-sided at level 1 - 2·alpha, the
interval whose lower bound is a one-sided (1 - alpha) bound. It describes the size of
the difference; it is not the test, and near the boundary the two can disagree (the
decision always follows the exact test).

Multi-class and regression gates (``evaluation.task_gate``) use the same McNemar test on
per-row correctness for accuracy, and a **sign-flip randomisation test** for the rest:

* Each row gives a paired difference ``d_i`` in the challenger's favour: the champion's loss
  minus the challenger's (absolute error for MAE, squared error for RMSE), or the row's share
  of the macro-recall difference, ``(right_challenger - right_champion) / (K · n_class)``.
* H0: the challenger is no better, E[d] <= 0. At the boundary, flipping each ``d_i``'s sign
  at random gives the reference distribution of the sum; p = (1 + #{flipped sum >= observed})
  / (1 + B) over B flips drawn from a fixed seed, so a decision is reproducible.
* When the two models are exchangeable on every row (macro recall under H0, or regression
  errors from one distribution), d is symmetric and the test is exact. When E[d] = 0 but d is
  skewed (two models whose errors differ in shape), the flips' distribution of the sum has the
  variance Σd², which is the sum's own variance under H0, so the test keeps its level as n
  grows: it needs finite variance, not symmetry or normality. Studentising would not change
  it: Σd² is the same for every sign pattern, so the t statistic is a monotone function of the
  sum. ``bench/gate.py`` measures the level on Gaussian, Student-t (3 df) and log-normal
  errors, and on errors of different shapes with equal means.
* A paired t-test would rest on the same asymptotics without the exact small-sample
  guarantee; a bootstrap adds resampling noise and is liberal for small n.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike

EXACT_INTEGER_LIMIT = 2000


def _tail_integer(n: int, c: int) -> float:
    """P(X >= c) for X ~ Bin(n, 1/2), exactly, with big integers (used up to a few thousand pairs)."""
    term, total = math.comb(n, c), 0
    for k in range(c, n + 1):
        total += term
        term = term * (n - k) // (k + 1)
    return total / (1 << n)


def _log_pmf(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) - n * math.log(2)


def _tail_float(n: int, c: int) -> float:
    """P(X >= c) in log space, summing from the largest term down (relative error ~1e-12, O(n))."""
    logs = [_log_pmf(n, k) for k in range(c, n + 1)]
    top = max(logs)
    return math.exp(top) * math.fsum(math.exp(value - top) for value in logs)


def mcnemar_one_sided(b: int, c: int, *, mid_p: bool = False) -> float:
    """One-sided p-value that the challenger (``c`` wins) beats the champion (``b`` wins).

    Exact integer arithmetic up to ``EXACT_INTEGER_LIMIT`` discordant pairs, then a log-space
    sum that stays fast for any count.
    """
    if b < 0 or c < 0:
        raise ValueError("discordant counts must be non-negative")
    n = b + c
    if n == 0:
        return 1.0
    tail = _tail_integer(n, c) if n <= EXACT_INTEGER_LIMIT else _tail_float(n, c)
    if mid_p:
        tail -= 0.5 * math.exp(_log_pmf(n, c))
    return min(max(tail, 0.0), 1.0)


def wilson_interval(successes: int, n: int, z: float) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_paired_interval(a: int, b: int, c: int, d: int, level: float) -> tuple[float, float]:
    """CI for p2 - p1 where p1 = (a + b) / n (champion) and p2 = (a + c) / n (challenger).

    ``a``: both right, ``b``: only the champion right, ``c``: only the challenger right,
    ``d``: both wrong (all on the positives). Newcombe (1998), method 10.
    """
    n = a + b + c + d
    if n == 0:
        return -1.0, 1.0
    z = NormalDist().inv_cdf(0.5 + level / 2)
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = wilson_interval(a + b, n, z)
    l2, u2 = wilson_interval(a + c, n, z)
    denominator = (a + b) * (c + d) * (a + c) * (b + d)
    phi = (a * d - b * c) / math.sqrt(denominator) if denominator > 0 else 0.0
    diff = p2 - p1
    lower = diff - math.sqrt(max((p2 - l2) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1) + (u1 - p1) ** 2, 0.0))
    upper = diff + math.sqrt(max((u2 - p2) ** 2 - 2 * phi * (u2 - p2) * (p1 - l1) + (p1 - l1) ** 2, 0.0))
    return max(-1.0, lower), min(1.0, upper)


MAX_FLIP_CELLS = 4_000_000
"""Sign patterns are drawn in blocks of at most this many cells, to bound memory."""


def sign_flip_p(differences: ArrayLike, randomisations: int, seed: int = 0) -> float:
    """One-sided p-value for "the mean of ``differences`` is above 0" by random sign flips (see module docs)."""
    values = np.asarray(differences, dtype=float)
    moving = values[values != 0]  # a zero difference has no sign to flip
    observed = float(moving.sum())
    if moving.size == 0:
        return 1.0
    rng = np.random.default_rng(seed)
    tolerance = 1e-9 * float(np.abs(moving).sum())
    at_least, done = 0, 0
    block = max(1, MAX_FLIP_CELLS // moving.size)
    while done < randomisations:
        rows = min(block, randomisations - done)
        signs = rng.integers(0, 2, size=(rows, moving.size), dtype=np.int8) * 2 - 1
        at_least += int(np.sum(signs @ moving >= observed - tolerance))
        done += rows
    return (1 + at_least) / (1 + randomisations)


def holm(p_values: list[float]) -> list[float]:
    """Holm step-down adjusted p-values (same order as given)."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [0.0] * len(p_values)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted
