"""Simulated error rates of the always-valid shadow tests for multi-class and regression models.

Labelled shadow rows arrive one at a time and `trunkml monitor` may look after every one, so what
counts is the share of runs in which the evidence *ever* crosses 1/alpha (the highest e-value of
the run), not its value at the end. Each row of the table is RUNS runs of ROWS labelled rows.

Multi-class: the e-value on discordant correctness (one model right, the other wrong), 5 classes.
Regression: the betting confidence sequence on the per-row absolute-error difference, clipped to
B = 40 (about four error scales); errors are Gaussian, Student-t(3) or log-normal.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import numpy as np
from rich.console import Console
from rich.progress import track
from rich.table import Table

from trunkml.evaluation.policy import GatePolicy
from trunkml.evaluation.sequential import loss_sequence, sequential_decision

ALPHA, BOUND = 0.05, 40.0
Draw = Callable[[np.random.Generator, int], np.ndarray]
SHAPES: dict[str, Draw] = {
    "Gaussian": lambda rng, n: rng.normal(0, 10, n),
    "Student-t(3)": lambda rng, n: rng.standard_t(3, n) * 10 / np.sqrt(3),
    "log-normal": lambda rng, n: rng.lognormal(1.5, 1.0, n) * rng.choice([-1, 1], n),
}


def multiclass_run(rng: np.random.Generator, rows: int, old: float, new: float) -> bool:
    truth = rng.integers(0, 5, rows)
    champion = np.where(rng.random(rows) < old, truth, (truth + rng.integers(1, 5, rows)) % 5)
    challenger = np.where(rng.random(rows) < new, truth, (truth + rng.integers(1, 5, rows)) % 5)
    right = GatePolicy(guards=())
    ones = np.ones(rows, dtype=int)
    decision = sequential_decision(ones, (champion == truth).astype(int), (challenger == truth).astype(int), right)
    return decision.e_max >= 1 / ALPHA


def regression_run(rng: np.random.Generator, rows: int, shape: Draw, scale: float) -> bool:
    truth = rng.normal(100, 20, rows)
    champion, challenger = truth + shape(rng, rows), truth + scale * shape(rng, rows)
    return loss_sequence(truth, champion, challenger, alpha=ALPHA, bound=BOUND).would_promote


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=1000)
    args = parser.parse_args()
    rng = np.random.default_rng(2026)
    cases: list[tuple[str, str, Callable[[], bool]]] = [
        ("multi-class", "equal accuracy 0.80 (type-I)", lambda: multiclass_run(rng, args.rows, 0.80, 0.80)),
        ("multi-class", "accuracy 0.80 → 0.85 (power)", lambda: multiclass_run(rng, args.rows, 0.80, 0.85)),
    ]
    for name, shape in SHAPES.items():
        cases.append(
            ("regression", f"{name}, equal MAE (type-I)", lambda s=shape: regression_run(rng, args.rows, s, 1.0))
        )
        cases.append(
            ("regression", f"{name}, MAE −15% (power)", lambda s=shape: regression_run(rng, args.rows, s, 0.85))
        )
    table = Table(title=f"always-valid shadow tests: {args.runs} runs of {args.rows} labelled rows, alpha {ALPHA}")
    for column in ("task", "scenario", "promoted at any look"):
        table.add_column(column)
    for task, scenario, run in track(cases, description="simulating"):
        share = sum(run() for _ in range(args.runs)) / args.runs
        table.add_row(task, scenario, f"{share:.1%}")
    Console().print(table)


if __name__ == "__main__":
    main()
