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


LOSS_METHOD = "betting confidence sequence (predictable plug-in bets, Waudby-Smith & Ramdas 2023), Ville's inequality"
LOSS_GRID = 400


class LossSequence(BaseModel):
    """What labelled shadow traffic says about a regression challenger's mean loss against the champion's."""

    model_config = ConfigDict(frozen=True)

    would_promote: bool
    loss: str
    method: str
    alpha: float
    n: int
    bound: float
    clipped: int
    champion_loss: float
    challenger_loss: float
    mean_difference: float
    lower_bound: float
    e_value: float
    e_max: float
    threshold: float
    reasons: list[str]
    guards: list[GuardResult] = Field(default_factory=list)
    path: list[float] = Field(default_factory=list, exclude=True)


def _log_wealth(y: NDArray[np.float64], nulls: NDArray[np.float64], alpha: float) -> NDArray[np.float64]:
    """log K_t(m) for each null mean ``m`` (rows) after each observation (columns), betting that E[y] > m.

    The bets are Waudby-Smith & Ramdas's predictable plug-in: λ_t = sqrt(2 log(1/α) / (σ̂²_{t-1} t log(1+t)))
    from the observations before t only, capped at 1/(2m) so that wealth stays positive for y in [0, 1].
    """
    t = np.arange(1, y.size + 1, dtype=np.float64)
    running_mean = (0.5 + np.cumsum(y)) / (t + 1)
    squares = np.cumsum((y - running_mean) ** 2)
    var_before = (0.25 + np.concatenate([[0.0], squares[:-1]])) / t
    plug_in = np.sqrt(2 * math.log(1 / alpha) / (var_before * t * np.log1p(t)))
    bets = np.minimum(plug_in[None, :], 0.5 / nulls[:, None])
    result: NDArray[np.float64] = np.cumsum(np.log1p(bets * (y[None, :] - nulls[:, None])), axis=1)
    return result


def loss_sequence(
    y_true: ArrayLike, champion_pred: ArrayLike, challenger_pred: ArrayLike, *, alpha: float, bound: float,
    loss: str = "mae",
) -> LossSequence:  # fmt: skip
    """Always-valid test that the challenger's mean loss is lower than the champion's, on rows in labelling order.

    Each row's loss difference d = champion loss − challenger loss (absolute error for MAE, squared error for RMSE)
    is clipped to [−B, B] with B = ``bound`` (B² for squared error) and mapped to y = (d + B) / 2B in [0, 1]. The
    wealth of betting that E[y] > 1/2 is an e-process under H0: E[d_clipped] <= 0, so by Ville's inequality the
    challenger is called better with probability at most α whenever one looks. The running intersection of the
    confidence sequences gives an always-valid lower bound on the clipped mean difference. Clipping is why the bound
    must be stated: it is a statement about the clipped losses, which equal the real ones when |d| <= B.
    """
    if not (math.isfinite(bound) and bound > 0):
        raise ValueError(f"the loss bound must be a positive number, got {bound!r}")
    truth = np.asarray(y_true, dtype=np.float64)
    champion, challenger = np.asarray(champion_pred, dtype=np.float64), np.asarray(challenger_pred, dtype=np.float64)
    square = loss == "rmse"
    with np.errstate(over="ignore", invalid="ignore"):
        champion_loss = (truth - champion) ** 2 if square else np.abs(truth - champion)
        challenger_loss = (truth - challenger) ** 2 if square else np.abs(truth - challenger)
    finite = np.isfinite(champion_loss) & np.isfinite(challenger_loss)  # a row whose loss overflows says nothing
    truth, champion_loss, challenger_loss = truth[finite], champion_loss[finite], challenger_loss[finite]
    limit = bound**2 if square else bound
    raw = champion_loss - challenger_loss
    clipped = int(np.sum(np.abs(raw) > limit))
    y = (np.clip(raw, -limit, limit) + limit) / (2 * limit)
    threshold = 1 / alpha
    nulls = (np.arange(LOSS_GRID) + 0.5) / LOSS_GRID
    nulls = np.union1d(nulls, [0.5])
    if y.size:
        log_wealth = _log_wealth(y, nulls, alpha)
        wealth = log_wealth.max(axis=1)  # the highest wealth so far, per null: its running intersection
        path = np.exp(np.minimum(log_wealth[int(np.searchsorted(nulls, 0.5))], 700.0)).tolist()
        # The confidence set is the nulls not rejected; its lower end lies above the largest rejected null below
        # the smallest kept one (never above the true mean: that null is rejected only with probability alpha).
        kept = wealth < math.log(threshold)
        first_kept = int(np.argmax(kept)) if kept.any() else len(nulls)
        lower = float(nulls[first_kept - 1]) * 2 * limit - limit if first_kept > 0 else -limit
    else:
        path, lower = [], -limit
    e_value, e_max = (path[-1], max(path)) if path else (1.0, 1.0)
    promote = e_max >= threshold
    name = "squared error" if square else "absolute error"
    difference = float(np.mean(raw)) if raw.size else 0.0
    reasons = [
        ("WOULD PROMOTE" if promote else "NOT YET") + f": mean {name} {np.mean(champion_loss) if raw.size else 0:.4g}"
        f" → {np.mean(challenger_loss) if raw.size else 0:.4g} on {truth.size} labelled rows; e-value {e_value:.3g}"
        f" (highest {e_max:.3g}) {'>=' if promote else '<'} 1/alpha = {threshold:.3g}",
        f"always-valid lower bound on the mean {name} saved: {lower:.4g} (differences clipped to ±{limit:.4g}; "
        f"{clipped} row(s) clipped)",
    ]
    return LossSequence(
        would_promote=promote, loss=loss, method=LOSS_METHOD, alpha=alpha, n=int(truth.size), bound=float(limit),
        clipped=clipped, champion_loss=float(np.mean(champion_loss)) if raw.size else 0.0,
        challenger_loss=float(np.mean(challenger_loss)) if raw.size else 0.0, mean_difference=difference,
        lower_bound=lower, e_value=e_value, e_max=e_max, threshold=threshold, reasons=reasons, path=path,
    )  # fmt: skip
