"""Benchmark: the slice guard's false-alarm rate and its power, by simulation.

Eight disjoint slices of an eval set, each with its own positives. On each positive the two
models disagree with probability ``discordance`` (12% of positives, as between two versions
of the reference model; the gate benchmark uses the same figure), split between champion-only
and challenger-only right so that the recalls come out as asked; the gate's public API
``compare_predictions`` decides with the default policy (a slice fails when recall drops by
more than 0.05 with a Holm-adjusted one-sided exact McNemar p < 0.05).

* false alarms: equal models on all eight slices        (goal: <= alpha = 5% of trials flag a slice)
* power: the challenger loses 10 points on one slice   (goal: flagged in most trials at 150 positives)

Run: `make bench` or `.venv/bin/python bench/slices.py [--trials 2000]`.
"""

from __future__ import annotations

import argparse

import numpy as np
from rich.console import Console
from rich.table import Table

from trunkml.evaluation import GatePolicy, compare_predictions

console = Console(width=120)
SLICES, NEGATIVES = 8, 400


def simulate(
    rng: np.random.Generator, positives: int, recall: float, drop_on_first: float = 0.0, discordance: float = 0.12
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """(truth, champion, challenger, slice masks): 8 slices of ``positives`` positives, plus shared negatives.

    The first slice's challenger recall is ``drop_on_first`` lower; elsewhere the models are equal.
    """
    rows = SLICES * positives + NEGATIVES
    truth = np.zeros(rows, dtype=np.int64)
    truth[: SLICES * positives] = 1
    drop = np.zeros(rows)
    drop[:positives] = drop_on_first
    only_champion = (discordance + drop) / 2  # b - c = drop, b + c = discordance
    only_challenger = (discordance - drop) / 2
    u = rng.random(rows)
    champion_right = (u < only_champion) | (u >= only_champion + only_challenger) & (u < recall + only_challenger)
    challenger_right = (u >= only_champion) & (u < recall + only_challenger)
    champion = champion_right.astype(np.int64) * truth
    challenger = challenger_right.astype(np.int64) * truth
    # A few false positives each, so precision is defined and the precision guard holds.
    champion[-NEGATIVES // 10 :] = 1
    challenger[-NEGATIVES // 10 :] = 1
    slices = {f"s{k}": np.arange(rows) // positives == k for k in range(SLICES)}
    return truth, champion, challenger, slices


def flag_rate(trials: int, positives: int, recall: float, drop: float, seed: int = 0) -> float:
    """Share of trials in which the slice guard flags at least one slice."""
    rng = np.random.default_rng(seed)
    policy = GatePolicy()
    flagged = 0
    for _ in range(trials):
        truth, champion, challenger, slices = simulate(rng, positives, recall, drop)
        decision = compare_predictions(truth, champion, challenger, policy, slices)
        flagged += any(s.flagged for s in decision.slices)
    return flagged / trials


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2000)
    args = parser.parse_args()
    table = Table("scenario", "positives per slice", "recall", "trials", "slice flagged in", "goal")
    for positives in (30, 60, 150):
        rate = flag_rate(args.trials, positives, 0.7, 0.0)
        table.add_row("equal models, 8 slices", str(positives), "0.70", str(args.trials), f"{rate:.2%}", "<= 5%")
    for positives in (60, 150):
        rate = flag_rate(args.trials // 4, positives, 0.7, 0.10, seed=1)
        table.add_row("-10 pts on one slice", str(positives), "0.70 → 0.60", str(args.trials // 4), f"{rate:.2%}",
                      "high")  # fmt: skip
    console.print(table)


if __name__ == "__main__":
    main()
