"""Simulated error rates of the multi-class and regression gates (``bench/gate.py`` prints them).

Every trial draws a fresh evaluation set (n = 2,000) and paired predictions, and asks the public
API ``compare_predictions`` with ``GatePolicy(task=...)`` whether to promote. Randomisation tests
use 999 sign flips here (the policy's default is 9,999) to bound the run time.

Multi-class: 5 classes of 400 rows. Per class, the two models are right with the given recalls and
disagree on 12% of the rows; a wrong answer is one of the other classes at random.

Regression: errors drawn from one distribution for both models (Gaussian, Student-t with 3 degrees
of freedom, log-normal), correlated through a shared component (ρ = 0.5); the challenger's are
scaled to change its MAE, shifted to add bias, or drawn from another shape with the same MAE.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from rich.table import Table

from trunkml.evaluation import GateDecision, GatePolicy, compare_predictions

N, CLASSES, DISCORDANT, FLIPS = 2000, 5, 0.12, 999
Draw = Callable[[np.random.Generator, int], np.ndarray]


def paired_right(rng: np.random.Generator, n: int, old: float, new: float) -> tuple[np.ndarray, np.ndarray]:
    """Right/wrong per row for two models with recalls ``old``/``new`` that disagree on DISCORDANT of the rows."""
    c_only = (DISCORDANT + new - old) / 2
    b_only = DISCORDANT - c_only
    both = old - b_only
    kind = rng.choice(4, size=n, p=[both, b_only, c_only, 1 - both - b_only - c_only])
    return np.isin(kind, (0, 1)), np.isin(kind, (0, 2))


def multiclass_trial(rng: np.random.Generator, old: list[float], new: list[float]) -> tuple[np.ndarray, ...]:
    per = N // CLASSES
    truth = np.repeat(np.arange(CLASSES), per)
    champion, challenger = truth.copy(), truth.copy()
    for k in range(CLASSES):
        rows = slice(k * per, (k + 1) * per)
        right_old, right_new = paired_right(rng, per, old[k], new[k])
        wrong = (k + rng.integers(1, CLASSES, size=per)) % CLASSES  # another class
        champion[rows] = np.where(right_old, k, wrong)
        challenger[rows] = np.where(right_new, k, wrong)
    return truth, champion, challenger


def gaussian(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.standard_normal(n)


def student_t3(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.standard_t(3, n)


def log_normal(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.lognormal(0.0, 1.0, n)


def laplace_like_gaussian(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.laplace(0.0, np.sqrt(2 / np.pi), n)  # the same mean absolute value as a standard normal


def regression_trial(
    rng: np.random.Generator, draw: Draw, scale: float = 1.0, shift: float = 0.0, other: Draw | None = None
) -> tuple[np.ndarray, ...]:
    truth = rng.normal(10.0, 3.0, N)
    shared = draw(rng, N)
    old = np.sqrt(0.5) * shared + np.sqrt(0.5) * draw(rng, N)
    # Another shape with the same mean absolute error, independent of the champion's errors; or the same shape.
    new = other(rng, N) if other is not None else np.sqrt(0.5) * shared + np.sqrt(0.5) * draw(rng, N)
    return truth, truth + old, truth + scale * new + shift


def rates(trials: int, decide: Callable[[], GateDecision]) -> tuple[str, str]:
    """(how often the primary test rejects H0, how often the gate promotes), as percentages."""
    decisions = [decide() for _ in range(trials)]
    rejects = sum((d.p_value or 1.0) < d.alpha for d in decisions) / trials
    return f"{rejects:.1%}", f"{sum(d.promote for d in decisions) / trials:.1%}"


def task_table(trials: int) -> Table:
    rng = np.random.default_rng(2027)
    table = Table(
        "task", "scenario", "trials", "test rejects", "promoted", "goal",
        title=f"multi-class and regression gates (n={N}; goals: type-I error on the test, harm on promotion)",
    )  # fmt: skip
    accuracy = GatePolicy(task="multiclass", primary_metric="accuracy", randomisations=FLIPS)
    macro = GatePolicy(task="multiclass", primary_metric="macro_recall", randomisations=FLIPS)
    mae = GatePolicy(task="regression", primary_metric="mae", randomisations=FLIPS)
    rmse = GatePolicy(task="regression", primary_metric="rmse", randomisations=FLIPS)
    alpha_goal = f"<= {accuracy.alpha + 0.01:.0%}"
    same, better = [0.80] * CLASSES, [0.83] * CLASSES
    harmful = [0.72] + [0.80 + 0.13 / 4] * 4  # class 0 -8 pts, accuracy +1 pt
    multiclass_rows: list[tuple[str, GatePolicy, list[float], str]] = [
        ("accuracy: equal models (type-I)", accuracy, same, alpha_goal),
        ("accuracy: class 0 recall -8, accuracy +1", accuracy, harmful, "<= 1%"),
        ("accuracy: +3 pts (power)", accuracy, better, "report"),
        ("macro recall: equal models (type-I)", macro, same, alpha_goal),
        ("macro recall: class 0 recall -8, macro +1", macro, harmful, "<= 1%"),
        ("macro recall: +3 pts (power)", macro, better, "report"),
    ]
    for name, policy, new, goal in multiclass_rows:
        found = rates(trials, lambda p=policy, n=new: compare_predictions(*multiclass_trial(rng, same, n), policy=p))
        table.add_row("multiclass", name, str(trials), *found, goal)
    regression_rows: list[tuple[str, GatePolicy, Draw, dict[str, object], str]] = [
        ("MAE: Gaussian, equal (type-I)", mae, gaussian, {}, alpha_goal),
        ("MAE: Student-t3, equal (type-I)", mae, student_t3, {}, alpha_goal),
        ("MAE: log-normal, equal (type-I)", mae, log_normal, {}, alpha_goal),
        ("MAE: Gaussian vs Laplace, equal MAE (type-I)", mae, gaussian, {"other": laplace_like_gaussian}, alpha_goal),
        ("MAE: Gaussian, 5% lower (power)", mae, gaussian, {"scale": 0.95}, "report"),
        ("MAE: Student-t3, 5% lower (power)", mae, student_t3, {"scale": 0.95}, "report"),
        ("MAE: log-normal, 5% lower (power)", mae, log_normal, {"scale": 0.95}, "report"),
        ("MAE: 3% lower but bias +0.1σ (harmful)", mae, gaussian, {"scale": 0.97, "shift": 0.1}, "<= 1%"),
        ("RMSE: Student-t3, equal (type-I)", rmse, student_t3, {}, alpha_goal),
        ("RMSE: Gaussian, 5% lower (power)", rmse, gaussian, {"scale": 0.95}, "report"),
    ]
    for name, policy, draw, options, goal in regression_rows:
        found = rates(trials, lambda p=policy, d=draw, o=options: compare_predictions(
            *regression_trial(rng, d, **o), policy=p))  # type: ignore[arg-type]  # fmt: skip
        table.add_row("regression", name, str(trials), *found, goal)
    return table
