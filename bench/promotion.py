"""Benchmark: concurrent promotions on the embedded SQLite registry.

N processes each move @champion M times (the same path `trunkml promote` and `rollback`
take once their checks pass: lock, retried alias writes with read-back, history event).
Prints errors seen by callers, moves, history events, whether the history forms one
unbroken chain (each move starts where the previous left the champion), and latency.

Run: `make bench` or `.venv/bin/python bench/promotion.py [--processes 16] [--rounds 10]`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
TRUNKML = str(Path(sys.executable).with_name("trunkml"))
WORKER = REPO / "tests" / "pipelines" / "promotion_worker.py"


def setup(root: Path, env: dict[str, str]) -> None:
    (root / "trunkml.yaml").write_text("name: bench\nmodel: promo-model\n", encoding="utf-8")
    (root / "jobs/promo-model").mkdir(parents=True)
    (root / "jobs/promo-model/train.yaml").write_text(
        "model: promo-model\nentrypoint: hatedetection.train:train\ninputs: {train: d}\nsplit: {seed: 1}\n"
        "params: params.yaml\n",
        encoding="utf-8",
    )
    (root / "jobs/promo-model/params.yaml").write_text("cv_folds: 2\n", encoding="utf-8")
    shutil.copytree(
        REPO / "src/hatedetection", root / "src/hatedetection", ignore=shutil.ignore_patterns("__pycache__")
    )
    for args in (
        ["data", "synth", "--rows", "300", "--add", "d"],
        ["train", "promo-model"],
        ["train", "promo-model", "--param", "C=1"],
    ):
        subprocess.run([TRUNKML, *args], cwd=root, env=env, check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="trunkml-promo-") as tmp:
        root = Path(tmp)
        env = {**os.environ, "TRUNKML_PROJECT": str(root), "TRUNKML_HOME": str(root / ".trunkml")}
        env.pop("MLFLOW_TRACKING_URI", None)
        setup(root, env)
        started = time.perf_counter()
        procs = [
            subprocess.Popen(
                [sys.executable, str(WORKER), str(seed), str(args.rounds), "champion"],
                cwd=root,
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
            for seed in range(args.processes)
        ]
        results = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
        wall = time.perf_counter() - started
        events = json.loads(
            subprocess.run(
                [TRUNKML, "history", "--json"], cwd=root, env=env, check=True, capture_output=True, text=True
            ).stdout
        )
    moves = [e for e in events if e["kind"] == "move"]
    chain = all(b["from_version"] == a["to_version"] for a, b in itertools.pairwise(moves))
    latencies = sorted(x for r in results for x in r["latencies"])
    table = Table(
        "processes",
        "rounds",
        "moves",
        "errors",
        "history events",
        "unbroken chain",
        "wall s",
        "p50 s",
        "p95 s",
        "max s",
        title="concurrent @champion moves on SQLite",
    )
    table.add_row(
        str(args.processes),
        str(args.rounds),
        str(sum(r["moves"] for r in results)),
        str(sum(len(r["errors"]) for r in results)),
        str(len(moves)),
        str(chain),
        f"{wall:.1f}",
        f"{statistics.median(latencies):.3f}",
        f"{latencies[int(0.95 * (len(latencies) - 1))]:.3f}",
        f"{latencies[-1]:.3f}",
    )
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
