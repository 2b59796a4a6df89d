"""Benchmark: the champion/challenger gate's speed and its statistical behaviour.

1. Wall time of `trunkml evaluate` on a 2,100-row frozen eval set with the champion's
   predictions cached (a throw-away project with SYNTHETIC DEMO DATA).
2. Simulated paired predictions (n = 2,100, 46% positives, 12% of positives discordant),
   decided by the public API `compare_predictions` with the default policy, next to the
   seed's gate (two-sided McNemar on the champion-vs-challenger prediction table, which
   ignores the labels, plus "recall" = weighted recall = accuracy):
   * type-I error: equal recall                         (goal: <= alpha + 0.5 pt)
   * recall -2 to -4 pts while accuracy rises          (goal: <= 1% promoted)
   * power at +3 pts recall                             (goal: >= 75% promoted)

3. The multi-class and regression gates' type-I error, harm and power by simulation
   (``bench/gate_tasks.py``, 2,000 trials per row).

Run: `make bench` or `.venv/bin/python -m bench.gate [--trials 4000] [--task-trials 2000] [--tasks-only]`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from bench.gate_tasks import task_table
from trunkml.evaluation import GatePolicy, compare_predictions
from trunkml.evaluation.stats import mcnemar_one_sided

TRUNKML = str(Path(sys.executable).with_name("trunkml"))
console = Console(width=120)
N, POSITIVE_SHARE, DISCORDANT = 2100, 0.46, 0.12


def outcomes(rng: np.random.Generator, n: int, champion_rate: float, challenger_rate: float) -> tuple[np.ndarray, ...]:
    """Paired right/wrong outcomes with the given rates and a fixed share of discordant rows."""
    c_only = (DISCORDANT + challenger_rate - champion_rate) / 2
    b_only = DISCORDANT - c_only
    both = champion_rate - b_only
    kind = rng.choice(4, size=n, p=[both, b_only, c_only, 1 - both - b_only - c_only])
    return np.isin(kind, (0, 1)), np.isin(kind, (0, 2))  # champion right, challenger right


def trial(
    rng: np.random.Generator, recall: tuple[float, float], specificity: tuple[float, float]
) -> tuple[np.ndarray, ...]:
    n_pos = int(N * POSITIVE_SHARE)
    y = np.r_[np.ones(n_pos, dtype=int), np.zeros(N - n_pos, dtype=int)]
    pos_old, pos_new = outcomes(rng, n_pos, *recall)
    neg_old, neg_new = outcomes(rng, N - n_pos, *specificity)
    champion = np.r_[pos_old.astype(int), (~neg_old).astype(int)]
    challenger = np.r_[pos_new.astype(int), (~neg_new).astype(int)]
    return y, champion, challenger


def seed_gate(y: np.ndarray, champion: np.ndarray, challenger: np.ndarray) -> bool:
    """The seed's gate: two-sided McNemar on the prediction table, and 'weighted recall' (= accuracy) up."""
    b = int(np.sum((champion == 1) & (challenger == 0)))
    c = int(np.sum((champion == 0) & (challenger == 1)))
    two_sided = min(1.0, 2 * min(mcnemar_one_sided(b, c), mcnemar_one_sided(c, b)))
    return two_sided < 0.05 and float(np.mean(challenger == y)) > float(np.mean(champion == y))


def simulate(trials: int) -> Table:
    rng = np.random.default_rng(2026)
    policy = GatePolicy()
    scenarios = [
        ("equal recall (type-I error)", (0.70, 0.70), (0.90, 0.90), f"<= {policy.alpha + 0.005:.1%}"),
        ("recall -3 pts, accuracy up", (0.70, 0.67), (0.88, 0.93), "<= 1%"),
        ("recall -2 pts, accuracy up", (0.70, 0.68), (0.88, 0.92), "<= 1%"),
        ("recall -4 pts, accuracy up", (0.70, 0.66), (0.88, 0.94), "<= 1%"),
        ("recall +3 pts (power)", (0.70, 0.73), (0.90, 0.90), ">= 75%"),
    ]
    table = Table(
        "scenario",
        "trials",
        "trunkml promotes",
        "goal",
        "seed's gate promotes",
        title=f"gate decisions on simulated paired predictions (n={N}, {POSITIVE_SHARE:.0%} positives)",
    )
    for name, recall, specificity, goal in scenarios:
        ours = theirs = 0
        for _ in range(trials):
            y, champion, challenger = trial(rng, recall, specificity)
            ours += compare_predictions(y, champion, challenger, policy).promote
            theirs += seed_gate(y, champion, challenger)
        table.add_row(name, str(trials), f"{ours / trials:.1%}", goal, f"{theirs / trials:.1%}")
    return table


def run(root: Path, *args: str) -> tuple[dict[str, object], float]:
    env = {**os.environ, "TRUNKML_PROJECT": str(root), "TRUNKML_HOME": str(root / ".trunkml")}
    for name in ("MLFLOW_TRACKING_URI", "TRUNKML_DATA_MIRROR", "TRUNKML_ENV"):
        env.pop(name, None)
    started = time.perf_counter()
    done = subprocess.run([TRUNKML, *args, "--json"], cwd=root, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"`trunkml {' '.join(args)}` failed:\n{done.stderr}")
    return json.loads(done.stdout), time.perf_counter() - started


def timing() -> Table:
    repo = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory(prefix="trunkml-gate-") as tmp:
        root = Path(tmp)
        (root / "trunkml.yaml").write_text(
            "name: bench\nmodel: bench-model\ngate: {eval: demo-eval}\n", encoding="utf-8"
        )
        (root / "jobs/bench-model").mkdir(parents=True)
        (root / "jobs/bench-model/train.yaml").write_text(
            "model: bench-model\nentrypoint: hatedetection.train:train\ninputs: {train: demo-train, eval: demo-eval}\n"
            "params: params.yaml\n",
            encoding="utf-8",
        )
        (root / "jobs/bench-model/params.yaml").write_text("cv_folds: 2\n", encoding="utf-8")
        shutil.copytree(
            repo / "src/hatedetection", root / "src/hatedetection", ignore=shutil.ignore_patterns("__pycache__")
        )  # the model code only, as a project has it
        run(root, "data", "synth", "--rows", "8400", "--seed", "3", "--add", "demo")
        run(root, "data", "split", "demo", "--eval-fraction", "0.25", "--add", "demo")
        run(root, "train", "bench-model")
        run(root, "evaluate")  # cold start: caches v1's predictions
        run(root, "train", "bench-model", "--param", "C=2")
        first, first_s = run(root, "evaluate", "--champion", "1")
        again, again_s = run(root, "evaluate", "--champion", "1")
    table = Table("evaluate run", "eval rows", "predictions", "wall s", "goal", title="trunkml evaluate wall time")
    decision = first["decision"]
    assert isinstance(decision, dict)
    table.add_row(
        "new challenger, cached champion",
        str(decision["n"]),
        json.dumps(first["predictions"]),
        f"{first_s:.2f}",
        "< 3 s",
    )
    table.add_row("both cached (re-run)", str(decision["n"]), json.dumps(again["predictions"]), f"{again_s:.2f}", "")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=4000)
    parser.add_argument("--task-trials", type=int, default=2000, help="trials per multi-class/regression row")
    parser.add_argument("--tasks-only", action="store_true", help="only the multi-class and regression table")
    args = parser.parse_args()
    if not args.tasks_only:
        console.print(timing())
        console.print(simulate(args.trials))
    console.print(task_table(args.task_trials))


if __name__ == "__main__":
    main()
