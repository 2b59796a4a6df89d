"""Benchmark: `trunkml score` rows/s, local (chunked) against Spark (spark_udf on local[2]), on one file.

1. Trains the reference model by CT (Fortuna through the mirror, else synthetic demo data) and
   promotes it, as bench/serving.py does.
2. Writes a 100k-row synthetic CSV (`trunkml data synth`, SYNTHETIC DEMO DATA).
3. Scores it with each engine in turn, as a user would (the CLI, process start included), and
   reads both outputs back to check that they agree row for row.

Run: `.venv/bin/python bench/scoring.py [--rows 100000]` (part of `make bench`).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))

from serving import TRUNKML, console, project


def timed(command: list[str], root: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=root, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="trunkml-scoring-") as tmp:
        scratch = Path(tmp)
        with console.status("training the reference model (CT)"):
            root, env, data = project(scratch)
        source = scratch / "input.csv"
        with console.status(f"generating {args.rows:,} rows of SYNTHETIC DEMO DATA"):
            subprocess.run([TRUNKML, "data", "synth", "--rows", str(args.rows), "--seed", "3", "--out", str(source)],
                           cwd=root, env=env, check=True, capture_output=True)  # fmt: skip
        outputs = {"local": scratch / "local.parquet", "spark": scratch / "spark.parquet"}
        seconds = {}
        for engine, output in outputs.items():
            with console.status(f"scoring with {engine}"):
                command = [TRUNKML, "score", "@champion", "--input", str(source), "--output", str(output)]
                seconds[engine] = timed([*command, "--engine", engine], root, env)
        local = pd.read_parquet(outputs["local"]).sort_values("row_id").reset_index(drop=True)
        spark = pd.read_parquet(outputs["spark"]).sort_values("row_id").reset_index(drop=True)
        same = (
            bool((local["label"] == spark["label"]).all())
            and float((local["score"] - spark["score"]).abs().max()) <= 1e-12
        )
    table = Table("engine", "rows", "seconds (CLI, start-up included)", "rows/s",
                  title=f"trunkml score, model trained on {data}, input {args.rows:,} synthetic rows")  # fmt: skip
    for engine in outputs:
        table.add_row(engine, f"{args.rows:,}", f"{seconds[engine]:.1f}", f"{args.rows / seconds[engine]:,.0f}")
    console.print(table)
    console.print(f"outputs agree row for row: {'[green]yes[/]' if same else '[red]NO[/]'}")


if __name__ == "__main__":
    main()
