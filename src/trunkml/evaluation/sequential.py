"""The gate's paired test, made safe to look at again and again: an always-valid e-value.

Online, labelled shadow traffic arrives a little at a time, and someone (or a cron job)
checks every hour. Re-running the fixed-sample McNemar test at each look would inflate
false promotions well above alpha. Instead, on the discordant pairs of the primary
metric's rows (for recall: the positives), let X_i = 1 when the challenger alone is right
and 0 when the champion alone is right, with P(X_i = 1) = p. H0 says p <= 1/2.

The e-value is a mixture likelihood ratio (Robbins 1970) over H1: p ~ Beta(k, k)
restricted to (1/2, 1],

    E_n = ∫_{1/2}^{1} p^c (1 - p)^b π(p) dp / 2^-(b + c)

with c challenger-only and b champion-only pairs so far. Under H0, E_n is a non-negative
supermartingale with E_0 = 1, so by Ville's inequality P(E_n >= 1/alpha for any n) <=
alpha: checking after every pair, every hour or whenever one likes keeps false
promotions at or under alpha. The price is power: it needs more pairs than a single
fixed-sample test would.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict, Field
from scipy.special import betaln
from scipy.stats import beta as beta_distribution

from trunkml.evaluation.gate import _checked_guard, _paired_counts, as_binary
from trunkml.evaluation.policy import GatePolicy
from trunkml.evaluation.results import GuardResult
from trunkml.training.metrics import binary_metrics

PRIOR_CONCENTRATION = 1.0
METHOD = "mixture sequential probability ratio (Beta(1,1) on p > 1/2), Ville's inequality"


def log_evalues(
    b: NDArray[np.int64], c: NDArray[np.int64], concentration: float = PRIOR_CONCENTRATION
) -> NDArray[np.float64]:
    """log E for arrays of champion-only counts ``b`` and challenger-only counts ``c`` (vectorised)."""
    if np.any(b < 0) or np.any(c < 0):
        raise ValueError("discordant counts must be non-negative")
    k = concentration
    tail = beta_distribution.logsf(0.5, k + c, k + b)  # log P(p > 1/2) under the posterior Beta(k + c, k + b)
    result: NDArray[np.float64] = betaln(k + c, k + b) - betaln(k, k) + tail + (b + c + 1) * math.log(2)
    return result


def log_evalue(b: int, c: int, concentration: float = PRIOR_CONCENTRATION) -> float:
    """log E after ``c`` challenger-only and ``b`` champion-only discordant pairs (0 before any)."""
    return float(log_evalues(np.array([b]), np.array([c]), concentration)[0])


def evalue_path(challenger_wins: ArrayLike) -> list[float]:
    """E after each discordant pair, in order (``challenger_wins[i]`` is 1 when the challenger alone was right)."""
    wins = np.asarray(challenger_wins, dtype=np.int64)
    c = np.cumsum(wins)
    b = np.arange(1, wins.size + 1) - c
    return np.exp(np.minimum(log_evalues(b, c), 700.0)).tolist()  # type: ignore[no-any-return]


class SequentialDecision(BaseModel):
    """What the labelled shadow traffic says so far, and whether it would promote the challenger."""

    model_config = ConfigDict(frozen=True)

    would_promote: bool
    primary_metric: str
    method: str
    alpha: float
    n: int
    positives: int
    b: int
    c: int
    e_value: float
    e_max: float
    threshold: float
    champion_metrics: dict[str, float]
    challenger_metrics: dict[str, float]
    guards: list[GuardResult]
    reasons: list[str]
    path: list[float] = Field(default_factory=list, exclude=True)
    """E after each discordant pair, in the order given."""


def _discordant_wins(
    truth: NDArray[np.int64], champion: NDArray[np.int64], challenger: NDArray[np.int64], target: int
) -> NDArray[np.bool_]:
    """For each discordant pair on the ``target`` rows, in order: did the challenger alone get it right?"""
    rows = truth == target
    champion_right, challenger_right = champion[rows] == target, challenger[rows] == target
    discordant = champion_right != challenger_right
    wins: NDArray[np.bool_] = challenger_right[discordant]
    return wins


def sequential_decision(
    y_true: ArrayLike, champion_pred: ArrayLike, challenger_pred: ArrayLike, policy: GatePolicy | None = None
) -> SequentialDecision:
    """The gate's decision on labelled traffic, with the always-valid test in place of the fixed-sample one.

    Rows are taken in the order given (the order labels arrived). The evidence counts as
    sufficient once E has reached 1/alpha at any pair so far: stopping at the first crossing
    is what Ville's inequality covers. The guards and the minimum number of discordant pairs
    are the gate policy's, judged on all rows now; only the primary test differs.
    """
    policy = policy or GatePolicy()
    truth = as_binary(y_true, "y_true")
    champion, challenger = as_binary(champion_pred, "champion_pred"), as_binary(challenger_pred, "challenger_pred")
    _, b, c, _ = _paired_counts(truth, champion, challenger, policy.primary_metric)
    target = 1 if policy.primary_metric.value == "recall" else 0
    path = evalue_path(_discordant_wins(truth, champion, challenger, target))
    e_value, e_max = (path[-1], max(path)) if path else (1.0, 1.0)
    threshold = 1 / policy.alpha
    champion_metrics, challenger_metrics = binary_metrics(truth, champion), binary_metrics(truth, challenger)
    guards = [
        _checked_guard(g.metric, g.max_drop, champion, champion_metrics, challenger_metrics, policy)
        for g in policy.guards
    ]
    evidence = e_max >= threshold
    enough = b + c >= policy.min_discordant
    promote = evidence and enough and all(g.ok for g in guards)
    metric = policy.primary_metric.value
    reasons = [
        f"{metric} {champion_metrics[metric]:.3f} → {challenger_metrics[metric]:.3f} on {len(truth)} labelled texts; "
        f"challenger-only right c={c}, champion-only right b={b}; e-value {e_value:.3g} (highest so far "
        f"{e_max:.3g}) {'>=' if evidence else '<'} 1/alpha = {threshold:.3g}",
        *(g.reason for g in guards),
    ]
    if not enough:
        reasons.append(f"only {b + c} discordant pairs; the policy needs at least {policy.min_discordant}")
    verdict = (
        "WOULD PROMOTE: the evidence suffices and every guard holds"
        if promote
        else "NOT YET: "
        + ("the evidence is not strong enough" if not evidence else "too few pairs" if not enough else "a guard fails")
    )
    return SequentialDecision(
        would_promote=promote, primary_metric=metric, method=METHOD, alpha=policy.alpha, n=len(truth),
        positives=int(truth.sum()), b=b, c=c, e_value=e_value, e_max=e_max, threshold=threshold, path=path,
        champion_metrics=champion_metrics, challenger_metrics=challenger_metrics, guards=guards,
        reasons=[verdict, *reasons],
    )  # fmt: skip
